"""Two writers marking overlapping report days at once: one waits for the other, neither is
aborted as a deadlock (the marks are taken in day order)."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.subscriptions import Event
from leads import events as lead_topics
from reporting.models import DirtyDay
from reporting.services.dirty import days_mark

pytestmark = pytest.mark.django_db(transaction=True)


def _deleted(days: list[dt.date]) -> list[Event]:
    """Events that mark `days` (a deleted lead created at noon on each)."""
    now = timezone.now()
    return [
        Event(
            lead_topics.DELETED,
            {"lead": None, "created_at": f"{day.isoformat()}T12:00:00+00:00"},
            now,
        )
        for day in days
    ]


def test_overlapping_marks_wait_instead_of_deadlocking():
    first = timezone.now().date() - dt.timedelta(days=120)
    span = [first + dt.timedelta(days=n) for n in range(60)]
    holding = threading.Event()
    outcome: dict = {}

    def other_writer():
        try:
            holding.wait(10)
            with transaction.atomic():
                days_mark(_deleted(list(reversed(span))))  # every day, the first one held
            outcome["other"] = "committed"
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            outcome["other"] = repr(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=other_writer)
    thread.start()
    with transaction.atomic():
        days_mark(_deleted([span[0]]))
        holding.set()
        # Let the other writer reach the day this one holds and wait for it there.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(1.5)")
        days_mark(_deleted([span[-1]]))  # a day the other writer also marks
    thread.join(30)
    assert outcome == {"other": "committed"}
    assert set(DirtyDay.objects.values_list("day", flat=True)) == set(span)
