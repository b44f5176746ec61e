"""The event bus: a service publishes named domain events; other apps subscribe to them.

A publisher never imports its listeners: each listening app subscribes a handler in its
`AppConfig.ready()`, so the dependency arrows point one way (`leads` publishes
`lead.handed_off`, `sla` starts the clock). Events are JSON objects, delivered in batches
(a bulk upsert of 1,000 leads is one batch per topic), and a handler receives a list of
`Event`s so it can react set-based.

Two ways to subscribe:
- durable (the default): `publish` writes an outbox row per subscribed handler in the
  publisher's own transaction (`core.models.OutboxMessage`), so the reaction exists exactly
  when the change does. After commit the publishing process tries it at once (`inline`,
  the default, for reactions people expect to see straight away) unless the change carries
  more than `EVENTS_INLINE_MAX` events (a bulk upsert: the worker takes them at once); a
  worker drains what is left or failed (`core.outbox`), retrying with back-off. A crash, a
  killed worker or a broker outage delays a reaction, never loses or doubles it.
- `in_transaction=True`: the handler runs inside the publisher's transaction, before it
  commits, for reactions that are cheap and must be visible in the same commit (a report
  marking a day dirty). A failure there fails the change itself.

Publishing inside `batch()` gathers events and writes them when the outermost batch ends,
so a service that makes many changes (a history back-fill) hands each handler one call.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core import jobs, outbox
from core.bulk import rows_insert
from core.json import EventEncoder
from core.subscriptions import (
    Event,
    Handler,
    Subscription,
    has_listeners,
    subscribe,
    subscribers,
    subscription,
)

__all__ = [
    "Event",
    "Handler",
    "Subscription",
    "batch",
    "has_listeners",
    "publish",
    "subscribe",
    "subscribers",
    "subscription",
]

logger = logging.getLogger(__name__)


class _Pending:
    """Events published inside the current `batch()`, in publication order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, datetime, list[dict]]] = []
        self.marks: list[int] = []


_local = threading.local()


def _pending() -> _Pending | None:
    return getattr(_local, "pending", None)


@contextmanager
def batch() -> Iterator[None]:
    """Gather the events published inside; write them when the outermost batch ends.

    The events of a batch that an exception leaves are dropped (the work they describe is
    rolling back with its savepoint or transaction); those of the enclosing batch stay. Use
    it inside the transaction of the changes it covers.
    """
    pending = _pending()
    if pending is None:
        pending = _local.pending = _Pending()
    pending.marks.append(len(pending.events))
    try:
        yield
    except BaseException:
        del pending.events[pending.marks.pop() :]
        if not pending.marks:
            _local.pending = None
        raise
    pending.marks.pop()
    if not pending.marks:
        _local.pending = None
        _flush(pending.events)


def inline_limit() -> int:
    """How many events a change may carry and still have its reactions tried in the
    publishing process (`EVENTS_INLINE_MAX`, default 100)."""
    from django.conf import settings

    return int(getattr(settings, "EVENTS_INLINE_MAX", 100))


def _json(payloads: Iterable[dict]) -> list[dict]:
    """The payloads as plain JSON values (datetimes as ISO 8601, decimals as strings)."""
    return json.loads(json.dumps(list(payloads), cls=EventEncoder))


def publish(topic: str, payloads: Iterable[dict], *, occurred_at: datetime | None = None) -> None:
    """Publish events of `topic` that happened at `occurred_at` (aware; default now).

    Call it inside the transaction of the change the events describe.
    """
    payloads = list(payloads)
    if not payloads:
        return
    occurred_at = occurred_at or timezone.now()
    pending = _pending()
    if pending is not None:
        pending.events.append((topic, occurred_at, payloads))
        return
    _flush([(topic, occurred_at, payloads)])


def _flush(published: list[tuple[str, datetime, list[dict]]]) -> None:
    from core.models import OutboxMessage

    # One outbox row per handler, topic and instant: events of a batch travel together.
    events: dict[tuple[str, datetime], list[dict]] = {}
    for topic, occurred_at, payloads in published:
        events.setdefault((topic, occurred_at), []).extend(payloads)
    if not events:
        return
    now = timezone.now()
    rows: list[dict] = []
    immediate: dict[str, list[Event]] = defaultdict(list)
    wanted: dict = {}
    for (topic, occurred_at), payloads in events.items():
        listeners = subscribers(topic, wanted=wanted)
        if not listeners:
            continue
        plain = None  # the JSON form, made once, only when a handler runs in this process
        for listener in listeners:
            taken = payloads
            if listener.accepts is not None:
                taken = [payload for payload in payloads if listener.accepts(topic, payload)]
                if not taken:
                    continue
            if listener.in_transaction:
                if plain is None:
                    plain = _json(payloads)
                chosen = plain if taken is payloads else _json(taken)
                immediate[listener.name].extend(Event(topic, p, occurred_at) for p in chosen)
            else:
                rows.append(
                    {
                        "handler": listener.name,
                        "topic": topic,
                        "payloads": taken,
                        "occurred_at": occurred_at,
                        "created_at": now,
                        "available_at": now,
                        "attempts": 0,
                        "last_attempt_at": None,
                        "last_error": "",
                    }
                )
    for name, batch_events in immediate.items():
        subscription(name).handler(batch_events)
    if not rows:
        return
    with transaction.atomic():
        rows_insert(OutboxMessage, rows, now=now)
    inline = [row["id"] for row in rows if subscription(row["handler"]).inline]
    # A large batch (a bulk upsert, a CSV chunk) does not wait for its reactions: the
    # worker drains them straight away, and the request answers sooner.
    if sum(len(row["payloads"]) for row in rows) > inline_limit():
        inline = []
    later = len(inline) < len(rows)

    def after_commit() -> None:
        if inline:
            outbox.process(ids=inline)
        if later:
            jobs.send(outbox.DRAIN_TASK)

    # robust: the rows are committed; if trying them now fails, the worker's drain will.
    transaction.on_commit(after_commit, robust=True)
