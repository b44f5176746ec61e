"""Report queries: the closed-loop funnel in set-based SQL, snapshots, lead quality.

The arithmetic and the semantics are `reporting/funnel.py`'s; this module produces the same
numbers from the database with a handful of aggregate queries, never a query per lead:

* cohort mode reads `leads_lead` only: the lifecycle service keeps `mql_at`, `sql_at`,
  `opportunity_at` and `customer_at` equal to the first time the lead reached that stage or a
  later forward stage, so "reached stage s" is `s_at IS NOT NULL` (exits: an EXISTS on the
  lead's transitions);
* flow mode reads the transitions in the period (an index range scan on `at`): a transition
  enters its `to_stage` and the forward stages it skipped (`entering`), as funnel.py says.

Groups are keyed by text: a source slug or an object id as a string, "" for none. The
groups of every dimension partition the leads, so a total is the sum of its groups.
Days are calendar days in the company time zone (settings.TIME_ZONE).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.apps import apps
from django.db import connections, transaction
from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.days import company_zone, day_start, local_day
from core.replicas import read_alias
from leads import lifecycle
from leads.models import Campaign, Lead, Product, QualificationDefinition, SalesFeedback
from leads.models import StageTransition as Transition
from leads.selectors import leads_visible_to, sees_all_leads
from reporting import funnel
from reporting.funnel import (
    ALL,
    EXIT_STAGES,
    FORWARD_PAIRS,
    FORWARD_STAGES,
    STAGES,
    FunnelResult,
)
from reporting.models import Dimension, DirtyDay, FunnelMode, FunnelSnapshot, RollupState

ROLLUP_NAME = "funnel_snapshots"

# Lead field (ORM name) behind each dimension.
GROUP_FIELDS: dict[str, str] = {
    Dimension.SOURCE: "source",
    Dimension.CAMPAIGN: "campaign_id",
    Dimension.PERSONA: "persona_id",
    Dimension.PRODUCT: "product_id",
    Dimension.OWNER: "owner_id",
    Dimension.DEFINITION: "mql_definition_id",
    Dimension.SQL_DEFINITION: "sql_definition_id",
}
GROUP_BY_CHOICES = tuple(GROUP_FIELDS)
REACHED_FIELDS = {
    funnel.MQL: "mql_at",
    funnel.SQL: "sql_at",
    funnel.OPPORTUNITY: "opportunity_at",
    funnel.CUSTOMER: "customer_at",
}
STAGE_TIME_FIELDS = {funnel.LEAD: "created_at", **REACHED_FIELDS}
_RANK = {stage: rank for rank, stage in enumerate(FORWARD_STAGES)}


def group_key(value) -> str:
    return "" if value is None else str(value)


# --------------------------------------------------------------------------- transitions


def _entry_map() -> list[tuple[str, str, str]]:
    """Every (from, to) move with each stage it enters in flow mode (funnel._entered_stages),
    as rows for a VALUES list: the SQL below expands transitions exactly as funnel.py does."""
    rows = []
    for from_stage in STAGES:
        for to_stage in STAGES:
            row = funnel.TransitionRow(None, from_stage, to_stage, None)
            rows.extend((from_stage, to_stage, entered) for entered in funnel._entered_stages(row))
    return rows


ENTRY_MAP = _entry_map()


def entering(stage: str) -> Q:
    """Transitions that enter ``stage`` in flow mode, read off `ENTRY_MAP` (so the SQL and
    funnel.flow_funnel apply one rule): by target stage, the source stages that enter it."""
    sources: dict[str, set[str]] = defaultdict(set)
    for from_stage, to_stage, entered in ENTRY_MAP:
        if entered == stage:
            sources[to_stage].add(from_stage)
    if not sources:
        return Q(pk__in=[])  # no move enters it
    condition = Q()
    for to_stage, froms in sorted(sources.items()):
        if froms == set(STAGES):
            condition |= Q(to_stage=to_stage)
        else:
            condition |= Q(to_stage=to_stage, from_stage__in=sorted(froms))
    return condition


# --------------------------------------------------------------------------- counts


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    won_revenue: Decimal = Decimal(0)


def _lead_where(filters: dict | None, alias: str = "l") -> tuple[str, list]:
    """`AND alias.column = %s …` for the report filters (leads.selectors.REPORT_FILTERS)."""
    if not filters:
        return "", []
    sql = "".join(f" AND {alias}.{column} = %s" for column in filters)
    return sql, list(filters.values())


def _cohort_counts(
    start: dt.datetime,
    end: dt.datetime,
    dimension: str,
    *,
    days: Iterable[dt.date] | None = None,
    filters: dict | None = None,
) -> dict[tuple, _Tally]:
    """Cohort counts keyed by ``(group,)`` or, with ``days``, by ``(day, group)``."""
    queryset = Lead.objects.filter(created_at__gte=start, created_at__lt=end, **(filters or {}))
    keys: list[str] = []
    if days is not None:
        queryset = queryset.annotate(day=TruncDate("created_at", tzinfo=company_zone())).filter(
            day__in=list(days)
        )
        keys.append("day")
    if dimension != Dimension.ALL:
        queryset = queryset.annotate(group=F(GROUP_FIELDS[dimension]))
        keys.append("group")
    aggregates = {funnel.LEAD: Count("id")}
    for stage, field_name in REACHED_FIELDS.items():
        aggregates[stage] = Count("id", filter=Q(**{f"{field_name}__isnull": False}))
    for stage in EXIT_STAGES:
        aggregates[stage] = Count(
            "id", filter=Exists(Transition.objects.filter(lead=OuterRef("pk"), to_stage=stage))
        )
    aggregates["won"] = Sum("amount", filter=Q(customer_at__isnull=False))
    rows = (
        queryset.values(*keys).annotate(**aggregates)
        if keys
        else [queryset.aggregate(**aggregates)]
    )
    result: dict[tuple, _Tally] = {}
    for row in rows:
        if not keys and not row[funnel.LEAD]:
            continue
        key = tuple(row["day"] if k == "day" else group_key(row[k]) for k in keys)
        tally = _Tally(won_revenue=row["won"] or Decimal(0))
        for stage in STAGES:
            tally.counts[stage] = row[stage]
        result[key] = tally
    return result


def _flow_counts(
    start: dt.datetime, end: dt.datetime, dimension: str, *, days: Iterable[dt.date] | None = None
) -> dict[tuple, _Tally]:
    """Flow counts (distinct leads entering each stage) keyed like `_cohort_counts`."""
    zone = company_zone()
    transitions = Transition.objects.filter(at__gte=start, at__lt=end)
    created = Lead.objects.filter(created_at__gte=start, created_at__lt=end)
    keys: list[str] = []
    # A lead re-entering `lead` (disqualified -> lead) counts once with its creation.
    created_in_same_piece = Q(lead__created_at__gte=start, lead__created_at__lt=end)
    if days is not None:
        days = list(days)
        transitions = transitions.annotate(
            day=TruncDate("at", tzinfo=zone), created_day=TruncDate("lead__created_at", tzinfo=zone)
        ).filter(day__in=days)
        created = created.annotate(day=TruncDate("created_at", tzinfo=zone)).filter(day__in=days)
        created_in_same_piece = Q(created_day=F("day"))
        keys.append("day")
    if dimension != Dimension.ALL:
        transitions = transitions.annotate(group=F(f"lead__{GROUP_FIELDS[dimension]}"))
        created = created.annotate(group=F(GROUP_FIELDS[dimension]))
        keys.append("group")

    aggregates = {
        stage: Count("lead_id", distinct=True, filter=entering(stage))
        for stage in STAGES
        if stage != funnel.LEAD
    }
    aggregates["lead_again"] = Count(
        "lead_id", distinct=True, filter=Q(to_stage=funnel.LEAD) & ~created_in_same_piece
    )
    # `customer` is final: a lead enters it once, so its amount is summed once.
    aggregates["won"] = Sum("lead__amount", filter=Q(to_stage=funnel.CUSTOMER))

    result: dict[tuple, _Tally] = defaultdict(_Tally)
    if keys:
        transition_rows = transitions.values(*keys).annotate(**aggregates)
        created_rows = created.values(*keys).annotate(n=Count("id"))
    else:
        transition_rows = [transitions.aggregate(**aggregates)]
        created_rows = [created.aggregate(n=Count("id"))]

    def key_of(row) -> tuple:
        return tuple(row["day"] if k == "day" else group_key(row[k]) for k in keys)

    for row in transition_rows:
        if not keys and not any(row[stage] for stage in aggregates if stage != "won"):
            continue
        tally = result[key_of(row)]
        for stage in STAGES:
            if stage != funnel.LEAD:
                tally.counts[stage] += row[stage]
        tally.counts[funnel.LEAD] += row["lead_again"]
        tally.won_revenue += row["won"] or Decimal(0)
    for row in created_rows:
        if row["n"]:
            result[key_of(row)].counts[funnel.LEAD] += row["n"]
    return dict(result)


# --------------------------------------------------------------------------- velocity

_PAIR_INDEX = {pair: index for index, pair in enumerate(FORWARD_PAIRS)}


def _group_column(dimension: str) -> str:
    if dimension == Dimension.ALL:
        return "NULL"
    return "l." + Lead._meta.get_field(GROUP_FIELDS[dimension].removesuffix("_id")).column


def _cohort_samples_sql(start, end, dimension, filters=None) -> tuple[str, list]:
    parts, params = [], []
    group = _group_column(dimension)
    where, where_params = _lead_where(filters)
    for index, (a, b) in enumerate(FORWARD_PAIRS):
        a_col, b_col = STAGE_TIME_FIELDS[a], STAGE_TIME_FIELDS[b]
        parts.append(
            f"SELECT {group} AS grp, {index} AS pair, l.{a_col} AS a_at, l.{b_col} AS b_at "
            f"FROM leads_lead l WHERE l.created_at >= %s AND l.created_at < %s "
            f"AND l.{b_col} IS NOT NULL{where}"
        )
        params += [start, end, *where_params]
    return " UNION ALL ".join(parts), params


def _flow_entry_map() -> list[tuple[str, str, str, bool, bool]]:
    """`ENTRY_MAP` with, per entered stage, whether the move starts its velocity (the first
    forward stage after `lead` it enters: from the transition's `previous_stage_at`) or
    reaches it from a stage it entered at the same instant (zero)."""
    previous = {b: a for a, b in FORWARD_PAIRS}
    rows = []
    for from_stage, to_stage, entered in ENTRY_MAP:
        begins = lifecycle.velocity_start_stage(from_stage, to_stage)
        timed = entered in previous
        rows.append((from_stage, to_stage, entered, timed and previous[entered] == begins, timed))
    return rows


FLOW_ENTRY_MAP = _flow_entry_map()


def _flow_entries_sql(start, end, dimension, filters=None) -> tuple[str, list]:
    """Per lead and stage entered in the period: the first entry in the period, its group,
    the amount of a lead entering ``customer`` and the time it took from the lead's latest
    entry into the stage before it in the funnel at or before that moment (anywhere in its
    history), as funnel.flow_funnel defines them.

    Only the period's transitions and creations are read (index range scans on `at` and
    `created_at`): each transition carries the start of the velocity of the first forward
    stage it enters (`previous_stage_at`, kept by leads.services.entries), and every later
    stage it enters was reached from one it entered at the same instant. (Reading each
    counted lead's whole history with a window took twice as long at a million leads.)"""
    group = _group_column(dimension)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(FLOW_ENTRY_MAP))
    where, where_params = _lead_where(filters)
    sql = (
        f"SELECT DISTINCT ON (e.lead_id, e.stage) {group} AS grp, e.stage,"
        f"  CASE WHEN e.stage = %s THEN l.amount END AS amount, e.took FROM ("
        f"  SELECT t.lead_id, t.at, m.entered AS stage,"
        f"    CASE WHEN m.starts THEN t.at - t.previous_stage_at"
        f"      WHEN m.timed THEN INTERVAL '0' END AS took"
        f"  FROM leads_stagetransition t"
        f"  JOIN (VALUES {values}) AS m(from_stage, to_stage, entered, starts, timed)"
        f"    ON m.from_stage = t.from_stage AND m.to_stage = t.to_stage"
        f"  WHERE t.at >= %s AND t.at < %s"
        f"  UNION ALL"
        f"  SELECT c.id, c.created_at, %s, NULL FROM leads_lead c"
        f"  WHERE c.created_at >= %s AND c.created_at < %s"
        f") e JOIN leads_lead l ON l.id = e.lead_id WHERE TRUE{where}"
        f" ORDER BY e.lead_id, e.stage, e.at"
    )
    params: list = [funnel.CUSTOMER]
    params += [value for row in FLOW_ENTRY_MAP for value in row]
    params += [start, end, funnel.LEAD, start, end, *where_params]
    return sql, params


REPORT_WORK_MEM = "128MB"


def _flow_report(start, end, dimension, filters=None) -> tuple[dict, dict]:
    """Flow counts, won revenue and velocity in one query over `_flow_entries_sql`: the
    distinct leads entering each stage are the rows per stage; velocity of ``(a, b)`` is the
    median over the rows of ``b``."""
    entries, params = _flow_entries_sql(start, end, dimension, filters)
    grouped = dimension != Dimension.ALL
    grouping = "GROUPING SETS ((grp, stage), (stage))" if grouped else "stage"
    select_group = "grp, GROUPING(grp) AS is_total" if grouped else "NULL, 1"
    tallies: dict[tuple, _Tally] = defaultdict(_Tally)
    velocity: dict[object, dict] = defaultdict(lambda: dict.fromkeys(FORWARD_PAIRS))
    velocity[ALL]  # always present
    pair_of = {b: (a, b) for a, b in FORWARD_PAIRS}
    alias = read_alias()
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        # The pass sorts a row per entry (1.5 million over a quarter of a million leads):
        # in memory, not in temporary files.
        cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        cursor.execute(
            f"SELECT {select_group}, stage, COUNT(*), SUM(amount), "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY took) FILTER (WHERE took IS NOT NULL) "
            f"FROM ({entries}) entries GROUP BY {grouping}",
            params,
        )
        for grp, is_total, stage, count, amount, median in cursor.fetchall():
            if not (grouped and is_total):  # grouped, the total adds up the groups
                tally = tallies[(group_key(grp),) if grouped else ()]
                tally.counts[stage] += count
                if stage == funnel.CUSTOMER:
                    tally.won_revenue += amount or Decimal(0)
            if stage in pair_of:
                velocity[ALL if is_total else group_key(grp)][pair_of[stage]] = median
    return dict(tallies), dict(velocity)


def _velocity(
    samples_sql: str, params: list, grouped: bool
) -> dict[object, dict[tuple[str, str], dt.timedelta | None]]:
    """Median of ``b_at - a_at`` per (group, pair) and in total, keyed by group and ``ALL``."""
    result: dict[object, dict] = defaultdict(lambda: dict.fromkeys(FORWARD_PAIRS))
    result[ALL]  # always present
    grouping = "GROUPING SETS ((grp, pair), (pair))" if grouped else "pair"
    select_group = "grp, GROUPING(grp) AS is_total" if grouped else "NULL, 1"
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(
            # The filter sits on the aggregate, not in a WHERE: there the planner would
            # evaluate a flow sample's correlated `a_at` subquery twice per row.
            f"SELECT {select_group}, pair, "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY b_at - a_at) "
            f"FILTER (WHERE a_at IS NOT NULL) "
            f"FROM ({samples_sql}) samples GROUP BY {grouping}",
            params,
        )
        for grp, is_total, pair, value in cursor.fetchall():
            key = ALL if is_total else group_key(grp)
            result[key][FORWARD_PAIRS[pair]] = value
    return dict(result)


def median(values: list[dt.timedelta]) -> dt.timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return ordered[middle - 1] + (ordered[middle] - ordered[middle - 1]) / 2


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class FunnelReport:
    """A funnel over ``[start, end)``: results keyed by group (text) and ``funnel.ALL``."""

    start: dt.datetime
    end: dt.datetime
    mode: str
    group_by: str
    results: dict[object, FunnelResult]
    snapshot_days: int  # days read from snapshots (the rest was computed live)
    as_of: dt.datetime | None = None  # the instant the answer is exact at

    @property
    def total(self) -> FunnelResult:
        return self.results[ALL]

    def groups(self) -> list[tuple[str, FunnelResult]]:
        return sorted(
            ((key, result) for key, result in self.results.items() if key is not ALL),
            key=lambda item: (-item[1].counts[funnel.LEAD], item[0]),
        )


def _result(tally: _Tally, velocity=None) -> FunnelResult:
    return FunnelResult(
        counts=dict(tally.counts),
        conversion=funnel.conversion_from_counts(tally.counts),
        velocity=dict(velocity) if velocity else dict.fromkeys(FORWARD_PAIRS),
        won_revenue=tally.won_revenue,
    )


def snapshot_coverage_end() -> dt.date | None:
    """Days before this one can be read from snapshots (the day the last roll-up started)."""
    started = (
        RollupState.objects.filter(name=ROLLUP_NAME, last_finished_at__isnull=False)
        .values_list("last_started_at", flat=True)
        .first()
    )
    if started is None:
        return None
    return local_day(started)


def _snapshot_counts(
    mode: str, dimension: str, first: dt.date, last: dt.date, skip: Iterable[dt.date] = ()
) -> dict:
    """Summed snapshot counts for days ``[first, last)`` but ``skip``, keyed by ``(group,)``."""
    rows = FunnelSnapshot.objects.filter(
        mode=mode, dimension=dimension, day__gte=first, day__lt=last
    )
    if skip:
        rows = rows.exclude(day__any=list(skip))
    rows = rows.values("dimension_value", "stage").annotate(n=Sum("count"), won=Sum("won_revenue"))
    result: dict[tuple, _Tally] = defaultdict(_Tally)
    for row in rows:
        key = () if dimension == Dimension.ALL else (row["dimension_value"],)
        tally = result[key]
        tally.counts[row["stage"]] += row["n"]
        if row["stage"] == funnel.CUSTOMER:
            tally.won_revenue += row["won"] or Decimal(0)
    return dict(result)


def dirty_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """The days in ``[first, last)`` a write marked since their snapshot (services/dirty.py)."""
    return list(
        DirtyDay.objects.filter(day__gte=first, day__lt=last)
        .order_by("day")
        .values_list("day", flat=True)
    )


MAX_LIVE_RUNS = 12  # more separate runs of marked days than this: the whole period is live


def _runs(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as ``(first, last)`` runs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in days:
        if runs and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def funnel_report(
    *,
    start: dt.datetime,
    end: dt.datetime,
    mode: str = FunnelMode.COHORT,
    group_by: str = Dimension.ALL,
    use_snapshots: bool = True,
    with_velocity: bool = True,
    filters: dict | None = None,
) -> FunnelReport:
    """The funnel over ``[start, end)`` (aware instants) in ``mode``, grouped by ``group_by``.

    Cohort counts come from the daily snapshots for the whole days the last roll-up covers
    and are computed live for the rest (the open day, partial days at the edges, and days a
    write marked since their snapshot), then merged: cohort pieces over disjoint creation
    days add exactly, so the answer is exact at read time (`as_of`). Flow counts are always
    live: distinct leads do not add across days (a lead re-entering a stage on two days
    counts once in the period). Velocity is always live, over the whole period: medians do
    not combine.
    """
    if end < start:
        raise ValueError("The period ends before it starts.")
    as_of = timezone.now()
    dimension = group_by or Dimension.ALL
    if filters:
        use_snapshots = False  # snapshots are by one dimension at a time: filtered is live
    pieces: list[dict[tuple, _Tally]] = []
    snapshot_days = 0
    live = _cohort_counts if mode == FunnelMode.COHORT else _flow_counts

    covered_until = snapshot_coverage_end() if use_snapshots and mode == FunnelMode.COHORT else None
    first_full = (
        local_day(start)
        if day_start(local_day(start)) == start
        else (local_day(start) + dt.timedelta(days=1))
    )
    last_full = local_day(end)  # days before this one end at or before `end`
    if covered_until is not None:
        last_snap = min(last_full, covered_until)
        dirty = dirty_days(first_full, last_snap) if last_snap > first_full else []
        runs = _runs(dirty)
        if last_snap > first_full and len(runs) <= MAX_LIVE_RUNS:
            snapshot_days = (last_snap - first_full).days - len(dirty)
            pieces.append(_snapshot_counts(mode, dimension, first_full, last_snap, skip=dirty))
            # Days a write marked since their snapshot are computed live (dirty.py).
            for first_dirty, last_dirty in runs:
                span_end = day_start(last_dirty + dt.timedelta(days=1))
                pieces.append(live(day_start(first_dirty), span_end, dimension))
            if start < day_start(first_full):
                pieces.append(live(start, day_start(first_full), dimension))
            if day_start(last_snap) < end:
                pieces.append(live(day_start(last_snap), end, dimension))
    velocity: dict = {}
    if mode == FunnelMode.FLOW:
        flow_counts, velocity = _flow_report(start, end, dimension, filters)
        pieces = [flow_counts]
    elif not snapshot_days:
        pieces = [_cohort_counts(start, end, dimension, filters=filters)]

    merged: dict[object, _Tally] = defaultdict(_Tally)
    total = merged[ALL]
    for piece in pieces:
        for key, tally in piece.items():
            targets = [total] if not key else [merged[key[0]], total]
            for target in targets:
                for stage, count in tally.counts.items():
                    target.counts[stage] += count
                target.won_revenue += tally.won_revenue

    if with_velocity and mode == FunnelMode.COHORT:
        velocity = _velocity(
            *_cohort_samples_sql(start, end, dimension, filters),
            grouped=dimension != Dimension.ALL,
        )
    elif not with_velocity:
        velocity = {}
    results = {key: _result(tally, velocity.get(key)) for key, tally in merged.items()}
    return FunnelReport(
        start=start,
        end=end,
        mode=mode,
        group_by=dimension,
        results=results,
        snapshot_days=snapshot_days,
        as_of=as_of,
    )


def funnel_snapshot_totals(*, mode: str, dimension: str, day: dt.date) -> dict:
    """The stored snapshot counts of one day: ``{group: {stage: count}}`` ("" = no group)."""
    result: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STAGES, 0))
    for row in FunnelSnapshot.objects.filter(mode=mode, dimension=dimension, day=day).values(
        "dimension_value", "stage", "count"
    ):
        result[row["dimension_value"]][row["stage"]] = row["count"]
    return dict(result)


def funnel_trend(*, mode: str, first: dt.date, last: dt.date) -> list[dict]:
    """Daily totals from the snapshots, ``[first, last]``: ``{"day", stage: count…}``."""
    by_day: dict[dt.date, dict[str, int]] = {}
    for row in FunnelSnapshot.objects.filter(
        mode=mode, dimension=Dimension.ALL, day__gte=first, day__lte=last
    ).values("day", "stage", "count"):
        by_day.setdefault(row["day"], dict.fromkeys(STAGES, 0))[row["stage"]] = row["count"]
    day, rows = first, []
    while day <= last:
        rows.append({"day": day, **by_day.get(day, dict.fromkeys(STAGES, 0))})
        day += dt.timedelta(days=1)
    return rows


# --------------------------------------------------------------------------- drill-down


def funnel_leads(
    *,
    start: dt.datetime,
    end: dt.datetime,
    mode: str,
    stage: str,
    group_by: str = Dimension.ALL,
    group: str | None = None,
    reader=None,
):
    """The leads behind one number of the funnel (same rules as the counts). With `reader`
    (a user), only the leads they may see (`leads_visible_to`): the figures are the
    company's, the leads behind them are not everybody's."""
    if stage not in STAGES:
        raise ValueError(f"Unknown stage {stage!r}.")
    base = Lead.objects.all() if reader is None else leads_visible_to(reader)
    if mode == FunnelMode.COHORT:
        leads = base.filter(created_at__gte=start, created_at__lt=end)
        if stage in REACHED_FIELDS:
            leads = leads.filter(**{f"{REACHED_FIELDS[stage]}__isnull": False})
        elif stage in EXIT_STAGES:
            leads = leads.filter(
                Exists(Transition.objects.filter(lead=OuterRef("pk"), to_stage=stage))
            )
    else:
        entered = Transition.objects.filter(
            entering(stage), lead=OuterRef("pk"), at__gte=start, at__lt=end
        )
        condition = Exists(entered)
        if stage == funnel.LEAD:
            condition |= Q(created_at__gte=start, created_at__lt=end)
        leads = base.filter(condition)
    if group_by and group_by != Dimension.ALL and group is not None:
        field_name = GROUP_FIELDS[group_by]
        if group == "":
            condition = Q(**{f"{field_name}__isnull": True})
            if field_name == "source":
                condition |= Q(source="")
        else:
            condition = Q(**{field_name: group})
        leads = leads.filter(condition)
    return leads.select_related("owner", "campaign", "product", "persona").order_by(
        "-created_at", "-id"
    )


# --------------------------------------------------------------------------- labels


def group_labels(group_by: str, keys: Iterable[str]) -> dict[str, str]:
    """Display names for group keys, with one query for the dimension's objects."""
    keys = [key for key in keys if key is not ALL]
    labels = {"": "(none)"}
    ids = [int(key) for key in keys if key and key.isdigit()]
    model = {
        Dimension.CAMPAIGN: Campaign,
        Dimension.PRODUCT: Product,
        Dimension.DEFINITION: QualificationDefinition,
        Dimension.SQL_DEFINITION: QualificationDefinition,
    }.get(group_by)
    if group_by == Dimension.PERSONA:
        model = apps.get_model("personas", "Persona")
    elif group_by == Dimension.OWNER:
        from accounts.models import User

        model = User
    if model is not None and ids:
        for obj in model.objects.filter(pk__in=ids):
            labels[str(obj.pk)] = str(obj)
    for key in keys:
        labels.setdefault(key, key)
    return labels


# --------------------------------------------------------------------------- attribution


def revenue_attribution(*, start: dt.datetime, end: dt.datetime) -> funnel.Attribution:
    """Won revenue of the leads that became customers in ``[start, end)``, credited to the
    campaign of their first and last touch before the win. Touches: the lead's campaign at
    creation and every engagement event with a campaign. Two queries."""
    won = dict(
        Lead.objects.filter(customer_at__gte=start, customer_at__lt=end).values_list("id", "amount")
    )
    touches: dict[int, list] = defaultdict(list)
    for lead_id, created_at, campaign_id in Lead.objects.filter(
        id__in=list(won), campaign__isnull=False
    ).values_list("id", "created_at", "campaign_id"):
        touches[lead_id].append((created_at, campaign_id))
    from leads.models import Event

    for lead_id, at, campaign_id in (
        Event.objects.filter(
            lead_id__in=list(won), campaign__isnull=False, occurred_at__lte=F("lead__customer_at")
        )
        .order_by("occurred_at", "id")
        .values_list("lead_id", "occurred_at", "campaign_id")
    ):
        touches[lead_id].append((at, campaign_id))
    return funnel.attribute_revenue(touches, won)


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class PlanView:
    """The revenue plan in force over a period, and its share of that period.

    ``needs`` and ``revenue_target`` are the whole plan's; ``first``..``last`` are the days
    of the period the plan covers (both included), and ``needs_in_period`` /
    ``target_in_period`` the plan's figures spread evenly over its days, for those days
    (counts rounded up: nobody wins 0.4 of a customer).
    """

    name: str
    period_start: dt.date
    period_end: dt.date
    revenue_target: Decimal
    rates: dict[tuple[str, str], Decimal | None]
    needs: dict
    first: dt.date | None = None
    last: dt.date | None = None
    needs_in_period: dict = field(default_factory=dict)
    target_in_period: Decimal | None = None

    @property
    def covers_whole_plan(self) -> bool:
        return (self.first, self.last) == (self.period_start, self.period_end)


RATE_FIELD_PAIRS = {
    "lead_to_mql_rate": (funnel.LEAD, funnel.MQL),
    "mql_to_sql_rate": (funnel.MQL, funnel.SQL),
    "sql_to_opportunity_rate": (funnel.SQL, funnel.OPPORTUNITY),
    "opportunity_to_customer_rate": (funnel.OPPORTUNITY, funnel.CUSTOMER),
}
PLAN_NEED_KEYS = ("leads", "mqls", "sqls", "opportunities", "customers")
# A plan spans at most 36 months, so one starting earlier than this cannot reach a period.
_LONGEST_PLAN_DAYS = 36 * 31 + 1


def revenue_plan_in_force(*, first: dt.date, last: dt.date) -> PlanView | None:
    """The revenue plan in force over the days ``first``..``last`` (both included), or None.

    In force: its months overlap those days, whenever it was created. Of several, the one
    covering most of the days wins, then the one that started last (the more specific), then
    the one created last. One query.
    """
    try:
        plan_model = apps.get_model("goals", "RevenuePlan")
    except LookupError:
        return None
    candidates = [
        plan
        for plan in plan_model.objects.filter(
            period_start__lte=last,
            period_start__gt=first - dt.timedelta(days=_LONGEST_PLAN_DAYS),
        )
        if plan.period_end >= first
    ]
    if not candidates:
        return None

    def overlap(plan) -> int:
        return (min(plan.period_end, last) - max(plan.period_start, first)).days + 1

    plan = max(candidates, key=lambda p: (overlap(p), p.period_start, p.created_at, p.pk))
    computed = plan.computed or {}
    computed_rates = computed.get("rates") or {}
    rates = {}
    for field_name, pair in RATE_FIELD_PAIRS.items():
        value = computed_rates.get(field_name) or getattr(plan, field_name)
        rates[pair] = Decimal(str(value)) if value is not None else None
    needs = computed.get("needs") or {}
    covered_first, covered_last = max(plan.period_start, first), min(plan.period_end, last)
    covered = Fraction(overlap(plan), (plan.period_end - plan.period_start).days + 1)
    return PlanView(
        name=plan.name,
        period_start=plan.period_start,
        period_end=plan.period_end,
        revenue_target=plan.revenue_target,
        rates=rates,
        needs=needs,
        first=covered_first,
        last=covered_last,
        needs_in_period={
            key: math.ceil(int(needs[key]) * covered) for key in PLAN_NEED_KEYS if key in needs
        },
        target_in_period=(plan.revenue_target * covered.numerator / covered.denominator).quantize(
            Decimal("0.01")
        ),
    )


def current_revenue_plan(*, today: dt.date) -> PlanView | None:
    """The revenue plan in force on ``today``, or None."""
    return revenue_plan_in_force(first=today, last=today)


# --------------------------------------------------------------------------- lead quality


def lead_quality(*, start: dt.datetime, end: dt.datetime, group_by: str) -> list[dict]:
    """Sales feedback given in ``[start, end)`` by group: feedback count, accepted, acceptance
    rate, average rating, and rejections per reason. One query.

    ``group_by`` is source, campaign, persona or definition (the SQL definition version that
    qualified the lead, as recorded on the feedback).
    """
    field_name = {
        Dimension.SOURCE: "lead__source",
        Dimension.CAMPAIGN: "lead__campaign_id",
        Dimension.PERSONA: "lead__persona_id",
        Dimension.PRODUCT: "lead__product_id",
        Dimension.DEFINITION: "definition_id",
    }[group_by]
    reasons = SalesFeedback.Reason
    aggregates = {
        "n_feedback": Count("id"),
        "n_accepted": Count("id", filter=Q(accepted=True)),
        "average_rating": Avg("rating"),
        **{
            f"reason_{reason}": Count("id", filter=Q(accepted=False, reason=reason))
            for reason in reasons.values
        },
    }
    rows = (
        SalesFeedback.objects.filter(created_at__gte=start, created_at__lt=end)
        .values(group=F(field_name))
        .annotate(**aggregates)
        .order_by("-n_feedback", "group")
    )
    result = []
    for row in rows:
        row["feedback"], row["accepted"] = row.pop("n_feedback"), row.pop("n_accepted")
        row["group"] = group_key(row["group"])
        row["rejected"] = row["feedback"] - row["accepted"]
        row["acceptance_rate"] = row["accepted"] / row["feedback"] if row["feedback"] else None
        row["reasons"] = {reason: row.pop(f"reason_{reason}") for reason in reasons.values}
        result.append(row)
    return result


# --------------------------------------------------------------------------- SLA (optional)


def _sla_model(name: str):
    try:
        return apps.get_model("sla", name)
    except LookupError:
        return None


def sla_health(*, start: dt.datetime, end: dt.datetime) -> dict | None:
    """Clocks handed off in the period by status, with the first-touch met rate; None when
    the SLA app has no clocks yet."""
    clock = _sla_model("SLAClock")
    if clock is None:
        return None
    row = clock.objects.filter(handoff_at__gte=start, handoff_at__lt=end).aggregate(
        handoffs=Count("id"),
        met=Count("id", filter=Q(status="met")),
        breached=Count("id", filter=Q(status="breached")),
        pending=Count("id", filter=Q(status="pending")),
    )
    decided = row["met"] + row["breached"]
    row["met_rate"] = row["met"] / decided if decided else None
    return row


def leads_at_risk(
    *,
    now: dt.datetime,
    within: dt.timedelta = dt.timedelta(hours=24),
    limit=10,
    handed_off: tuple[dt.datetime, dt.datetime] | None = None,
    reader=None,
):
    """Open pending SLA clocks whose first touch is due within ``within`` (or overdue),
    soonest first: a range scan of the partial index of open pending deadlines (a clock
    whose lead left the sales stages before its deadline stays pending, closed: no lead of
    it is at risk). ``handed_off`` = ``(start, end)``
    keeps the hand-offs of ``[start, end)`` only; with ``reader`` (a user), only the clocks
    of the leads they may see, as `GET sla/clocks/` answers them."""
    clock = _sla_model("SLAClock")
    if clock is None:
        return None
    clocks = clock.objects.filter(
        status="pending", closed_at__isnull=True, first_touch_due_at__lt=now + within
    )
    if reader is not None and not sees_all_leads(reader):
        clocks = clocks.filter(lead__in=leads_visible_to(reader))
    if handed_off is not None:
        clocks = clocks.filter(handoff_at__gte=handed_off[0], handoff_at__lt=handed_off[1])
    shown = (
        "first_touch_due_at",
        *(f"lead__{name}" for name in ("first_name", "last_name", "email")),
        *(f"owner__{name}" for name in ("username", "first_name", "last_name")),
    )
    # Only what the dashboard shows: a lead row has some forty columns, read for ten rows
    # on every dashboard request.
    return list(
        clocks.select_related("lead", "owner").only(*shown).order_by("first_touch_due_at")[:limit]
    )


def sla_compliance(*, start: dt.datetime, end: dt.datetime, group_by: str = "team") -> list:
    """The SLA app's compliance rows (empty until the SLA app provides them)."""
    try:
        from sla.selectors import compliance
    except ImportError:
        return []
    rows = compliance(start=start, end=end, group_by=group_by)
    keep = ("label", "handoffs", "met", "breached", "met_rate", "median_hours", "exhausted")
    return [{key: row.get(key) for key in keep} for row in rows]


def commitment_pace(*, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list:
    """Marketing commitments delivered vs committed per product and month of ``[start, end)``,
    with the pace (on track / at risk / missed) and a label for it."""
    from sla.selectors import commitment_pace as sla_commitment_pace

    # The SLA selector takes the months touching an inclusive range; ours end exclusively.
    rows = sla_commitment_pace(start=start, end=end - dt.timedelta(microseconds=1), now=now)
    for row in rows:
        row["status_label"] = row["status"].replace("_", " ").capitalize()
    return rows


def goal_progress(*, first: dt.date, last: dt.date) -> list[dict]:
    """Goals running during ``[first, last]`` with their measured value against target."""
    try:
        goal_model = apps.get_model("goals", "Goal")
    except LookupError:
        return []
    rows = []
    for goal in goal_model.objects.filter(start__lte=last, end__gte=first).order_by("end", "id"):
        target = goal.target_value
        measured = goal.measured_value
        rows.append(
            {
                "title": goal.title,
                "metric": goal.get_metric_display(),
                "owner_team": goal.get_owner_team_display(),
                "target": target,
                "measured": measured,
                "share": float(measured / target) if measured is not None and target else None,
                "end": goal.end,
            }
        )
    return rows
