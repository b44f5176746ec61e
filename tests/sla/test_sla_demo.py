import datetime as dt
import io

import pytest
from django.utils import timezone

from sla import demo
from sla.models import BusinessCalendar, SLAAgreement, SLAClock
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_the_agreement_and_clocks_for_leads_with_sales_once(rep, sales_team):
    handed = timezone.now() - dt.timedelta(days=1)
    lead = LeadFactory(owner=rep, stage="sql", sql_at=handed, created_at=handed)
    demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())
    agreement = SLAAgreement.objects.get()
    assert (agreement.first_touch_hours, agreement.max_attempts) == (5, 4)
    assert "sla_exhausted" in agreement.lead_management_protocol
    calendar = BusinessCalendar.objects.get()
    assert calendar.is_default and calendar.team_assignments.get().team == sales_team
    assert SLAClock.objects.get().lead == lead
