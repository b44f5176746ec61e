"""Scoring one lead: a definition compiled into closures, evaluated against a lead's
attributes and events, with the explanation items that add up to the score."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from leads.scoring.definition import Condition, Definition, Group
from leads.scoring.validator import validate_definition
from leads.scoring.vocabulary import _COLLECTIONS, DefinitionError, EventLike

_EARLIEST = datetime.min.replace(tzinfo=UTC)


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
    """``pricing_page_view: 2 events × 10 points = 20`` (``…, capped at 15``)."""
    earned = count * points
    sentence = (
        f"{event_type}: {count} event{'s' if count != 1 else ''} × {points} "
        f"point{'s' if points != 1 else ''} = {earned}"
    )
    if cap is not None and earned > cap:
        return ScoreItem("event", f"{sentence}, capped at {cap}", cap, count, event_type)
    return ScoreItem("event", sentence, earned, count, event_type)


def compile_definition(definition: Definition) -> CompiledDefinition:
    """Compile ``definition`` once for scoring many leads (kept: compiled once per object).

    Raises :class:`DefinitionError` when a directly constructed definition is invalid.
    """
    return compiled(definition)


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
    ready = compiled(definition) if isinstance(definition, Definition) else definition
    return ready.evaluate(attributes, events, now)


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


_compiled: dict[int, tuple[Definition, CompiledDefinition]] = {}


def compiled(definition: Definition) -> CompiledDefinition:
    """`definition` compiled, built once per definition object and kept (bounded)."""
    entry = _compiled.get(id(definition))
    if entry is not None and entry[0] is definition:
        return entry[1]
    result = CompiledDefinition(definition)
    if len(_compiled) > 512:
        _compiled.clear()
    _compiled[id(definition)] = (definition, result)
    return result
