"""Long jobs resume by themselves: every committed batch of an import or a rescoring run
writes a heartbeat, a soft time limit ends the task after the last batch and sends it again,
a job without a sign of life for two minutes is sent again by the periodic resume (once),
and the people who may run a stalled or failed job see it and restart it."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.urls import reverse

from accounts.models import Role
from core import durable_jobs, outbox
from core.errors import DomainError
from core.models import OutboxMessage
from leads import imports, long_jobs
from leads.import_tasks import lead_import_run as lead_import_task
from leads.models import Lead, LeadImport, RescoreRun
from leads.services import definitions as definition_services
from leads.services.definitions import RESCORE_TASK, rescore_run_batch
from leads.tasks import definitions_rescore
from tests.conftest import make_user
from tests.leads.factories import LeadFactory
from tests.leads.helpers import MQL_RULES, active_definition

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IMPORT_TASK = imports.IMPORT_TASK


def csv_of(count: int, *, bad_every: int = 0) -> str:
    """A file of `count` leads (crm-0 …); every `bad_every`-th row has a bad email."""
    lines = ["Email,First Name,CRM Id"]
    for n in range(count):
        bad = bad_every and n % bad_every == bad_every - 1
        lines.append(f"{'not-an-email' if bad else f'p{n}@example.com'},P{n},crm-{n}")
    return "\n".join(lines) + "\n"


def queued_import(actor, text: str) -> LeadImport:
    lead_import = imports.lead_import_create(file_name="leads.csv", raw=text.encode(), actor=actor)
    return imports.lead_import_start(
        lead_import=lead_import, mapping={"0": "email", "1": "first_name", "2": "external_id"}
    )


def requested() -> list[tuple[str, list]]:
    """The task sends waiting in the outbox (`core.durable_jobs.send`), in order."""
    return [
        (payload["task"], payload["args"])
        for row in OutboxMessage.objects.filter(handler=durable_jobs.HANDLER).order_by("id")
        for payload in row.payloads
    ]


@pytest.fixture
def sent(monkeypatch):
    """Sends that reach the broker, as (task, args); the broker itself is not used."""
    calls: list[tuple[str, tuple]] = []

    def send(name, *args, countdown=None, **kwargs):
        calls.append((name, args))
        return True

    monkeypatch.setattr("core.jobs.send", send)
    return calls


@pytest.fixture
def other_marketer(marketing_team):
    return make_user("other_marketer", Role.MARKETING, marketing_team)


@pytest.fixture
def run(manager):
    """A pending rescoring run of an active MQL version, over five open leads."""
    for _ in range(5):
        LeadFactory()
    active_definition("mql", MQL_RULES, manager)
    return RescoreRun.objects.get()


# -- heartbeats -----------------------------------------------------------------------------------


def test_every_committed_import_batch_writes_the_heartbeat_with_its_progress(marketer):
    lead_import = queued_import(marketer, csv_of(5))
    with time_machine.travel(T0, tick=False):
        # A slice of no time: one batch, then the task would send itself again.
        lead_import = imports.lead_import_run(
            lead_import_id=lead_import.pk, batch_size=2, seconds=0
        )
    assert (lead_import.status, lead_import.processed_rows) == ("running", 2)
    assert lead_import.heartbeat_at == T0 == lead_import.started_at
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        lead_import = imports.lead_import_run(
            lead_import_id=lead_import.pk, batch_size=2, seconds=0
        )
    assert (lead_import.processed_rows, lead_import.created_count) == (4, 4)
    assert lead_import.heartbeat_at == T0 + timedelta(minutes=1)
    assert lead_import.started_at == T0
    lead_import = imports.lead_import_run(lead_import_id=lead_import.pk, batch_size=2)
    assert (lead_import.status, lead_import.processed_rows, lead_import.created_count) == (
        "done",
        5,
        5,
    )


def test_every_committed_rescoring_batch_writes_the_heartbeat_with_its_cursor(run):
    with time_machine.travel(T0, tick=False):
        first = rescore_run_batch(run_id=run.pk, batch_size=2)
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        second = rescore_run_batch(run_id=run.pk, batch_size=2)
    assert (first.processed, first.heartbeat_at, first.started_at) == (2, T0, T0)
    assert (second.processed, second.heartbeat_at) == (4, T0 + timedelta(seconds=30))
    assert second.cursor > first.cursor


# -- stalled or moving --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "heartbeat", "started", "silent_for", "stalled"),
    [
        ("running", T0, T0, timedelta(seconds=119), False),
        ("running", T0, T0, timedelta(minutes=2), True),
        ("running", None, T0, timedelta(minutes=3), True),  # died before its first batch
        ("queued", None, None, timedelta(minutes=3), True),  # never sent (created at T0)
        ("queued", None, None, timedelta(minutes=1), False),
        ("done", T0, T0, timedelta(hours=1), False),
        ("failed", T0, T0, timedelta(hours=1), False),
        ("mapping", None, None, timedelta(hours=1), False),
    ],
)
def test_an_import_has_stalled_when_active_and_silent_for_two_minutes(
    marketer, status, heartbeat, started, silent_for, stalled
):
    with time_machine.travel(T0, tick=False):
        lead_import = queued_import(marketer, csv_of(1))
    LeadImport.objects.filter(pk=lead_import.pk).update(
        status=status, heartbeat_at=heartbeat, started_at=started
    )
    lead_import.refresh_from_db()
    now = T0 + silent_for
    assert long_jobs.stalled_since(lead_import, now=now) == (T0 if stalled else None)
    assert (lead_import in long_jobs.stalled_imports(now=now)) is stalled


def test_a_rescoring_run_has_stalled_when_pending_or_running_and_silent(run):
    RescoreRun.objects.filter(pk=run.pk).update(created_at=T0)
    run.refresh_from_db()
    assert long_jobs.stalled_since(run, now=T0 + timedelta(minutes=1)) is None
    assert long_jobs.stalled_since(run, now=T0 + timedelta(minutes=2)) == T0
    RescoreRun.objects.filter(pk=run.pk).update(status="finished")
    run.refresh_from_db()
    assert long_jobs.stalled_since(run, now=T0 + timedelta(hours=1)) is None


# -- the periodic resume ------------------------------------------------------------------------


def test_the_resume_sends_each_stalled_job_again_once(marketer, run):
    stalled = queued_import(marketer, csv_of(3))
    moving = queued_import(marketer, csv_of(3))
    finished = queued_import(marketer, csv_of(3))
    LeadImport.objects.filter(pk=stalled.pk).update(status="running", heartbeat_at=T0)
    LeadImport.objects.filter(pk=moving.pk).update(
        status="running", heartbeat_at=T0 + timedelta(minutes=2)
    )
    LeadImport.objects.filter(pk=finished.pk).update(status="done", heartbeat_at=T0)
    RescoreRun.objects.filter(pk=run.pk).update(created_at=T0)
    OutboxMessage.objects.all().delete()  # the sends of the set-up

    now = T0 + timedelta(minutes=3)
    assert long_jobs.jobs_resume(now=now) == {"imports": [stalled.pk], "rescore_runs": [run.pk]}
    assert requested() == [(IMPORT_TASK, [stalled.pk]), (RESCORE_TASK, [run.pk])]
    # Claimed: a second resume at the same moment (another beat, a retry) sends nothing.
    assert long_jobs.jobs_resume(now=now) == {"imports": [], "rescore_runs": []}
    stalled.refresh_from_db()
    assert stalled.heartbeat_at == now
    # Still silent two minutes after being sent again: sent once more.
    later = now + timedelta(minutes=2)
    assert long_jobs.jobs_resume(now=later)["imports"] == [stalled.pk, moving.pk]
    assert len(requested()) == 5


def test_the_resume_runs_every_minute_and_lost_tasks_come_back_within_one(settings):
    beat = settings.CELERY_BEAT_SCHEDULE.values()
    schedule = {entry["task"]: entry["schedule"] for entry in beat}
    assert schedule["leads.tasks.jobs_resume"] == timedelta(minutes=1)
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= 60


# -- a batch is applied once --------------------------------------------------------------------


def test_the_same_import_batch_run_twice_is_applied_once(marketer):
    lead_import = queued_import(marketer, csv_of(4, bad_every=4))
    batch = list(imports._data_rows(lead_import))
    imports._commit_batch(lead_import.pk, 0, batch, marketer)
    imports._commit_batch(lead_import.pk, 0, batch, marketer)  # a second delivery
    # And one that overlaps it: rows 2-4 again, then a new one would follow.
    imports._commit_batch(lead_import.pk, 2, batch[2:], marketer)
    lead_import.refresh_from_db()
    assert (lead_import.processed_rows, lead_import.created_count) == (4, 3)
    assert lead_import.rejected_count == 1
    assert lead_import.error_report.count("\n") == 1
    assert Lead.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_import_batch_apply_it_once(marketer):
    lead_import = queued_import(marketer, csv_of(50, bad_every=10))
    batch = list(imports._data_rows(lead_import))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        try:
            start.wait()
            imports._commit_batch(lead_import.pk, 0, batch, marketer)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    lead_import.refresh_from_db()
    assert (lead_import.processed_rows, lead_import.created_count) == (50, 45)
    assert lead_import.rejected_count == 5
    assert Lead.objects.count() == 45


def test_a_resumed_run_after_a_lost_batch_imports_every_row_once(marketer):
    lead_import = queued_import(marketer, csv_of(7, bad_every=3))
    imports.lead_import_run(lead_import_id=lead_import.pk, batch_size=3, seconds=0)
    # As if the worker died now and two deliveries came back: both go on from row 4.
    imports.lead_import_run(lead_import_id=lead_import.pk, batch_size=3)
    imports.lead_import_run(lead_import_id=lead_import.pk, batch_size=3)
    lead_import.refresh_from_db()
    assert lead_import.status == "done"
    assert (lead_import.processed_rows, lead_import.created_count) == (7, 5)
    assert lead_import.rejected_count == 2
    assert set(Lead.objects.values_list("external_id", flat=True)) == {
        "crm-0",
        "crm-1",
        "crm-3",
        "crm-4",
        "crm-6",
    }


# -- the soft time limit and the slices ---------------------------------------------------------


def test_an_import_hitting_the_soft_time_limit_ends_after_its_last_batch_and_goes_on(
    marketer, monkeypatch, sent
):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    lead_import = queued_import(marketer, csv_of(5))
    real = imports._process_batch
    calls = []

    def limited(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SoftTimeLimitExceeded()
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "_process_batch", limited)
    assert lead_import_task(lead_import.pk) is None  # ends cleanly
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.processed_rows) == ("running", 2)
    assert sent == [(IMPORT_TASK, (lead_import.pk,))]  # the next task goes on

    monkeypatch.setattr(imports, "_process_batch", real)
    lead_import_task(lead_import.pk)
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.processed_rows, lead_import.created_count) == (
        "done",
        5,
        5,
    )
    assert Lead.objects.count() == 5


def test_an_import_task_that_used_its_slice_sends_itself_again(marketer, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    monkeypatch.setattr(long_jobs, "SLICE_SECONDS", 0)
    lead_import = queued_import(marketer, csv_of(5))
    OutboxMessage.objects.all().delete()
    lead_import_task(lead_import.pk)
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.processed_rows) == ("running", 2)
    assert requested() == [(IMPORT_TASK, [lead_import.pk])]


def test_a_rescoring_hitting_the_soft_time_limit_goes_on_from_its_cursor(run, monkeypatch, sent):
    real = definition_services.rescore_run_batch
    calls = []

    def limited(*, run_id, batch_size=2000):
        calls.append(1)
        if len(calls) == 2:
            raise SoftTimeLimitExceeded()
        return real(run_id=run_id, batch_size=2)

    monkeypatch.setattr(definition_services, "rescore_run_batch", limited)
    assert definitions_rescore(run.pk)["status"] == "continued"
    run.refresh_from_db()
    assert (run.status, run.processed) == ("running", 2)
    assert sent == [(RESCORE_TASK, (run.pk,))]

    def unlimited(*, run_id, batch_size=2000):
        return real(run_id=run_id, batch_size=2)

    monkeypatch.setattr(definition_services, "rescore_run_batch", unlimited)
    assert definitions_rescore(run.pk)["status"] == "finished"
    run.refresh_from_db()
    assert (run.status, run.processed) == ("finished", 5)


# -- a broker outage ----------------------------------------------------------------------------


def test_with_the_broker_down_the_mapping_answers_and_the_import_is_sent_once_it_is_back(
    client, marketer, monkeypatch, django_capture_on_commit_callbacks
):
    from smarketing.celery import app

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("the broker is down")

    monkeypatch.setattr(app, "send_task", broker_down)
    lead_import = imports.lead_import_create(
        file_name="leads.csv", raw=csv_of(2).encode(), actor=marketer
    )
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("leads:import_mapping", args=[lead_import.pk]),
            {"col_0": "email", "col_1": "first_name", "col_2": "external_id"},
        )
    assert response.status_code == 302
    assert response["Location"] == lead_import.get_absolute_url()
    lead_import.refresh_from_db()
    assert lead_import.status == "queued"
    row = OutboxMessage.objects.get(handler=durable_jobs.HANDLER)
    assert row.attempts == 1 and "Could not enqueue" in row.last_error

    sent: list = []
    monkeypatch.setattr(app, "send_task", lambda name, args=(), **kwargs: sent.append((name, args)))
    outbox.process(now=row.available_at)  # the drain, once the broker is back
    assert sent == [(IMPORT_TASK, (lead_import.pk,))]
    assert not OutboxMessage.objects.filter(handler=durable_jobs.HANDLER).exists()


# -- seen on the pages, restarted by the right people -------------------------------------------


def stalled_import(actor, *, status="running") -> LeadImport:
    lead_import = queued_import(actor, csv_of(3))
    LeadImport.objects.filter(pk=lead_import.pk).update(
        status=status, processed_rows=1, created_count=1, heartbeat_at=T0, started_at=T0
    )
    return lead_import


def test_the_import_page_says_since_when_it_stalled_and_offers_a_restart(client, marketer):
    lead_import = stalled_import(marketer)
    client.force_login(marketer)
    page = client.get(lead_import.get_absolute_url()).content.decode()
    assert "Stalled since" in page and 'data-testid="import-restart"' in page
    assert "Restart after row 2" in page

    moving = queued_import(marketer, csv_of(1))
    page = client.get(moving.get_absolute_url()).content.decode()
    assert "Stalled since" not in page and "import-restart" not in page


def test_the_owner_restarts_a_stalled_import_and_it_goes_on(client, marketer, sent):
    lead_import = stalled_import(marketer)
    OutboxMessage.objects.all().delete()
    client.force_login(marketer)
    response = client.post(reverse("leads:import_restart", args=[lead_import.pk]), follow=True)
    assert response.status_code == 200
    assert "The import is restarted" in response.content.decode()
    assert requested() == [(IMPORT_TASK, [lead_import.pk])]
    lead_import.refresh_from_db()
    assert lead_import.status == "running" and lead_import.heartbeat_at > T0
    # Now it moves: a second restart is refused in plain words, nothing more is sent.
    response = client.post(reverse("leads:import_restart", args=[lead_import.pk]), follow=True)
    assert "This import is moving" in response.content.decode()
    assert len(requested()) == 1


def test_a_failed_import_is_restarted_from_where_it_stopped(client, marketer):
    lead_import = stalled_import(marketer, status="failed")
    LeadImport.objects.filter(pk=lead_import.pk).update(message="The import stopped.")
    client.force_login(marketer)
    page = client.get(lead_import.get_absolute_url()).content.decode()
    assert "Stalled since" not in page and 'data-testid="import-restart"' in page
    client.post(reverse("leads:import_restart", args=[lead_import.pk]))
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.message) == ("queued", "")
    assert lead_import.finished_at is None
    lead_import = imports.lead_import_run(lead_import_id=lead_import.pk)
    assert (lead_import.status, lead_import.processed_rows, lead_import.created_count) == (
        "done",
        3,
        3,
    )


def test_who_may_restart_an_import(client, marketer, other_marketer, manager, rep):
    lead_import = stalled_import(marketer)
    url = reverse("leads:import_restart", args=[lead_import.pk])
    client.force_login(rep)
    assert client.post(url).status_code == 403
    client.force_login(other_marketer)
    assert client.post(url).status_code == 404  # not theirs: not even visible
    client.force_login(marketer)
    assert client.get(url).status_code == 405
    client.force_login(manager)
    assert client.post(url).status_code == 302
    assert LeadImport.objects.get(pk=lead_import.pk).heartbeat_at > T0
    client.logout()
    assert client.post(url).status_code == 302  # to the login page
    assert "/login/" in client.post(url)["Location"]


def test_a_done_import_or_one_being_mapped_is_not_restarted(marketer):
    lead_import = imports.lead_import_create(
        file_name="leads.csv", raw=csv_of(1).encode(), actor=marketer
    )
    with pytest.raises(DomainError, match="Choose the column mapping first"):
        long_jobs.lead_import_restart(lead_import=lead_import, actor=marketer)
    LeadImport.objects.filter(pk=lead_import.pk).update(status="done")
    with pytest.raises(DomainError, match="This import is done"):
        long_jobs.lead_import_restart(lead_import=lead_import, actor=marketer)


def stall(run: RescoreRun, **changes) -> RescoreRun:
    RescoreRun.objects.filter(pk=run.pk).update(heartbeat_at=T0, **changes)
    run.refresh_from_db()
    return run


def test_managers_see_a_stalled_rescoring_and_restart_it(client, manager, marketer, run, sent):
    stall(run, status="running", processed=2, started_at=T0)
    client.force_login(marketer)
    page = client.get(reverse("leads:definitions")).content.decode()
    assert "Stalled since" in page and "rescore-restart" not in page
    client.force_login(manager)
    page = client.get(reverse("leads:definitions")).content.decode()
    assert 'data-testid="rescore-restart"' in page
    partial = client.get(reverse("leads:rescore_progress", args=[run.pk])).content.decode()
    assert "Stalled since" in partial and "every 5s" in partial

    OutboxMessage.objects.all().delete()
    response = client.post(reverse("leads:rescore_restart", args=[run.pk]), follow=True)
    assert "The rescoring is restarted" in response.content.decode()
    assert requested() == [(RESCORE_TASK, [run.pk])]


def test_who_may_restart_a_rescoring(client, manager, marketer, rep, run):
    stall(run, status="failed", error="boom", finished_at=T0)
    url = reverse("leads:rescore_restart", args=[run.pk])
    for person in (marketer, rep):
        client.force_login(person)
        assert client.post(url).status_code == 403
    client.force_login(manager)
    assert client.get(url).status_code == 405
    assert client.post(reverse("leads:rescore_restart", args=[987654])).status_code == 404
    assert client.post(url).status_code == 302
    run.refresh_from_db()
    assert (run.status, run.error, run.finished_at) == ("pending", "", None)


def test_a_failed_rescoring_restarted_through_the_api_goes_on_from_its_cursor(
    api_as, manager, marketer, run
):
    rescore_run_batch(run_id=run.pk, batch_size=2)
    stall(run, status="failed", error="the database went away")
    url = f"/api/v1/rescore-runs/{run.pk}/restart/"
    assert api_as(marketer).post(url).status_code == 403
    response = api_as(manager).post(url)
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["error"]) == ("running", "")
    assert response.json()["heartbeat_at"] is not None
    run = definition_services.rescore_run_execute(run_id=run.pk, batch_size=2)
    assert (run.status, run.processed) == ("finished", 5)
    # Finished: a restart is a 400 that says why.
    response = api_as(manager).post(url)
    assert response.status_code == 400
    assert "finished; there is nothing to restart" in response.json()["detail"]


def test_a_rescoring_of_a_retired_version_is_not_restarted(api_as, manager, run):
    stall(run, status="failed")
    active_definition("mql", {**MQL_RULES, "threshold": 10}, manager, name="v2")
    response = api_as(manager).post(f"/api/v1/rescore-runs/{run.pk}/restart/")
    assert response.status_code == 400
    assert "no longer active" in response.json()["detail"]
