"""Routing on hand-off: rules pick a sales team, round-robin picks the rep inside it."""

from datetime import datetime

from django.db.models import F, OuterRef, Subquery

from accounts.models import Role, Team, User
from leads.models import Lead, RoutingAssignment, RoutingRule


def rule_matches(rule: RoutingRule, lead: Lead) -> bool:
    if rule.product_id is not None and rule.product_id != lead.product_id:
        return False
    if rule.persona_id is not None and rule.persona_id != lead.persona_id:
        return False
    countries = [code.upper() for code in rule.countries or []]
    return not countries or (lead.country or "").upper() in countries


def rule_for(lead: Lead) -> RoutingRule | None:
    """The first active rule (by priority) that matches the lead."""
    for rule in RoutingRule.objects.filter(is_active=True).select_related("team"):
        if rule_matches(rule, lead):
            return rule
    return None


def reps_in_routing_order(team: Team):
    """The team's active, present sales reps, least recently routed first, then by id: the
    one routing order for a single hand-off (`next_rep`) and a batch (round-robin over it).

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


def next_rep(team: Team) -> User | None:
    """The active, present sales rep of `team` who was routed a lead least recently."""
    return reps_in_routing_order(team).first()


def lead_route(*, lead: Lead, at: datetime) -> RoutingAssignment | None:
    """Route a lead that became SQL without an owner. Returns None when no rule or rep fits."""
    from leads.services import lead_assign

    rule = rule_for(lead)
    if rule is None:
        return None
    rep = next_rep(rule.team)
    if rep is None:
        return None
    reason = (
        f"Routed by rule “{rule.name}” to {rule.team}; round-robin picked {rep} "
        "(active, not away, least recently routed)"
    )
    return lead_assign(
        lead=lead, owner=rep, actor=None, reason=reason, rule=rule, team=rule.team, now=at
    )
