"""Reactions that cannot be lost: a reaction that fails is retried by the real worker, a
worker killed in the middle of a webhook delivery leaves it to be delivered once, and a
broker outage during a bulk upsert loses nothing (everything happens once it is back)."""

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from leads.models import Lead, RoutingRule
from leads.services import lead_transition, leads_upsert
from sla.models import SLAClock
from tests.conftest import worker_idle
from tests.leads.factories import LeadFactory
from tests.leads.helpers import MQL_RULES, active_definition
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_subscription_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]


def wait_for(condition, timeout: float = 60, what: str = "the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def terms(db):
    BusinessCalendarFactory(
        name="Always open",
        time_zone="UTC",
        hours={str(day): [["00:00", "00:00"]] for day in range(7)},
    )
    return SLAAgreementFactory(name="Sales and marketing SLA")


def test_a_clock_start_that_fails_once_is_retried_and_leaves_exactly_one_clock(
    celery_worker, terms, rep, monkeypatch
):
    from sla.services import clocks

    real = clocks._clocks_create
    calls = []

    def fails_once(handoffs):
        calls.append(len(handoffs))
        if len(calls) == 1:
            raise RuntimeError("the SLA app is having a bad day")
        return real(handoffs)

    # Only this process is patched: the try right after the commit fails, the worker's
    # retry (asked for after the first back-off) runs the real code. Drains that earlier
    # tests queued go first, so that no worker claims the row before that try.
    worker_idle()
    monkeypatch.setattr(clocks, "_clocks_create", fails_once)
    lead = LeadFactory(owner=rep)
    lead_transition(lead=lead, to_stage="sql", reason="demo request")

    assert Lead.objects.get(pk=lead.pk).stage == "sql"
    assert not SLAClock.objects.filter(lead=lead).exists()
    kept = OutboxMessage.objects.get(handler="sla.clocks", topic="lead.handed_off")
    assert kept.attempts == 1 and "bad day" in kept.last_error

    wait_for(lambda: SLAClock.objects.filter(lead=lead).exists(), what="the retried clock")
    wait_for(lambda: not OutboxMessage.objects.filter(handler="sla.clocks").exists())
    assert SLAClock.objects.filter(lead=lead).count() == 1
    assert calls == [1]  # the retry ran in the worker, not here


class SlowFirstReceiver:
    """An HTTP receiver on 127.0.0.1 that holds the first request (its sender is killed
    meanwhile) and answers the next ones at once; it counts the deliveries it completed."""

    def __init__(self):
        self.arrived: list[dict] = []
        self.completed: list[dict] = []
        self.first_arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.arrived.append(body)
                if len(receiver.arrived) == 1:
                    receiver.first_arrived.set()
                    time.sleep(4)  # the worker sending it dies meanwhile
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                    self.wfile.flush()
                except OSError:
                    return
                if len(receiver.arrived) > 1:
                    receiver.completed.append(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_worker_killed_mid_delivery_leaves_it_retried_and_delivered_once(celery_worker):
    from webhooks.services import deliveries_resume

    with SlowFirstReceiver() as receiver:
        webhook_subscription_create(
            name="CRM", url=receiver.url, event_types=["lead.stage_changed"]
        )
        lead = LeadFactory()
        lead_transition(lead=lead, to_stage="mql")
        delivery = WebhookDelivery.objects.get()

        assert receiver.first_arrived.wait(30), "the worker never sent the delivery"
        celery_worker.kill()  # SIGKILL, worker and children, mid-request
        delivery.refresh_from_db()
        assert delivery.status == "sending" and delivery.attempts == 0
        celery_worker.start()

        # The periodic resume takes back the claim once it has expired, and the worker
        # sends the delivery again.
        wait_for(lambda: timezone.now() > WebhookDelivery.objects.get().claimed_until)
        assert deliveries_resume()["expired"] == 1
        wait_for(lambda: WebhookDelivery.objects.get().status == "succeeded", what="delivery")

    delivery.refresh_from_db()
    assert len(receiver.completed) == 1
    assert {body["id"] for body in receiver.arrived} == {str(delivery.event_id)}
    assert list(delivery.attempt_log.values_list("number", "status_code")) == [(1, 200)]


@contextmanager
def broker_unreachable():
    """This process's broker connection pointed at a port nothing listens on (the worker
    keeps its own): every enqueue from here fails, as during an outage of the broker."""
    import socket

    from smarketing.celery import app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"

    def forget_connections():
        # Celery keeps producers for the address it first connected to.
        app._pool = None
        app.amqp._producer_pool = None

    # The write address: the environment's CELERY_BROKER_URL would win over broker_url.
    app.conf.broker_write_url = dead
    forget_connections()
    try:
        yield
    finally:
        app.conf.broker_write_url = None
        forget_connections()


class CountingReceiver:
    def __init__(self):
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.bodies.append(
                    json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_broker_outage_during_a_bulk_upsert_loses_no_reaction(
    celery_worker, terms, marketer, rep, other_rep, sales_team
):
    from core import outbox
    from webhooks.services import PENDING_GRACE, deliveries_resume

    director = [{"points": 20, "attribute": "title", "operator": "contains", "value": "director"}]
    active_definition("mql", MQL_RULES, marketer)
    active_definition("sql", {"threshold": 20, "fit": director}, marketer)
    RoutingRule.objects.create(name="Everything", team=sales_team)
    receiver = CountingReceiver()
    try:
        webhook_subscription_create(
            name="CRM", url=receiver.url, event_types=["lead.created", "lead.assigned"]
        )
        rows = [
            {
                "external_id": f"outage-{n}",
                "email": f"p{n}@outage.example",
                "title": "Director" if n % 2 else "Analyst",
                "country": "DE",
                "attributes": {"company_size": 100},
            }
            for n in range(20)
        ]
        with broker_unreachable():
            result = leads_upsert(rows=rows, actor=marketer)
        assert len(result.created) == 20 and not result.errors
        directors = Lead.objects.filter(pk__in=result.created, title="Director")
        # What needs no broker happened at once: the clocks and the deliveries to make.
        assert SLAClock.objects.filter(lead__in=directors).count() == 10
        assert WebhookDelivery.objects.count() == 30  # 20 created + 10 assigned
        assert not receiver.bodies

        # The broker is back: the periodic jobs (run here as beat would have them run)
        # send what could not be enqueued; deliveries younger than the grace are left.
        assert deliveries_resume()["resent"] == 0
        WebhookDelivery.objects.update(created_at=timezone.now() - PENDING_GRACE * 2)
        assert deliveries_resume()["resent"] == 30
        outbox.drain()
        wait_for(lambda: len(receiver.bodies) == 30, what="every delivery")
        wait_for(lambda: not OutboxMessage.objects.exists(), what="every reaction")
    finally:
        receiver.close()

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert len({body["id"] for body in receiver.bodies}) == 30  # each delivered once
    assert SLAClock.objects.count() == 10
