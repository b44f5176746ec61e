"""Webhook subscriptions and deliveries.

A public event (PRODUCT.md "Webhook events") reaches this app as a durable reaction
(`core.events`): `deliveries_react` writes one delivery per event and active subscription
wanting its type, in the transaction that consumes the event, so an event is turned into
deliveries exactly once. Each delivery is then sent by a task (`webhooks.tasks`), signed,
logged per attempt and retried with back-off. Deliveries never get lost between states:
one waiting for its first attempt whose task never ran, or one claimed by a worker that
died mid-request (its claim expires), is picked up by `deliveries_resume`, which runs
every minute; a duplicate task finds the delivery claimed or done and does nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from http import client as http_client

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core import events, jobs
from core.bulk import rows_insert
from core.errors import DomainError
from webhooks import http
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

# The public event types (PRODUCT.md): what a subscription may ask for.
EVENT_TYPES = (
    "lead.created",
    "lead.stage_changed",
    "lead.assigned",
    "sla.warning",
    "sla.breached",
    "sla.exhausted",
    "commitment.at_risk",
)
ATTEMPT_TASK = "webhooks.tasks.webhook_delivery_attempt"
ENQUEUE_TASK = "webhooks.tasks.webhook_deliveries_enqueue"
# Up to this many deliveries are enqueued one task each by the writer itself; more go to
# the worker in pieces of ENQUEUE_PIECE, where `deliveries_enqueue` fans them out. A sweep
# that breached 10,000 clocks with one subscriber spent 3.5 s publishing 10,000 messages
# after its commit; a few dozen are enough for it.
ENQUEUE_DIRECT = 50
ENQUEUE_PIECE = 500
# A delivery waiting for its first attempt longer than this had its task lost.
PENDING_GRACE = dt.timedelta(minutes=2)


def _check_event_types(event_types: object) -> list[str]:
    if (
        not isinstance(event_types, list | tuple)
        or not event_types
        or any(event not in EVENT_TYPES for event in event_types)
    ):
        raise DomainError(
            f"Choose event types among: {', '.join(EVENT_TYPES)}.", field="event_types"
        )
    return list(dict.fromkeys(event_types))


def webhook_subscription_create(
    *, name: str, url: str, event_types: list[str], created_by=None, is_active: bool = True
) -> WebhookSubscription:
    """A new subscription with a fresh secret (shown once, in the creation response)."""
    http.webhook_url_check(url)
    return WebhookSubscription.objects.create(
        name=name,
        url=url,
        event_types=_check_event_types(event_types),
        secret=secrets.token_hex(32),
        created_by=created_by,
        is_active=is_active,
    )


def webhook_subscription_update(*, subscription: WebhookSubscription, **fields):
    if "url" in fields:
        http.webhook_url_check(fields["url"])
    if "event_types" in fields:
        fields["event_types"] = _check_event_types(fields["event_types"])
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.save()
    return subscription


def webhook_subscription_pause(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Stop making deliveries for new events; the ones already made are still sent."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
    subscription.is_active = False
    return subscription


def webhook_subscription_resume(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Make deliveries again for the events that happen from now on (none are replayed)."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=True)
    subscription.is_active = True
    return subscription


def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Delete a subscription with its delivery log; a delivery whose task still comes finds
    nothing to send."""
    subscription.delete()


def wants() -> set[str]:
    """The event types some active subscription wants now (asked when events are
    published, so events nobody wants cost no outbox row)."""
    wanted: set[str] = set()
    for types in WebhookSubscription.objects.filter(is_active=True).values_list(
        "event_types", flat=True
    ):
        wanted.update(types)
    return wanted


def _enqueue(delivery_ids: list[int]) -> None:
    """Ask for the deliveries' attempts after commit (a lost request is picked up by
    `deliveries_resume`)."""
    if not delivery_ids:
        return

    def send() -> None:
        # The first refused message means the broker is away: the rest waits for it too.
        if len(delivery_ids) <= ENQUEUE_DIRECT:
            for delivery_id in delivery_ids:
                if not jobs.send(ATTEMPT_TASK, delivery_id):
                    return
            return
        for start in range(0, len(delivery_ids), ENQUEUE_PIECE):
            if not jobs.send(ENQUEUE_TASK, delivery_ids[start : start + ENQUEUE_PIECE]):
                return

    transaction.on_commit(send, robust=True)


def deliveries_enqueue(*, delivery_ids: list[int], now: dt.datetime | None = None) -> int:
    """Enqueue one attempt task per delivery of `delivery_ids` that is due for an attempt
    (waiting for its first, or for a retry whose back-off has elapsed); answers how many."""
    now = now or timezone.now()
    waiting = list(
        WebhookDelivery.objects.filter(
            Q(status=WebhookDelivery.Status.PENDING)
            | Q(status=WebhookDelivery.Status.RETRYING, next_attempt_at__lte=now),
            pk__in=delivery_ids,
        ).values_list("id", flat=True)
    )
    sent = 0
    for delivery_id in waiting:
        if not jobs.send(ATTEMPT_TASK, delivery_id):
            break
        sent += 1
    return sent


def deliveries_create(batch: list[events.Event]) -> list[int]:
    """One delivery per event and active subscription to its type, each sent by a task
    after commit. Set-based: one query for the subscriptions, one `COPY` for every
    delivery; nothing more when no active subscription wants the types."""
    subscriptions = list(
        WebhookSubscription.objects.filter(is_active=True).values_list("id", "event_types")
    )
    now = timezone.now()
    rows = [
        {
            "subscription_id": subscription_id,
            "event_type": event.topic,
            "payload": event.payload,
            "occurred_at": _occurred_at(event),
            "created_at": now,
        }
        for event in batch
        for subscription_id, types in subscriptions
        if event.topic in types
    ]
    ids = rows_insert(WebhookDelivery, rows, now=now)
    _enqueue(ids)
    return ids


def _occurred_at(event: events.Event) -> dt.datetime:
    """When the event happened: its own instant when it carries one (a back-filled move
    happened at its `at`), else when it was published."""
    for key in ("at", "occurred_at"):
        value = event.payload.get(key)
        if isinstance(value, str):
            parsed = parse_datetime(value)
            if parsed is not None:
                return parsed
    return event.occurred_at


def deliveries_react(batch: list[events.Event]) -> None:
    """Outbox handler of the public events: their deliveries."""
    deliveries_create(batch)


def webhook_test_send(*, subscription: WebhookSubscription, now: dt.datetime | None = None):
    """Send a `webhook.test` event to one subscription (active or not)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            event_type=http.TEST_EVENT,
            payload={"message": "A test event from Smarketing.", "subscription": subscription.pk},
            occurred_at=now,
        )
        _enqueue([delivery.pk])
    return delivery


def webhook_body(delivery: WebhookDelivery) -> bytes:
    return json.dumps(
        {
            "id": str(delivery.event_id),
            "type": delivery.event_type,
            "occurred_at": delivery.occurred_at.isoformat(),
            "data": delivery.payload,
        },
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    ).encode()


def _retry_delay(attempts: int) -> dt.timedelta:
    base = settings.WEBHOOKS_RETRY_BASE_SECONDS
    seconds = base * settings.WEBHOOKS_RETRY_FACTOR ** (attempts - 1)
    return dt.timedelta(seconds=min(seconds, settings.WEBHOOKS_RETRY_MAX_SECONDS))


def _claim_lease() -> dt.timedelta:
    """How long a claimed delivery is held: its request's timeout, and a margin."""
    return dt.timedelta(seconds=settings.WEBHOOKS_TIMEOUT_SECONDS + settings.WEBHOOKS_CLAIM_MARGIN)


def webhook_delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Make one HTTP attempt of a delivery, log it, and schedule a retry on failure.

    The delivery is claimed with a conditional update (held until `claimed_until`), so
    two workers never send the same attempt; a delivered or failed delivery is left alone.
    A 2xx answer delivers; anything else (another status, a timeout, a refused address)
    is retried after an exponential back-off until `settings.WEBHOOKS_MAX_ATTEMPTS`; a
    refused address is not retried. Returns the delivery's status.
    """
    now = now or timezone.now()
    claimable = [WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING]
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status__in=claimable).update(
        status=WebhookDelivery.Status.SENDING, claimed_until=now + _claim_lease()
    )
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    if not claimed:
        return delivery.status
    subscription = delivery.subscription
    number = delivery.attempts + 1
    body = webhook_body(delivery)
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Smarketing-Webhooks/1",
        http.EVENT_HEADER: delivery.event_type,
        http.TIMESTAMP_HEADER: timestamp,
        http.SIGNATURE_HEADER: http.webhook_signature(
            secret=subscription.secret, timestamp=timestamp, body=body
        ),
    }
    status_code, excerpt, error, retry = None, "", "", True
    began = time.monotonic()
    try:
        http.webhook_url_check(subscription.url)
        status_code, excerpt = http.post(subscription.url, body, headers)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except DomainError as exc:
        error, retry = exc.message, False
    except PermissionError as exc:
        error, retry = str(exc), False
    except (OSError, http_client.HTTPException) as exc:
        error = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
    duration_ms = int((time.monotonic() - began) * 1000)

    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            at=now,
            status_code=status_code,
            duration_ms=duration_ms,
            error=error,
            response_excerpt=excerpt,
        )
        delivery.attempts = number
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.claimed_until = None
        if not error:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif retry and number < settings.WEBHOOKS_MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.RETRYING
            delivery.next_attempt_at = now + _retry_delay(number)
        else:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        delivery.save()
    return delivery.status


def deliveries_resume(*, now: dt.datetime | None = None, limit: int = 1000) -> dict:
    """Every minute: enqueue the deliveries whose retry is due, and take back what a lost
    task or a dead worker left: deliveries waiting for a first attempt for more than
    `PENDING_GRACE`, and claims that expired (their attempt is made again). Index range
    scans only."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.SENDING, claimed_until__lt=now)
            .values_list("id", flat=True)[:limit]
        )
        if expired:
            WebhookDelivery.objects.filter(pk__in=expired).update(
                status=WebhookDelivery.Status.RETRYING, next_attempt_at=now, claimed_until=None
            )
        due = list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.RETRYING, next_attempt_at__lte=now
            ).values_list("id", flat=True)[:limit]
        )
        stale = list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING, created_at__lt=now - PENDING_GRACE
            ).values_list("id", flat=True)[:limit]
        )
        _enqueue([*due, *stale])
    return {"expired": len(expired), "retried": len(due), "resent": len(stale)}
