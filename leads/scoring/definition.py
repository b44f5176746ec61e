"""A qualification definition as data: its parts, read from and written to stored JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leads.scoring.validator import validate_definition
from leads.scoring.vocabulary import GROUP_KINDS, DefinitionError


@dataclass(frozen=True)
class Condition:
    """A test on one lead attribute.

    ``attribute`` is a key of the flat attribute mapping (no dots). ``operator`` is one of
    :data:`OPERATORS`. ``value`` is a string, number or boolean for ``equals`` and ``gte`` /
    ``lte`` (numbers only), a string or number for ``contains``, a non-empty tuple of those
    for ``in``, and None for ``exists``.

    Matching rules (an attribute that is missing or None never matches, never raises):

    * ``equals``: strings compare case-insensitively, ignoring surrounding spaces; numbers
      compare numerically with numbers and numeric strings (``"250"`` equals ``250``);
      booleans only with booleans. A list attribute does not match (use ``contains``).
    * ``in``: ``equals`` against any of the values.
    * ``contains``: a string attribute contains the string value (case-insensitive
      substring); a list attribute has an element that ``equals`` the value. Other
      attribute types do not match.
    * ``gte`` / ``lte``: the attribute as a number (int, float, Decimal or a numeric string)
      is ≥ / ≤ the value; a non-numeric attribute (including booleans) does not match.
    * ``exists``: the attribute is present, not None, not an empty or blank string and not an
      empty list or object. ``0`` and ``False`` exist.
    """

    attribute: str
    operator: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"attribute": self.attribute, "operator": self.operator}
        if self.operator == "in":
            data["value"] = list(self.value)
        elif self.operator != "exists":
            data["value"] = self.value
        return data

    def describe(self) -> str:
        """A sentence such as ``country is one of US, GB, DE`` or ``title contains director``."""
        if self.operator == "exists":
            return f"{self.attribute} is present"
        verb = {
            "equals": "is",
            "in": "is one of",
            "contains": "contains",
            "gte": "is at least",
            "lte": "is at most",
        }[self.operator]
        return f"{self.attribute} {verb} {_format_value(self.value)}"


@dataclass(frozen=True)
class Group:
    """``all`` (every item holds) or ``any`` (at least one holds) of conditions or groups."""

    kind: str
    items: tuple[Condition | Group, ...]

    def to_dict(self) -> dict[str, Any]:
        return {self.kind: [item.to_dict() for item in self.items]}

    def describe(self) -> str:
        """A sentence such as ``any of (country is DE, company_size is at least 50)``."""
        return f"{self.kind} of ({', '.join(item.describe() for item in self.items)})"


@dataclass(frozen=True)
class FitItem:
    """A top-level fit rule: ``points`` are earned when ``when`` holds.

    ``label`` overrides the generated explanation label.
    """

    when: Condition | Group
    points: int
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"points": self.points}
        if self.label is not None:
            data["label"] = self.label
        data.update(self.when.to_dict())
        return data

    def describe(self) -> str:
        return self.label if self.label is not None else self.when.describe()


@dataclass(frozen=True)
class EventRule:
    """Engagement points for one event type.

    ``points`` (>= 0) per counted event; ``recency_days`` overrides the definition's window for
    this type (None: use the definition's); ``max_points`` caps the points this type can
    earn (None: no cap).
    """

    event_type: str
    points: int
    recency_days: int | None = None
    max_points: int | None = None

    def to_dict(self) -> int | dict[str, int]:
        """The shorthand ``points`` when there are no options, else an object."""
        if self.recency_days is None and self.max_points is None:
            return self.points
        data = {"points": self.points}
        if self.recency_days is not None:
            data["recency_days"] = self.recency_days
        if self.max_points is not None:
            data["max_points"] = self.max_points
        return data


@dataclass(frozen=True)
class Definition:
    """A qualification definition for ``stage`` (``"mql"`` or ``"sql"``).

    Build from stored JSON with :meth:`from_dict`; :meth:`to_dict` gives the canonical JSON
    back (``Definition.from_dict(d.to_dict()) == d``).
    """

    stage: str
    threshold: int
    fit: tuple[FitItem, ...] = ()
    engagement: tuple[EventRule, ...] = ()
    hand_raisers: tuple[str, ...] = ()
    recency_days: int | None = None
    min_fit: int | None = None
    hand_raisers_require_min_fit: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Definition:
        """Parse stored JSON. Raises :class:`DefinitionError` with the messages of
        :func:`validate_definition` when the data is not a valid definition."""
        errors = validate_definition(data)
        if errors:
            raise DefinitionError(errors)
        engagement = []
        for event_type, spec in (data.get("engagement") or {}).items():
            if isinstance(spec, Mapping):
                engagement.append(
                    EventRule(
                        event_type=event_type,
                        points=_whole(spec["points"]),
                        recency_days=_whole_or_none(spec.get("recency_days")),
                        max_points=_whole_or_none(spec.get("max_points")),
                    )
                )
            else:
                engagement.append(EventRule(event_type=event_type, points=_whole(spec)))
        return cls(
            stage=data["stage"],
            threshold=_whole(data["threshold"]),
            fit=tuple(
                FitItem(
                    when=_node_from_dict(item),
                    points=_whole(item["points"]),
                    label=item.get("label"),
                )
                for item in data.get("fit") or ()
            ),
            engagement=tuple(engagement),
            hand_raisers=tuple(data.get("hand_raisers") or ()),
            recency_days=_whole_or_none(data.get("recency_days")),
            min_fit=_whole_or_none(data.get("min_fit")),
            hand_raisers_require_min_fit=bool(data.get("hand_raisers_require_min_fit", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON form (plain dicts, lists, strings, ints, bools and None)."""
        return {
            "stage": self.stage,
            "threshold": self.threshold,
            "min_fit": self.min_fit,
            "recency_days": self.recency_days,
            "fit": [item.to_dict() for item in self.fit],
            "engagement": {rule.event_type: rule.to_dict() for rule in self.engagement},
            "hand_raisers": list(self.hand_raisers),
            "hand_raisers_require_min_fit": self.hand_raisers_require_min_fit,
        }


def _whole(value: Any) -> int:
    return int(value)


def _whole_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _node_from_dict(data: Mapping[str, Any]) -> Condition | Group:
    for kind in GROUP_KINDS:
        if kind in data:
            return Group(kind=kind, items=tuple(_node_from_dict(item) for item in data[kind]))
    value = data.get("value")
    if data["operator"] == "in":
        value = tuple(value)
    return Condition(attribute=data["attribute"], operator=data["operator"], value=value)


def _format_value(value: object) -> str:
    """A value as people write it: no quotes or brackets (``US, GB, DE``; ``yes``)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_value(member) for member in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
