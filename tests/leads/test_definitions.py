"""Definition versions and bulk rescoring (through a real Celery worker)."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import DomainError
from leads.models import Lead, QualificationDefinition, RescoreRun, StageTransition
from leads.services import (
    definition_activate,
    definition_create,
    definition_update,
    rescore_run_batch,
)
from tests.leads.factories import EventFactory, LeadFactory
from tests.leads.helpers import MQL_RULES

LOOSER = {**MQL_RULES, "threshold": 20}


@pytest.mark.django_db
class TestVersions:
    def test_versions_count_up_per_stage_and_start_as_drafts(self, marketer):
        first = definition_create(stage="mql", name="v1", rules=MQL_RULES, actor=marketer)
        second = definition_create(stage="mql", name="v2", rules=LOOSER, actor=marketer)
        sql = definition_create(stage="sql", name="s1", rules={"threshold": 5}, actor=marketer)
        assert [(d.version, d.status) for d in (first, second, sql)] == [
            (1, "draft"),
            (2, "draft"),
            (1, "draft"),
        ]
        assert sql.rules["stage"] == "sql"

    def test_invalid_rules_are_refused_with_the_path_of_each_problem(self, marketer):
        with pytest.raises(DomainError, match=r"threshold: Must be zero or more") as caught:
            definition_create(
                stage="mql",
                name="bad",
                rules={
                    "threshold": -1,
                    "fit": [{"points": 1, "attribute": "x", "operator": "near"}],
                },
                actor=marketer,
            )
        assert "fit[0].operator" in caught.value.message
        assert not QualificationDefinition.objects.exists()

    def test_rules_for_another_stage_are_refused(self, marketer):
        with pytest.raises(DomainError, match="for “sql”, the definition for “mql”"):
            definition_create(
                stage="mql", name="x", rules={"stage": "sql", "threshold": 1}, actor=marketer
            )

    def test_an_active_or_retired_version_is_never_edited(self, marketer, manager):
        first = definition_create(stage="mql", name="v1", rules=MQL_RULES, actor=marketer)
        definition_update(definition=first, name="v1 (final)")
        definition_activate(definition=first, actor=manager)
        with pytest.raises(
            DomainError, match="is active and cannot be edited: create a new version"
        ):
            definition_update(definition=first, rules=LOOSER)
        second = definition_create(stage="mql", name="v2", rules=LOOSER, actor=marketer)
        run = definition_activate(definition=second, actor=manager)
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, second.status, first.name) == ("retired", "active", "v1 (final)")
        assert first.retired_at == second.effective_at == second.activated_at
        assert (run.definition, run.status, run.requested_by) == (second, "pending", manager)
        with pytest.raises(DomainError, match="retired"):
            definition_update(definition=first, name="again")
        with pytest.raises(DomainError, match="retired; to use its rules again"):
            definition_activate(definition=first, actor=manager)

    def test_activation_enqueues_the_rescoring_after_commit(
        self, marketer, manager, django_capture_on_commit_callbacks
    ):
        # The manager's own draft: nobody else to notify, so the rescoring is the only reaction.
        definition = definition_create(stage="mql", name="v1", rules=MQL_RULES, actor=manager)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            definition_activate(definition=definition, actor=manager)
        assert len(callbacks) == 1

    def test_a_rescoring_batch_has_a_fixed_number_of_queries(self, marketer, manager):
        definition = definition_create(stage="mql", name="v1", rules=MQL_RULES, actor=marketer)
        run = definition_activate(definition=definition, actor=manager)
        for index in range(30):
            lead = LeadFactory(title="Director" if index % 3 == 0 else "Analyst", country="US")
            EventFactory(lead=lead, type="webinar_attended")

        def batch_queries(size: int) -> int:
            with CaptureQueriesContext(connection) as queries:
                rescore_run_batch(run_id=run.pk, batch_size=size)
            return len(queries)

        assert batch_queries(3) == batch_queries(12)
        run.refresh_from_db()
        assert (run.processed, run.qualified) == (15, 5)


@pytest.mark.django_db(transaction=True)
def test_a_new_definition_requalifies_open_leads_in_bulk_with_the_version_recorded(
    celery_worker, marketer, manager
):
    strict = definition_create(stage="mql", name="strict", rules=MQL_RULES, actor=marketer)
    definition_activate(definition=strict, actor=manager)
    _wait_for(RescoreRun.objects.get(definition=strict))
    leads = []
    for index in range(45):
        lead = LeadFactory(title="Director" if index % 3 == 0 else "Analyst", country="US")
        EventFactory(lead=lead, type="email_open")  # 2 points
        leads.append(lead)
    disqualified = LeadFactory(title="Director", stage="disqualified")
    customer = LeadFactory(title="Director", stage="customer")

    # Directors score 20 + 2 = 22: below 30 for "strict", enough for 20 in "looser".
    looser = definition_create(stage="mql", name="looser", rules=LOOSER, actor=marketer)
    run = definition_activate(definition=looser, actor=manager)
    run = _wait_for(run)

    directors = {lead.pk for lead in leads[::3]}
    assert (run.status, run.total, run.processed, run.qualified) == ("finished", 45, 45, 15)
    moved = StageTransition.objects.filter(to_stage="mql")
    assert set(moved.values_list("lead_id", flat=True)) == directors
    assert set(moved.values_list("definition", flat=True)) == {looser.pk}
    assert set(Lead.objects.filter(pk__in=directors).values_list("mql_definition", flat=True)) == {
        looser.pk
    }
    assert Lead.objects.get(pk=leads[1].pk).score == 2
    assert Lead.objects.get(pk=disqualified.pk).stage == "disqualified"
    assert Lead.objects.get(pk=customer.pk).score == 0

    # Running the finished run again (a redelivered task) changes nothing.
    from leads.tasks import definitions_rescore

    definitions_rescore.apply_async(args=[run.pk]).get(timeout=30)
    assert StageTransition.objects.filter(to_stage="mql").count() == 15


@pytest.mark.django_db
def test_a_half_finished_run_resumes_without_duplicating_transitions(marketer, manager):
    definition = definition_create(stage="mql", name="v1", rules=LOOSER, actor=marketer)
    leads = [LeadFactory(title="Director", country="US") for _ in range(6)]
    for lead in leads:
        EventFactory(lead=lead, type="email_open")
    run = definition_activate(definition=definition, actor=manager)
    rescore_run_batch(run_id=run.pk, batch_size=4)
    run.refresh_from_db()
    assert (run.status, run.processed, run.cursor) == ("running", 4, leads[3].pk)
    from leads.services import rescore_run_execute

    rescore_run_execute(run_id=run.pk, batch_size=4)
    rescore_run_execute(run_id=run.pk, batch_size=4)
    run.refresh_from_db()
    assert (run.status, run.processed, run.qualified) == ("finished", 6, 6)
    assert StageTransition.objects.filter(to_stage="mql").count() == 6


def _wait_for(run: RescoreRun, timeout: float = 60) -> RescoreRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_done:
            return run
        time.sleep(0.2)
    raise AssertionError(f"The rescoring run is still {run.status} after {timeout} s.")
