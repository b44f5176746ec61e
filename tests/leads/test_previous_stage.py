"""Each transition keeps where its flow velocity starts (`previous_stage_at`): written by the
moves service, equal to a recomputation from the whole history, whatever path wrote it."""

import datetime as dt
from collections import defaultdict

import pytest
from django.utils import timezone

from leads import lifecycle
from leads.models import StageTransition
from leads.services.entries import previous_stages_rebuild
from tests.leads.factories import LeadFactory
from tests.reporting.history import move, random_histories

pytestmark = pytest.mark.django_db


def _expected() -> dict[int, dt.datetime | None]:
    """From first principles: per transition, the latest entry (creation or a stage a move
    entered) into the stage before the first forward stage it enters, at or before it."""
    histories = defaultdict(list)
    for transition in StageTransition.objects.select_related("lead").order_by("at", "id"):
        histories[transition.lead_id].append(transition)
    expected = {}
    for history in histories.values():
        entries = [(history[0].lead.created_at, "lead")]
        for transition in history:
            entries += [
                (transition.at, stage)
                for stage in lifecycle.entered_stages(transition.from_stage, transition.to_stage)
            ]
        for transition in history:
            forward = [
                stage
                for stage in lifecycle.entered_stages(transition.from_stage, transition.to_stage)
                if stage in ("mql", "sql", "opportunity", "customer")
            ]
            if not forward:
                expected[transition.pk] = None
                continue
            before = lifecycle.FORWARD_STAGES[lifecycle.forward_rank(forward[0]) - 1]
            times = [at for at, stage in entries if stage == before and at <= transition.at]
            expected[transition.pk] = max(times) if times else None
    return expected


def _stored() -> dict[int, dt.datetime | None]:
    return dict(StageTransition.objects.values_list("pk", "previous_stage_at"))


def test_the_moves_service_writes_what_the_history_says():
    random_histories(60, seed=11)
    assert StageTransition.objects.count() > 100
    assert _stored() == _expected()
    assert previous_stages_rebuild() == 0  # nothing to repair


def test_skips_and_moves_at_one_instant():
    created = timezone.now() - dt.timedelta(days=10)
    lead = LeadFactory(created_at=created)
    first = created + dt.timedelta(hours=5)
    move(lead, "sql", first)  # enters mql and sql: mql from the creation
    move(lead, "recycled", first + dt.timedelta(days=1))
    again = first + dt.timedelta(days=2)
    move(lead, "mql", again)  # re-qualified: from the creation, the only entry into lead
    move(lead, "sql", again)  # at the same instant: from that entry into mql
    move(lead, "opportunity", again + dt.timedelta(hours=1))
    stored = [
        (t.from_stage, t.to_stage, t.previous_stage_at)
        for t in StageTransition.objects.filter(lead=lead).order_by("at", "id")
    ]
    assert stored == [
        ("lead", "sql", created),
        ("sql", "recycled", None),
        ("recycled", "mql", created),
        ("mql", "sql", again),
        ("sql", "opportunity", again),
    ]


def test_the_rebuild_recomputes_lost_values():
    random_histories(30, seed=5)
    before = _stored()
    StageTransition.objects.update(previous_stage_at=None)
    changed = previous_stages_rebuild()
    assert changed == sum(1 for value in before.values() if value is not None)
    assert _stored() == before
    some = list(before)[:3]
    StageTransition.objects.filter(pk__in=some).update(previous_stage_at=timezone.now())
    lead_ids = StageTransition.objects.filter(pk__in=some).values_list("lead_id", flat=True)
    previous_stages_rebuild(lead_ids)
    assert _stored() == before


def test_the_benchmark_histories_carry_it_as_the_product_writes_it():
    from bench.reporting import _generate

    _generate(400, 30)
    assert StageTransition.objects.count() == 400 // 20 * 100
    assert StageTransition.objects.exclude(previous_stage_at=None).exists()
    assert _stored() == _expected()
    assert previous_stages_rebuild() == 0
