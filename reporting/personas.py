"""Persona performance measured from leads, for the persona pages (`personas.insights`).

Performance definitions (shown on the pages too): over a window ending now,
- leads: leads of the persona created in the window;
- MQL→SQL rate: of its leads that became MQLs in the window, the share that became SQLs;
- acceptance rate: of the sales feedback given in the window on its leads, the share accepted;
- win rate: of its leads that became opportunities in the window, the share won;
- revenue: sum of the amounts of its leads won in the window;
- cycle time: median days from a lead's creation to its being won, for leads won in the window.
Each figure is one grouped aggregate query for all personas at once.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from core.rates import percent_text
from goals.planning import conversion_rate
from leads.models import Lead, SalesFeedback
from personas.models import Persona

WINDOW_DAYS = 365
RECENT_DAYS = 90

# -- when a persona stops performing -----------------------------------------------------------
# A persona is flagged when its recent MQL→SQL conversion falls well below its own past or
# the other personas' recent conversion.


MIN_SAMPLE = 5
"""Fewer MQLs than this on either side of a comparison is noise, not a signal."""
WELL_BELOW = Fraction(7, 10)
""""Well below" is under 70% of the rate it is compared with (a drop of more than 30%)."""


def _rate(reached: int, converted: int) -> Fraction | None:
    return Fraction(converted, reached) if reached else None


def _percent(reached: int, converted: int) -> str:
    """The rate as the pages show it beside the flag: the measured rate
    (`goals.planning.conversion_rate`) through the `percent` filter's function with one
    decimal, half up ("42.5%")."""
    return percent_text(conversion_rate(reached, converted), 1)


def conversion_flags(
    *, recent: tuple[int, int], past: tuple[int, int], others: tuple[int, int]
) -> list[str]:
    """Messages for each comparison the recent MQL→SQL rate fails; empty when none fails.

    Each argument is ``(MQLs, of which became SQLs)``: ``recent`` for the persona's recent
    window, ``past`` for its own earlier window, ``others`` for every other persona's recent
    window.
    """
    if recent[0] < MIN_SAMPLE:
        return []
    now = _rate(*recent)
    messages = []
    for label, (reached, converted) in (("its own past", past), ("the other personas", others)):
        if reached < MIN_SAMPLE:
            continue
        reference = _rate(reached, converted)
        if reference and now < reference * WELL_BELOW:
            messages.append(
                f"MQL→SQL conversion is {_percent(*recent)} recently, well below {label} "
                f"({_percent(reached, converted)})."
            )
    return messages


@dataclass
class Performance:
    leads: int = 0
    mqls: int = 0
    sqls_of_mqls: int = 0
    feedback: int = 0
    accepted: int = 0
    opportunities: int = 0
    won_of_opportunities: int = 0
    revenue: Decimal = Decimal(0)
    cycle_days: list[float] = field(default_factory=list)
    recent: tuple[int, int] = (0, 0)
    past: tuple[int, int] = (0, 0)
    flags: list[str] = field(default_factory=list)

    @property
    def mql_to_sql_rate(self) -> Decimal | None:
        return conversion_rate(self.mqls, self.sqls_of_mqls)

    @property
    def acceptance_rate(self) -> Decimal | None:
        return conversion_rate(self.feedback, self.accepted)

    @property
    def win_rate(self) -> Decimal | None:
        return conversion_rate(self.opportunities, self.won_of_opportunities)

    @property
    def median_cycle_days(self) -> Decimal | None:
        if not self.cycle_days:
            return None
        return Decimal(str(statistics.median(self.cycle_days))).quantize(Decimal("0.1"))


def persona_performance(
    *,
    persona_ids: list[int] | None = None,
    now: dt.datetime | None = None,
    window_days: int = WINDOW_DAYS,
    recent_days: int = RECENT_DAYS,
) -> dict[int, Performance]:
    """Performance per persona id over the ``window_days`` ending ``now`` (3 queries).

    Also computes the flag: the last ``recent_days`` of MQL→SQL conversion against the
    persona's earlier part of the window and against all other personas' recent conversion.
    ``persona_ids`` limits the figures returned (the comparison always uses every persona).
    """
    now = now or timezone.now()
    start = now - dt.timedelta(days=window_days)
    recent_start = now - dt.timedelta(days=recent_days)
    in_window = lambda f: Q(**{f"{f}__gte": start, f"{f}__lt": now})  # noqa: E731
    mql_recent = Q(mql_at__gte=recent_start, mql_at__lt=now)
    mql_past = Q(mql_at__gte=start, mql_at__lt=recent_start)
    became_sql = Q(sql_at__isnull=False)

    rows = (
        Lead.objects.filter(persona__isnull=False)
        .filter(
            in_window("created_at")
            | in_window("mql_at")
            | in_window("opportunity_at")
            | in_window("customer_at")
        )
        .values("persona_id")
        .annotate(
            leads=Count("id", filter=in_window("created_at")),
            mqls=Count("id", filter=in_window("mql_at")),
            sqls_of_mqls=Count("id", filter=in_window("mql_at") & became_sql),
            opportunities=Count("id", filter=in_window("opportunity_at")),
            won_of_opportunities=Count(
                "id", filter=in_window("opportunity_at") & Q(customer_at__isnull=False)
            ),
            revenue=Sum("amount", filter=in_window("customer_at"), default=Decimal(0)),
            recent_mqls=Count("id", filter=mql_recent),
            recent_sqls=Count("id", filter=mql_recent & became_sql),
            past_mqls=Count("id", filter=mql_past),
            past_sqls=Count("id", filter=mql_past & became_sql),
        )
        .order_by()
    )
    result: dict[int, Performance] = {}
    for row in rows:
        result[row["persona_id"]] = Performance(
            leads=row["leads"],
            mqls=row["mqls"],
            sqls_of_mqls=row["sqls_of_mqls"],
            opportunities=row["opportunities"],
            won_of_opportunities=row["won_of_opportunities"],
            revenue=row["revenue"],
            recent=(row["recent_mqls"], row["recent_sqls"]),
            past=(row["past_mqls"], row["past_sqls"]),
        )
    feedback = (
        SalesFeedback.objects.filter(
            lead__persona__isnull=False, created_at__gte=start, created_at__lt=now
        )
        .values("lead__persona_id")
        .annotate(total=Count("id"), accepted=Count("id", filter=Q(accepted=True)))
        .order_by()
    )
    for row in feedback:
        perf = result.setdefault(row["lead__persona_id"], Performance())
        perf.feedback, perf.accepted = row["total"], row["accepted"]
    won = Lead.objects.filter(
        persona__isnull=False, customer_at__gte=start, customer_at__lt=now
    ).values_list("persona_id", "created_at", "customer_at")
    for persona_id, created_at, customer_at in won:
        days = max((customer_at - created_at).total_seconds(), 0) / 86400
        result.setdefault(persona_id, Performance()).cycle_days.append(days)

    total_recent = (
        sum(p.recent[0] for p in result.values()),
        sum(p.recent[1] for p in result.values()),
    )
    for perf in result.values():
        others = (total_recent[0] - perf.recent[0], total_recent[1] - perf.recent[1])
        perf.flags = conversion_flags(recent=perf.recent, past=perf.past, others=others)
    if persona_ids is not None:
        result = {pk: result.get(pk) or Performance() for pk in persona_ids}
    return result


@dataclass(frozen=True)
class MonthRow:
    month: dt.date
    leads: int
    mqls: int
    sqls_of_mqls: int
    customers: int
    revenue: Decimal

    @property
    def mql_to_sql_rate(self) -> Decimal | None:
        return conversion_rate(self.mqls, self.sqls_of_mqls)


def persona_monthly_trend(
    *, persona: Persona, now: dt.datetime | None = None, months: int = 12
) -> list[MonthRow]:
    """The persona's last ``months`` calendar months (company time zone), oldest first:
    leads created, MQLs (and of them, SQLs), customers won and revenue. Three queries."""
    now = now or timezone.now()
    zone = timezone.get_default_timezone()
    local = timezone.localtime(now, zone).date().replace(day=1)
    firsts = []
    year, month = local.year, local.month
    for _ in range(months):
        firsts.append(dt.date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    firsts.reverse()
    start = dt.datetime.combine(firsts[0], dt.time.min, tzinfo=zone)
    base = Lead.objects.filter(persona=persona)

    def by_month(field: str, **aggregates) -> dict[dt.date, dict]:
        rows = (
            base.filter(**{f"{field}__gte": start})
            .annotate(month=TruncMonth(field, tzinfo=zone))
            .values("month")
            .annotate(**aggregates)
            .order_by()
        )
        return {
            (row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]): row
            for row in rows
        }

    leads = by_month("created_at", n=Count("id"))
    mqls = by_month("mql_at", n=Count("id"), sqls=Count("id", filter=Q(sql_at__isnull=False)))
    won = by_month("customer_at", n=Count("id"), revenue=Sum("amount", default=Decimal(0)))
    return [
        MonthRow(
            month=first,
            leads=leads.get(first, {}).get("n", 0),
            mqls=mqls.get(first, {}).get("n", 0),
            sqls_of_mqls=mqls.get(first, {}).get("sqls", 0),
            customers=won.get(first, {}).get("n", 0),
            revenue=won.get(first, {}).get("revenue", Decimal(0)),
        )
        for first in firsts
    ]
