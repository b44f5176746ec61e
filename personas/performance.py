"""When a persona stops performing: the pure rule behind the flag on the persona pages.

A persona is flagged when its recent MQL→SQL conversion falls well below its own past or the
other personas' recent conversion. Counts in, messages out; no Django.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

MIN_SAMPLE = 5
"""Fewer MQLs than this on either side of a comparison is noise, not a signal."""
WELL_BELOW = Fraction(7, 10)
""""Well below" is under 70% of the rate it is compared with (a drop of more than 30%)."""


def _rate(reached: int, converted: int) -> Fraction | None:
    return Fraction(converted, reached) if reached else None


def _percent(value: Fraction) -> str:
    return f"{Decimal(value.numerator) / Decimal(value.denominator) * 100:.0f}%"


def conversion_flags(
    *, recent: tuple[int, int], past: tuple[int, int], others: tuple[int, int]
) -> list[str]:
    """Messages for each comparison the recent MQL→SQL rate fails; empty when none fails.

    Each argument is ``(MQLs, of which became SQLs)``: ``recent`` for the persona's recent
    window, ``past`` for its own earlier window, ``others`` for every other persona's recent
    window.
    """
    if recent[0] < MIN_SAMPLE:
        return []
    now = _rate(*recent)
    messages = []
    for label, (reached, converted) in (("its own past", past), ("the other personas", others)):
        if reached < MIN_SAMPLE:
            continue
        reference = _rate(reached, converted)
        if reference and now < reference * WELL_BELOW:
            messages.append(
                f"MQL→SQL conversion is {_percent(now)} recently, well below {label} "
                f"({_percent(reference)})."
            )
    return messages
