"""Integration events (PRODUCT.md "Webhook events"): emitted by the domain, delivered elsewhere.

Apps call `emit(...)` after commit; the reporting app's webhooks subscribe to
`integration_event` and deliver signed HTTP requests. Emitting never fails a business
operation: a receiver error is logged, not raised.
"""

import logging

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

# Sent with sender=None, event_type=str, payload=dict, occurred_at=datetime.
integration_event = Signal()

json_encoder = DjangoJSONEncoder


def emit(event_type: str, payload: dict, *, occurred_at=None) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown integration event type {event_type!r}.")
    results = integration_event.send_robust(
        sender=None,
        event_type=event_type,
        payload=payload,
        occurred_at=occurred_at or timezone.now(),
    )
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.error("integration event %s: %r failed: %r", event_type, receiver, result)
