"""Telling people and integrations what happened to clocks: warnings, breaches, exhaustions.

One notification per person per batch (a digest when several leads are concerned), all
written in one insert in the batch's transaction; their emails, and the batch's `sla.*`
events, are durable reactions of that same transaction (`core.events`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, User
from accounts.services import notifications_create
from core import events
from leads.models import Lead
from sla import events as topics
from sla.models import SLAClock

# An `sla.*` event describes one clock: payload key → column. The same rows drive the
# owners' digests, so a claimed batch becomes events without a second read.
EVENT_FIELDS = {
    "clock": "id",
    "lead": "lead_id",
    "owner": "owner_id",
    "agreement": "agreement_id",
    "status": "status",
    "handoff_at": "handoff_at",
    "first_touch_due_at": "first_touch_due_at",
    "first_touch_at": "first_touch_at",
    "attempts": "attempts",
    "attempt_window_ends_at": "attempt_window_ends_at",
    "over_contact": "over_contact",
    "exhausted_at": "exhausted_at",
}
# Sent as ISO 8601 text (`datetime.isoformat()` of the UTC instant).
EVENT_TIMESTAMPS = frozenset(
    {"handoff_at", "first_touch_due_at", "first_touch_at", "attempt_window_ends_at", "exhausted_at"}
)
PERSON_FIELDS = ("username", "first_name", "last_name", "email", "time_zone", "team")

KINDS = {
    "warning": (
        topics.WARNING,
        False,
        "First touch due soon: {lead}",
        "First touch due soon on {n} leads",
        "The first-touch deadline is {due}. Log an attempt before then.",
    ),
    "breached": (
        topics.BREACHED,
        True,
        "First-touch SLA breached: {lead}",
        "First-touch SLA breached on {n} leads",
        "The first attempt was due at {due} and had not been logged.",
    ),
    "exhausted": (
        topics.EXHAUSTED,
        True,
        "SLA attempts exhausted: {lead}",
        "SLA attempts exhausted on {n} leads",
        "The agreed attempts or window are used up; the agreement's exhaustion action ran.",
    ),
}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def clock_payload(row: Sequence) -> dict:
    """The event payload of a clock read as a row of `EVENT_FIELDS`' columns."""
    return {
        key: _iso(value) if key in EVENT_TIMESTAMPS else value
        for key, value in zip(EVENT_FIELDS, row, strict=True)
    }


def clock_rows(clock_ids: Sequence[int]) -> list[tuple]:
    """Clocks as rows of `EVENT_FIELDS`' columns, in deadline order (one query)."""
    return list(
        SLAClock.objects.filter(pk__in=list(clock_ids))
        .order_by("first_touch_due_at", "id")
        .values_list(*EVENT_FIELDS.values())
    )


_OWNER = list(EVENT_FIELDS).index("owner")
_LEAD = list(EVENT_FIELDS).index("lead")
_DUE = list(EVENT_FIELDS).index("first_touch_due_at")


def alert(kind: str, rows: Sequence[Sequence], now: datetime) -> None:
    """Tell the clocks' owners (and their team managers, for breaches and exhaustions)
    about `rows` (clocks as `EVENT_FIELDS` rows, in deadline order), and publish the
    batch's `sla.*` events when someone listens.

    A fixed number of queries whatever the batch size, and one pass over the batch: a
    digest needs only each person's count and earliest clock.
    """
    if not rows:
        return
    topic, with_manager, title_one, title_many, body = KINDS[kind]
    # Per owner: position of their earliest clock in `rows`, and how many they own.
    owned: dict[int, list[int]] = {}
    for position, row in enumerate(rows):
        owner_id = row[_OWNER]
        if owner_id is None:
            continue
        if owner_id in owned:
            owned[owner_id][1] += 1
        else:
            owned[owner_id] = [position, 1]
    owners = {
        user.pk: user
        for user in User.objects.filter(pk__in=owned)
        .select_related("team__manager")
        .only(
            *PERSON_FIELDS,
            "team__manager",
            *(f"team__manager__{name}" for name in PERSON_FIELDS),
        )
    }
    # Each person concerned, in the order their first clock comes: [user, earliest, count].
    # A manager who owns clocks in their own team is told about each of them once.
    digests: dict[int, list] = {}
    for owner_id, (first, count) in owned.items():
        owner = owners.get(owner_id)
        if owner is None:
            continue
        people = [owner]
        manager = owner.team.manager if with_manager and owner.team is not None else None
        if manager is not None and manager.pk != owner.pk:
            people.append(manager)
        for user in people:
            digest = digests.get(user.pk)
            if digest is None:
                digests[user.pk] = [user, first, count]
            else:
                digest[1] = min(digest[1], first)
                digest[2] += count
    single = {rows[first][_LEAD] for _, first, count in digests.values() if count == 1}
    leads = Lead.objects.only("first_name", "last_name", "email").in_bulk(single) if single else {}
    notifications = []
    for user, first, count in digests.values():
        lead = leads.get(rows[first][_LEAD]) if count == 1 else None
        if lead is not None:
            title, url = title_one.format(lead=lead), lead.get_absolute_url()
        else:
            title, url = title_many.format(n=count), reverse("sla:index")
        due = timezone.localtime(rows[first][_DUE], _zone(user))
        notifications.append(
            Notification(
                user=user,
                kind=f"sla_{kind}",
                title=title[:200],
                body=body.format(due=f"{due:%a %d %b %H:%M} ({user.time_zone})"),
                url=url,
            )
        )
    notifications_create(notifications)
    if events.has_listeners(topic):
        events.publish(topic, [clock_payload(row) for row in rows], occurred_at=now)


def _zone(user: User):
    try:
        return ZoneInfo(user.time_zone or "UTC")
    except (KeyError, ValueError):
        return UTC
