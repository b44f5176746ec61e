"""`bench.data` writes histories the product itself wrote: its moves through the moves
service, its clocks as the SLA's reactions to them."""

from collections import defaultdict

import pytest
from django.utils import timezone

from bench.data import GenerationRefused, generate_leads
from leads import lifecycle
from leads.models import ContactAttempt, Lead, SalesFeedback, StageTransition
from sla.models import SLAClock, SLARecord

pytestmark = pytest.mark.django_db

TIMESTAMPED = ("mql", "sql", "opportunity", "customer")


@pytest.fixture
def generated(django_capture_on_commit_callbacks):
    """300 leads; what the product does right after each chunk commits (the SLA's
    reactions) runs too."""
    started = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        generate_leads(leads=300, seed=7, workers=1)
    return started


def _histories():
    histories = defaultdict(list)
    for transition in StageTransition.objects.order_by("at", "id"):
        histories[transition.lead_id].append(transition)
    return histories


def test_every_lead_is_in_the_stage_of_its_last_transition(generated):
    histories = _histories()
    leads = list(Lead.objects.all())
    assert len(leads) == 300
    for lead in leads:
        history = histories.get(lead.pk, [])
        assert lead.stage == (history[-1].to_stage if history else "lead"), lead.pk
        assert lead.stage_changed_at == (history[-1].at if history else None)


def test_transitions_follow_the_lifecycle_in_time_order(generated):
    now = timezone.now()
    for lead_id, history in _histories().items():
        stage = "lead"
        previous = None
        for transition in history:
            assert transition.from_stage == stage, lead_id
            lifecycle.check_move(
                transition.from_stage, transition.to_stage, reason=transition.reason
            )
            assert previous is None or transition.at >= previous
            assert transition.at <= now
            stage, previous = transition.to_stage, transition.at


def test_first_reached_fields_match_the_transitions(generated):
    histories = _histories()
    for lead in Lead.objects.all():
        reached = {}
        for transition in histories.get(lead.pk, []):
            for stage in lifecycle.stages_reached(transition.to_stage):
                reached.setdefault(stage.value, transition.at)
        for stage in TIMESTAMPED:
            assert getattr(lead, f"{stage}_at") == reached.get(stage), (lead.pk, stage)


def test_clocks_exist_only_for_hand_offs_one_each(generated):
    handoffs = {(t.lead_id, t.at) for t in StageTransition.objects.filter(to_stage="sql")}
    clocks = list(SLAClock.objects.select_related("lead"))
    assert clocks, "some leads were handed off"
    assert {(clock.lead_id, clock.handoff_at) for clock in clocks} == handoffs
    for clock in clocks:
        assert clock.owner_id == clock.lead.owner_id is not None
        assert clock.first_touch_due_at > clock.handoff_at
        if clock.status == "met":
            assert clock.first_touch_at <= clock.first_touch_due_at
        if clock.status == "breached":
            assert clock.breached_at is not None
            assert SLARecord.objects.filter(clock=clock, kind="breach").exists()
        if clock.status == "pending":
            assert clock.first_touch_at is None
    leads_with_clocks = {clock.lead_id for clock in clocks}
    assert not Lead.objects.filter(sql_at__isnull=True, pk__in=leads_with_clocks).exists()


def test_attempts_and_feedback_come_from_the_owner_after_the_hand_off(generated):
    first_handoff = {
        row["lead_id"]: row["handoff_at"]
        for row in SLAClock.objects.order_by("-handoff_at").values("lead_id", "handoff_at")
    }
    for attempt in ContactAttempt.objects.select_related("lead"):
        assert attempt.actor_id == attempt.lead.owner_id
        assert attempt.occurred_at >= min(
            SLAClock.objects.filter(lead=attempt.lead).values_list("handoff_at", flat=True)
        )
    for feedback in SalesFeedback.objects.select_related("lead"):
        assert feedback.lead_id in first_handoff
        assert feedback.accepted or feedback.reason


def test_the_funnel_drops_off_from_stage_to_stage(generated):
    reached = {
        stage: Lead.objects.filter(**{f"{stage}_at__isnull": False}).count()
        for stage in TIMESTAMPED
    }
    assert 300 > reached["mql"] > reached["sql"] > reached["opportunity"] >= reached["customer"]
    assert reached["sql"] > 0


def test_a_database_with_leads_is_refused_unless_appending_or_resetting(generated):
    with pytest.raises(GenerationRefused, match="already has leads"):
        generate_leads(leads=10)
    generate_leads(leads=50, append=True, workers=1)
    assert Lead.objects.count() == 350
    assert Lead.objects.values("external_id").distinct().count() == 350
    generate_leads(leads=20, reset=True, workers=1)
    assert Lead.objects.count() == 20
