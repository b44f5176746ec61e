"""Days whose cohort snapshot a write made stale, marked in the write's own transaction.

Cohort counts of a day depend only on the leads created that day (how far each got, its
group fields, its amount). A change to such a lead marks its creation day, unless that day
is today or later: snapshots never cover the open day, which reports always compute live.
Reports read a marked day live (`reporting.selectors.funnel_report`), so a back-fill is in
the very next answer; the roll-up rewrites the day and clears the mark.

The mark is an upsert whose `marked_at` is the statement's own clock. The roll-up reads the
committed marks before it recomputes their days and then clears exactly those (same day,
same `marked_at`): a mark made or renewed by a write that commits later stays, so a day is
live until a roll-up has seen every write that marked it.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.days import company_zone, day_start, local_day
from core.subscriptions import Event
from leads import events as lead_topics

TOPICS = (
    lead_topics.CREATED,
    lead_topics.STAGE_CHANGED,
    lead_topics.ASSIGNED,
    lead_topics.CHANGED,
    lead_topics.DELETED,
)


def concerns(topic: str, payload: dict) -> bool:
    """A new lead is created now (today is never in a snapshot): only back-dated ones."""
    if topic in (lead_topics.CREATED, lead_topics.DELETED):
        created = payload.get("created_at")
        if isinstance(created, str):
            created = parse_datetime(created)
        return created is not None and created < day_start(local_day(timezone.now()))
    return True


def days_mark(batch: list[Event]) -> None:
    """Mark the creation days of the leads the events are about (one statement)."""
    today_start = day_start(local_day(timezone.now()))
    lead_ids: set[int] = set()
    days: set[dt.date] = set()
    for event in batch:
        if event.topic == lead_topics.DELETED:
            created = parse_datetime(event.payload["created_at"])
            if created < today_start:
                days.add(local_day(created))
        elif event.payload.get("lead") is not None:
            lead_ids.add(int(event.payload["lead"]))
    if not lead_ids and not days:
        return
    zone = str(company_zone())
    with connection.cursor() as cursor:
        cursor.execute(
            # In day order: two writers marking overlapping days take the rows in the same
            # order, so one waits for the other instead of each holding a day the other
            # needs (a deadlock: two bulk loads of leads over the same months hit it).
            "INSERT INTO reporting_dirtyday (day, marked_at) "
            "SELECT day, clock_timestamp() FROM ("
            "  SELECT (l.created_at AT TIME ZONE %s)::date AS day FROM leads_lead l"
            "  WHERE l.id = ANY(%s) AND l.created_at < %s"
            "  UNION SELECT unnest(%s::date[])"
            ") marked ORDER BY day "
            "ON CONFLICT (day) DO UPDATE SET marked_at = EXCLUDED.marked_at",
            [zone, sorted(lead_ids), today_start, sorted(days)],
        )


def marks_clear(marks: dict[dt.date, dt.datetime]) -> None:
    """Delete the marks read before a roll-up, unless renewed since."""
    if not marks:
        return
    days, instants = zip(*marks.items(), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM reporting_dirtyday d USING unnest(%s::date[], %s::timestamptz[]) "
            "AS read(day, marked_at) WHERE d.day = read.day AND d.marked_at = read.marked_at",
            [list(days), list(instants)],
        )
