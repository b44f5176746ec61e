"""The periodic sweep: what falls due with the passing of time, found by index range scans.

- breaches: open pending clocks past their first-touch due instant, claimed a batch at a
  time by one statement (`FOR UPDATE SKIP LOCKED` on the partial index of the stored
  deadlines) that marks them breached at their due instant and records each breach;
- warnings: open pending clocks past their warning instant, likewise;
- windows: open clocks whose attempt window closed, recomputed from the facts
  (`clocks.clocks_reconcile`), which exhausts them (with the agreement's action) or closes
  them.

Each batch commits with its records and notifications, so several sweeps at once split the
work, each event happens exactly once (also guarded by a unique record per clock and kind),
and a sweep that dies half-way loses only its uncommitted batch, which the next one takes.
A sweep that did not run (a worker down) is made up by the next: nothing depends on when
it runs but on the stored deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from core import events
from sla.models import SLAClock, SLARecord
from sla.services.alerts import EVENT_FIELDS, KINDS, alert
from sla.services.clocks import clocks_reconcile

# Clocks claimed per transaction: few round trips, short enough locks.
SWEEP_BATCH = 5000


@dataclass
class SweepResult:
    breached: list[int] = field(default_factory=list)
    warned: list[int] = field(default_factory=list)
    exhausted: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)


# Per kind: the order clocks are taken in, which pending clocks are due, what claiming one
# changes, and the instant its record carries.
_SWEEPS = {
    SLARecord.Kind.BREACH: (
        "first_touch_due_at",
        "closed_at IS NULL AND first_touch_due_at <= %(now)s",
        "status = %(breached)s, breached_at = first_touch_due_at",
        "c.first_touch_due_at",
    ),
    SLARecord.Kind.WARNING: (
        "warn_at",
        "warned_at IS NULL AND closed_at IS NULL AND warn_at <= %(now)s",
        "warned_at = %(now)s",
        "%(now)s",
    ),
}


# What the owners' digests read of a claimed clock; the other columns of an `EVENT_FIELDS`
# row are read only when the batch's events will reach someone (turning 10,000 rows of five
# timestamps into datetimes was a fifth of a sweep's time).
DIGEST_COLUMNS = frozenset({"id", "lead_id", "owner_id", "first_touch_due_at"})


def _claim_sql(kind: str, *, full: bool = True) -> str:
    """One statement: claim due pending clocks (skipping those another sweep holds), change
    them and record the event; answers the claimed clocks as `EVENT_FIELDS` rows (with
    `full` False, only `DIGEST_COLUMNS` filled, the others NULL)."""
    order, due, changes, record_at = _SWEEPS[kind]
    clock = SLAClock._meta.db_table
    record = SLARecord._meta.db_table
    returned = ", ".join(
        f"c.{column}" if full or column in DIGEST_COLUMNS else f"NULL AS {column}"
        for column in EVENT_FIELDS.values()
    )
    return f"""
        WITH due AS (
            SELECT id FROM {clock}
            WHERE status = %(pending)s AND {due}
            ORDER BY {order}
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            -- By key, not joined: a join may be planned as a scan of every clock.
            UPDATE {clock} AS c SET {changes}
            WHERE c.id = ANY(ARRAY(SELECT id FROM due))
            RETURNING {returned}, {record_at} AS record_at, c.{order} AS claim_order
        ), recorded AS (
            INSERT INTO {record} (clock_id, kind, at, owner_id, detail)
            SELECT id, %(kind)s, record_at, owner_id, '' FROM claimed
        )
        SELECT {", ".join(EVENT_FIELDS.values())} FROM claimed ORDER BY claim_order, id
    """


def _claim(kind: str, now: datetime, batch_size: int, *, full: bool = True) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(kind, full=full),
            {
                "now": now,
                "limit": batch_size,
                "pending": SLAClock.Status.PENDING,
                "breached": SLAClock.Status.BREACHED,
                "kind": kind,
            },
        )
        return cursor.fetchall()


def _sweep(kind: str, alert_kind: str, now: datetime, batch_size: int, wanted: dict) -> list[int]:
    with transaction.atomic(), events.batch():
        publish = events.has_listeners(KINDS[alert_kind][0], wanted=wanted)
        rows = _claim(kind, now, batch_size, full=publish)
        alert(alert_kind, rows, now, publish=publish)
    return [row[0] for row in rows]


def _sweep_windows(now: datetime, batch_size: int) -> tuple[list[int], list[int]]:
    with transaction.atomic(), events.batch():
        claimed = list(
            SLAClock.objects.select_for_update(skip_locked=True)
            .filter(
                exhausted_at__isnull=True,
                closed_at__isnull=True,
                attempt_window_ends_at__lte=now,
            )
            .order_by("attempt_window_ends_at")
            .values_list("id", "lead_id")[:batch_size]
        )
        if not claimed:
            return [], []
        result = clocks_reconcile(lead_ids={lead for _, lead in claimed}, now=now)
        ids = {pk for pk, _ in claimed}
        exhausted = [pk for pk in result.exhausted if pk in ids]
        closed = [pk for pk in result.changed if pk in ids and pk not in set(exhausted)]
    return exhausted, closed


def clocks_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> SweepResult:
    """Mark breaches, send warnings and run exhaustion actions that are due at `now`.

    Cost grows with the clocks due, not with the leads.
    """
    now = now or timezone.now()
    result = SweepResult()
    wanted: dict = {}  # who listens to which events, asked once per sweep
    while True:
        batch = _sweep(SLARecord.Kind.BREACH, "breached", now, batch_size, wanted)
        result.breached += batch
        if len(batch) < batch_size:
            break
    while True:
        batch = _sweep(SLARecord.Kind.WARNING, "warning", now, batch_size, wanted)
        result.warned += batch
        if len(batch) < batch_size:
            break
    while True:
        exhausted, closed = _sweep_windows(now, batch_size)
        result.exhausted += exhausted
        result.closed += closed
        if len(exhausted) + len(closed) < batch_size:
            break
    return result
