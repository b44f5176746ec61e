"""Webhooks: a real HTTP receiver on 127.0.0.1, deliveries by the real Celery worker, the
signature checked the way an integrator would, a retry after a 500, and no delivery to a
private address unless allowed."""

import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from core import events, outbox
from leads.services import lead_transition
from tests.leads.factories import LeadFactory
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import (
    deliveries_resume,
    webhook_delivery_attempt,
    webhook_subscription_create,
)


def emit(event_type: str, *payloads: dict) -> None:
    """Publish public events as the product does, and run their reactions."""
    events.publish(event_type, payloads, occurred_at=timezone.now())
    outbox.process()


class Receiver:
    """An HTTP server on 127.0.0.1 answering the statuses it is given, in order (then 200)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"boom" if status >= 500 else b"thanks")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks?team=smarketing"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")


def signature_is_valid(secret: str, request: dict) -> bool:
    headers = {key.lower(): value for key, value in request["headers"].items()}
    timestamp = headers["x-smarketing-timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(headers["x-smarketing-signature"], f"sha256={expected}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery_worker
def test_a_stage_change_is_delivered_signed_and_retried_after_a_500(celery_worker, admin_user):
    with Receiver(statuses=[500]) as receiver:
        subscription = webhook_subscription_create(
            name="CRM", url=receiver.url, event_types=["lead.stage_changed"], created_by=admin_user
        )
        lead = LeadFactory()
        lead_transition(lead=lead, to_stage="mql")

        delivery = WebhookDelivery.objects.get(subscription=subscription)
        wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1)
        delivery.refresh_from_db()
        assert delivery.status == "retrying"
        assert delivery.last_status_code == 500
        # Exponential back-off: the first retry is due a minute after the failed attempt.
        first = delivery.attempt_log.get()
        assert (delivery.next_attempt_at - first.at).total_seconds() == 60
        assert first.response_excerpt == "boom"

        # The beat sweep runs when the retry is due; the worker delivers.
        assert deliveries_resume(now=delivery.next_attempt_at)["retried"] == 1
        wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "succeeded")

    assert len(receiver.requests) == 2
    for request in receiver.requests:
        assert signature_is_valid(subscription.secret, request)
    body = json.loads(receiver.requests[-1]["body"])
    assert body["type"] == "lead.stage_changed"
    assert body["id"] == str(delivery.event_id)
    assert body["data"]["lead"] == lead.pk and body["data"]["to"] == "mql"
    assert receiver.requests[-1]["headers"]["X-Smarketing-Event"] == "lead.stage_changed"
    codes = list(delivery.attempt_log.order_by("number").values_list("status_code", flat=True))
    assert codes == [500, 200]


@pytest.mark.django_db
def test_a_tampered_body_does_not_verify(admin_user):
    with Receiver() as receiver:
        subscription = webhook_subscription_create(
            name="CRM", url=receiver.url, event_types=["lead.assigned"], created_by=admin_user
        )
        emit("lead.assigned", {"lead": 1, "owner": 2})
        delivery = WebhookDelivery.objects.get()
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    request = receiver.requests[0]
    assert signature_is_valid(subscription.secret, request)
    assert not signature_is_valid(subscription.secret, {**request, "body": request["body"] + b" "})
    assert not signature_is_valid("another-secret", request)


@pytest.mark.django_db
def test_nothing_is_sent_to_a_private_address_by_default(settings, admin_user):
    with Receiver() as receiver:
        # Allowed while the subscription is made (as the test suite allows)...
        subscription = webhook_subscription_create(
            name="Inside", url=receiver.url, event_types=["sla.breached"], created_by=admin_user
        )
        emit("sla.breached", {"clock": 1})
        delivery = WebhookDelivery.objects.get()
        # ...then refused at delivery time with the production default.
        settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "failed"

    assert receiver.requests == []
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert "private or loopback" in attempt.error
    assert subscription.deliveries.get().next_attempt_at is None  # not retried


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/x", "http://10.0.0.5/x", "http://localhost/x", "http://[::1]/x"]
)
def test_a_subscription_to_a_private_address_is_refused_by_default(
    settings, admin_user, api_as, url
):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = api_as(admin_user).post(
        "/api/v1/webhooks/",
        {"name": "x", "url": url, "event_types": ["lead.created"]},
        format="json",
    )
    assert response.status_code == 400
    assert "private or loopback" in response.json()["errors"]["url"][0]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_a_name_resolving_to_a_private_address_is_refused_at_delivery(settings, admin_user):
    # The machine's own name resolves to a loopback or private address (127.0.1.1, 172.17…).
    subscription = webhook_subscription_create(
        name="Sneaky", url=f"http://{socket.gethostname()}:9/x", event_types=["lead.created"]
    )
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    emit("lead.created", {"lead": 1})
    delivery = subscription.deliveries.get()
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "failed"
    assert "resolves to" in delivery.attempt_log.get().error


@pytest.mark.django_db
def test_the_secret_is_shown_once_on_creation(admin_user, api_as):
    client = api_as(admin_user)
    created = client.post(
        "/api/v1/webhooks/",
        {"name": "CRM", "url": "https://example.com/hooks", "event_types": ["lead.created"]},
        format="json",
    )
    assert created.status_code == 201
    assert len(created.json()["secret"]) == 64
    shown = client.get(f"/api/v1/webhooks/{created.json()['id']}/")
    assert "secret" not in shown.json()
    listed = client.get("/api/v1/webhooks/")
    assert "secret" not in listed.json()["results"][0]


@pytest.mark.django_db
def test_bad_webhook_input_is_a_400_with_field_messages(admin_user, api_as):
    client = api_as(admin_user)
    response = client.post(
        "/api/v1/webhooks/",
        {"name": "x", "url": "ftp://example.com", "event_types": ["lead.exploded"]},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"url", "event_types"}


@pytest.mark.django_db
def test_a_rep_cannot_manage_webhooks(rep, api_as):
    response = api_as(rep).post(
        "/api/v1/webhooks/",
        {"name": "x", "url": "https://example.com", "event_types": ["lead.created"]},
        format="json",
    )
    assert response.status_code == 403
    assert api_as(rep).get("/api/v1/webhooks/").status_code == 403


@pytest.mark.django_db
def test_a_delivery_is_attempted_once_even_when_the_message_comes_twice(admin_user):
    with Receiver() as receiver:
        webhook_subscription_create(name="CRM", url=receiver.url, event_types=["lead.created"])
        emit("lead.created", {"lead": 1})
        delivery = WebhookDelivery.objects.get()
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery_worker
def test_a_large_batch_of_events_is_fanned_out_by_the_worker_and_all_delivered(
    celery_worker, admin_user
):
    with Receiver() as receiver:
        webhook_subscription_create(
            name="Pager", url=receiver.url, event_types=["sla.breached"], created_by=admin_user
        )
        emit("sla.breached", *({"clock": n} for n in range(120)))
        wait_for(lambda: len(receiver.requests) == 120, timeout=60)
        # The worker records each delivery after its receiver answered.
        wait_for(
            lambda: set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"},
            timeout=30,
        )
    clocks = sorted(json.loads(request["body"])["data"]["clock"] for request in receiver.requests)
    assert clocks == list(range(120))
