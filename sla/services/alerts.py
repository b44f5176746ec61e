"""Telling people and integrations what happened to clocks: warnings, breaches, exhaustions.

One notification per person per batch (a digest naming its leads when several are
concerned), stamped with the instant of the event, all written in one insert in the batch's
transaction; their emails, and the batch's `sla.*` events, are durable reactions of that
same transaction (`core.events`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, User
from accounts.services import ITEMS_MAX, notification_item, notifications_create
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
# Per kind: the column holding the instant the event happened (None: the sweep's `now`,
# as a warning's record carries).
OCCURRED_COLUMNS = {
    "warning": None,
    "breached": "first_touch_due_at",  # breached at the deadline
    "exhausted": "exhausted_at",
}
_OCCURRED = {
    kind: None if column is None else list(EVENT_FIELDS.values()).index(column)
    for kind, column in OCCURRED_COLUMNS.items()
}


@dataclass
class OwnerDigest:
    """What one owner's notification needs of a batch of their clocks: how many, the
    positions (in the batch's deadline order) and leads of the first `ITEMS_MAX`, the
    first one's first-touch deadline, and the earliest instant an event happened (None:
    the sweep's `now`)."""

    owner_id: int
    count: int
    positions: list[int]
    leads: list[int]
    first_due: datetime
    occurred: datetime | None


def owner_digests(kind: str, rows: Sequence[Sequence]) -> list[OwnerDigest]:
    """Clocks as `EVENT_FIELDS` rows (in deadline order) summed up per owner."""
    occurred_column = _OCCURRED[kind]
    digests: dict[int, OwnerDigest] = {}
    for position, row in enumerate(rows):
        owner_id = row[_OWNER]
        if owner_id is None:
            continue
        occurred = row[occurred_column] if occurred_column is not None else None
        digest = digests.get(owner_id)
        if digest is None:
            digests[owner_id] = OwnerDigest(
                owner_id, 1, [position], [row[_LEAD]], row[_DUE], occurred
            )
            continue
        digest.count += 1
        if len(digest.positions) < ITEMS_MAX:
            digest.positions.append(position)
            digest.leads.append(row[_LEAD])
        if occurred is not None and (digest.occurred is None or occurred < digest.occurred):
            digest.occurred = occurred
    return list(digests.values())


def alert(
    kind: str, rows: Sequence[Sequence], now: datetime, *, publish: bool | None = None
) -> None:
    """Tell the clocks' owners (and their team managers, for breaches and exhaustions)
    about `rows` (clocks as `EVENT_FIELDS` rows, in deadline order), and publish the
    batch's `sla.*` events when someone listens (`publish`: the caller asked already, and
    read whole rows only if so)."""
    if not rows:
        return
    topic = KINDS[kind][0]
    alert_digests(kind, owner_digests(kind, rows), now)
    if publish is None:
        publish = events.has_listeners(topic)
    if publish:
        events.publish(topic, [clock_payload(row) for row in rows], occurred_at=now)


def alert_digests(kind: str, digests: Sequence[OwnerDigest], now: datetime) -> None:
    """One notification per person concerned by a batch (`digests`: its clocks summed up
    per owner, positions in the batch's deadline order): each owner, and for breaches and
    exhaustions their team's manager, about all of their team's clocks in the batch.

    Each notification carries the instant of its event (a digest: its earliest) and names
    its leads (the first `ITEMS_MAX`, in deadline order). A fixed number of queries
    whatever the batch size.
    """
    if not digests:
        return
    _topic, with_manager, title_one, title_many, body = KINDS[kind]
    owners = {
        user.pk: user
        for user in User.objects.filter(pk__in=[digest.owner_id for digest in digests])
        .select_related("team__manager")
        .only(
            *PERSON_FIELDS,
            "team__manager",
            *(f"team__manager__{name}" for name in PERSON_FIELDS),
        )
    }
    # Each person concerned, in the order their first clock comes: [user, owner digests].
    # A manager who owns clocks in their own team is told about each of them once.
    people: dict[int, list] = {}
    for digest in sorted(digests, key=lambda digest: digest.positions[0]):
        owner = owners.get(digest.owner_id)
        if owner is None:
            continue
        told = [owner]
        manager = owner.team.manager if with_manager and owner.team is not None else None
        if manager is not None and manager.pk != owner.pk:
            told.append(manager)
        for user in told:
            people.setdefault(user.pk, [user, []])[1].append(digest)
    merged = []
    for user, parts in people.values():
        first = min(parts, key=lambda part: part.positions[0])
        named = sorted(
            (position, lead)
            for part in parts
            for position, lead in zip(part.positions, part.leads, strict=True)
        )[:ITEMS_MAX]
        occurred = [part.occurred for part in parts if part.occurred is not None]
        merged.append((user, sum(part.count for part in parts), first.first_due, occurred, named))
    labels = _lead_labels({lead for *_, named in merged for _, lead in named})
    notifications = []
    for user, count, first_due, occurred, named in merged:
        lead_id = named[0][1]
        if count == 1 and lead_id in labels:
            title = title_one.format(lead=labels[lead_id])
            url = reverse("leads:detail", args=[lead_id])
        else:
            title, url = title_many.format(n=count), reverse("sla:index")
        due = timezone.localtime(first_due, _zone(user))
        notifications.append(
            Notification(
                user=user,
                kind=f"sla_{kind}",
                title=title[:200],
                body=body.format(due=f"{due:%a %d %b %H:%M} ({user.time_zone})"),
                url=url,
                occurred_at=min(occurred, default=now),
                items=[
                    notification_item(kind="lead", pk=lead, label=labels[lead])
                    for _, lead in named
                    if lead in labels
                ],
            )
        )
    notifications_create(notifications)


def _lead_labels(lead_ids: set[int]) -> dict[int, str]:
    """How each lead reads (`Lead.label`), by id: one query, no model instances (a sweep
    names up to 2,000 leads in its digests)."""
    if not lead_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, first_name, last_name, email FROM {Lead._meta.db_table}"
            " WHERE id = ANY(%s)",
            [sorted(lead_ids)],
        )
        return {pk: Lead.label(first, last, email) for pk, first, last, email in cursor}


def _zone(user: User):
    try:
        return ZoneInfo(user.time_zone or "UTC")
    except (KeyError, ValueError):
        return UTC
