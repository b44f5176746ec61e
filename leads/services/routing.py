"""Routing rules: creating, changing, reordering and deleting them (managers' page).

A rule sends handed-off leads to a sales team (`leads.routing` decides with the active
rules in evaluation order: `priority`, then `id`). Every write here checks what the rule
points at, so a rule never names a marketing team, a retired persona or a malformed
country code, whatever face (page, admin) saved it. Refusals are `ValidationError`s with a
message per field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from accounts.models import Team
from leads.models import Product, RoutingRule
from personas.models import Persona

# Priorities a page may set; the column holds more, but a rule list is short.
MAX_PRIORITY = 1_000_000
PRIORITY_STEP = 10
MAX_COUNTRIES = 250
MAX_NAME = RoutingRule._meta.get_field("name").max_length
_COUNTRY = re.compile(r"[A-Z]{2}")


def countries_parse(value: str | Iterable[str]) -> list[str]:
    """Country codes from "DE, at ch" (or a list): upper-cased, each once, in order.

    Raises `ValidationError` naming the first code that is not two letters.
    """
    pieces = re.split(r"[\s,;]+", value) if isinstance(value, str) else list(value)
    codes: list[str] = []
    for piece in pieces:
        if not isinstance(piece, str):
            raise ValidationError("Give country codes as text, e.g. DE, AT, CH.")
        code = piece.strip().upper()
        if not code:
            continue
        if not _COUNTRY.fullmatch(code):
            raise ValidationError(f"“{code[:40]}” is not a two-letter country code (e.g. DE, US).")
        if code not in codes:
            codes.append(code)
    if len(codes) > MAX_COUNTRIES:
        raise ValidationError(f"At most {MAX_COUNTRIES} countries per rule.")
    return codes


def _checked(
    *,
    name: str,
    team: Team | None,
    product: Product | None,
    persona: Persona | None,
    countries: Iterable[str] | str,
    priority: int | None,
    rule: RoutingRule | None = None,
) -> dict:
    """The rule's values, or a `ValidationError` with a message on each bad field."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Give the rule a name, e.g. “DACH enterprise”."
    elif len(name) > MAX_NAME:
        errors["name"] = f"At most {MAX_NAME} characters (this one has {len(name)})."
    if team is None:
        errors["team"] = "Choose the sales team that gets the leads."
    elif team.function != Team.Function.SALES:
        errors["team"] = f"{team} is a marketing team; routing gives leads to sales teams."
    # A rule may keep the product or persona it already has, even once it is retired.
    kept_product = rule is not None and product is not None and rule.product_id == product.pk
    kept_persona = rule is not None and persona is not None and rule.persona_id == persona.pk
    if product is not None and not product.is_active and not kept_product:
        errors["product"] = f"{product} is no longer sold; choose an active product."
    if persona is not None and persona.status == Persona.Status.RETIRED and not kept_persona:
        errors["persona"] = f"{persona} is retired; choose a draft or active persona."
    try:
        codes = countries_parse(countries)
    except ValidationError as exc:
        errors["countries"] = exc.messages[0]
        codes = []
    if priority is not None and not 0 <= priority <= MAX_PRIORITY:
        errors["priority"] = f"Give a whole number from 0 to {MAX_PRIORITY:,}."
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "team": team,
        "product": product,
        "persona": persona,
        "countries": codes,
        "priority": priority,
    }


def _next_priority() -> int:
    """After the last rule: new rules are tried last unless given a priority."""
    highest = RoutingRule.objects.aggregate(highest=Max("priority"))["highest"]
    return PRIORITY_STEP if highest is None else min(highest + PRIORITY_STEP, MAX_PRIORITY)


def routing_rule_create(
    *,
    name: str,
    team: Team | None,
    product: Product | None = None,
    persona: Persona | None = None,
    countries: Iterable[str] | str = (),
    priority: int | None = None,
    is_active: bool = True,
) -> RoutingRule:
    """A new rule; without a priority it is tried after every existing rule."""
    values = _checked(
        name=name,
        team=team,
        product=product,
        persona=persona,
        countries=countries,
        priority=priority,
    )
    with transaction.atomic():
        if values["priority"] is None:
            values["priority"] = _next_priority()
        return RoutingRule.objects.create(is_active=is_active, **values)


def routing_rule_update(
    *,
    rule: RoutingRule,
    name: str,
    team: Team | None,
    product: Product | None = None,
    persona: Persona | None = None,
    countries: Iterable[str] | str = (),
    priority: int | None = None,
    is_active: bool = True,
) -> RoutingRule:
    """Change every field of a rule (a retired persona or product it already had may stay)."""
    values = _checked(
        name=name,
        team=team,
        product=product,
        persona=persona,
        countries=countries,
        priority=priority,
        rule=rule,
    )
    if values["priority"] is None:
        values["priority"] = rule.priority
    with transaction.atomic():
        for field, value in values.items():
            setattr(rule, field, value)
        rule.is_active = is_active
        rule.save()
    return rule


def routing_rule_delete(*, rule: RoutingRule) -> None:
    """Delete a rule; the assignments it made keep their reason text, without the link."""
    rule.delete()


def routing_rule_move(*, rule: RoutingRule, direction: str) -> bool:
    """Move a rule one place up (tried earlier) or down in the evaluation order.

    The rules are locked and renumbered in steps of `PRIORITY_STEP` in their current
    order, so rules that shared a priority get a definite one and two managers reordering
    at once cannot interleave. Answers False when the rule is already first (or last).
    """
    if direction not in ("up", "down"):
        raise ValidationError({"direction": "Move a rule up or down."})
    with transaction.atomic():
        rules = list(RoutingRule.objects.select_for_update().order_by("priority", "id"))
        ids = [item.pk for item in rules]
        if rule.pk not in ids:
            return False
        index = ids.index(rule.pk)
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(rules):
            return False
        rules[index], rules[other] = rules[other], rules[index]
        changed = []
        for position, item in enumerate(rules, start=1):
            priority = min(position * PRIORITY_STEP, MAX_PRIORITY)
            if item.priority != priority:
                item.priority = priority
                changed.append(item)
        RoutingRule.objects.bulk_update(changed, ["priority"])
    rule.refresh_from_db(fields=["priority"])
    return True
