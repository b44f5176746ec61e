"""What other apps measure about personas (leads, conversion, revenue), for persona pages.

Personas sit below leads and reports in the house, so they cannot import them: the
reporting app provides the measures when it starts (`provide`, in its `AppConfig.ready`),
and the persona pages ask here. Without a provider the pages show no figures.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Measures:
    # persona ids (None: all) → {persona id: performance}, with an entry for each one asked
    performance: Callable
    # persona → monthly rows, oldest first
    monthly_trend: Callable
    window_days: int
    recent_days: int


_measures: Measures | None = None


def provide(measures: Measures) -> None:
    global _measures
    _measures = measures


def measures() -> Measures | None:
    return _measures
