"""Writes of the reporting app: snapshot roll-ups, webhook deliveries, weekly reviews.

Every function is keyword-only, reads the clock once and enqueues follow-up tasks on commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
from collections.abc import Iterable
from http import client as http_client
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from leads.models import Lead
from leads.models import StageTransition as Transition
from leads.services.bulk import rows_insert
from reporting import selectors
from reporting.funnel import STAGES
from reporting.models import (
    Dimension,
    FunnelMode,
    FunnelSnapshot,
    ReviewActionItem,
    RollupState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    WeeklyReview,
)
from smarketing.api_support import DomainError
from smarketing.events import EVENT_TYPES

logger = logging.getLogger(__name__)

# Changes committed while a roll-up ran may carry an earlier timestamp than its start: look
# this far back behind the previous start. Recomputing a day twice is harmless.
ROLLUP_OVERLAP = dt.timedelta(minutes=10)
DAYS_PER_QUERY = 366


# --------------------------------------------------------------------------- snapshots


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
        _recompute(FunnelMode.COHORT, cohort_days, now=now)
        _recompute(FunnelMode.FLOW, flow_days, now=now)
        state.last_started_at = now
        state.last_finished_at = timezone.now()
        state.last_days_recomputed = len(cohort_days | flow_days)
        state.save()
    return state.last_days_recomputed


# --------------------------------------------------------------------------- webhooks

SIGNATURE_HEADER = "X-Smarketing-Signature"
TIMESTAMP_HEADER = "X-Smarketing-Timestamp"
EVENT_HEADER = "X-Smarketing-Event"
TEST_EVENT = "webhook.test"
RESPONSE_EXCERPT = 500


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _address_refusal(address: str) -> str | None:
    ip = ipaddress.ip_address(address)
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    ):
        return f"{address} is a private, loopback or reserved address"
    return None


def webhook_url_check(url: str) -> None:
    """Refuse URLs that are not http(s) with a host, and literal private addresses (unless
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES). Names are resolved at delivery time."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError("Give an http:// or https:// address with a host name.", field="url")
    if settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        return
    try:
        refusal = _address_refusal(parts.hostname)
    except ValueError:
        refusal = None  # a name: checked when it is resolved
    if refusal or parts.hostname.lower() in ("localhost", "localhost.localdomain"):
        raise DomainError(
            f"Webhooks are not sent to private or loopback addresses ({parts.hostname}).",
            field="url",
        )


def _resolve_public(host: str, port: int) -> str:
    """The address to connect to; refuses a host that resolves to a private address."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from exc
    addresses = [info[4][0] for info in infos]
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            refusal = _address_refusal(address)
            if refusal:
                raise PermissionError(f"refused: {host} resolves to {refusal}")
    return addresses[0]


class _PinnedHTTPConnection(http_client.HTTPConnection):
    """Connects to the address that was checked, not to a second resolution of the name."""

    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http_client.HTTPSConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _retry_delay(attempts: int) -> dt.timedelta:
    base = settings.WEBHOOKS_RETRY_BASE_SECONDS
    seconds = base * settings.WEBHOOKS_RETRY_FACTOR ** (attempts - 1)
    return dt.timedelta(seconds=min(seconds, settings.WEBHOOKS_RETRY_MAX_SECONDS))


def webhook_subscription_create(
    *, name: str, url: str, event_types: list[str], created_by=None, is_active: bool = True
) -> WebhookSubscription:
    """A new subscription with a fresh secret (shown once, in the creation response)."""
    webhook_url_check(url)
    unknown = [event for event in event_types if event not in EVENT_TYPES]
    if unknown or not event_types:
        raise DomainError(
            f"Choose event types among: {', '.join(EVENT_TYPES)}.", field="event_types"
        )
    return WebhookSubscription.objects.create(
        name=name,
        url=url,
        event_types=list(dict.fromkeys(event_types)),
        secret=secrets.token_hex(32),
        created_by=created_by,
        is_active=is_active,
    )


def webhook_subscription_update(*, subscription: WebhookSubscription, **fields):
    if "url" in fields:
        webhook_url_check(fields["url"])
    if "event_types" in fields:
        unknown = [event for event in fields["event_types"] if event not in EVENT_TYPES]
        if unknown or not fields["event_types"]:
            raise DomainError(
                f"Choose event types among: {', '.join(EVENT_TYPES)}.", field="event_types"
            )
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.save()
    return subscription


# Up to this many deliveries are enqueued one task each by the writer itself; more go
# to the worker in pieces of ENQUEUE_PIECE, where `webhook_deliveries_enqueue` fans them
# out. A sweep that breached 10,000 clocks with one subscriber spent 3.5 s publishing
# 10,000 messages after its commit; a few dozen are enough for it.
ENQUEUE_DIRECT = 50
ENQUEUE_PIECE = 500


def _enqueue(delivery_ids: list[int]) -> None:
    from reporting.tasks import webhook_deliveries_enqueue, webhook_delivery_attempt

    def send():
        if len(delivery_ids) <= ENQUEUE_DIRECT:
            for delivery_id in delivery_ids:
                webhook_delivery_attempt.delay(delivery_id)
            return
        for start in range(0, len(delivery_ids), ENQUEUE_PIECE):
            webhook_deliveries_enqueue.delay(delivery_ids[start : start + ENQUEUE_PIECE])

    if delivery_ids:
        transaction.on_commit(send)


def webhook_deliveries_enqueue(*, delivery_ids: list[int], now: dt.datetime | None = None) -> int:
    """Enqueue one attempt task per delivery of `delivery_ids` that is due for an attempt
    (waiting for its first, or for a retry whose back-off has elapsed); answers how many
    were enqueued."""
    from reporting.tasks import webhook_delivery_attempt

    now = now or timezone.now()
    waiting = list(
        WebhookDelivery.objects.filter(
            Q(status=WebhookDelivery.Status.PENDING)
            | Q(status=WebhookDelivery.Status.RETRYING, next_attempt_at__lte=now),
            pk__in=delivery_ids,
        ).values_list("id", flat=True)
    )
    for delivery_id in waiting:
        webhook_delivery_attempt.delay(delivery_id)
    return len(waiting)


def webhook_deliveries_create(
    *, event_type: str, payloads: list[dict], occurred_at: dt.datetime
) -> list[WebhookDelivery]:
    """One delivery per event and active subscription to ``event_type``, each sent by a task.

    Set-based for a batch of events: one query for the subscriptions, one insert for every
    delivery; nothing more when no active subscription wants the type.
    """
    subscriptions = [
        sub
        for sub in WebhookSubscription.objects.filter(is_active=True).only("id", "event_types")
        if event_type in sub.event_types
    ]
    if not subscriptions or not payloads:
        return []
    payloads = json.loads(json.dumps(payloads, cls=DjangoJSONEncoder))
    with transaction.atomic():
        deliveries = rows_insert(
            [
                WebhookDelivery(
                    subscription_id=sub.pk,
                    event_type=event_type,
                    payload=payload,
                    occurred_at=occurred_at,
                )
                for payload in payloads
                for sub in subscriptions
            ]
        )
        _enqueue([delivery.pk for delivery in deliveries])
    return deliveries


def webhook_test_send(*, subscription: WebhookSubscription, now: dt.datetime | None = None):
    """Send a ``webhook.test`` event to one subscription (active or not)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            event_type=TEST_EVENT,
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


def _post(url: str, body: bytes, headers: dict) -> tuple[int, str]:
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    address = _resolve_public(parts.hostname, port)
    connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = connection_class(
        parts.hostname, port, address, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS
    )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read(RESPONSE_EXCERPT * 4).decode("utf-8", "replace")
        return response.status, text[:RESPONSE_EXCERPT]
    finally:
        connection.close()


def webhook_delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Make one HTTP attempt of a delivery, log it, and schedule a retry on failure.

    The delivery is claimed with a conditional update, so two workers never send the same
    attempt; a delivered or failed delivery is left alone. A 2xx answer delivers; anything
    else (another status, a timeout, a refused address) is retried after an exponential
    back-off until ``settings.WEBHOOKS_MAX_ATTEMPTS``; a refused address is not retried.
    Returns the delivery's status.
    """
    now = now or timezone.now()
    claimable = [WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING]
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status__in=claimable).update(
        status=WebhookDelivery.Status.SENDING
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
        EVENT_HEADER: delivery.event_type,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: webhook_signature(
            secret=subscription.secret, timestamp=timestamp, body=body
        ),
    }
    status_code, excerpt, error, retry = None, "", "", True
    began = time.monotonic()
    try:
        webhook_url_check(subscription.url)
        status_code, excerpt = _post(subscription.url, body, headers)
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


def webhook_deliveries_retry_due(*, now: dt.datetime | None = None) -> int:
    """Enqueue an attempt for every delivery whose retry is due (an index range scan)."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.RETRYING, next_attempt_at__lte=now
        ).values_list("id", flat=True)[:1000]
    )
    with transaction.atomic():
        _enqueue(due)
    return len(due)


# --------------------------------------------------------------------------- weekly review


def review_action_item_add(
    *, review: WeeklyReview, text: str, created_by, owner=None, due_on: dt.date | None = None
) -> ReviewActionItem:
    text = (text or "").strip()
    if not text:
        raise DomainError("Write the decision or action.", field="text")
    if len(text) > 300:
        raise DomainError("Keep it under 300 characters.", field="text")
    return ReviewActionItem.objects.create(
        review=review, text=text, owner=owner, due_on=due_on, created_by=created_by
    )


def review_action_item_toggle(
    *, item: ReviewActionItem, now: dt.datetime | None = None
) -> ReviewActionItem:
    item.done_at = None if item.done_at else (now or timezone.now())
    item.save(update_fields=["done_at"])
    return item


def _week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _funnel_summary(result) -> dict:
    return {
        "counts": result.counts,
        "conversion": [
            {"from": a, "to": b, "rate": result.conversion[(a, b)]} for a, b in result.conversion
        ],
        "won_revenue": str(result.won_revenue),
    }


def weekly_review_content(*, week_start: dt.date, now: dt.datetime) -> dict:
    """What the review of the week starting ``week_start`` (a Monday) shows, as JSON."""
    from reporting import funnel as funnel_core

    start = selectors.day_start(week_start)
    end = selectors.day_start(week_start + dt.timedelta(days=7))
    previous_start = selectors.day_start(week_start - dt.timedelta(days=7))
    this_week = selectors.funnel_report(start=start, end=end, mode=FunnelMode.FLOW)
    last_week = selectors.funnel_report(
        start=previous_start, end=start, mode=FunnelMode.FLOW, with_velocity=False
    )
    plan = selectors.current_revenue_plan(today=week_start)
    neck = funnel_core.bottleneck(this_week.total.conversion, plan.rates) if plan else None

    personas_now = selectors.funnel_report(
        start=start, end=end, mode=FunnelMode.FLOW, group_by=Dimension.PERSONA, with_velocity=False
    )
    personas_before = selectors.funnel_report(
        start=previous_start,
        end=start,
        mode=FunnelMode.FLOW,
        group_by=Dimension.PERSONA,
        with_velocity=False,
    )
    keys = sorted((set(personas_now.results) | set(personas_before.results)) - {funnel_core.ALL})
    labels = selectors.group_labels(Dimension.PERSONA, keys)
    empty = dict.fromkeys(STAGES, 0)
    personas = []
    for key in keys:
        now_counts = personas_now.results[key].counts if key in personas_now.results else empty
        before = personas_before.results[key].counts if key in personas_before.results else empty
        personas.append(
            {
                "persona": labels.get(key, key),
                "leads": now_counts["lead"],
                "leads_before": before["lead"],
                "mqls": now_counts["mql"],
                "mqls_before": before["mql"],
                "sqls": now_counts["sql"],
                "sqls_before": before["sql"],
                "customers": now_counts["customer"],
                "customers_before": before["customer"],
            }
        )

    return {
        "week_start": week_start.isoformat(),
        "week_end": (week_start + dt.timedelta(days=6)).isoformat(),
        "funnel": _funnel_summary(this_week.total),
        "funnel_before": _funnel_summary(last_week.total),
        "bottleneck": None
        if neck is None
        else {
            "from": neck.from_stage,
            "to": neck.to_stage,
            "measured": neck.measured,
            "planned": neck.planned,
        },
        "plan": None if plan is None else {"name": plan.name},
        "sla": selectors.sla_health(start=start, end=end),
        "sla_by_team": selectors.sla_compliance(start=start, end=end, group_by="team"),
        "commitments": selectors.commitment_pace(start=start, end=end, now=now),
        "goals": selectors.goal_progress(first=week_start, last=week_start + dt.timedelta(6)),
        "personas": personas,
    }


def _review_recipients():
    from accounts.models import Team, User

    return list(
        User.objects.filter(
            is_active=True,
            team__function__in=[Team.Function.MARKETING, Team.Function.SALES],
        )
        .exclude(email="")
        .values_list("email", flat=True)
    )


def weekly_review_build(
    *, now: dt.datetime | None = None, week_start: dt.date | None = None
) -> WeeklyReview:
    """Build (or rebuild) the review of last week, or of the week starting ``week_start``,
    and email it once to both teams. Action items already added are kept."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    now = now or timezone.now()
    if week_start is None:
        week_start = _week_of(selectors.local_day(now)) - dt.timedelta(days=7)
    elif week_start.weekday() != 0:
        raise DomainError("A review week starts on a Monday.", field="week_start")
    content = json.loads(
        json.dumps(weekly_review_content(week_start=week_start, now=now), cls=DjangoJSONEncoder)
    )
    with transaction.atomic():
        review, _ = WeeklyReview.objects.update_or_create(
            week_start=week_start, defaults={"content": content, "built_at": now}
        )
        claimed = WeeklyReview.objects.filter(pk=review.pk, emailed_at__isnull=True).update(
            emailed_at=now
        )
        if claimed:
            recipients = _review_recipients()
            subject = f"Smarketing weekly review: {review}"
            text = render_to_string(
                "reporting/review_email.txt", {"review": review, "content": content}
            )

            def send() -> None:
                for recipient in recipients:
                    try:
                        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient])
                    except OSError as exc:  # the page is the record; mail is a copy
                        logger.warning("weekly review email to %s failed: %s", recipient, exc)

            transaction.on_commit(send)
    review.refresh_from_db()
    return review
