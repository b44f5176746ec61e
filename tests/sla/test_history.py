"""A lead's history written in one call (`POST leads/{id}/history/`) and read back through the
timeline endpoints: the same clocks and moves as the same history lived in real time."""

import datetime as dt

import pytest
import time_machine

from leads.models import StageTransition
from leads.services import contact_attempt_log, lead_assign, lead_transition
from sla import services as sla
from sla.models import SLAClock
from tests.leads.factories import LeadFactory
from tests.sla.conftest import ny

pytestmark = pytest.mark.django_db

# Friday 16:00 hand-off; first touch due Monday 13:00 (five business hours), three attempts,
# then the rep hands it back before the window closes. Re-qualified, handed off a second
# time with its first attempt two days late, then lost.
STEPS = [
    ("transition", ny(2026, 1, 8, 9), {"to": "mql"}),
    ("assign", ny(2026, 1, 9, 15), {}),
    ("transition", ny(2026, 1, 9, 16), {"to": "sql"}),
    ("attempt", ny(2026, 1, 12, 10), {"channel": "call", "outcome": "no_answer"}),
    ("attempt", ny(2026, 1, 13, 10), {"channel": "email", "outcome": "left_message"}),
    ("attempt", ny(2026, 1, 15, 10), {"channel": "call", "outcome": "no_answer"}),
    ("transition", ny(2026, 1, 21, 10), {"to": "recycled", "reason": "not ready"}),
    ("transition", ny(2026, 2, 2, 10), {"to": "sql"}),
    ("attempt", ny(2026, 2, 4, 10), {"channel": "call", "outcome": "connected"}),
    ("transition", ny(2026, 2, 5, 10), {"to": "opportunity"}),
    ("transition", ny(2026, 2, 20, 10), {"to": "lost", "reason": "chose a competitor"}),
]


# Handed off, one unanswered call, then nothing: the window closes and the lead goes back
# to marketing (the product's own move, at the window's end).
EXHAUSTED = [
    ("transition", ny(2026, 3, 2, 9), {"to": "mql"}),
    ("assign", ny(2026, 3, 2, 10), {}),
    ("transition", ny(2026, 3, 2, 11), {"to": "sql"}),
    ("attempt", ny(2026, 3, 3, 10), {"channel": "call", "outcome": "no_answer"}),
]


def _body(rep, steps_given=STEPS) -> dict:
    steps = []
    for kind, at, extra in steps_given:
        step = {"type": kind, "at": at.isoformat(), **extra}
        if kind == "assign":
            step["owner"] = rep.pk
        steps.append(step)
    return {"steps": steps}


def _live(lead, rep, manager, capture, steps=STEPS, until=None) -> None:
    """The same steps, each at its own instant, with the sweep running every six hours
    between them (and after the last one, until `until`)."""
    previous = None
    for kind, at, extra in [*steps, *([("sweep", until, {})] if until else [])]:
        if previous is not None:
            sweep_at = previous + dt.timedelta(hours=1)
            while sweep_at < at:
                with time_machine.travel(sweep_at, tick=False), capture(execute=True):
                    sla.clocks_sweep(now=sweep_at)
                sweep_at += dt.timedelta(hours=6)
        with time_machine.travel(at, tick=False), capture(execute=True):
            if kind == "sweep":
                sla.clocks_sweep(now=at)
            elif kind == "transition":
                lead_transition(
                    lead=lead.pk,
                    to_stage=extra["to"],
                    actor=manager,
                    at=at,
                    reason=extra.get("reason", ""),
                )
            elif kind == "assign":
                lead_assign(lead=lead.pk, owner=rep, actor=manager)
            else:
                contact_attempt_log(lead=lead.pk, actor=rep, occurred_at=at, **extra)
        previous = at


CLOCK_FIELDS = (
    "handoff_at",
    "owner_id",
    "status",
    "first_touch_due_at",
    "first_touch_at",
    "attempts",
    "breached_at",
    "exhausted_at",
    "closed_at",
    "over_contact",
)


def _clocks(lead) -> list[tuple]:
    return list(
        SLAClock.objects.filter(lead=lead).order_by("handoff_at").values_list(*CLOCK_FIELDS)
    )


def _moves(lead) -> list[tuple]:
    return list(
        StageTransition.objects.filter(lead=lead)
        .order_by("at", "id")
        .values_list("from_stage", "to_stage", "at")
    )


def test_a_history_in_one_call_equals_the_same_history_lived(
    api_as, office_calendar, agreement, manager, rep, product, django_capture_on_commit_callbacks
):
    created = ny(2026, 1, 7, 9)
    posted = LeadFactory(product=product, created_at=created)
    lived = LeadFactory(product=product, created_at=created)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(manager).post(
            f"/api/v1/leads/{posted.pk}/history/", _body(rep), format="json"
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["transitions"]) == 6 and len(body["attempts"]) == 4
    assert body["lead"]["stage"] == "lost"

    _live(lived, rep, manager, django_capture_on_commit_callbacks)

    assert _moves(posted) == _moves(lived)
    assert _clocks(posted) == _clocks(lived)
    first, second = _clocks(posted)
    assert first[2] == "met" and first[5] == 3  # three attempts, the first before 13:00
    assert second[2] == "breached"  # the first attempt came two days after the hand-off
    assert second[4] == ny(2026, 2, 4, 10)


def test_an_exhausted_window_in_a_posted_history_hands_the_lead_back_as_it_would_have(
    api_as, office_calendar, agreement, manager, rep, product, django_capture_on_commit_callbacks
):
    created = ny(2026, 3, 1, 9)
    posted = LeadFactory(product=product, created_at=created)
    lived = LeadFactory(product=product, created_at=created)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(manager).post(
            f"/api/v1/leads/{posted.pk}/history/", _body(rep, EXHAUSTED), format="json"
        )
    assert response.status_code == 201, response.json()
    with django_capture_on_commit_callbacks(execute=True):
        sla.clocks_sweep()  # the next sweep runs the exhaustion, dated at the window's end
    _live(lived, rep, manager, django_capture_on_commit_callbacks, EXHAUSTED, ny(2026, 3, 25))

    assert _moves(posted) == _moves(lived)
    assert _clocks(posted) == _clocks(lived)
    (clock,) = _clocks(posted)
    assert clock[2] == "breached" and clock[7] == ny(2026, 3, 18, 11)  # exhausted: 16 days
    assert _moves(posted)[-1] == ("sql", "recycled", clock[7])


def test_a_history_whose_window_closed_long_ago_is_judged_on_its_own_attempts(
    api_as, office_calendar, agreement, manager, rep, product, django_capture_on_commit_callbacks
):
    """Back-filled one move at a time, the sweep would exhaust the old hand-off between two
    calls; in one call the attempts that followed it count."""
    lead = LeadFactory(product=product, created_at=ny(2026, 1, 7, 9))
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(manager).post(
            f"/api/v1/leads/{lead.pk}/history/", _body(rep), format="json"
        )
        sla.clocks_sweep()
    assert response.status_code == 201
    lead.refresh_from_db()
    assert lead.stage == "lost"
    assert not StageTransition.objects.filter(lead=lead, to_stage="recycled", actor=None).exists()


def test_a_refused_step_saves_nothing_and_is_named(api_as, manager, rep, product):
    lead = LeadFactory(product=product, created_at=ny(2026, 1, 7, 9))
    body = _body(rep)
    body["steps"][2]["to"] = "lead"  # mql → lead is not a move
    response = api_as(manager).post(f"/api/v1/leads/{lead.pk}/history/", body, format="json")
    assert response.status_code == 400, response.json()
    assert "steps.2" in " ".join(response.json()["errors"])
    assert not StageTransition.objects.filter(lead=lead).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"steps": []}, "steps"),
        ({"steps": [{"type": "transition", "at": "2026-01-08T09:00:00Z"}]}, "steps"),
        ({"steps": [{"type": "teleport", "at": "2026-01-08T09:00:00Z"}]}, "steps"),
        ({"steps": "all of them"}, "steps"),
    ],
)
def test_malformed_histories_are_400s(api_as, manager, change, field):
    lead = LeadFactory(created_at=ny(2026, 1, 7, 9))
    response = api_as(manager).post(f"/api/v1/leads/{lead.pk}/history/", change, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


def test_steps_out_of_order_or_in_the_future_are_refused(api_as, manager, rep):
    lead = LeadFactory(created_at=ny(2026, 1, 7, 9))
    client = api_as(manager)
    backwards = {
        "steps": [
            {"type": "transition", "at": "2026-01-09T09:00:00Z", "to": "mql"},
            {"type": "transition", "at": "2026-01-08T09:00:00Z", "to": "sql"},
        ]
    }
    response = client.post(f"/api/v1/leads/{lead.pk}/history/", backwards, format="json")
    assert response.status_code == 400 and "steps.1.at" in response.json()["errors"]
    future = {"steps": [{"type": "transition", "at": "2999-01-01T00:00:00Z", "to": "mql"}]}
    response = client.post(f"/api/v1/leads/{lead.pk}/history/", future, format="json")
    assert response.status_code == 400


def test_a_rep_cannot_write_a_history(api_as, rep):
    lead = LeadFactory(owner=rep, created_at=ny(2026, 1, 7, 9))
    body = {"steps": [{"type": "transition", "at": "2026-01-08T09:00:00Z", "to": "mql"}]}
    response = api_as(rep).post(f"/api/v1/leads/{lead.pk}/history/", body, format="json")
    assert response.status_code == 403


def test_the_timeline_reads_back_every_move_attempt_and_event(
    api_as, office_calendar, agreement, manager, rep, outsider_rep, product
):
    lead = LeadFactory(product=product, created_at=ny(2026, 1, 7, 9))
    client = api_as(manager)
    posted = client.post(f"/api/v1/leads/{lead.pk}/history/", _body(rep), format="json")
    assert posted.status_code == 201
    client.post(
        f"/api/v1/leads/{lead.pk}/events/",
        {"type": "pricing_page_view", "occurred_at": "2026-01-08T10:00:00Z"},
        format="json",
    )
    transitions = client.get(f"/api/v1/leads/{lead.pk}/transitions/?page_size=3").json()
    assert transitions["count"] == 6 and len(transitions["results"]) == 3
    assert [row["to_stage"] for row in transitions["results"]] == ["mql", "sql", "recycled"]
    attempts = client.get(f"/api/v1/leads/{lead.pk}/attempts/").json()
    assert [row["outcome"] for row in attempts["results"]][-1] == "connected"
    events = client.get(f"/api/v1/leads/{lead.pk}/events/").json()
    assert [row["type"] for row in events["results"]] == ["pricing_page_view"]
    # What a person may not see, they may not read the history of either.
    assert api_as(outsider_rep).get(f"/api/v1/leads/{lead.pk}/transitions/").status_code == 404
