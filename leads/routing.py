"""Routing on hand-off: rules pick a sales team, round-robin picks the rep inside it.

`leads_route` routes one lead or a thousand with a query count that depends on the number
of teams concerned, not of leads: the rules once, then per team a lock and its reps in
routing order (least recently routed first). It only decides; the caller records the
assignments (`leads.services.assignments`).
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db.models import F, OuterRef, Subquery

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
