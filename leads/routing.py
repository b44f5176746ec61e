"""Routing on hand-off: rules pick a sales team, round-robin picks the rep inside it.

`leads_route` routes one lead or a thousand with a query count that depends on the number
of teams concerned, not of leads: the rules once, then per team a lock and its reps in
routing order (least recently routed first). It only decides; the caller records the
assignments (`leads.services.assignments`).
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, Subquery

from accounts.models import Role, Team, User
from leads.models import RoutingAssignment, RoutingRule


@dataclass(frozen=True)
class Route:
    """Where routing sends a lead: the rule, its team and the rep round-robin picked."""

    owner_id: int
    team_id: int
    rule_id: int
    reason: str


def rule_matches(rule: RoutingRule, lead: Mapping) -> bool:
    """Does `rule` take `lead` (a mapping with product_id, persona_id and country)?"""
    if rule.product_id is not None and rule.product_id != lead["product_id"]:
        return False
    if rule.persona_id is not None and rule.persona_id != lead["persona_id"]:
        return False
    countries = [code.upper() for code in rule.countries or []]
    return not countries or (lead["country"] or "").upper() in countries


def reps_in_routing_order(team: Team):
    """The team's active, present sales reps, least recently routed first, then by id.

    Locks the team row so that two hand-offs routed at once cannot pick the same rep.
    """
    Team.objects.select_for_update().filter(pk=team.pk).first()
    last_routed = (
        RoutingAssignment.objects.filter(owner=OuterRef("pk"), team=team, rule__isnull=False)
        .order_by("-id")
        .values("id")[:1]
    )
    return (
        User.objects.filter(team=team, is_active=True, is_away=False, groups__name=Role.SALES)
        .annotate(last_routed=Subquery(last_routed))
        .order_by(F("last_routed").asc(nulls_first=True), "id")
    )


def leads_route(leads: Sequence[Mapping]) -> dict[int, Route]:
    """Routes for `leads` (mappings with id, product_id, persona_id, country), in order.

    The first active rule by priority that matches a lead picks the team; inside a team,
    leads go round-robin to its reps in routing order. Leads no rule or present rep fits
    are left out of the answer (they wait unassigned).
    """
    if not leads:
        return {}
    rules = list(RoutingRule.objects.filter(is_active=True).select_related("team"))
    by_team: dict[int, list[tuple[Mapping, RoutingRule]]] = defaultdict(list)
    for lead in leads:
        rule = next((rule for rule in rules if rule_matches(rule, lead)), None)
        if rule is not None:
            by_team[rule.team_id].append((lead, rule))
    routes: dict[int, Route] = {}
    for team_id, routed in sorted(by_team.items()):
        reps = list(reps_in_routing_order(routed[0][1].team))
        if not reps:
            continue
        for index, (lead, rule) in enumerate(routed):
            rep = reps[index % len(reps)]
            routes[lead["id"]] = Route(
                owner_id=rep.pk,
                team_id=team_id,
                rule_id=rule.pk,
                reason=(
                    f"Routed by rule “{rule.name}” to {rule.team}; round-robin picked "
                    f"{rep} (active, not away, least recently routed)"
                ),
            )
    return routes


# -- the managers' page -------------------------------------------------------------------------


def rule_covers(earlier: RoutingRule, later: RoutingRule) -> bool:
    """Does `earlier` take every lead `later` would take (so `later` is never reached)?"""
    if earlier.product_id is not None and earlier.product_id != later.product_id:
        return False
    if earlier.persona_id is not None and earlier.persona_id != later.persona_id:
        return False
    wide = {code.upper() for code in earlier.countries or []}
    narrow = {code.upper() for code in later.countries or []}
    return not wide or (bool(narrow) and narrow <= wide)


def routing_rules_overview() -> list[RoutingRule]:
    """Every rule in evaluation order (priority, then id), in one query, each with
    `available_reps` (its team's active, present sales reps), `position` (its place among
    the active rules, None when inactive) and `shadowed_by` (an earlier active rule that
    takes all its leads, so it is never reached)."""
    present = Count(
        "team__members",
        filter=Q(
            team__members__is_active=True,
            team__members__is_away=False,
            team__members__groups__name=Role.SALES,
        ),
        distinct=True,
    )
    rules = list(
        RoutingRule.objects.select_related("team", "product", "persona")
        .annotate(available_reps=present)
        .order_by("priority", "id")
    )
    active: list[RoutingRule] = []
    for rule in rules:
        rule.position = None
        rule.shadowed_by = None
        if not rule.is_active:
            continue
        rule.shadowed_by = next((earlier for earlier in active if rule_covers(earlier, rule)), None)
        active.append(rule)
        rule.position = len(active)
    return rules


def team_available_reps(team: Team) -> int:
    """How many of the team's sales reps routing could pick now (active, not away)."""
    return User.objects.filter(
        team=team, is_active=True, is_away=False, groups__name=Role.SALES
    ).count()
