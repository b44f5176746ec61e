"""Reads of the SLA app: the rep's queue, compliance tables, trend and commitment pace.

All set-based: one query per table (plus one per agreement for commitments). Percentiles
use PostgreSQL's `percentile_cont`.
"""

from datetime import date, datetime, timedelta

from django.db.models import (
    Aggregate,
    Case,
    Count,
    Exists,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncMonth, TruncWeek

from core import days
from leads.models import Lead, Product
from sla import clock_rules
from sla.models import SLAAgreement, SLAClock, UncoveredHandoff

GROUPS = {
    "owner": ("owner_id", ("owner__first_name", "owner__last_name", "owner__username")),
    "team": ("owner__team_id", ("owner__team__name",)),
    "product": ("lead__product_id", ("lead__product__name",)),
    "agreement": ("agreement_id", ("agreement__name", "agreement__version")),
}


class PercentileCont(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


QUEUE_FIELDS = (
    "lead_id",
    "owner_id",
    "agreement_id",
    "status",
    "handoff_at",
    "first_touch_due_at",
    "first_touch_at",
    "over_contact",
    "attempts",
    "attempt_window_ends_at",
    "closed_at",
    "exhausted_at",
    "lead__first_name",
    "lead__last_name",
    "lead__email",
    "lead__company",
    "lead__product__name",
    "agreement__max_attempts",
)


def _open_clocks_of(user):
    return SLAClock.objects.filter(owner=user, closed_at__isnull=True, exhausted_at__isnull=True)


def _by_urgency(clocks):
    return clocks.annotate(
        urgency=Case(
            When(status=SLAClock.Status.BREACHED, first_touch_at__isnull=True, then=Value(0)),
            When(status=SLAClock.Status.PENDING, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).order_by("urgency", "first_touch_due_at", "id")


def queue_for(user):
    """The rep's open clocks by urgency: breached without a first touch first (the longest
    overdue on top), then pending ones by first-touch deadline, then the touched ones.

    Only the columns the queue shows are read: the agreement's long texts and the lead's
    other fields made building the page's model objects cost more than the query.
    """
    return _by_urgency(
        _open_clocks_of(user)
        .select_related("lead", "lead__product", "agreement")
        .only(*QUEUE_FIELDS)
    )


def queue_ids_for(user):
    """The ids of `queue_for(user)`, in its order, read from the clock table alone: a page
    of them is sorted out of the rep's open clocks before any lead is looked up."""
    return _by_urgency(_open_clocks_of(user)).values_list("id", flat=True)


# What a queue row shows (sla/_queue_row.html), as `queue_page` reads it: the row's HTML is
# cached under these values (sla.views.queue_rows_html), so a page whose rows are all cached
# builds no model object.
QUEUE_ROW_VALUES = (
    "id",
    "status",
    "handoff_at",
    "first_touch_due_at",
    "first_touch_at",
    "over_contact",
    "attempts",
    "attempt_window_ends_at",
    "agreement__max_attempts",
    "lead_id",
    "lead__first_name",
    "lead__last_name",
    "lead__email",
    "lead__company",
    "lead__product__name",
)


def queue_page(ids: list[int]) -> list[tuple]:
    """What the queue shows of the clocks `ids` (a page of `queue_ids_for`), in that order:
    one tuple of `QUEUE_ROW_VALUES` each.

    Sorting the rep's whole queue joined to its leads looked up every open clock's lead to
    show fifty; a page of ids first looks up only the fifty."""
    found = {
        row[0]: row for row in SLAClock.objects.filter(pk__in=ids).values_list(*QUEUE_ROW_VALUES)
    }
    return [found[pk] for pk in ids if pk in found]


def queue_clocks(ids: list[int]) -> dict[int, SLAClock]:
    """The clocks `ids` by id, as `queue_for` reads them (to render their rows)."""
    return (
        SLAClock.objects.filter(pk__in=ids)
        .select_related("lead", "lead__product", "agreement")
        .only(*QUEUE_FIELDS)
        .in_bulk()
    )


def clocks_in(start: datetime, end: datetime, filters: dict | None = None):
    """Clocks handed off in [start, end), of leads matching `filters` (Lead columns)."""
    lead_filters = {f"lead__{column}": value for column, value in (filters or {}).items()}
    return SLAClock.objects.filter(handoff_at__gte=start, handoff_at__lt=end, **lead_filters)


def _measures() -> dict:
    return {
        "handoffs": Count("id"),
        "met": Count("id", filter=Q(status=SLAClock.Status.MET)),
        "breached": Count("id", filter=Q(status=SLAClock.Status.BREACHED)),
        "over_contact": Count("id", filter=Q(over_contact=True)),
        "exhausted": Count("id", filter=Q(exhausted_at__isnull=False)),
        "attempts": Sum("attempts"),
    }


def _finish(row: dict) -> dict:
    decided = row["met"] + row["breached"]
    row["met_rate"] = row["met"] / decided if decided else None
    row["attempts_per_lead"] = (row["attempts"] or 0) / row["handoffs"] if row["handoffs"] else None
    for key in ("median_seconds", "p90_seconds"):
        value = row.get(key)
        # Responses are whole seconds, so a median or p90 is a multiple of 0.1 s: rounding
        # drops percentile_cont's floating-point noise, which made an exact 7.45 hours
        # 7.4499999… (shown as 7.4 where half-up rounding of the figure gives 7.5).
        row[key.replace("_seconds", "_hours")] = (
            round(value, 3) / 3600 if value is not None else None
        )
    return row


def compliance(
    *, start: datetime, end: datetime, group_by: str = "owner", filters: dict | None = None
) -> list[dict]:
    """One row per group (owner, team, product or agreement version) for clocks handed off in
    [start, end): hand-offs, met/breached and met rate, median and p90 first response in
    business hours, over-contact, exhausted, attempts per lead."""
    key, labels = GROUPS[group_by]
    queryset = (
        clocks_in(start, end, filters)
        .values(key, *labels)
        .annotate(**_measures())
        .annotate(
            median_seconds=PercentileCont("response_business_seconds", fraction="0.5"),
            p90_seconds=PercentileCont("response_business_seconds", fraction="0.9"),
        )
    )
    rows = list(queryset.order_by(key))
    for row in rows:
        row["group"] = row[key]
        row["label"] = _label(group_by, row)
        _finish(row)
    return rows


def _label(group_by: str, row: dict) -> str:
    if group_by == "owner":
        name = f"{row['owner__first_name'] or ''} {row['owner__last_name'] or ''}".strip()
        return name or row["owner__username"] or "Unassigned"
    if group_by == "team":
        return row["owner__team__name"] or "No team"
    if group_by == "product":
        return row["lead__product__name"] or "No product"
    return f"{row['agreement__name']} v{row['agreement__version']}"


def weekly_trend(*, start: datetime, end: datetime, filters: dict | None = None) -> list[dict]:
    """Hand-offs, met, breached and met rate per ISO week of hand-off (company days)."""
    rows = list(
        clocks_in(start, end, filters)
        .annotate(week=TruncWeek("handoff_at", tzinfo=days.company_zone()))
        .values("week")
        .annotate(**_measures())
        .order_by("week")
    )
    for row in rows:
        week = row["week"]
        row["week"] = week.date() if isinstance(week, datetime) else week
        _finish(row)
    return rows


def month_starts(start: datetime, end: datetime) -> list[datetime]:
    """First instants of the company months (core.days) touching [start, end]."""
    current = days.day_start(days.local_day(start).replace(day=1))
    months = []
    while current <= end:
        months.append(current)
        current = _next_month(current)
    return months


def _next_month(moment: datetime) -> datetime:
    """The first instant of the company month after the one starting at `moment`."""
    return days.day_start((days.local_day(moment) + timedelta(days=32)).replace(day=1))


def commitment_pace(*, start: datetime, end: datetime, now: datetime) -> list[dict]:
    """Marketing commitments delivered vs committed per agreement, product and company
    month (core.days: a month runs from 00:00 of its first day in the company's time zone).

    Delivered: leads of the product (and the commitment's persona, if any) that first
    reached the commitment's stage in the month. Pace from `clock_rules.month_pace`.
    """
    months = month_starts(start, end)
    if not months:
        return []
    first, after = months[0], _next_month(months[-1])
    agreements = list(
        SLAAgreement.objects.filter(status=SLAAgreement.Status.ACTIVE, superseded_at__isnull=True)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=first.date()))
        .filter(effective_from__lt=after.date())
        .select_related("commitment_persona")
        .prefetch_related("products")
        .order_by("effective_from", "id")
    )
    all_products = None
    rows = []
    for agreement in agreements:
        products = list(agreement.products.all())
        if not products:
            if all_products is None:
                all_products = list(Product.objects.filter(is_active=True))
            products = all_products
        stage_field = f"{agreement.commitment_stage}_at"
        leads = Lead.objects.filter(
            **{f"{stage_field}__gte": first, f"{stage_field}__lt": after},
            product_id__in=[p.pk for p in products],
        )
        if agreement.commitment_persona_id:
            leads = leads.filter(persona_id=agreement.commitment_persona_id)
        delivered = {
            (row["product_id"], _as_date(row["month"])): row["n"]
            for row in leads.annotate(month=TruncMonth(stage_field, tzinfo=days.company_zone()))
            .values("product_id", "month")
            .annotate(n=Count("id"))
        }
        for month in months:
            month_end = _next_month(month)
            if agreement.effective_from >= month_end.date() or (
                agreement.effective_until is not None and agreement.effective_until < month.date()
            ):
                continue
            for product in products:
                count = delivered.get((product.pk, month.date()), 0)
                pace = clock_rules.month_pace(
                    delivered=count,
                    committed=agreement.leads_per_product_per_month,
                    month_start=month,
                    month_end=month_end,
                    now=now,
                )
                rows.append(
                    {
                        "agreement_id": agreement.pk,
                        "agreement": str(agreement),
                        "product_id": product.pk,
                        "product_name": product.name,
                        "persona": str(agreement.commitment_persona or ""),
                        "stage": agreement.commitment_stage,
                        "month": month.date(),
                        "delivered": count,
                        "committed": agreement.leads_per_product_per_month,
                        "expected_by_now": pace.expected_by_now,
                        "status": pace.status,
                    }
                )
    return rows


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def sees_compliance(user) -> bool:
    """Per-rep and per-team first-touch compliance: managers (the permission)."""
    return user.has_perm("sla.view_compliance")


def sees_commitments(user) -> bool:
    """Marketing's own commitments (delivered vs committed), read only: marketing too."""
    return user.has_perm("sla.view_commitments") or sees_compliance(user)


def uncovered_handoffs(*, limit: int = 50):
    """Hand-offs that started no clock (no agreement or calendar covered them) and still
    have none, newest first, with the count of all of them."""
    open_gaps = UncoveredHandoff.objects.exclude(
        Exists(
            SLAClock.objects.filter(lead_id=OuterRef("lead_id"), handoff_at=OuterRef("handoff_at"))
        )
    )
    rows = list(open_gaps.select_related("lead", "owner").order_by("-handoff_at", "-id")[:limit])
    total = len(rows) if len(rows) < limit else open_gaps.count()
    return rows, total
