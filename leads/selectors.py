"""Reads on leads: who sees which leads, and the lists the API and pages show."""

from django.db.models import Q, QuerySet

from accounts.models import Role, User
from leads.models import Lead, QualificationDefinition, RescoreRun


def sees_all_leads(user: User) -> bool:
    """Marketing, managers and admins see every lead; sales reps see their team's."""
    return user.has_role(Role.MARKETING) or user.has_role(Role.MANAGER)


def leads_visible_to(user: User) -> QuerySet[Lead]:
    """The leads `user` may see: all of them, or for a sales rep those they own, those of
    their team, and those owned by a teammate."""
    leads = Lead.objects.all()
    if sees_all_leads(user):
        return leads
    if not user.has_role(Role.SALES):
        return leads.none()
    scope = Q(owner=user)
    if user.team_id is not None:
        scope |= Q(team_id=user.team_id) | Q(owner__team_id=user.team_id)
    return leads.filter(scope)


# Who may do what to a lead, for every face (API, pages, htmx actions). Rows: the user's
# relation to the lead; columns: what they may do. A lead a user may not see is a 404.
#
#                          see   move  assign  attempts/feedback  history
#   manager                 all   all   all     all                all
#   marketing               all   all   all     —                  —
#   rep, own lead           yes   yes   —       yes                —
#   rep, team's unowned     yes   yes   —       —                  —
#   rep, teammate's lead    yes   —     —       —                  —
#   rep, other team's       404   404   404     404                404


def can_log_sales_touches(user: User, lead: Lead) -> bool:
    """Attempts and feedback are logged by the lead's owner (or a manager)."""
    return lead.owner_id == user.pk or user.has_role(Role.MANAGER)


def can_move(user: User, lead: Lead) -> bool:
    """Marketing and managers move any lead; a rep moves their own leads and their team's
    unowned ones, not a teammate's."""
    if sees_all_leads(user):
        return True
    if lead.owner_id is not None:
        return lead.owner_id == user.pk
    return user.team_id is not None and lead.team_id == user.team_id


def can_assign(user: User, lead: Lead | None = None) -> bool:
    """Marketing and managers give leads to owners; reps do not reassign leads."""
    return sees_all_leads(user)


def definitions_list() -> QuerySet[QualificationDefinition]:
    return QualificationDefinition.objects.select_related("created_by", "activated_by")


def rescore_run_latest(definition: QualificationDefinition) -> RescoreRun | None:
    return definition.rescore_runs.order_by("-created_at", "-id").first()


# The filters of `GET leads/` that reports take too (funnel, compliance): name → Lead column.
REPORT_FILTERS = {
    "source": "source",
    "campaign": "campaign_id",
    "product": "product_id",
    "persona": "persona_id",
    "owner": "owner_id",
    "team": "team_id",
}


def report_filter_values(data: dict) -> dict[str, object]:
    """The Lead columns and values of the report filters present in `data`."""
    return {
        column: data[name]
        for name, column in REPORT_FILTERS.items()
        if data.get(name) not in (None, "")
    }
