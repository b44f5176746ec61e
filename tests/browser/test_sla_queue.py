import datetime as dt
import re

import pytest
from django.utils import timezone

from sla import services
from sla.models import SLAClock
from sla.services import HandOff
from tests.leads.factories import LeadFactory
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_rep_sees_the_countdown_logs_an_attempt_and_the_clock_shows_met(
    page, login, rep, artifact_path
):
    # Open round the clock, so the deadline is 5 real hours away whatever the time of day.
    BusinessCalendarFactory(
        name="Always open", time_zone="UTC", hours={str(d): [["00:00", "00:00"]] for d in range(7)}
    )
    SLAAgreementFactory(name="Sales and marketing SLA")
    handed_off_at = timezone.now() - dt.timedelta(minutes=30)
    lead = LeadFactory(
        owner=rep, stage="sql", first_name="Grace", last_name="Hopper", created_at=handed_off_at
    )
    services.clocks_start(handoffs=[HandOff(lead.pk, rep.pk, handed_off_at)])
    overdue = LeadFactory(
        owner=rep,
        stage="sql",
        first_name="Alan",
        last_name="Turing",
        created_at=handed_off_at - dt.timedelta(hours=6),
    )
    services.clocks_start(
        handoffs=[HandOff(overdue.pk, rep.pk, handed_off_at - dt.timedelta(hours=6))]
    )

    login(rep)
    page.goto("/sla/")
    clock = SLAClock.objects.get(lead=lead)
    row = page.locator(f"#clock-{clock.pk}")
    countdown = row.get_by_test_id("countdown")
    # Live: about 4 h 30 m left, and it ticks.
    page.wait_for_function(
        "el => /^4h (29|30)m$/.test(el.textContent)", arg=countdown.element_handle()
    )
    late_row = page.locator(f"#clock-{SLAClock.objects.get(lead=overdue).pk}")
    assert re.match(r"overdue by ", late_row.get_by_test_id("countdown").inner_text())
    assert "overdue" in (late_row.get_attribute("class") or "")
    # The overdue lead is listed first: it is due soonest.
    assert page.get_by_test_id("clock-row").first.inner_text().startswith("Alan Turing")
    page.screenshot(path=artifact_path("sla-queue.png"), full_page=True)

    row.get_by_label("Outcome").select_option("connected")
    row.get_by_label("Note").fill("Interested, demo next week")
    row.get_by_role("button", name="Log attempt").click()
    status = page.locator(f"#clock-{clock.pk}").get_by_test_id("clock-status")
    status.filter(has_text="Met").wait_for()
    confirmation = page.locator(f"#clock-{clock.pk}").get_by_test_id("attempt-confirmation")
    assert confirmation.inner_text().strip() == "Attempt logged: Call, connected. Note saved."
    assert lead.attempts.get().note == "Interested, demo next week"
    assert page.locator(f"#clock-{clock.pk}").get_by_test_id("countdown").count() == 0
    assert page.url.endswith("/sla/")  # in place, no reload
    clock.refresh_from_db()
    assert (clock.status, clock.attempts) == ("met", 1)
    page.screenshot(path=artifact_path("sla-queue-met.png"), full_page=True)
