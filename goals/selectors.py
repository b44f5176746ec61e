"""Reads for goals, plans and OKRs, and the metrics measured from leads.

Metric definitions (shown in the UI as well, see `METRIC_DEFINITIONS`):
- MQLs / SQLs / opportunities / customers won: leads whose first time reaching that stage
  (`mql_at`, `sql_at`, `opportunity_at`, `customer_at`) falls in the period. Those fields are
  kept by the lifecycle service equal to the first stage transition into the stage (or a later
  forward stage: the funnel is cumulative), so they stand for the transitions and are indexed.
- Leads: leads created in the period.
- Revenue won: sum of `amount` of leads whose `customer_at` falls in the period.
- Conversion rate A → B: of the leads that reached A in the period, the share that have reached
  B (at any time so far).
- First-touch SLA met rate: of the SLA clocks whose hand-off falls in the period and are
  decided (met or breached), the share met. Needs the SLA app's clocks.
Every metric is one aggregate query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.db.models import Avg, Count, Prefetch, Q, Sum
from django.utils import timezone

from goals import planning
from goals.models import (
    CheckIn,
    Goal,
    KeyResult,
    Metric,
    Objective,
    RevenuePlan,
)
from leads.models import Lead

STAGE_FIELDS = {
    "lead": "created_at",
    "mql": "mql_at",
    "sql": "sql_at",
    "opportunity": "opportunity_at",
    "customer": "customer_at",
}
COUNT_METRIC_FIELDS = {
    Metric.LEADS: "created_at",
    Metric.MQLS: "mql_at",
    Metric.SQLS: "sql_at",
    Metric.OPPORTUNITIES: "opportunity_at",
    Metric.CUSTOMERS_WON: "customer_at",
}
METRIC_DEFINITIONS = {
    Metric.REVENUE_WON: "Sum of the amounts of leads that became customers in the period.",
    Metric.CUSTOMERS_WON: "Leads that first became customers in the period.",
    Metric.OPPORTUNITIES: "Leads that first became opportunities in the period.",
    Metric.SQLS: "Leads that first became SQLs in the period.",
    Metric.MQLS: "Leads that first became MQLs in the period.",
    Metric.LEADS: "Leads created in the period.",
    Metric.FIRST_TOUCH_SLA_MET_RATE: (
        "Of the hand-offs in the period whose first-touch deadline is decided, the share "
        "touched in time."
    ),
    Metric.CONVERSION_RATE: (
        "Of the leads that reached the first stage in the period, the share that have gone "
        "on to reach the second."
    ),
}
NOT_AVAILABLE = "Not available yet: the SLA clocks are not installed."


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in the company time zone (settings.TIME_ZONE)."""
    zone = timezone.get_default_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The comparable period just before: same length, ending the day before ``start``."""
    length = end - start
    previous_end = start - dt.timedelta(days=1)
    return previous_end - length, previous_end


def period_label(start: dt.date, end: dt.date) -> str:
    """How to call the previous period of the same length in a sentence."""
    days = (end - start).days + 1
    if 28 <= days <= 31:
        return "last month"
    if 89 <= days <= 92:
        return "last quarter"
    if 365 <= days <= 366:
        return "last year"
    return f"the previous {days} days"


def _sla_clock_model():
    try:
        return apps.get_model("sla", "SLAClock")
    except LookupError:
        return None


def metric_available(metric: str) -> bool:
    if metric == Metric.FIRST_TOUCH_SLA_MET_RATE:
        return _sla_clock_model() is not None
    return True


def metric_value(
    *,
    metric: str,
    start_at: dt.datetime,
    end_at: dt.datetime,
    from_stage: str = "",
    to_stage: str = "",
) -> Decimal | None:
    """The metric over [start_at, end_at): a count, money, or a rate (fraction, 4 places).

    ``None`` when it cannot be measured: a rate with nothing to divide by, or the SLA metric
    while the SLA app has no clocks.
    """
    if metric in COUNT_METRIC_FIELDS:
        field = COUNT_METRIC_FIELDS[metric]
        window = {f"{field}__gte": start_at, f"{field}__lt": end_at}
        return Decimal(Lead.objects.filter(**window).count())
    if metric == Metric.REVENUE_WON:
        total = Lead.objects.filter(customer_at__gte=start_at, customer_at__lt=end_at).aggregate(
            total=Sum("amount")
        )["total"]
        return Decimal(total or 0)
    if metric == Metric.CONVERSION_RATE:
        return stage_conversion_rate(
            from_stage=from_stage, to_stage=to_stage, start_at=start_at, end_at=end_at
        )
    if metric == Metric.FIRST_TOUCH_SLA_MET_RATE:
        return first_touch_met_rate(start_at=start_at, end_at=end_at)
    raise ValueError(f"unknown metric {metric!r}")


def stage_conversion_rate(
    *, from_stage: str, to_stage: str, start_at: dt.datetime, end_at: dt.datetime
) -> Decimal | None:
    reached_field, converted_field = STAGE_FIELDS[from_stage], STAGE_FIELDS[to_stage]
    counts = Lead.objects.filter(
        **{f"{reached_field}__gte": start_at, f"{reached_field}__lt": end_at}
    ).aggregate(
        reached=Count("id"),
        converted=Count("id", filter=Q(**{f"{converted_field}__isnull": False})),
    )
    return planning.conversion_rate(counts["reached"], counts["converted"])


def first_touch_met_rate(*, start_at: dt.datetime, end_at: dt.datetime) -> Decimal | None:
    """Share of decided SLA clocks (met or breached) with hand-off in the window that were met;
    ``None`` when the SLA app has no clocks yet or nothing is decided."""
    clock = _sla_clock_model()
    if clock is None:
        return None
    counts = clock.objects.filter(handoff_at__gte=start_at, handoff_at__lt=end_at).aggregate(
        decided=Count("id", filter=Q(status__in=["met", "breached"])),
        met=Count("id", filter=Q(status="met")),
    )
    return planning.conversion_rate(counts["decided"], counts["met"])


def goal_metric_value(goal: Goal | KeyResult, start: dt.date, end: dt.date) -> Decimal | None:
    start_at, end_at = period_bounds(start, end)
    return metric_value(
        metric=goal.metric,
        start_at=start_at,
        end_at=end_at,
        from_stage=goal.from_stage,
        to_stage=goal.to_stage,
    )


# --- revenue plan measurements --------------------------------------------------------------


@dataclass(frozen=True)
class FunnelMeasurement:
    """What a look-back window measured for a plan: rates (or None) and the average deal."""

    start_at: dt.datetime
    end_at: dt.datetime
    rates: planning.MeasuredRates
    pairs: dict[str, tuple[int, int]]
    average_deal_size: Decimal | None
    won_with_amount: int


def funnel_measure(*, start_at: dt.datetime, end_at: dt.datetime) -> FunnelMeasurement:
    """Stage-to-stage rates (of the leads reaching A in the window, the share reaching B) and
    the average amount of the leads won in the window. Two queries."""
    window = Q()
    aggregates = {}
    for (a, b), field in zip(
        zip(planning.STAGES, planning.STAGES[1:], strict=False), planning.RATE_FIELDS, strict=True
    ):
        a_field, b_field = STAGE_FIELDS[a], STAGE_FIELDS[b]
        in_window = Q(**{f"{a_field}__gte": start_at, f"{a_field}__lt": end_at})
        window |= in_window
        aggregates[f"{field}__reached"] = Count("id", filter=in_window)
        aggregates[f"{field}__converted"] = Count(
            "id", filter=in_window & Q(**{f"{b_field}__isnull": False})
        )
    counts = Lead.objects.filter(window).aggregate(**aggregates)
    pairs = {
        field: (counts[f"{field}__reached"], counts[f"{field}__converted"])
        for field in planning.RATE_FIELDS
    }
    rates = planning.MeasuredRates(
        **{field: planning.conversion_rate(*pairs[field]) for field in planning.RATE_FIELDS}
    )
    won = Lead.objects.filter(
        customer_at__gte=start_at, customer_at__lt=end_at, amount__isnull=False
    ).aggregate(average=Avg("amount"), count=Count("id"))
    average = won["average"]
    if average is not None:
        average = Decimal(average).quantize(Decimal("0.01"))
    return FunnelMeasurement(
        start_at=start_at,
        end_at=end_at,
        rates=rates,
        pairs=pairs,
        average_deal_size=average,
        won_with_amount=won["count"],
    )


# --- lists ----------------------------------------------------------------------------------


def goal_list(*, owner_team: str | None = None):
    queryset = Goal.objects.select_related("revenue_plan", "created_by")
    if owner_team:
        queryset = queryset.filter(owner_team=owner_team)
    return queryset


def revenue_plan_list():
    return RevenuePlan.objects.select_related("created_by").annotate(goal_count=Count("goals"))


def revenue_plan_detail(pk: int) -> RevenuePlan:
    return (
        RevenuePlan.objects.select_related("created_by")
        .prefetch_related("product_shares__product", "goals")
        .get(pk=pk)
    )


def objectives_for_quarter(*, year: int, quarter: int):
    return Objective.objects.filter(year=year, quarter=quarter).prefetch_related(
        Prefetch(
            "key_results",
            queryset=KeyResult.objects.prefetch_related(
                Prefetch("check_ins", queryset=CheckIn.objects.select_related("author"))
            ),
        )
    )


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1
