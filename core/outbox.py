"""Consuming the outbox: claim due rows with `SKIP LOCKED`, run their handlers, retry failures.

A claimed row's handler runs in a savepoint of the transaction that deletes the row, so a
reaction's database work and the row's removal commit together: applied once, or not at
all and tried again. Several workers (and the publishing processes' inline tries) split the
rows between them without waiting on each other. A failed row is kept with its error and
tried again after an exponential back-off (capped at `MAX_BACKOFF`); one that has failed
`FAILING_AFTER` times is listed for managers (`failing`), and keeps being retried.

Rows of one handler claimed together are handed to it in one call (a history back-fill's
hand-off, moves and attempts become one evaluation of the lead's clocks).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core import jobs
from core.models import OutboxMessage
from core.subscriptions import Event, subscription

logger = logging.getLogger(__name__)

DRAIN_TASK = "core.tasks.outbox_drain"
CLAIM_BATCH = 200
BASE_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)
FAILING_AFTER = 5
ERROR_LENGTH = 2000


def backoff(attempts: int) -> timedelta:
    """How long a row waits after its `attempts`-th failure: 5 s, 10 s, 20 s … at most 1 h."""
    return min(BASE_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


@dataclass
class Processed:
    done: int = 0
    failed: int = 0
    handlers: dict[str, int] = field(default_factory=dict)

    @property
    def claimed(self) -> int:
        return self.done + self.failed


def process(
    *,
    ids: list[int] | None = None,
    limit: int = CLAIM_BATCH,
    now: datetime | None = None,
) -> Processed:
    """Claim up to `limit` due rows (or all of `ids`, when given) and run their handlers."""
    now = now or timezone.now()
    result = Processed()
    with transaction.atomic():
        claimable = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
            available_at__lte=now
        )
        if ids is not None:
            claimable = claimable.filter(pk__in=ids)
            limit = len(ids)
        rows = list(claimable.order_by("id")[:limit])
        if not rows:
            return result
        by_handler: dict[str, list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            by_handler[row.handler].append(row)
        done: list[int] = []
        for name, group in by_handler.items():
            handler = subscription(name)
            try:
                if handler is None:
                    raise LookupError(f"No handler is subscribed as {name!r} in this process.")
                batch = [
                    Event(row.topic, payload, row.occurred_at)
                    for row in group
                    for payload in row.payloads
                ]
                with transaction.atomic():
                    handler.handler(batch)
            except Exception as exc:  # noqa: BLE001 - any failure keeps the row for a retry
                logger.warning("outbox: %s failed on %s row(s)", name, len(group), exc_info=True)
                _failed(group, exc, now)
                result.failed += len(group)
            else:
                done.extend(row.pk for row in group)
                result.handlers[name] = result.handlers.get(name, 0) + len(group)
        if done:
            OutboxMessage.objects.filter(pk__in=done).delete()
        result.done = len(done)
    if result.failed:
        # Ask a worker to try again when the first back-off is over (the periodic drain
        # would, a little later; a broker outage leaves it to that drain).
        jobs.send_on_commit(DRAIN_TASK, countdown=BASE_BACKOFF.total_seconds())
    return result


def _failed(rows: list[OutboxMessage], exc: Exception, now: datetime) -> None:
    error = f"{exc.__class__.__name__}: {exc}"[:ERROR_LENGTH]
    for row in rows:
        attempts = row.attempts + 1
        OutboxMessage.objects.filter(pk=row.pk).update(
            attempts=attempts,
            available_at=now + backoff(attempts),
            last_attempt_at=now,
            last_error=error,
        )


def drain(*, seconds: float = 50.0, limit: int = CLAIM_BATCH) -> Processed:
    """Process due rows until none is left or `seconds` have passed (one worker's turn)."""
    total = Processed()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        step = process(limit=limit)
        total.done += step.done
        total.failed += step.failed
        for name, count in step.handlers.items():
            total.handlers[name] = total.handlers.get(name, 0) + count
        if step.claimed < limit or step.done == 0:
            break
    return total


def failing() -> QuerySet[OutboxMessage]:
    """Rows that failed at least `FAILING_AFTER` times: shown to managers."""
    return OutboxMessage.objects.filter(attempts__gte=FAILING_AFTER).order_by("id")


def backlog(*, now: datetime | None = None) -> dict:
    """How many rows wait, how many are failing, and the age of the oldest (health)."""
    now = now or timezone.now()
    oldest = OutboxMessage.objects.order_by("created_at").values_list("created_at", flat=True)
    first = oldest.first()
    return {
        "waiting": OutboxMessage.objects.count(),
        "failing": failing().count(),
        "oldest_seconds": int((now - first).total_seconds()) if first else 0,
    }


def retry_now(*, ids: list[int], now: datetime | None = None) -> int:
    """Make rows due at once (a manager's "retry"); the next drain tries them."""
    now = now or timezone.now()
    return OutboxMessage.objects.filter(pk__in=ids).update(available_at=now)
