"""Integration events (PRODUCT.md "Webhook events"): emitted by the domain, delivered elsewhere.

Apps call `emit_many(...)` (or `emit(...)` for one event) after commit; the reporting app's
webhooks subscribe to `integration_events` and deliver signed HTTP requests. A batch of
events of one type travels as one signal, so a receiver can react set-based (a bulk upsert
of 1,000 leads is one batch, not 1,000 round trips). Emitting never fails a business
operation: a receiver error is logged, not raised.
"""

import logging
from collections.abc import Iterable

from django.core.serializers.json import DjangoJSONEncoder
from django.dispatch import Signal
from django.utils import timezone

logger = logging.getLogger(__name__)

EVENT_TYPES = (
    "lead.created",
    "lead.stage_changed",
    "lead.assigned",
    "sla.warning",
    "sla.breached",
    "sla.exhausted",
    "commitment.at_risk",
)

# Sent with sender=None, event_type=str, payloads=list[dict], occurred_at=datetime.
integration_events = Signal()
# One event at a time, for receivers that want that (sender=None, event_type=str,
# payload=dict, occurred_at=datetime). Only sent when something listens.
integration_event = Signal()

json_encoder = DjangoJSONEncoder


def emit(event_type: str, payload: dict, *, occurred_at=None) -> None:
    """Emit one integration event."""
    emit_many(event_type, [payload], occurred_at=occurred_at)


def emit_many(event_type: str, payloads: Iterable[dict], *, occurred_at=None) -> None:
    """Emit events of one type that happened at `occurred_at` (aware; default now)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown integration event type {event_type!r}.")
    payloads = list(payloads)
    if not payloads:
        return
    occurred_at = occurred_at or timezone.now()
    results = integration_events.send_robust(
        sender=None, event_type=event_type, payloads=payloads, occurred_at=occurred_at
    )
    if integration_event.has_listeners():
        for payload in payloads:
            results += integration_event.send_robust(
                sender=None, event_type=event_type, payload=payload, occurred_at=occurred_at
            )
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.error("integration event %s: %r failed: %r", event_type, receiver, result)
