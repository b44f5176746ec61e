"""Daily funnel snapshots: the roll-up that rewrites the days that changed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from leads.models import Lead
from leads.models import StageTransition as Transition
from reporting import selectors
from reporting.funnel import STAGES
from reporting.models import Dimension, DirtyDay, FunnelMode, FunnelSnapshot, RollupState
from reporting.services import dirty

logger = logging.getLogger(__name__)

# Changes committed while a roll-up ran may carry an earlier timestamp than its start: look
# this far back behind the previous start. Recomputing a day twice is harmless.
ROLLUP_OVERLAP = dt.timedelta(minutes=10)
DAYS_PER_QUERY = 366


def _dirty_days(since: dt.datetime | None) -> tuple[set[dt.date], set[dt.date]]:
    """(cohort days, flow days) whose snapshots may have changed since ``since``."""
    zone = selectors.company_zone()
    leads = Lead.objects.all()
    transitions = Transition.objects.all()
    if since is not None:
        changed = Q(updated_at__gte=since) | Q(
            id__in=Transition.objects.filter(recorded_at__gte=since).values("lead_id")
        )
        leads = leads.filter(changed)
        transitions = transitions.filter(lead__in=leads)
    # `order_by()` clears the models' default ordering, which DISTINCT would otherwise
    # include: a row per lead instead of a row per day (260 MiB at 1,000,000 leads).
    created_days = set(
        leads.annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values_list("day", flat=True)
        .distinct()
    )
    transition_days = set(
        transitions.annotate(day=TruncDate("at", tzinfo=zone))
        .order_by()
        .values_list("day", flat=True)
        .distinct()
    )
    return created_days, created_days | transition_days


def _chunks(days: Iterable[dt.date], size: int) -> Iterable[list[dt.date]]:
    ordered = sorted(days)
    for index in range(0, len(ordered), size):
        yield ordered[index : index + size]


def _recompute(mode: str, days: set[dt.date], *, now: dt.datetime) -> None:
    """Rewrite the snapshot rows of `days`, up to a year of days and one dimension at a time.

    The rows held in memory at once are one dimension's groups of at most a year of days,
    which the number of leads does not change. (Month-sized pieces held less but took 2.6×
    as long at 1,000,000 leads: each piece's queries read the whole piece.)
    """
    counts = selectors._cohort_counts if mode == FunnelMode.COHORT else selectors._flow_counts
    for chunk in _chunks(days, DAYS_PER_QUERY):
        start = selectors.day_start(chunk[0])
        end = selectors.day_start(chunk[-1] + dt.timedelta(days=1))
        FunnelSnapshot.objects.filter(mode=mode, day__in=chunk).delete()
        for dimension in Dimension.values:
            rows = []
            for key, tally in counts(start, end, dimension, days=chunk).items():
                day = key[0]
                value = key[1] if len(key) > 1 else ""
                rows.extend(
                    FunnelSnapshot(
                        mode=mode,
                        day=day,
                        dimension=dimension,
                        dimension_value=value,
                        stage=stage,
                        count=tally.counts[stage],
                        won_revenue=tally.won_revenue if stage == "customer" else 0,
                        computed_at=now,
                    )
                    for stage in STAGES
                    if tally.counts[stage] or stage == "lead"
                )
            FunnelSnapshot.objects.bulk_create(rows, batch_size=5000)


def funnel_snapshots_roll_up(*, full: bool = False, now: dt.datetime | None = None) -> int:
    """Rewrite the daily snapshot rows of every day that changed since the last roll-up.

    The first run (or ``full``) computes every day. A day is rewritten whole (delete and
    insert in one transaction), so running again, or twice at once, gives the same rows; a
    second concurrent run waits for the first on the state row's lock. Returns the number of
    distinct days rewritten.
    """
    now = now or timezone.now()
    with transaction.atomic():
        state, _ = RollupState.objects.get_or_create(name=selectors.ROLLUP_NAME)
        state = RollupState.objects.select_for_update().get(pk=state.pk)
        since = None
        if state.last_started_at is not None and not full:
            since = state.last_started_at - ROLLUP_OVERLAP
        cohort_days, flow_days = _dirty_days(since)
        if state.last_started_at is not None and not full:
            # The day that was open at the last run was counted as of then.
            open_day = selectors.local_day(state.last_started_at)
            cohort_days.add(open_day)
            flow_days.add(open_day)
        # The marks committed before the days are recomputed: their writes are in the rows
        # about to be written, so exactly these marks are cleared after. A mark made or
        # renewed meanwhile (a new `marked_at`) stays for the next run.
        marked = dict(DirtyDay.objects.values_list("day", "marked_at"))
        cohort_days |= set(marked)
        _recompute(FunnelMode.COHORT, cohort_days, now=now)
        _recompute(FunnelMode.FLOW, flow_days, now=now)
        dirty.marks_clear(marked)
        state.last_started_at = now
        state.last_finished_at = timezone.now()
        state.last_days_recomputed = len(cohort_days | flow_days)
        state.save()
    return state.last_days_recomputed
