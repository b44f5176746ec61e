"""Reads on leads: who sees which leads, and the lists the API and pages show."""

from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Role, User
from leads.lifecycle import FORWARD_STAGES, STAGE_LABELS, Stage
from leads.models import Campaign, Lead, Product, QualificationDefinition, RescoreRun


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
#                          see   move  assign  attempts/feedback  history  edit
#   manager                 all   all   all     all                all      all
#   marketing               all   all   all     —                  —        all
#   rep, own lead           yes   yes   —       yes                —        yes
#   rep, team's unowned     yes   yes   —       —                  —        —
#   rep, teammate's lead    yes   —     —       —                  —        —
#   rep, other team's       404   404   404     404                404      404
# The Integrations role adds writing the history of the leads its holder sees.


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


HISTORY_WRITERS = "A lead's history (a back-fill) is written by managers and the Integrations role."


def can_write_history(user: User) -> bool:
    """`POST leads/{id}/history/` (moves, assignments and other people's attempts in one
    go, as another system recorded them) is for managers and the Integrations role, on the
    leads they see (`leads_visible_to`: another lead is a 404); see `HISTORY_WRITERS`."""
    return user.has_role(Role.MANAGER) or user.has_role(Role.INTEGRATIONS)


def can_assign(user: User, lead: Lead | None = None) -> bool:
    """Marketing and managers give leads to owners; reps do not reassign leads."""
    return sees_all_leads(user)


def can_edit(user: User, lead: Lead) -> bool:
    """A lead's own fields (contact, amount, persona, product, campaign, attributes) are
    changed by marketing and managers, and by a rep on the leads they own."""
    return sees_all_leads(user) or (lead.owner_id is not None and lead.owner_id == user.pk)


# Campaigns and products: the shared vocabulary marketing keeps. Everybody on the teams
# reads them; marketing and managers create, edit and archive them.


def can_view_campaigns(user: User) -> bool:
    return sees_all_leads(user) or user.has_role(Role.SALES)


def can_manage_campaigns(user: User) -> bool:
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


# -- campaigns and products ---------------------------------------------------------------------


def campaigns_list(*, archived: bool = False) -> QuerySet[Campaign]:
    """Active campaigns, or with `archived` every campaign (archived ones too)."""
    campaigns = Campaign.objects.select_related("product").order_by(
        "archived_at", "-starts_on", "name"
    )
    return campaigns if archived else campaigns.filter(archived_at__isnull=True)


def products_list(*, archived: bool = False) -> QuerySet[Product]:
    """Active products, or with `archived` every product (inactive ones too)."""
    products = Product.objects.order_by("-is_active", "name")
    return products if archived else products.filter(is_active=True)


def campaigns_for_picker(current: int | None = None) -> QuerySet[Campaign]:
    """The campaigns a lead may be put in: the active ones, and the one it has."""
    return Campaign.objects.filter(Q(archived_at__isnull=True) | Q(pk=current)).order_by("name")


def products_for_picker(current: int | None = None) -> QuerySet[Product]:
    return Product.objects.filter(Q(is_active=True) | Q(pk=current)).order_by("name")


def lead_figures(user: User, column: str, ids) -> dict[int, dict]:
    """Per campaign or product id (`column` is `campaign_id` or `product_id`): the number
    of its leads `user` sees, its customers and their won revenue. One query."""
    rows = (
        leads_visible_to(user)
        .filter(**{f"{column}__in": list(ids)})
        .order_by()
        .values(column)
        .annotate(
            leads=Count("id"),
            customers=Count("id", filter=Q(stage=Stage.CUSTOMER)),
            won_revenue=Sum("amount", filter=Q(stage=Stage.CUSTOMER)),
        )
    )
    return {row[column]: {**row, "won_revenue": row["won_revenue"] or Decimal(0)} for row in rows}


REACHED_COLUMNS = {
    Stage.MQL: "mql_at",
    Stage.SQL: "sql_at",
    Stage.OPPORTUNITY: "opportunity_at",
    Stage.CUSTOMER: "customer_at",
}


def leads_funnel(leads: QuerySet[Lead]) -> dict:
    """The funnel of `leads`: how many reached each forward stage (a lead that skipped a
    stage counts as having reached it), how many are in each stage now, and the won
    revenue (the amounts of its customers). One query."""
    aggregates = {"total": Count("id"), "won_revenue": Sum("amount", filter=Q(stage="customer"))}
    for stage, column in REACHED_COLUMNS.items():
        aggregates[f"reached_{stage}"] = Count("id", filter=Q(**{f"{column}__isnull": False}))
    for stage in Stage:
        aggregates[f"now_{stage}"] = Count("id", filter=Q(stage=stage))
    row = leads.order_by().aggregate(**aggregates)
    total = row["total"]
    reached = [
        {
            "stage": stage.value,
            "label": STAGE_LABELS[stage],
            "count": total if stage == Stage.LEAD else row[f"reached_{stage}"],
        }
        for stage in FORWARD_STAGES
    ]
    for before, after in zip(reached, reached[1:], strict=False):
        after["rate"] = after["count"] / before["count"] if before["count"] else None
    return {
        "total": total,
        "reached": reached,
        "now": [
            {"stage": stage.value, "label": STAGE_LABELS[stage], "count": row[f"now_{stage}"]}
            for stage in Stage
        ],
        "won_revenue": row["won_revenue"] or Decimal(0),
    }
