"""SLA fixtures: the New York office calendar, the seed agreement, and hand-offs through the
real leads services at the instant they happen (the clock travels there, so the reactions
that follow commit see the same "now" as in real life)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads.services import contact_attempt_log, lead_transition
from tests.leads.factories import LeadFactory, ProductFactory
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

NEW_YORK = ZoneInfo("America/New_York")


def ny(*args) -> dt.datetime:
    """An aware New York wall-clock instant: ny(2026, 1, 9, 16) is Friday 16:00 EST."""
    return dt.datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture
def office_calendar(db):
    return BusinessCalendarFactory(name="New York office")


@pytest.fixture
def agreement(db):
    return SLAAgreementFactory(name="Sales and marketing SLA")


@pytest.fixture
def product(db):
    return ProductFactory(name="Analytics", code="analytics")


@pytest.fixture
def hand_off(django_capture_on_commit_callbacks, product):
    """Hand a new lead owned by `owner` off at `at` (lead → sql), signals delivered."""

    def _hand_off(owner, at, **lead_fields):
        lead_fields.setdefault("product", product)
        lead = LeadFactory(owner=owner, created_at=at - dt.timedelta(days=2), **lead_fields)
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            lead_transition(lead=lead, to_stage="sql", at=at, reason="qualified")
        lead.refresh_from_db()
        return lead

    return _hand_off


@pytest.fixture
def log_attempt(django_capture_on_commit_callbacks):
    def _log(lead, actor, at, outcome="no_answer", channel="call"):
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            return contact_attempt_log(
                lead=lead, actor=actor, channel=channel, outcome=outcome, occurred_at=at
            )

    return _log
