"""The dashboard's leads at risk are open clocks: a lead that left the sales stages before
its deadline has a closed clock (still pending, never measured) and is at risk of nothing."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from leads.services import lead_transition
from reporting.selectors import leads_at_risk
from sla.models import SLAClock
from tests.sla.conftest import ny

pytestmark = pytest.mark.django_db


def test_a_clock_closed_before_its_deadline_is_not_at_risk(
    office_calendar, agreement, rep, hand_off, django_capture_on_commit_callbacks
):
    at = ny(2026, 1, 12, 10)  # Monday: first touch due at 15:00
    waiting = hand_off(rep, at)
    left = hand_off(rep, at)
    with (
        time_machine.travel(at + dt.timedelta(hours=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        lead_transition(lead=left, to_stage="recycled", reason="not now")
    closed = SLAClock.objects.get(lead=left)
    assert (closed.status, closed.closed_at is not None) == ("pending", True)
    with time_machine.travel(at + dt.timedelta(hours=6), tick=False):  # both deadlines passed
        shown = leads_at_risk(now=timezone.now())
    assert [clock.lead_id for clock in shown] == [waiting.pk]
