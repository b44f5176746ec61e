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

from accounts.services import ITEMS_MAX
from core import events
from sla.models import SLAClock, SLARecord
from sla.services.alerts import (
    EVENT_FIELDS,
    KINDS,
    OCCURRED_COLUMNS,
    OwnerDigest,
    alert,
    alert_digests,
)
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


def _claim_cte(kind: str, returned: str) -> str:
    """Claim due pending clocks (skipping those another sweep holds), change them and
    record the event: `claimed` holds the claimed clocks' `returned` columns, their
    record's instant (`record_at`) and the order they were claimed in (`claim_order`)."""
    order, due, changes, record_at = _SWEEPS[kind]
    clock = SLAClock._meta.db_table
    record = SLARecord._meta.db_table
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
        )"""


def _claim_sql(kind: str) -> str:
    """One statement: claim due clocks; answers them as `EVENT_FIELDS` rows, in the order
    claimed (for the batch's events)."""
    returned = ", ".join(f"c.{column}" for column in EVENT_FIELDS.values())
    return (
        _claim_cte(kind, returned)
        + f" SELECT {', '.join(EVENT_FIELDS.values())} FROM claimed ORDER BY claim_order, id"
    )


def _claim_digests_sql(kind: str, alert_kind: str) -> str:
    """One statement: claim due clocks; answers them summed up per owner (what the owners'
    digests need): owner, every claimed id and its position in the order claimed, the
    first `ITEMS_MAX` leads, the first deadline and the earliest event instant.

    For a batch whose events reach nobody: 10,000 clocks' rows turned into Python values
    (five timestamps each) were a fifth of a sweep's time, and their digests another
    tenth; a row per owner costs neither."""
    occurred = OCCURRED_COLUMNS[alert_kind] or "NULL::timestamptz"
    return (
        _claim_cte(kind, "c.id, c.lead_id, c.owner_id, c.first_touch_due_at")
        + f""",
        ranked AS (
            SELECT *, row_number() OVER (ORDER BY claim_order, id) - 1 AS position
            FROM claimed
        )
        SELECT owner_id, array_agg(id ORDER BY position), array_agg(position ORDER BY position),
            (array_agg(lead_id ORDER BY position))[1:%(items)s],
            (array_agg(first_touch_due_at ORDER BY position))[1], min({occurred})
        FROM ranked GROUP BY owner_id
    """
    )


def _params(kind: str, now: datetime, batch_size: int) -> dict:
    return {
        "now": now,
        "limit": batch_size,
        "pending": SLAClock.Status.PENDING,
        "breached": SLAClock.Status.BREACHED,
        "kind": kind,
        "items": ITEMS_MAX,
    }


def _sweep(kind: str, alert_kind: str, now: datetime, batch_size: int, wanted: dict) -> list[int]:
    """One batch of `kind`: claimed, recorded and told in one transaction; answers the
    claimed ids in the order claimed."""
    with transaction.atomic(), events.batch(), connection.cursor() as cursor:
        if events.has_listeners(KINDS[alert_kind][0], wanted=wanted):
            cursor.execute(_claim_sql(kind), _params(kind, now, batch_size))
            rows = cursor.fetchall()
            alert(alert_kind, rows, now, publish=True)
            return [row[0] for row in rows]
        cursor.execute(_claim_digests_sql(kind, alert_kind), _params(kind, now, batch_size))
        claimed: dict[int, int] = {}  # position → clock id
        digests = []
        for owner_id, ids, positions, leads, first_due, occurred in cursor.fetchall():
            claimed.update(zip(positions, ids, strict=True))
            if owner_id is not None:
                digests.append(
                    OwnerDigest(
                        owner_id, len(ids), positions[:ITEMS_MAX], leads, first_due, occurred
                    )
                )
        alert_digests(alert_kind, digests, now)
    return [claimed[position] for position in sorted(claimed)]


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
