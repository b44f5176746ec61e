import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.services import notification_send
from leads.services import lead_transition
from tests.leads.factories import LeadFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def handed_off_lead(rep):
    now = timezone.now()
    lead = LeadFactory(
        owner=rep,
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        created_at=now - dt.timedelta(days=3),
    )
    lead_transition(lead=lead, to_stage="sql", reason="referral", at=now - dt.timedelta(days=2))
    return lead


def test_a_rep_logs_an_attempt_and_sees_it_on_the_timeline_without_a_reload(
    page, login, rep, handed_off_lead, artifact_path
):
    login(rep)
    page.goto(f"/leads/{handed_off_lead.pk}/")
    expect(page.get_by_test_id("lead-stage")).to_have_text("SQL")
    # A full page load would lose this; an htmx swap keeps it.
    page.evaluate("window.beforeTheAttempt = 'still here'")

    form = page.get_by_test_id("attempt-form")
    form.get_by_label("Channel").select_option("call")
    form.get_by_label("Outcome").select_option("meeting_booked")
    form.get_by_label("Note").fill("Demo booked for Tuesday")
    form.get_by_role("button", name="Log attempt").click()

    attempt = page.get_by_test_id("timeline-attempt")
    expect(attempt).to_contain_text("Demo booked for Tuesday")
    expect(attempt).to_contain_text("Meeting booked")
    expect(page.get_by_text("The contact attempt is logged.")).to_be_visible()
    assert page.evaluate("window.beforeTheAttempt") == "still here"
    # The form is fresh again, ready for the next attempt.
    expect(page.get_by_test_id("attempt-form").get_by_label("Note")).to_have_value("")
    page.screenshot(path=artifact_path("lead-attempt-logged.png"), full_page=True)


def test_a_refused_attempt_shows_its_message_in_place_and_keeps_the_note(
    page, login, rep, handed_off_lead
):
    login(rep)
    page.goto(f"/leads/{handed_off_lead.pk}/")
    page.evaluate("window.beforeTheAttempt = 'still here'")
    form = page.get_by_test_id("attempt-form")
    tomorrow = timezone.localtime(timezone.now() + dt.timedelta(days=1), rep_zone(rep))
    form.get_by_label("When").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Note").fill("Typed with care")
    form.get_by_role("button", name="Log attempt").click()

    expect(page.get_by_text("This cannot be in the future.")).to_be_visible()
    expect(page.get_by_test_id("attempt-form").get_by_label("Note")).to_have_value(
        "Typed with care"
    )
    assert page.evaluate("window.beforeTheAttempt") == "still here"
    expect(page.get_by_test_id("timeline-attempt")).to_have_count(0)


def test_the_bell_counts_unread_notifications_and_marks_them_read(page, login, rep):
    for title in ("New lead for you: Ada", "New lead for you: Grace"):
        notification_send(users=[rep], kind="lead_assigned", title=title, url="/leads/")
    login(rep)
    count = page.get_by_test_id("notification-count")
    expect(count).to_contain_text("2")
    page.get_by_test_id("notification-bell").click()
    expect(page.locator("#notification-menu")).to_contain_text("New lead for you: Grace")
    page.get_by_test_id("notifications-mark-all").click()
    expect(count).to_be_hidden()
    expect(page.get_by_test_id("notifications-mark-all")).to_have_count(0)


def rep_zone(user):
    import zoneinfo

    return zoneinfo.ZoneInfo(user.time_zone)
