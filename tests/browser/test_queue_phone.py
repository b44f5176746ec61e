"""The rep's queue on a phone (390 px wide): cards instead of a table, no sideways scrolling,
an attempt with a note logged from the keyboard alone and confirmed in place."""

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import ContactAttempt
from sla import services
from sla.models import SLAClock
from sla.services import HandOff
from tests.leads.factories import LeadFactory
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = {"width": 390, "height": 844}


def hand_off(owner, at, **lead_fields):
    lead = LeadFactory(owner=owner, stage="sql", created_at=at, **lead_fields)
    services.clocks_start(handoffs=[HandOff(lead.pk, owner.pk, at)])
    return lead, SLAClock.objects.get(lead=lead)


def page_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def test_a_rep_logs_an_attempt_with_a_note_on_a_phone_from_the_keyboard(
    page, login, strict_csp, rep, artifact_path
):
    BusinessCalendarFactory(
        name="Always open", time_zone="UTC", hours={str(d): [["00:00", "00:00"]] for d in range(7)}
    )
    SLAAgreementFactory(name="Sales and marketing SLA")
    now = timezone.now()
    lead, clock = hand_off(
        rep,
        now - dt.timedelta(minutes=30),
        first_name="Grace",
        last_name="Hopper",
        company="Remington Rand Univac Division of Sperry Rand Corporation",
        email="grace.hopper.with.a.very.long.address@remington-rand-univac.example.com",
    )
    _late, late_clock = hand_off(
        rep, now - dt.timedelta(hours=6), first_name="Alan", last_name="Turing"
    )
    page.set_viewport_size(PHONE)
    login(rep)

    page.goto("/sla/")
    late_row = page.locator(f"#clock-{late_clock.pk}")
    page.wait_for_function(
        "el => /^overdue by \\d+h \\d+m$/.test(el.textContent)",
        arg=late_row.get_by_test_id("countdown").element_handle(),
    )
    assert page.get_by_test_id("clock-row").first.get_attribute("id") == f"clock-{late_clock.pk}"
    assert page_width(page) <= PHONE["width"]
    row = page.locator(f"#clock-{clock.pk}")
    # A card: the labels are on screen, the header row is not.
    labels = row.locator("td[data-label]").evaluate_all(
        "cells => cells.map(td => getComputedStyle(td, '::before').content)"
    )
    assert '"First touch due"' in labels
    assert row.get_by_text("Channel", exact=True).is_visible()
    assert page.locator("#sla-queue thead").bounding_box()["height"] <= 1
    page.screenshot(path=artifact_path("sla-queue-phone.png"), full_page=True)

    # Keyboard only: Tab from the lead's link through the form, each control labelled.
    row.get_by_role("link", name="Grace Hopper").focus()
    reached = []
    for _ in range(6):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("() => document.activeElement.id"))
        if reached[-1] == f"log-attempt-{clock.pk}":
            break
    assert reached == [
        f"channel-{clock.pk}",
        f"outcome-{clock.pk}",
        f"note-{clock.pk}",
        f"log-attempt-{clock.pk}",
    ]
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.boxShadow]; }"
    )
    assert outline[0] != "none" or outline[1] != "none", "the focused button shows its focus"
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("Left a voicemail, calling back at 3")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")  # channel
    page.keyboard.press("ArrowDown")  # call → email
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the button
    page.keyboard.press("Enter")

    confirmation = page.locator(f"#clock-{clock.pk}").get_by_test_id("attempt-confirmation")
    confirmation.wait_for()
    assert "Attempt logged: Email, no answer. Note saved." in confirmation.inner_text()
    assert page.url.endswith("/sla/")  # in place
    assert page.evaluate("() => document.activeElement.id") == f"log-attempt-{clock.pk}"
    attempt = ContactAttempt.objects.get(lead=lead)
    assert (attempt.channel, attempt.note) == ("email", "Left a voicemail, calling back at 3")
    assert page.locator(f"#clock-{clock.pk}").get_by_test_id("clock-status").inner_text() == "Met"
    assert page_width(page) <= PHONE["width"]
    page.screenshot(path=artifact_path("sla-queue-phone-logged.png"), full_page=True)
    assert strict_csp == []
