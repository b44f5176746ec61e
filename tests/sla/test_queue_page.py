"""The rep's queue page: ordered by urgency, an "overdue by" counter on breached leads, an
attempt logged with its note and confirmed in place, and only the clocks a person may act on."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from leads.models import ContactAttempt
from sla import services
from sla.models import SLAClock
from tests.sla.conftest import ny

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    def _as(user):
        client.force_login(user)
        return client

    return _as


@pytest.fixture
def attempt(signed_in, django_capture_on_commit_callbacks):
    """POST an attempt on `clock` as `user` from the queue (htmx unless told otherwise)."""

    def _post(user, clock, htmx=True, **data):
        data = {"channel": "call", "outcome": "connected", **data}
        extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        with django_capture_on_commit_callbacks(execute=True):
            return signed_in(user).post(f"/sla/clocks/{clock.pk}/attempt/", data, **extra)

    return _post


def just_now() -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=5)


def clock_of(lead) -> SLAClock:
    return SLAClock.objects.get(lead=lead)


def row_order(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="clock-(\d+)" data-testid="clock-row"', html)]


def test_breached_and_overdue_leads_come_first_then_the_nearest_deadline(
    signed_in, office_calendar, agreement, rep, hand_off, log_attempt
):
    # Mon-Fri 09:00-17:00 New York, first touch within 5 business hours.
    touched_in_time = hand_off(rep, ny(2026, 1, 5, 10))  # due Mon 15:00, met
    log_attempt(touched_in_time, rep, ny(2026, 1, 5, 11))
    pending_later = hand_off(rep, ny(2026, 1, 8, 11))  # due Thu 16:00
    breached_newer = hand_off(rep, ny(2026, 1, 6, 9))  # due Tue 14:00
    pending_sooner = hand_off(rep, ny(2026, 1, 8, 10))  # due Thu 15:00
    breached_older = hand_off(rep, ny(2026, 1, 5, 9))  # due Mon 14:00
    services.clocks_sweep(now=ny(2026, 1, 8, 12))

    html = signed_in(rep).get("/sla/").content.decode()

    assert row_order(html) == [
        clock_of(lead).pk
        for lead in (breached_older, breached_newer, pending_sooner, pending_later, touched_in_time)
    ]
    assert "breached and overdue first" in html


def test_a_breached_lead_keeps_a_live_overdue_by_counter_and_a_met_one_has_none(
    signed_in, office_calendar, agreement, rep, hand_off, log_attempt
):
    breached = hand_off(rep, ny(2026, 1, 5, 9))
    met = hand_off(rep, ny(2026, 1, 5, 10))
    log_attempt(met, rep, ny(2026, 1, 5, 11))
    services.clocks_sweep(now=ny(2026, 1, 8, 12))

    html = signed_in(rep).get("/sla/").content.decode()

    breached_row = re.search(rf'<tr id="clock-{clock_of(breached).pk}".*?</tr>', html, re.S)[0]
    met_row = re.search(rf'<tr id="clock-{clock_of(met).pk}".*?</tr>', html, re.S)[0]
    assert 'class="overdue"' in breached_row
    # static/js/app.js turns it into "overdue by 2d 3h 4m" and keeps it ticking.
    assert 'data-deadline="2026-01-05T14:00:00-05:00" data-overdue-by' in breached_row
    assert "overdue since Mon 5 Jan, 14:00" in breached_row
    assert "data-deadline" not in met_row and "data-overdue-by" not in met_row


def test_every_control_of_the_attempt_form_has_a_label(
    signed_in, office_calendar, agreement, rep, hand_off
):
    clock = clock_of(hand_off(rep, ny(2026, 1, 8, 10)))
    html = signed_in(rep).get("/sla/").content.decode()
    for name in ("channel", "outcome", "note"):
        assert f'for="{name}-{clock.pk}"' in html and f'id="{name}-{clock.pk}"' in html
    assert f'name="note" id="note-{clock.pk}"' in html and "<textarea" in html
    assert f'id="log-attempt-{clock.pk}">Log attempt' in html


def test_an_attempt_is_logged_with_its_note_and_the_row_confirms_it_in_place(
    attempt, office_calendar, agreement, rep, hand_off
):
    lead = hand_off(rep, just_now())

    response = attempt(rep, clock_of(lead), outcome="left_message", note="Voicemail, back Friday")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<tr id="clock-')  # the row alone, swapped in place
    assert 'data-testid="attempt-confirmation"' in html
    assert "Attempt logged: Call, left message. Note saved." in html
    saved = ContactAttempt.objects.get(lead=lead)
    assert (saved.outcome, saved.note, saved.actor) == (
        "left_message",
        "Voicemail, back Friday",
        rep,
    )
    assert clock_of(lead).attempts == 1
    assert 'name="note" id="note-' in html and "Voicemail" not in html  # a fresh form


def test_without_htmx_the_attempt_redirects_to_the_queue_with_the_confirmation(
    attempt, office_calendar, agreement, rep, hand_off
):
    lead = hand_off(rep, just_now())
    response = attempt(rep, clock_of(lead), htmx=False, note="Spoke to the assistant")
    assert response.status_code == 302 and response["Location"] == "/sla/"
    assert ContactAttempt.objects.get(lead=lead).note == "Spoke to the assistant"
    page = response.client.get("/sla/").content.decode()
    assert "Attempt logged: Call, connected. Note saved." in page


def test_a_too_long_note_is_refused_on_its_field_and_kept_for_correction(
    attempt, office_calendar, agreement, rep, hand_off
):
    lead = hand_off(rep, just_now())
    clock = clock_of(lead)

    response = attempt(rep, clock, note="x" * 501)

    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="note-{clock.pk}-error">Ensure this value has at most 500 characters' in html
    assert f'aria-describedby="note-{clock.pk}-error"' in html
    assert "x" * 500 + "</textarea>" in html
    assert not ContactAttempt.objects.filter(lead=lead).exists()


@pytest.mark.parametrize(
    "data",
    [
        {"channel": "<script>alert(1)</script>"},
        {"outcome": "'; DROP TABLE leads_lead; --"},
        {"channel": ""},
    ],
)
def test_hostile_attempt_input_is_a_400_with_a_field_message_never_a_500(
    attempt, office_calendar, agreement, rep, hand_off, data
):
    lead = hand_off(rep, just_now())
    response = attempt(rep, clock_of(lead), **data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert re.search(r'id="(channel|outcome|note)-\d+-error">\w', html)
    assert not ContactAttempt.objects.filter(lead=lead).exists()


def test_a_note_with_a_nul_character_is_refused_with_a_400(
    attempt, office_calendar, agreement, rep, hand_off
):
    lead = hand_off(rep, just_now())
    response = attempt(rep, clock_of(lead), note="nul\x00byte")
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    assert not ContactAttempt.objects.filter(lead=lead).exists()


def test_a_rep_sees_only_their_own_clocks(
    signed_in, office_calendar, agreement, rep, other_rep, outsider_rep, hand_off
):
    mine = hand_off(rep, ny(2026, 1, 8, 10), first_name="Mine")
    teammates = hand_off(other_rep, ny(2026, 1, 8, 9), first_name="Teammates")
    outsiders = hand_off(outsider_rep, ny(2026, 1, 8, 9), first_name="Outsiders")

    html = signed_in(rep).get("/sla/").content.decode()

    assert row_order(html) == [clock_of(mine).pk]
    assert teammates.full_name not in html and outsiders.full_name not in html


def test_a_clock_of_a_lead_outside_the_reps_scope_is_not_found(
    attempt, office_calendar, agreement, rep, outsider_rep, hand_off
):
    lead = hand_off(outsider_rep, just_now(), first_name="Hidden")
    response = attempt(rep, clock_of(lead))
    assert response.status_code == 404
    assert "Hidden" not in response.content.decode()
    assert not ContactAttempt.objects.filter(lead=lead).exists()


def test_a_teammate_or_a_marketer_may_not_log_attempts_on_a_reps_lead(
    attempt, office_calendar, agreement, rep, other_rep, marketer, hand_off
):
    lead = hand_off(rep, just_now())
    for user in (other_rep, marketer):
        response = attempt(user, clock_of(lead))
        assert response.status_code == 403
        assert "Only the lead&#x27;s owner or a manager" in response.content.decode()
        assert attempt(user, clock_of(lead), htmx=False).status_code == 403
    assert not ContactAttempt.objects.filter(lead=lead).exists()


def test_a_manager_logs_an_attempt_on_a_reps_lead(
    attempt, office_calendar, agreement, rep, manager, hand_off
):
    lead = hand_off(rep, just_now())
    response = attempt(manager, clock_of(lead), note="Called on the rep's behalf")
    assert response.status_code == 200
    assert "Attempt logged" in response.content.decode()
    assert ContactAttempt.objects.get(lead=lead).actor == manager


def test_the_queue_and_its_actions_need_a_signed_in_user(
    client, office_calendar, agreement, rep, hand_off
):
    clock = clock_of(hand_off(rep, ny(2026, 1, 8, 10)))
    assert client.get("/sla/").status_code == 302
    assert client.post(f"/sla/clocks/{clock.pk}/attempt/", {}).status_code == 302
    assert not ContactAttempt.objects.exists()
