import datetime as dt
import itertools
import threading

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import DomainError
from leads import lifecycle
from leads.lifecycle import ALLOWED_MOVES, IllegalTransition, Stage
from leads.models import Lead, RoutingAssignment, RoutingRule, StageTransition
from leads.services import contact_attempt_log, lead_assign, lead_transition
from tests.leads.factories import LeadFactory

ALL_PAIRS = [(a, b) for a, b in itertools.product(Stage, Stage) if a != b]


@pytest.mark.parametrize(("from_stage", "to_stage"), ALL_PAIRS)
def test_every_move_is_allowed_or_refused_with_a_reason(from_stage, to_stage):
    allowed = to_stage in ALLOWED_MOVES[from_stage]
    if allowed:
        lifecycle.check_move(from_stage, to_stage, reason="because")
    else:
        with pytest.raises(IllegalTransition, match=f"cannot move from “{from_stage}”"):
            lifecycle.check_move(from_stage, to_stage, reason="because")


@pytest.mark.parametrize("exit_stage", ["recycled", "disqualified"])
def test_exits_need_a_reason(exit_stage):
    with pytest.raises(IllegalTransition, match="needs a reason"):
        lifecycle.check_move("mql", exit_stage, reason=" ")


def test_a_skip_reaches_every_earlier_stage():
    assert lifecycle.stages_reached("sql") == (Stage.MQL, Stage.SQL)
    assert lifecycle.stages_reached("recycled") == ()


@pytest.mark.django_db
class TestTransitions:
    def test_a_transition_is_recorded_with_the_first_time_each_stage_was_reached(self, marketer):
        lead = LeadFactory(created_at=timezone.now() - dt.timedelta(days=3))
        at = timezone.now() - dt.timedelta(days=1)
        lead_transition(lead=lead, to_stage="sql", actor=marketer, reason="referral", at=at)
        lead.refresh_from_db()
        assert lead.stage == "sql"
        assert lead.mql_at == lead.sql_at == at
        row = StageTransition.objects.get(lead=lead)
        assert (row.from_stage, row.to_stage, row.actor, row.reason) == (
            "lead",
            "sql",
            marketer,
            "referral",
        )

    def test_an_impossible_move_says_why_and_changes_nothing(self):
        lead = LeadFactory()
        with pytest.raises(DomainError, match="cannot move from “lead” to “lost”"):
            lead_transition(lead=lead, to_stage="lost", reason="x")
        lead.refresh_from_db()
        assert lead.stage == "lead"
        assert not StageTransition.objects.exists()

    def test_a_back_fill_cannot_go_before_the_last_transition(self):
        lead = LeadFactory(created_at=timezone.now() - dt.timedelta(days=10))
        lead_transition(lead=lead, to_stage="mql", at=timezone.now() - dt.timedelta(days=2))
        with pytest.raises(DomainError, match="cannot be earlier"):
            lead_transition(lead=lead, to_stage="sql", at=timezone.now() - dt.timedelta(days=5))

    def test_a_transition_cannot_be_in_the_future(self):
        lead = LeadFactory()
        with pytest.raises(DomainError, match="future"):
            lead_transition(lead=lead, to_stage="mql", at=timezone.now() + dt.timedelta(days=1))

    def test_a_recycled_lead_qualifies_again_and_keeps_its_first_times(self):
        lead = LeadFactory(created_at=timezone.now() - dt.timedelta(days=30))
        first = timezone.now() - dt.timedelta(days=20)
        lead_transition(lead=lead, to_stage="mql", at=first)
        lead_transition(
            lead=lead, to_stage="recycled", reason="not ready", at=first + dt.timedelta(days=1)
        )
        lead_transition(lead=lead, to_stage="mql", at=first + dt.timedelta(days=5))
        lead.refresh_from_db()
        assert lead.stage == "mql"
        assert lead.mql_at == first


@pytest.mark.django_db
def test_becoming_sql_routes_round_robin_and_hands_off(
    sales_team, rep, other_rep, manager, published
):
    other_rep.is_away = True
    other_rep.save()
    RoutingRule.objects.create(name="Everything to East", team=sales_team)
    received = published("lead.handed_off")
    first, second = LeadFactory(), LeadFactory()
    lead_transition(lead=first, to_stage="sql", reason="demo request")
    lead_transition(lead=second, to_stage="sql", reason="demo request")
    assert [(e.payload["lead"], e.payload["owner"]) for e in received] == [
        (first.pk, rep.pk),
        (second.pk, rep.pk),
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    # The away rep is skipped; the manager is not a sales rep: both go to `rep`.
    assert first.owner == second.owner == rep
    assert RoutingAssignment.objects.filter(owner=rep, rule__isnull=False).count() == 2
    assert "round-robin picked" in RoutingAssignment.objects.first().reason
    assert rep.notifications.count() == 2


@pytest.mark.django_db
def test_round_robin_alternates_between_present_reps(sales_team, rep, other_rep):
    RoutingRule.objects.create(name="All", team=sales_team)
    owners = []
    for _ in range(4):
        lead = LeadFactory()
        lead_transition(lead=lead, to_stage="sql")
        lead.refresh_from_db()
        owners.append(lead.owner.username)
    assert owners == ["rep", "other_rep", "rep", "other_rep"]


@pytest.mark.django_db
def test_reassigning_does_not_hand_off_again(sales_team, rep, other_rep, manager, published):
    lead = LeadFactory(owner=rep)
    received = published("lead.handed_off")
    lead_transition(lead=lead, to_stage="sql")
    lead_assign(lead=lead, owner=other_rep, actor=manager, reason="rebalancing")
    assert [event.payload["owner"] for event in received] == [rep.pk]


@pytest.mark.django_db
def test_an_attempt_cannot_predate_the_lead(rep):
    lead = LeadFactory(owner=rep)
    with pytest.raises(DomainError, match="before the lead was created"):
        contact_attempt_log(
            lead=lead,
            actor=rep,
            channel="call",
            outcome="no_answer",
            occurred_at=lead.created_at - dt.timedelta(hours=1),
        )


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_transitions_of_one_lead_cannot_both_win():
    lead = LeadFactory(created_at=timezone.now() - dt.timedelta(days=1))
    barrier = threading.Barrier(2)
    outcomes = []

    def move(to_stage, reason):
        try:
            barrier.wait()
            lead_transition(lead=lead.pk, to_stage=to_stage, reason=reason)
            outcomes.append(("ok", to_stage))
        except DomainError as exc:
            outcomes.append(("refused", str(exc)))
        finally:
            connection.close()

    # Both read stage "lead" before moving; the row lock makes the second see "mql".
    threads = [threading.Thread(target=move, args=("mql", "")) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert StageTransition.objects.filter(lead_id=lead.pk).count() == 1
    assert Lead.objects.get(pk=lead.pk).stage == "mql"
