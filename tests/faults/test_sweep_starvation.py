"""The SLA sweep cannot be starved: behind a backlog of 4,000 webhook deliveries to a slow
receiver and a CSV import, the sweep beat sends is run at once by the `sla` queue's worker
(a worker per group of queues, as deployed) and records every due breach; with one worker
on every queue (`make run`) it waits only for the tasks in progress. A sweep skipped while
the broker is down (killed, then started again empty) is made up by the next one: every
breach once, at its due instant. Nothing is lost or doubled: imports land every row once,
and a backlog drained through workers stopping and starting reaches the receiver once per
delivery.

Real workers and a real broker of this module's own (a Valkey on 127.0.0.1); the receiver
is an HTTP server of the test's on 127.0.0.1."""

import datetime as dt
import json
import threading
import time
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from celery import beat
from celery.signals import before_task_publish
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads import imports
from leads.models import Lead, LeadImport
from sla import services
from sla.models import SLAClock, SLARecord
from sla.services import HandOff
from smarketing.celery import app
from smarketing.tasks import ping
from tests.conftest import Worker, worker_idle
from tests.conftest import tests_database_url as database_url
from tests.leads.factories import LeadFactory
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import webhook_subscription_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

BACKLOG = 4000  # webhook deliveries waiting when the sweep is sent
DUE = 40  # clocks due when it is sent
BREACH_BOUND = 30  # seconds from the sweep's sending to its breaches recorded
FIRST_TOUCH = dt.timedelta(hours=5)  # the agreement's, on a calendar that is always open

# Workers as deployed (docker-compose.yml): their queues and children.
SLA_WORKER = (("sla", "celery"), 2)
WEBHOOKS_WORKER = (("webhooks",), 4)
JOBS_WORKER = (("imports", "reports"), 2)
# `make run` (Procfile): one worker of two children on every queue.
EVERY_QUEUE_WORKER = ((), 2)


def wait_for(condition, timeout: float = 60, what: str = "the workers", every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 200 after `delay` seconds; it counts
    the event ids it was sent."""

    def __init__(self, delay: float = 0.1):
        self.delay = delay
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.received[body["id"]] += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # four workers' connections at once, and a loaded machine

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> int:
        with self.lock:
            return sum(self.received.values())

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    own = Receiver()
    yield own
    own.delay = 0  # what is still in flight ends at once
    own.close()


@pytest.fixture
def workers(broker, transactional_db):
    """`workers(*kinds)` starts a real worker of each kind (its queues, none for all of
    them, and its children) on the module's broker, all at once, and answers them when
    they answer; all stop, idle, when the test ends."""
    started: list[Worker] = []

    def _start(*kinds: tuple[tuple[str, ...], int]) -> list[Worker]:
        env = {"CELERY_BROKER_URL": broker.url}
        for queues, children in kinds:
            worker = Worker(
                database_url(), env=env, queues=list(queues) or None, concurrency=children
            )
            started.append(worker.start(wait=False))
        return [worker.ready() for worker in started[-len(kinds) :]]

    yield _start
    if not broker.running:
        broker.start()
    worker_idle()
    stop(*started)
    app.control.purge()  # what a stopping worker gave back


def stop(*workers: Worker) -> None:
    """Warm shutdown of `workers` at once: each ends the tasks it runs and gives back those
    it had taken."""
    for worker in workers:
        if worker.process is not None:
            worker.process.terminate()
    for worker in workers:
        worker.stop()


@pytest.fixture
def terms(db):
    BusinessCalendarFactory(
        name="Always open",
        time_zone="UTC",
        hours={str(day): [["00:00", "00:00"]] for day in range(7)},
    )
    return SLAAgreementFactory(name="Sales and marketing SLA", first_touch_hours=5)


def beat_sends(entry: str):
    """Send the periodic job `entry` of `CELERY_BEAT_SCHEDULE` the way beat does: with the
    task modules imported, as beat imports them when it starts (so the task's own options
    apply, its `expires` among them), celery's scheduler applies the entry."""
    app.loader.import_default_modules()
    scheduler = beat.Scheduler(app, lazy=True)
    scheduler.setup_schedule()
    return scheduler.apply_async(scheduler.schedule[entry], advance=False)


@contextmanager
def headers_sent():
    """The headers of the task messages this process sends inside the block."""
    seen: list[dict] = []

    def keep(headers=None, **_):
        seen.append(headers)

    before_task_publish.connect(keep, weak=False)
    try:
        yield seen
    finally:
        before_task_publish.disconnect(keep)


def answers(worker: Worker) -> bool:
    """Whether `worker` answers a ping (it is connected to the broker)."""
    try:
        ping.apply_async(args=["back"], queue=worker.ready_queue).get(timeout=2)
    except Exception:  # noqa: BLE001 - not yet: the worker is still reconnecting
        return False
    return True


def waiting(broker, queue: str) -> int:
    """Messages waiting in this run's `queue` on the module's broker."""
    client = redis.Redis(port=broker.port)
    try:
        return client.llen(settings.CELERY_QUEUE_PREFIX + queue)
    finally:
        client.close()


def handed_off(owner, count: int, *, due_at: dt.datetime) -> list[int]:
    """`count` leads handed off to `owner` so that their first touch falls due at `due_at`,
    their clocks started at the hand-off; answers the clocks' ids."""
    at = due_at - FIRST_TOUCH
    leads = [
        LeadFactory(owner=owner, stage="sql", created_at=at - dt.timedelta(days=1))
        for _ in range(count)
    ]
    services.clocks_start(handoffs=[HandOff(lead.pk, owner.pk, at) for lead in leads], now=at)
    clocks = SLAClock.objects.filter(lead__in=leads)
    assert sorted(clocks.values_list("first_touch_due_at", flat=True)) == [due_at] * count
    return list(clocks.values_list("id", flat=True))


def breaches(clock_ids) -> int:
    return SLARecord.objects.filter(clock__in=clock_ids, kind="breach").count()


def assert_breached_once_when_due(clock_ids) -> None:
    """Every clock breached at its due instant (not when a sweep ran), with one record."""
    clocks = SLAClock.objects.filter(pk__in=clock_ids)
    assert {clock.status for clock in clocks} == {"breached"}
    assert all(clock.breached_at == clock.first_touch_due_at for clock in clocks)
    records = SLARecord.objects.filter(clock__in=clock_ids, kind="breach")
    assert sorted(records.values_list("clock", flat=True)) == sorted(clock_ids)
    assert all(
        record.at == record.clock.first_touch_due_at for record in records.select_related("clock")
    )


def csv_rows(count: int, name: str) -> bytes:
    lines = ["Email,First Name,CRM Id"]
    lines += [f"p{n}@backlog.example,{name}{n},crm-{n}" for n in range(count)]
    return ("\n".join(lines) + "\n").encode()


def imported(rows: bytes, actor) -> LeadImport:
    """A CSV import, mapped and queued (its task runs on the `imports` queue)."""
    lead_import = imports.lead_import_create(file_name="leads.csv", raw=rows, actor=actor)
    mapping = {"0": "email", "1": "first_name", "2": "external_id"}
    return imports.lead_import_start(lead_import=lead_import, mapping=mapping)


def status(lead_import: LeadImport) -> str:
    return LeadImport.objects.values_list("status", flat=True).get(pk=lead_import.pk)


def sweep_is_not_held_up(broker, owner) -> float:
    """Make `DUE` clocks due, send the sweep as beat does, and check that it records their
    breaches within `BREACH_BOUND` while most of the webhook backlog still waits; answers
    how long it took (seconds)."""
    clock_ids = handed_off(owner, DUE, due_at=timezone.now() - dt.timedelta(seconds=10))
    sent = time.monotonic()
    sweep = beat_sends("sla-clocks-sweep")
    wait_for(lambda: breaches(clock_ids) == DUE, timeout=BREACH_BOUND, what="the sweep's breaches")
    took = time.monotonic() - sent
    assert waiting(broker, "webhooks") > BACKLOG / 2, "the backlog was drained first"
    assert sweep.get(timeout=10)["breached"] == DUE
    assert_breached_once_when_due(clock_ids)
    return took


def test_behind_a_backlog_of_webhooks_and_imports_the_sweep_records_its_breaches_at_once(
    receiver, workers, broker, terms, rep, marketer
):
    sla, webhooks, jobs = workers(SLA_WORKER, WEBHOOKS_WORKER, JOBS_WORKER)
    webhook_subscription_create(name="CRM", url=receiver.url, event_types=["lead.created"])

    # A CSV import creates 4,000 leads: 4,000 deliveries to a receiver that answers slowly.
    creating = imported(csv_rows(BACKLOG, "New"), marketer)
    wait_for(
        lambda: WebhookDelivery.objects.count() == BACKLOG and waiting(broker, "webhooks") > 3000,
        timeout=90,
        what="the import's deliveries to be queued",
    )
    # A second import of the same rows (updates: no deliveries) keeps the imports busy.
    updating = imported(csv_rows(BACKLOG, "Renamed"), marketer)
    wait_for(lambda: status(updating) != "queued", what="the second import to start")
    took = sweep_is_not_held_up(broker, rep)
    print(f"\nworkers per queue: breaches recorded {took:.1f} s after the sweep was sent")

    # One worker on every queue takes the queues in turn: the sweep waits for a child to
    # end its task (a webhook attempt, a slice of a long job), not for the backlog.
    wait_for(lambda: status(updating) == "done", what="the second import")
    stop(sla, webhooks, jobs)
    workers(EVERY_QUEUE_WORKER)
    took = sweep_is_not_held_up(broker, rep)
    print(f"one worker on every queue: breaches recorded {took:.1f} s after the sweep was sent")

    # Nothing lost or doubled so far: each import's rows landed once, and no delivery was
    # made or sent twice (the backlog is dropped when the test ends).
    for lead_import, created, updated in ((creating, BACKLOG, 0), (updating, 0, BACKLOG)):
        lead_import.refresh_from_db()
        assert (lead_import.status, lead_import.processed_rows) == ("done", BACKLOG)
        assert (lead_import.created_count, lead_import.updated_count) == (created, updated)
    imported_leads = Lead.objects.filter(external_id__startswith="crm-")
    assert imported_leads.count() == BACKLOG
    assert not imported_leads.exclude(first_name__startswith="Renamed").exists()
    assert WebhookDelivery.objects.count() == BACKLOG
    assert receiver.delivered() > 0 and set(receiver.received.values()) == {1}
    assert SLARecord.objects.filter(kind="breach").count() == 2 * DUE


def test_a_backlog_drained_while_workers_stop_and_start_reaches_the_receiver_once_each(
    receiver, workers, broker, marketer
):
    count = 600
    receiver.delay = 0.02
    _, webhooks = workers(EVERY_QUEUE_WORKER, WEBHOOKS_WORKER)
    webhook_subscription_create(name="CRM", url=receiver.url, event_types=["lead.created"])
    imported(csv_rows(count, "New"), marketer)

    wait_for(lambda: receiver.delivered() >= count / 4, what="a quarter of the deliveries")
    stop(webhooks)  # it gives back what it had taken; the other worker goes on
    wait_for(lambda: receiver.delivered() >= count / 2, what="half of the deliveries")
    workers(WEBHOOKS_WORKER)
    wait_for(
        lambda: WebhookDelivery.objects.filter(status="succeeded").count() == count,
        timeout=90,
        what="every delivery",
    )

    event_ids = {str(pk) for pk in WebhookDelivery.objects.values_list("event_id", flat=True)}
    assert len(event_ids) == count == Lead.objects.count()
    assert set(receiver.received) == event_ids
    assert set(receiver.received.values()) == {1}
    assert WebhookAttempt.objects.count() == count
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}


def test_a_sweep_skipped_while_the_broker_is_down_is_made_up_by_the_next_one(
    workers, broker, terms, rep
):
    (sla_worker,) = workers(SLA_WORKER)
    now = timezone.now()
    # Clocks whose breach the sweeps of the last half hour should have recorded, ...
    missed = handed_off(rep, 10, due_at=now - dt.timedelta(minutes=30))
    # ... clocks that fall due while the broker is down, and clocks not due (nor warned of)
    # for two hours (their warning is an hour before).
    falling_due = handed_off(rep, 10, due_at=now + dt.timedelta(seconds=3))
    not_due = handed_off(rep, 5, due_at=now + dt.timedelta(hours=2))

    broker.kill()
    with pytest.raises(beat.SchedulingError):
        beat_sends("sla-clocks-sweep")  # beat cannot send it: this minute's sweep is skipped
    wait_for(lambda: timezone.now() > now + dt.timedelta(seconds=4), what="the clocks to fall due")
    assert breaches(missed + falling_due) == 0
    broker.start()  # empty: whatever it held is gone
    wait_for(lambda: answers(sla_worker), timeout=60, every=0.5, what="the worker to reconnect")

    sent = timezone.now()
    with headers_sent() as headers:
        first = beat_sends("sla-clocks-sweep")
    # The sweep expires before the next one is sent: one that waited that long in its
    # queue is dropped, not run late, and the next one makes up for it.
    (expires,) = (parse_datetime(message["expires"]) for message in headers)
    assert sent < expires <= sent + dt.timedelta(minutes=1)
    first = first.get(timeout=30)
    assert first["breached"] == len(missed) + len(falling_due)
    assert_breached_once_when_due(missed + falling_due)
    assert set(SLAClock.objects.filter(pk__in=not_due).values_list("status", flat=True)) == {
        "pending"
    }

    recorded = SLARecord.objects.count()
    second = beat_sends("sla-clocks-sweep").get(timeout=30)
    assert (second["breached"], second["warned"]) == (0, 0)
    assert SLARecord.objects.count() == recorded
    assert breaches(missed + falling_due + not_due) == len(missed) + len(falling_due)
