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


def can_log_sales_touches(user: User, lead: Lead) -> bool:
    """Attempts and feedback are logged by the lead's owner (or a manager)."""
    return lead.owner_id == user.pk or user.has_role(Role.MANAGER)


def definitions_list() -> QuerySet[QualificationDefinition]:
    return QualificationDefinition.objects.select_related("created_by", "activated_by")


def rescore_run_latest(definition: QualificationDefinition) -> RescoreRun | None:
    return definition.rescore_runs.order_by("-created_at", "-id").first()
