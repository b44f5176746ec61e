"""The words of a qualification definition: stages, operators, keys, and its error type."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

STAGES = ("mql", "sql")
OPERATORS = ("equals", "in", "contains", "gte", "lte", "exists")
GROUP_KINDS = ("all", "any")
GROUP_KINDS_SET = frozenset(GROUP_KINDS)
#: Groups may be nested at most this many levels deep (a group at the top of a fit item is 1).
MAX_GROUP_DEPTH = 5
#: Points, thresholds and caps stay within this (a lead's stored score is a 32-bit integer,
#: and the stored total is clamped to it too: many counted events can add up past it).
MAX_POINTS = 1_000_000
MAX_RECENCY_DAYS = 3_660
MAX_FIT_ITEMS = 200
MAX_EVENT_RULES = 100

_TOP_LEVEL_KEYS = frozenset(
    {
        "stage",
        "threshold",
        "min_fit",
        "recency_days",
        "fit",
        "engagement",
        "hand_raisers",
        "hand_raisers_require_min_fit",
    }
)
_CONDITION_KEYS = frozenset({"attribute", "operator", "value"})
_FIT_ITEM_KEYS = frozenset({"points", "label"})
_EVENT_RULE_KEYS = frozenset({"points", "recency_days", "max_points"})
_COLLECTIONS = (list, tuple, set, frozenset)


class DefinitionError(ValueError):
    """A definition that cannot be used. ``messages`` maps a field path to human messages.

    The paths are those of :func:`validate_definition` (``"threshold"``, ``"fit[2].any[0].value"``,
    ``"engagement.email_open.points"``...).
    """

    def __init__(self, messages: Mapping[str, list[str]]):
        self.messages: dict[str, list[str]] = {key: list(value) for key, value in messages.items()}
        summary = "; ".join(
            f"{key}: {message}" for key, values in self.messages.items() for message in values
        )
        super().__init__(f"Invalid qualification definition: {summary}")


class EventLike(Protocol):
    """An engagement event: ``type`` (event type name) and ``occurred_at`` (aware datetime).

    :func:`evaluate` also accepts mappings with the keys ``"type"`` and ``"occurred_at"``
    (for example rows from ``QuerySet.values()``).
    """

    @property
    def type(self) -> str: ...

    @property
    def occurred_at(self) -> datetime: ...
