"""Checking stored JSON of a definition: every problem at once, by field path."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from leads.scoring.vocabulary import (
    _CONDITION_KEYS,
    _EVENT_RULE_KEYS,
    _FIT_ITEM_KEYS,
    _TOP_LEVEL_KEYS,
    GROUP_KINDS,
    GROUP_KINDS_SET,
    MAX_EVENT_RULES,
    MAX_FIT_ITEMS,
    MAX_GROUP_DEPTH,
    MAX_POINTS,
    MAX_RECENCY_DAYS,
    OPERATORS,
    STAGES,
)


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
        elif len(fit) > MAX_FIT_ITEMS:
            add("fit", f"At most {MAX_FIT_ITEMS} fit items.")
        else:
            for index, item in enumerate(fit):
                _check_node(item, f"fit[{index}]", add, depth=0, top_level=True)

    engagement = data.get("engagement")
    if engagement is not None:
        if not isinstance(engagement, Mapping):
            add("engagement", "Must be an object mapping event types to points.")
        elif len(engagement) > MAX_EVENT_RULES:
            add("engagement", f"At most {MAX_EVENT_RULES} event types.")
        else:
            for event_type, spec in engagement.items():
                _check_event_rule(event_type, spec, add)

    hand_raisers = data.get("hand_raisers")
    if hand_raisers is not None:
        if not isinstance(hand_raisers, list):
            add("hand_raisers", "Must be a list of event types.")
        elif len(hand_raisers) > MAX_EVENT_RULES:
            add("hand_raisers", f"At most {MAX_EVENT_RULES} hand-raising event types.")
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
    elif abs(value) > MAX_POINTS:  # type: ignore[arg-type]
        add(path, f"Must be between -{MAX_POINTS:,} and {MAX_POINTS:,}.")


def _check_days(value: object, path: str, add: Add) -> None:
    if value is None:
        return
    if not _is_whole(value) or value < 1:  # type: ignore[operator]
        add(path, "A recency window must be a positive whole number of days, or null.")
    elif value > MAX_RECENCY_DAYS:  # type: ignore[operator]
        add(path, f"A recency window is at most {MAX_RECENCY_DAYS:,} days (ten years).")


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
