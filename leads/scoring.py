"""Qualification definitions (MQL / SQL) and their evaluation against one lead.

Pure core: standard library only, no Django import. The Django layer stores a definition's
rules as JSON, turns them into a :class:`Definition` with :meth:`Definition.from_dict`, and
calls :func:`evaluate` with a flat attribute mapping, the lead's engagement events and the
reference time.

JSON shape of a definition (every top-level key is always written by ``to_dict``)::

    {
      "stage": "mql",                         # "mql" or "sql"
      "threshold": 40,                        # whole number >= 0
      "min_fit": 10,                          # whole number or null: fit needed as well
      "recency_days": 90,                     # positive whole number or null: default window
      "fit": [                                # top-level fit items, each with points
        {"points": 20, "attribute": "title", "operator": "contains", "value": "director"},
        {"points": 15, "label": "Target market",
         "all": [
           {"attribute": "country", "operator": "in", "value": ["DE", "AT", "CH"]},
           {"any": [
             {"attribute": "company_size", "operator": "gte", "value": 50},
             {"attribute": "industry", "operator": "equals", "value": "software"}
           ]}
         ]},
        {"points": -30, "attribute": "persona", "operator": "equals", "value": "student"}
      ],
      "engagement": {                         # points per event type
        "email_open": {"points": 1, "recency_days": 30, "max_points": 10},
        "webinar_attended": 10,               # shorthand for {"points": 10}
        "pricing_page_view": 5
      },
      "hand_raisers": ["demo_request", "contact_sales"],
      "hand_raisers_require_min_fit": false
    }

Semantics, in short (details on each function and class):

* fit score: the sum of the points of the fit items that hold; points may be negative
  (a penalty, e.g. for students or competitors);
* engagement score: for each event type, points × number of counted events, capped at
  ``max_points`` when given; engagement points are never negative, so an extra event can
  never lower the score;
* an event counts when ``now - window <= occurred_at <= now``: both ends are inclusive
  ("exactly 30 days ago" counts) and an event later than ``now`` never counts (it has not
  happened yet as of ``now``). The window is the event type's ``recency_days``, else the
  definition's ``recency_days``, else unbounded;
* qualified: ``fit + engagement >= threshold`` and, when ``min_fit`` is set, ``fit >= min_fit``;
  or a hand-raising event was counted (same window rules), which qualifies alone unless
  ``hand_raisers_require_min_fit`` is true and ``min_fit`` is not met.

Points are ``int`` throughout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, NamedTuple, Protocol

__all__ = [
    "MAX_GROUP_DEPTH",
    "OPERATORS",
    "STAGES",
    "CompiledDefinition",
    "Condition",
    "Definition",
    "DefinitionError",
    "EventLike",
    "EventRule",
    "FitItem",
    "Group",
    "ScoreItem",
    "ScoreResult",
    "compile_definition",
    "evaluate",
    "validate_definition",
]

STAGES = ("mql", "sql")
OPERATORS = ("equals", "in", "contains", "gte", "lte", "exists")
GROUP_KINDS = ("all", "any")
GROUP_KINDS_SET = frozenset(GROUP_KINDS)
#: Groups may be nested at most this many levels deep (a group at the top of a fit item is 1).
MAX_GROUP_DEPTH = 5

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
_EARLIEST = datetime.min.replace(tzinfo=UTC)


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


# --------------------------------------------------------------------------------------------
# Definition parts


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
        """A human label such as ``title contains 'director'``."""
        if self.operator == "exists":
            return f"{self.attribute} is present"
        symbol = {"gte": "≥", "lte": "≤"}.get(self.operator, self.operator)
        return f"{self.attribute} {symbol} {_format_value(self.value)}"


@dataclass(frozen=True)
class Group:
    """``all`` (every item holds) or ``any`` (at least one holds) of conditions or groups."""

    kind: str
    items: tuple[Condition | Group, ...]

    def to_dict(self) -> dict[str, Any]:
        return {self.kind: [item.to_dict() for item in self.items]}

    def describe(self) -> str:
        """A human label such as ``any of (country equals 'DE', company_size ≥ 50)``."""
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
    back (``Definition.from_dict(d.to_dict()) == d``). The compiled form used by
    :func:`evaluate` is built once per instance and cached (it is not pickled).
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

    @cached_property
    def compiled(self) -> CompiledDefinition:
        """This definition compiled for fast evaluation (built on first use)."""
        return CompiledDefinition(self)

    def __getstate__(self) -> dict[str, Any]:
        # The compiled form holds closures, which cannot be pickled; it is rebuilt on demand.
        state = dict(self.__dict__)
        state.pop("compiled", None)
        return state


# --------------------------------------------------------------------------------------------
# Results


# Results are NamedTuples rather than frozen dataclasses: they are built once per lead in bulk
# rescoring, and a frozen dataclass costs several times more to construct. Still immutable.


class ScoreItem(NamedTuple):
    """One line of a score's explanation.

    ``kind`` is ``"fit"`` (a fit item that held) or ``"event"`` (an event type with counted
    events). ``count`` and ``event_type`` are set for events only. ``points`` may be 0 (an event
    type worth 0 points, or a type already at its cap) and negative for a fit penalty.
    """

    kind: str
    label: str
    points: int
    count: int | None = None
    event_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "points": self.points,
            "count": self.count,
            "event_type": self.event_type,
        }


class ScoreResult(NamedTuple):
    """The outcome of evaluating a definition for one lead.

    ``score == fit_score + engagement_score`` and the ``items`` add up to it exactly: the fit
    items (in definition order) to ``fit_score``, then the event items (in definition order)
    to ``engagement_score``. ``hand_raised_by`` is the first hand-raising event type (in the
    definition's order) that qualifies the lead on its own, whether or not the score also
    qualifies it; None when there is none (or when ``min_fit`` blocks it).
    """

    fit_score: int
    engagement_score: int
    score: int
    qualified: bool
    hand_raised_by: str | None
    items: tuple[ScoreItem, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, e.g. to store the explanation next to the lead."""
        return {
            "fit_score": self.fit_score,
            "engagement_score": self.engagement_score,
            "score": self.score,
            "qualified": self.qualified,
            "hand_raised_by": self.hand_raised_by,
            "items": [item.to_dict() for item in self.items],
        }


# --------------------------------------------------------------------------------------------
# Evaluation


class CompiledDefinition:
    """A definition turned into closures and lookup tables, ready to score many leads.

    Immutable after construction apart from an internal, bounded cache of explanation items;
    safe to share between threads.
    """

    __slots__ = (
        "definition",
        "_fit",
        "_engagement",
        "_event_items",
        "_lookup",
        "_windows",
        "_hand_raisers",
        "_threshold",
        "_min_fit",
        "_hand_raisers_require_min_fit",
    )

    def __init__(self, definition: Definition):
        _check_definition_object(definition)
        self.definition = definition
        self._fit = tuple(
            (_compile_node(item.when), item.points, ScoreItem("fit", item.describe(), item.points))
            for item in definition.fit
        )
        self._engagement = tuple(
            (rule.event_type, rule.points, rule.max_points) for rule in definition.engagement
        )
        # Explanation items per (event type, count), shared between leads: most leads have
        # small counts, so this saves building the same label and item again and again.
        self._event_items: dict[tuple[str, int], ScoreItem] = {}
        by_type = {rule.event_type: rule for rule in definition.engagement}
        # Distinct windows get an index; an evaluation computes each cutoff once. No window
        # (None) has the earliest instant as its cutoff, so the event loop has a single test.
        windows: list[timedelta | None] = []
        lookup: dict[str, int] = {}
        for event_type in (*by_type, *definition.hand_raisers):
            rule = by_type.get(event_type)
            days = rule.recency_days if rule is not None else None
            if days is None:
                days = definition.recency_days
            window = None if days is None else timedelta(days=days)
            if window not in windows:
                windows.append(window)
            lookup[event_type] = windows.index(window)
        self._lookup = lookup
        self._windows = tuple(windows)
        self._hand_raisers = definition.hand_raisers
        self._threshold = definition.threshold
        self._min_fit = definition.min_fit
        self._hand_raisers_require_min_fit = definition.hand_raisers_require_min_fit

    def evaluate(
        self,
        attributes: Mapping[str, object],
        events: Iterable[EventLike | Mapping[str, Any]],
        now: datetime,
    ) -> ScoreResult:
        """Score one lead; see :func:`evaluate`."""
        if not isinstance(now, datetime):
            raise TypeError("now must be a datetime")
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be an aware datetime")

        fit_score = 0
        items: list[ScoreItem] = []
        for test, points, item in self._fit:
            if test(attributes):
                fit_score += points
                items.append(item)

        cutoffs = [_EARLIEST if window is None else now - window for window in self._windows]
        lookup = self._lookup
        counts: dict[str, int] = {}
        events = iter(events)  # outside the try: a non-iterable is a plain TypeError
        try:
            for event in events:
                if isinstance(event, dict):
                    event_type = event.get("type")
                    occurred_at = event.get("occurred_at")
                else:
                    try:
                        event_type = event.type
                        occurred_at = event.occurred_at
                    except AttributeError:
                        if not isinstance(event, Mapping):
                            raise
                        event_type = event.get("type")
                        occurred_at = event.get("occurred_at")
                window = lookup.get(event_type)  # type: ignore[arg-type]
                if window is not None and cutoffs[window] <= occurred_at <= now:
                    counts[event_type] = counts.get(event_type, 0) + 1
        except TypeError as exc:
            # Comparing a naive (or missing) occurred_at with the aware `now`.
            raise ValueError(
                "each event needs a hashable 'type' and an aware datetime 'occurred_at'"
            ) from exc

        engagement_score = 0
        if counts:
            event_items = self._event_items
            for event_type, points, cap in self._engagement:
                count = counts.get(event_type)
                if count:
                    item = event_items.get((event_type, count))
                    if item is None:
                        item = _event_item(event_type, points, cap, count)
                        if len(event_items) < _EVENT_ITEM_CACHE_SIZE:
                            event_items[event_type, count] = item
                    engagement_score += item.points
                    items.append(item)

        score = fit_score + engagement_score
        min_fit = self._min_fit
        fit_ok = min_fit is None or fit_score >= min_fit
        hand_raised_by = None
        if counts and (fit_ok or not self._hand_raisers_require_min_fit):
            for event_type in self._hand_raisers:
                if event_type in counts:
                    hand_raised_by = event_type
                    break
        qualified = (score >= self._threshold and fit_ok) or hand_raised_by is not None
        return ScoreResult(
            fit_score, engagement_score, score, qualified, hand_raised_by, tuple(items)
        )


_EVENT_ITEM_CACHE_SIZE = 4096


def _event_item(event_type: str, points: int, cap: int | None, count: int) -> ScoreItem:
    earned = count * points
    if cap is not None and earned > cap:
        return ScoreItem(
            "event", f"{event_type} × {count} (capped at {cap})", cap, count, event_type
        )
    return ScoreItem("event", f"{event_type} × {count}", earned, count, event_type)


def compile_definition(definition: Definition) -> CompiledDefinition:
    """Compile ``definition`` once for scoring many leads (same as ``definition.compiled``).

    Raises :class:`DefinitionError` when a directly constructed definition is invalid.
    """
    return definition.compiled


def evaluate(
    definition: Definition | CompiledDefinition,
    attributes: Mapping[str, object],
    events: Iterable[EventLike | Mapping[str, Any]],
    now: datetime,
) -> ScoreResult:
    """Evaluate a qualification definition for one lead as of ``now``.

    ``attributes`` is a flat mapping built by the caller from the lead's fields (title,
    company, country, persona, product, company_size, industry...) merged with its free JSON
    ``attributes``; keys are matched exactly (case-sensitive). ``events`` is any iterable of
    objects with ``.type`` and ``.occurred_at``, or of mappings with those keys; events of
    types the definition does not mention are ignored. ``now`` must be an aware datetime
    (naive: ``ValueError``); a counted event's ``occurred_at`` must be aware too
    (``ValueError`` otherwise). An event counts when ``now - window <= occurred_at <= now``.

    A :class:`Definition` is compiled on first use and the result cached on the instance, so
    calling this in a loop with the same definition object is cheap.
    """
    compiled = definition.compiled if isinstance(definition, Definition) else definition
    return compiled.evaluate(attributes, events, now)


# --------------------------------------------------------------------------------------------
# Compiling conditions into closures


Test = Callable[[Mapping[str, object]], bool]


def _compile_node(node: Condition | Group) -> Test:
    if isinstance(node, Condition):
        return _compile_condition(node)
    tests = tuple(_compile_node(item) for item in node.items)
    if len(tests) == 1:
        return tests[0]
    # Plain loops rather than all()/any() over a generator: this is the bulk-rescoring hot
    # path and a generator per call costs more than the tests themselves.
    if node.kind == "all":

        def all_hold(attributes: Mapping[str, object]) -> bool:
            for test in tests:  # noqa: SIM110
                if not test(attributes):
                    return False
            return True

        return all_hold

    def any_holds(attributes: Mapping[str, object]) -> bool:
        for test in tests:  # noqa: SIM110
            if test(attributes):
                return True
        return False

    return any_holds


def _as_number(value: object) -> int | float | Decimal | None:
    """``value`` as a finite number, or None (booleans are not numbers here).

    Accepts int, float, Decimal and numeric strings (forms often deliver ``"250"``).
    """
    kind = type(value)
    if kind is int:
        return value  # type: ignore[return-value]
    if value is None:
        return None
    if kind is float:
        return value if math.isfinite(value) else None  # type: ignore[return-value,arg-type]
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _scalar_matcher(target: object) -> Callable[[object], bool]:
    """A predicate implementing ``equals`` semantics against ``target`` (see Condition)."""
    if isinstance(target, bool):
        return lambda value: value is target
    if isinstance(target, str):
        folded = target.strip().casefold()
        return lambda value: isinstance(value, str) and value.strip().casefold() == folded

    def equals_number(value: object) -> bool:
        number = _as_number(value)
        return number is not None and number == target

    return equals_number


def _compile_condition(condition: Condition) -> Test:
    """A closure ``attributes -> bool`` for one condition.

    The closures are specialised per operator and value type, with the common cases (a str
    or an int attribute) first: they run a dozen times per lead in bulk rescoring.
    """
    name = condition.attribute
    operator = condition.operator
    target = condition.value

    if operator == "exists":

        def exists(attributes: Mapping[str, object]) -> bool:
            value = attributes.get(name)
            if value is None:
                return False
            if isinstance(value, str):
                return not value.isspace() and value != ""
            if isinstance(value, (*_COLLECTIONS, Mapping)):
                return len(value) > 0
            return True

        return exists

    if operator == "gte":

        def gte(attributes: Mapping[str, object]) -> bool:
            value = attributes.get(name)
            if type(value) is not int:
                if value is None:
                    return False
                value = _as_number(value)
                if value is None:
                    return False
            return value >= target

        return gte

    if operator == "lte":

        def lte(attributes: Mapping[str, object]) -> bool:
            value = attributes.get(name)
            if type(value) is not int:
                if value is None:
                    return False
                value = _as_number(value)
                if value is None:
                    return False
            return value <= target

        return lte

    if operator == "equals":
        if isinstance(target, str):
            folded = target.strip().casefold()

            def equals_text(attributes: Mapping[str, object]) -> bool:
                value = attributes.get(name)
                return isinstance(value, str) and value.strip().casefold() == folded

            return equals_text

        matches = _scalar_matcher(target)

        def equals(attributes: Mapping[str, object]) -> bool:
            return matches(attributes.get(name))

        return equals

    if operator == "in":
        strings = frozenset(v.strip().casefold() for v in target if isinstance(v, str))
        booleans = tuple(v for v in target if isinstance(v, bool))
        numbers = frozenset(v for v in target if not isinstance(v, (str, bool)))

        def is_in(attributes: Mapping[str, object]) -> bool:
            value = attributes.get(name)
            if isinstance(value, str):
                if value.strip().casefold() in strings:
                    return True
            elif isinstance(value, bool):
                # Not a set lookup: True == 1, so {1} would contain True.
                return value in booleans
            if not numbers:
                return False
            number = _as_number(value)
            return number is not None and number in numbers

        return is_in

    if operator == "contains":
        element_matches = _scalar_matcher(target)
        needle = target.casefold() if isinstance(target, str) else None

        def contains(attributes: Mapping[str, object]) -> bool:
            value = attributes.get(name)
            if isinstance(value, str):
                return needle is not None and needle in value.casefold()
            if isinstance(value, _COLLECTIONS):
                for element in value:
                    if element_matches(element):
                        return True
            return False

        return contains

    raise DefinitionError({"operator": [f"Unknown operator {operator!r}."]})


# --------------------------------------------------------------------------------------------
# Validation


def validate_definition(data: object) -> dict[str, list[str]]:
    """Check stored JSON for a definition; return ``{field path: [messages]}``, empty if valid.

    Paths: top-level keys (``"threshold"``), ``"fit[i]"`` and below it ``"fit[i].points"``,
    ``"fit[i].operator"``, ``"fit[i].all[j].value"``...; ``"engagement.<type>"`` and
    ``"engagement.<type>.points"``...; ``"hand_raisers[i]"``. A non-object is reported under
    ``"non_field_errors"``. Never raises.
    """
    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    if not isinstance(data, Mapping):
        add("non_field_errors", "A definition must be a JSON object.")
        return errors

    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            add(str(key), "Unknown field.")

    if "stage" not in data:
        add("stage", "This field is required.")
    elif data["stage"] not in STAGES:
        add("stage", f"Must be one of: {', '.join(STAGES)}.")

    if "threshold" not in data:
        add("threshold", "This field is required.")
    else:
        _check_whole(data["threshold"], "threshold", add, minimum=0)
    _check_whole(data.get("min_fit"), "min_fit", add, nullable=True)
    _check_days(data.get("recency_days"), "recency_days", add)

    fit = data.get("fit")
    if fit is not None:
        if not isinstance(fit, list):
            add("fit", "Must be a list of fit items.")
        else:
            for index, item in enumerate(fit):
                _check_node(item, f"fit[{index}]", add, depth=0, top_level=True)

    engagement = data.get("engagement")
    if engagement is not None:
        if not isinstance(engagement, Mapping):
            add("engagement", "Must be an object mapping event types to points.")
        else:
            for event_type, spec in engagement.items():
                _check_event_rule(event_type, spec, add)

    hand_raisers = data.get("hand_raisers")
    if hand_raisers is not None:
        if not isinstance(hand_raisers, list):
            add("hand_raisers", "Must be a list of event types.")
        else:
            seen: set[str] = set()
            for index, event_type in enumerate(hand_raisers):
                path = f"hand_raisers[{index}]"
                if not isinstance(event_type, str) or not event_type.strip():
                    add(path, "Must be a non-empty event type name.")
                elif event_type in seen:
                    add(path, f"Event type {event_type!r} is listed twice.")
                else:
                    seen.add(event_type)

    flag = data.get("hand_raisers_require_min_fit", False)
    if not isinstance(flag, bool):
        add("hand_raisers_require_min_fit", "Must be true or false.")
    return errors


Add = Callable[[str, str], None]


def _check_whole(
    value: object, path: str, add: Add, *, minimum: int | None = None, nullable: bool = False
) -> None:
    if value is None and nullable:
        return
    if not _is_whole(value):
        add(path, "Must be a whole number or null." if nullable else "Must be a whole number.")
    elif minimum is not None and value < minimum:  # type: ignore[operator]
        add(path, "Must be zero or more." if minimum == 0 else f"Must be at least {minimum}.")


def _check_days(value: object, path: str, add: Add) -> None:
    if value is None:
        return
    if not _is_whole(value) or value < 1:  # type: ignore[operator]
        add(path, "A recency window must be a positive whole number of days, or null.")


def _check_event_rule(event_type: object, spec: object, add: Add) -> None:
    path = f"engagement.{event_type}"
    if not isinstance(event_type, str) or not event_type.strip():
        add(path, "Event types must be non-empty names.")
        return
    if isinstance(spec, Mapping):
        for key in spec:
            if key not in _EVENT_RULE_KEYS:
                add(f"{path}.{key}", "Unknown field.")
        if "points" not in spec:
            add(f"{path}.points", "This field is required.")
        else:
            _check_whole(spec["points"], f"{path}.points", add, minimum=0)
        _check_days(spec.get("recency_days"), f"{path}.recency_days", add)
        _check_whole(spec.get("max_points"), f"{path}.max_points", add, minimum=0, nullable=True)
    elif _is_whole(spec):
        _check_whole(spec, path, add, minimum=0)
    else:
        add(path, "Must be a whole number of points, or an object with 'points'.")


def _check_node(node: object, path: str, add: Add, *, depth: int, top_level: bool) -> None:
    """Check a condition or group at ``path``; ``depth`` counts the groups around it."""
    if not isinstance(node, Mapping):
        add(path, "Must be an object: a rule (attribute, operator, value) or a group.")
        return
    allowed = _CONDITION_KEYS | GROUP_KINDS_SET
    if top_level:
        allowed = allowed | _FIT_ITEM_KEYS
        if "points" not in node:
            add(f"{path}.points", "This field is required.")
        else:
            _check_whole(node["points"], f"{path}.points", add)
        label = node.get("label")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            add(f"{path}.label", "Must be a non-empty string.")

    unknown = [key for key in node if key not in allowed]
    kinds = [key for key in GROUP_KINDS if key in node]
    is_condition = "attribute" in node or "operator" in node
    for key in unknown:
        if isinstance(node[key], list) and not kinds and not is_condition:
            add(path, f"Unknown group kind {key!r}; use 'all' or 'any'.")
        else:
            add(f"{path}.{key}", "Unknown field.")

    if is_condition and kinds:
        add(path, "An item is either a rule (attribute, operator) or a group, not both.")
        return
    if len(kinds) > 1:
        add(path, "A group is either 'all' or 'any', not both.")
        return
    if kinds:
        _check_group(node, kinds[0], path, add, depth=depth + 1)
    elif is_condition:
        _check_condition(node, path, add)
    elif not unknown:
        add(path, "Needs a rule (attribute, operator, value) or a group ('all' or 'any').")


def _check_group(node: Mapping[str, Any], kind: str, path: str, add: Add, *, depth: int) -> None:
    group_path = f"{path}.{kind}"
    if depth > MAX_GROUP_DEPTH:
        add(group_path, f"Groups may be nested at most {MAX_GROUP_DEPTH} deep.")
        return
    members = node[kind]
    if not isinstance(members, list):
        add(group_path, "Must be a list of rules or groups.")
    elif not members:
        add(group_path, "A group needs at least one item.")
    else:
        for index, member in enumerate(members):
            _check_node(member, f"{group_path}[{index}]", add, depth=depth, top_level=False)


def _check_condition(node: Mapping[str, Any], path: str, add: Add) -> None:
    attribute = node.get("attribute")
    if attribute is None:
        add(f"{path}.attribute", "This field is required.")
    elif not isinstance(attribute, str) or not attribute.strip():
        add(f"{path}.attribute", "Must be a non-empty attribute name.")
    elif "." in attribute:
        add(f"{path}.attribute", "Attribute names are flat keys; dots are not allowed.")

    operator = node.get("operator")
    if operator is None:
        add(f"{path}.operator", "This field is required.")
        return
    if operator not in OPERATORS:
        add(
            f"{path}.operator",
            f"Unknown operator {operator!r}; use one of: {', '.join(OPERATORS)}.",
        )
        return

    value = node.get("value")
    value_path = f"{path}.value"
    if operator == "exists":
        if value is not None:
            add(value_path, "The 'exists' operator takes no value.")
    elif operator in ("gte", "lte"):
        if not _is_number(value):
            add(value_path, f"The {operator!r} operator needs a number.")
    elif operator == "equals":
        if not _is_scalar(value):
            add(value_path, "The 'equals' operator needs a string, number or boolean.")
    elif operator == "contains":
        if not (_is_number(value) or (isinstance(value, str) and value != "")):
            add(value_path, "The 'contains' operator needs a non-empty string or a number.")
    elif operator == "in":
        if not isinstance(value, list) or not value:
            add(value_path, "The 'in' operator needs a non-empty list of values.")
        elif not all(_is_scalar(member) for member in value):
            add(value_path, "The 'in' list may hold only strings, numbers and booleans.")


def _is_whole(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _is_scalar(value: object) -> bool:
    return isinstance(value, (str, bool)) or _is_number(value)


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


def _check_definition_object(definition: Definition) -> None:
    """Validate a definition that may have been built directly rather than by ``from_dict``."""
    if not isinstance(definition, Definition):
        raise TypeError("expected a Definition")
    seen: set[str] = set()
    for rule in definition.engagement:
        if rule.event_type in seen:
            raise DefinitionError(
                {f"engagement.{rule.event_type}": ["Event type is listed twice."]}
            )
        seen.add(rule.event_type)
    try:
        data = definition.to_dict()
    except (TypeError, AttributeError) as exc:
        raise DefinitionError({"non_field_errors": [f"Malformed definition: {exc}"]}) from exc
    errors = validate_definition(data)
    if errors:
        raise DefinitionError(errors)


def _format_value(value: object) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_format_value(member) for member in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
