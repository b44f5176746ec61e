"""Long jobs survive faults, with a real worker on a real broker of their own (a Valkey on a
port of this module's, on 127.0.0.1, that the tests kill and start again): a worker killed
in the middle of a multi-batch import leaves it to the periodic resume, and it finishes
with exactly the right counts; with the broker down, activating a definition and
confirming an import mapping answer as usual, and both jobs run to the end once the broker
is back. Nothing is lost or done twice."""

import time

import pytest
from django.urls import reverse
from django.utils import timezone

from core import durable_jobs, jobs, outbox
from core.models import OutboxMessage
from leads import imports, long_jobs
from leads.models import Lead, LeadImport, RescoreRun, StageTransition
from leads.services import definition_create
from tests.conftest import Worker, worker_idle
from tests.conftest import tests_database_url as database_url
from tests.leads.factories import LeadFactory
from tests.leads.helpers import MQL_RULES

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]


def wait_for(condition, timeout: float = 60, what: str = "the worker", every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


# The worker's visibility timeout, shortened from the minute of production so that a task
# a killed worker held comes back within a test.
VISIBILITY_TIMEOUT = 10


@pytest.fixture(scope="module")
def module_worker(broker, django_db_setup, django_db_blocker):
    env = {"CELERY_BROKER_URL": broker.url, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    worker = Worker(database_url(), env=env).start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def worker(module_worker, broker, transactional_db):
    """The module's worker and broker, both up; idle again when the test ends (before the
    database is flushed)."""
    if not broker.running:
        broker.start()
    if module_worker.process is None:
        module_worker.start()
    yield module_worker
    if not broker.running:
        broker.start()
    if module_worker.process is None:
        module_worker.start()
    worker_idle()


def csv_rows(count: int) -> str:
    """`count` leads crm-0 …; every 25th (n % 25 == 7) has an email that is refused."""
    lines = ["Email,First Name,CRM Id"]
    for n in range(count):
        email = "not-an-email" if n % 25 == 7 else f"p{n}@example.com"
        lines.append(f"{email},P{n},crm-{n}")
    return "\n".join(lines) + "\n"


MAPPING = {"col_0": "email", "col_1": "first_name", "col_2": "external_id"}


def mapped(client, actor, text: str) -> LeadImport:
    """Upload `text` and confirm its mapping through the pages; answers the import."""
    lead_import = imports.lead_import_create(file_name="leads.csv", raw=text.encode(), actor=actor)
    client.force_login(actor)
    response = client.post(reverse("leads:import_mapping", args=[lead_import.pk]), MAPPING)
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == lead_import.get_absolute_url()
    return lead_import


ROWS = 6 * imports.BATCH_SIZE  # six batches
KNOWN = range(0, ROWS, 10)  # these leads exist already: updated, not created
REFUSED = [n for n in range(ROWS) if n % 25 == 7]


def import_killed_mid_way(worker, client, marketer) -> LeadImport:
    """A six-batch import whose worker is SIGKILLed (with its pool) after the first batch;
    a new worker is started."""
    for n in KNOWN:
        LeadFactory(external_id=f"crm-{n}", email=f"old{n}@example.com", product=None)
    lead_import = mapped(client, marketer, csv_rows(ROWS))
    wait_for(
        lambda: progress(lead_import)[1] >= imports.BATCH_SIZE,
        timeout=45,
        what="the first batch",
        every=0.02,
    )
    worker.kill()
    status, done_at_kill = progress(lead_import)
    assert status == "running" and done_at_kill < ROWS, (status, done_at_kill)
    worker.start()
    return lead_import


def progress(lead_import: LeadImport) -> tuple[str, int]:
    return LeadImport.objects.values_list("status", "processed_rows").get(pk=lead_import.pk)


def assert_every_row_landed_once(lead_import: LeadImport) -> None:
    lead_import.refresh_from_db()
    created = ROWS - len(KNOWN) - len(REFUSED)
    assert lead_import.processed_rows == ROWS
    assert (lead_import.created_count, lead_import.updated_count) == (created, len(KNOWN))
    assert lead_import.rejected_count == len(REFUSED)
    numbers = [line.split(",", 1)[0] for line in lead_import.error_report.splitlines()]
    assert sorted(int(number) for number in numbers) == [n + 2 for n in REFUSED]  # once each
    assert Lead.objects.count() == len(KNOWN) + created
    assert set(Lead.objects.values_list("external_id", flat=True)) == {
        f"crm-{n}" for n in range(ROWS) if n % 25 != 7
    }
    assert Lead.objects.get(external_id="crm-10").email == "p10@example.com"


def test_a_worker_killed_mid_import_is_resumed_and_every_row_lands_once(worker, client, marketer):
    lead_import = import_killed_mid_way(worker, client, marketer)
    # Two minutes later (the clock moved on, not the test): the periodic resume finds the
    # import silent and sends it again; the new worker goes on after the last batch.
    later = timezone.now() + long_jobs.STALL_AFTER
    assert long_jobs.jobs_resume(now=later) == {"imports": [lead_import.pk], "rescore_runs": []}
    wait_for(lambda: progress(lead_import)[0] == "done", timeout=60, what="the resumed import")
    assert_every_row_landed_once(lead_import)


def test_a_task_a_killed_worker_held_comes_back_by_itself(worker, client, marketer):
    killed = time.monotonic()
    lead_import = import_killed_mid_way(worker, client, marketer)
    # No resume: the broker hands the unacknowledged task to the new worker once it has
    # been out for the visibility timeout (looked for every 5 seconds).
    wait_for(
        lambda: progress(lead_import)[0] == "done",
        timeout=VISIBILITY_TIMEOUT + 40,
        what="the task to come back",
    )
    assert time.monotonic() - killed < VISIBILITY_TIMEOUT + 30
    assert_every_row_landed_once(lead_import)


def test_with_the_broker_down_activation_and_import_answer_and_run_once_it_is_back(
    worker, broker, client, marketer, manager
):
    for n in range(40):
        good = n % 4 == 0  # 10 directors in the target market: they qualify
        LeadFactory(
            title="Director" if good else "Analyst",
            country="DE",
            attributes={"company_size": 100},
        )
    draft = definition_create(stage="mql", name="v1", rules=MQL_RULES, actor=marketer)
    lead_import = imports.lead_import_create(
        file_name="leads.csv", raw=csv_rows(30).encode(), actor=marketer
    )
    worker_idle()

    broker.kill()
    started = time.monotonic()
    client.force_login(manager)
    response = client.post(reverse("leads:definition_activate", args=[draft.pk]))
    assert response.status_code == 302
    assert client.get(reverse("leads:definitions")).status_code == 200
    client.force_login(marketer)
    response = client.post(reverse("leads:import_mapping", args=[lead_import.pk]), MAPPING)
    assert response.status_code == 302
    assert client.get(lead_import.get_absolute_url()).status_code == 200
    assert time.monotonic() - started < 20  # answered, not hanging on the broker

    run = RescoreRun.objects.get()
    assert (run.status, LeadImport.objects.get(pk=lead_import.pk).status) == ("pending", "queued")

    def waiting():
        return OutboxMessage.objects.filter(handler=durable_jobs.HANDLER)

    assert [row.attempts for row in waiting()] == [1, 1]  # tried after commit, kept

    broker.start()

    # Beat asks the worker to drain the outbox every 10 seconds; here every second.
    def drained() -> bool:
        jobs.send(outbox.DRAIN_TASK)
        return not waiting().exists()

    wait_for(drained, timeout=60, what="the outbox to send the jobs", every=1)
    wait_for(lambda: RescoreRun.objects.get().status == "finished", what="the rescoring")
    wait_for(lambda: LeadImport.objects.get(pk=lead_import.pk).status == "done", what="the import")

    run.refresh_from_db()
    # The imported leads are open too: the rescoring saw them if the import came first.
    assert run.processed in (40, 40 + 29) and run.qualified == 10
    moved = StageTransition.objects.filter(to_stage="mql")
    assert moved.count() == 10 == moved.values("lead").distinct().count()
    lead_import.refresh_from_db()
    assert (lead_import.processed_rows, lead_import.created_count) == (30, 29)
    assert lead_import.rejected_count == 1
    assert Lead.objects.filter(external_id__startswith="crm-").count() == 29
