"""The SLA jobs on a real Celery worker (two processes) against the real database."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Notification
from leads.models import Lead, StageTransition
from leads.services import contact_attempt_log
from sla import services, tasks
from sla.models import CommitmentRisk, SLAClock, SLARecord
from sla.services import HandOff
from tests.leads.factories import LeadFactory
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

TIMEOUT = 120


@pytest.fixture
def terms(db):
    BusinessCalendarFactory(name="New York office")
    return SLAAgreementFactory(name="Sales and marketing SLA")


def handed_off(owner, count, *, days_ago, stage="sql"):
    """`count` leads handed off to `owner` `days_ago` days ago, their clocks started then
    (and no sweep since)."""
    at = timezone.now() - dt.timedelta(days=days_ago)
    leads = [
        LeadFactory(owner=owner, stage=stage, created_at=at - dt.timedelta(days=1))
        for _ in range(count)
    ]
    services.clocks_start(handoffs=[HandOff(lead.pk, owner.pk, at) for lead in leads], now=at)
    return leads


def sweep_twice_at_once(**kwargs):
    first = tasks.clocks_sweep.apply_async(kwargs=kwargs)
    second = tasks.clocks_sweep.apply_async(kwargs=kwargs)
    return first.get(timeout=TIMEOUT), second.get(timeout=TIMEOUT)


def test_two_sweeps_at_once_record_each_breach_exactly_once(celery_worker, terms, rep, manager):
    handed_off(rep, 200, days_ago=10)
    first, second = sweep_twice_at_once(batch_size=10)
    assert first["breached"] + second["breached"] == 200
    assert SLAClock.objects.filter(status="breached").count() == 200
    assert SLARecord.objects.filter(kind="breach").count() == 200
    assert SLARecord.objects.values("clock").distinct().count() == 200
    # One digest per person per batch, never one per clock per sweep.
    assert 0 < Notification.objects.filter(user=rep, kind="sla_breached").count() <= 21


def test_a_sweep_that_crashes_half_way_loses_nothing_and_duplicates_nothing_when_rerun(
    celery_worker, terms, rep
):
    handed_off(rep, 150, days_ago=10)
    ordered = list(
        SLAClock.objects.order_by("first_touch_due_at", "id").values_list("id", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE FUNCTION sla_test_crash() RETURNS trigger AS $$
            BEGIN
              IF NEW.clock_id = {ordered[120]} THEN RAISE EXCEPTION 'worker died'; END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER sla_test_crash BEFORE INSERT ON sla_slarecord
              FOR EACH ROW EXECUTE FUNCTION sla_test_crash();
            """
        )
    try:
        crashed = tasks.clocks_sweep.apply_async(kwargs={"batch_size": 50})
        with pytest.raises(Exception, match="worker died"):
            crashed.get(timeout=TIMEOUT)
        # The two batches before the crash are committed; the third is rolled back whole.
        assert SLAClock.objects.filter(status="breached").count() == 100
        assert SLARecord.objects.count() == 100
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER sla_test_crash ON sla_slarecord")
            cursor.execute("DROP FUNCTION sla_test_crash()")
    rerun = tasks.clocks_sweep.apply_async(kwargs={"batch_size": 50}).get(timeout=TIMEOUT)
    assert rerun["breached"] == 50
    assert SLAClock.objects.filter(status="breached").count() == 150
    assert SLARecord.objects.filter(kind="breach").count() == 150


def test_the_fifth_attempt_in_16_days_is_recorded_and_flagged(celery_worker, terms, rep):
    (lead,) = handed_off(rep, 1, days_ago=6)
    for day in (5, 4, 3, 2, 1):
        contact_attempt_log(
            lead=lead,
            actor=rep,
            channel="call",
            outcome="connected",
            occurred_at=timezone.now() - dt.timedelta(days=day),
        )
    tasks.clocks_sweep.apply_async().get(timeout=TIMEOUT)
    clock = SLAClock.objects.get(lead=lead)
    assert lead.attempts.count() == 5
    assert (clock.attempts, clock.over_contact, clock.exhausted_at) == (5, True, None)
    assert Lead.objects.get(pk=lead.pk).stage == "sql"


def test_the_window_end_hands_the_lead_back_to_marketing_once(celery_worker, terms, rep):
    (lead,) = handed_off(rep, 1, days_ago=20)
    first, second = sweep_twice_at_once()
    assert first["exhausted"] + second["exhausted"] == 1
    assert Lead.objects.get(pk=lead.pk).stage == "recycled"
    recycled = StageTransition.objects.filter(lead=lead, to_stage="recycled")
    assert [t.reason for t in recycled] == ["sla_exhausted"]
    assert SLARecord.objects.filter(clock__lead=lead, kind="exhaustion").count() == 1
    clock = SLAClock.objects.get(lead=lead)
    assert clock.closed_at is not None  # the stage change closed it
    tasks.clocks_sweep.apply_async().get(timeout=TIMEOUT)
    assert recycled.count() == 1


def test_a_commitment_behind_pace_is_raised_once_per_product_and_month(
    celery_worker, terms, marketer, manager
):
    from tests.leads.factories import ProductFactory

    ProductFactory(name="Analytics", code="analytics")
    now = timezone.now()
    if now.day == 1 and now.hour < 12:
        pytest.skip("At the very start of a month nothing can be behind pace yet.")
    first = tasks.commitments_check.apply_async()
    second = tasks.commitments_check.apply_async()
    raised = first.get(timeout=TIMEOUT)["raised"] + second.get(timeout=TIMEOUT)["raised"]
    assert len(raised) == 1
    risk = CommitmentRisk.objects.get()
    assert (risk.delivered, risk.committed) == (0, 75)
    assert Notification.objects.filter(kind="commitment_at_risk", user=marketer).count() == 1
    assert tasks.commitments_check.apply_async().get(timeout=TIMEOUT)["raised"] == []
