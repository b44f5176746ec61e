"""Writes for accounts: notifications to people (the in-app bell, and an email copy).

The bell is the record: a notification is a row written in the transaction of whatever
caused it. Its email copy is a durable reaction (`notification.created` through the
outbox), sent by a worker after commit, so a mail server outage or a killed worker delays
an email and never loses it (email is at-least-once: a worker killed after sending and
before committing sends it again).
"""

import logging
import smtplib
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mass_mail
from django.utils import timezone

from accounts.models import Notification, User
from core import events

logger = logging.getLogger(__name__)

CREATED = "notification.created"


# Objects a notification names at most (a digest of more says how many in its title).
ITEMS_MAX = 50


def notification_item(*, kind: str, pk: int, label: str) -> dict:
    """One object a notification names, as stored in `Notification.items`: `kind` is the
    object's type ("lead"), `pk` its id, `label` how it reads."""
    return {"type": kind, "id": pk, "label": str(label)[:200]}


def notifications_create(
    notifications: list[Notification], *, email: bool = True
) -> list[Notification]:
    """Write unsaved notifications in one insert; their email copies follow after commit.

    Callers set `occurred_at` to the instant of the event and `items` to the objects
    named; a notification without `occurred_at` is taken to be about the moment it is
    written."""
    if not notifications:
        return []
    now = timezone.now()
    for notification in notifications:
        if notification.occurred_at is None:
            notification.occurred_at = now
        notification.items = list(notification.items or ())[:ITEMS_MAX]
    Notification.objects.bulk_create(notifications)
    if email:
        events.publish(CREATED, [{"notification": row.pk} for row in notifications])
    return notifications


def notification_send(
    *,
    users: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    occurred_at: datetime | None = None,
    items: Sequence[dict] = (),
    email: bool = True,
) -> list[Notification]:
    """One in-app notification per user (and an email copy to those with an address).

    `url` is a path inside the app; emails carry it as text. `occurred_at` is when the
    event happened (aware; default: now), `items` the objects it names
    (`notification_item`).
    """
    return notifications_create(
        [
            Notification(
                user=user,
                kind=kind,
                title=title[:200],
                body=body,
                url=url,
                occurred_at=occurred_at,
                items=list(items),
            )
            for user in users
            if user is not None
        ],
        email=email,
    )


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when `ids` is None)."""
    queryset = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(id__in=list(ids))
    return queryset.update(read_at=timezone.now())


def notification_emails_send(*, notification_ids: Iterable[int]) -> int:
    """Email copies of stored notifications over one mail connection. Answers how many
    emails went out. A mail outage raises, so the outbox tries again later."""
    notifications = (
        Notification.objects.filter(pk__in=list(notification_ids))
        .select_related("user")
        .only("title", "body", "url", "items", "user__email")
        .order_by("id")
    )
    messages = [
        (
            notification.title,
            notification_email_body(notification),
            settings.DEFAULT_FROM_EMAIL,
            [notification.user.email],
        )
        for notification in notifications
        if notification.user.email
    ]
    if not messages:
        return 0
    try:
        return send_mass_mail(messages)
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("notification emails (%s) failed: %s", len(messages), exc)
        raise


def notification_email_body(notification: Notification) -> str:
    """The email text: the body, then one line per object named (with its page), then the
    notification's own link. Plain text, so names are not HTML-escaped."""
    parts = [notification.body] if notification.body else []
    lines = [
        f"- {item['label']}" + (f": {item['url']}" if item["url"] else "")
        for item in notification.linked_items()
    ]
    if lines:
        parts.append("\n".join(lines))
    if notification.url:
        parts.append(notification.url)
    return "\n\n".join(parts)


def notification_emails_react(batch: list[events.Event]) -> None:
    """Outbox handler of `notification.created`: email the batch's notifications."""
    notification_emails_send(notification_ids=[event.payload["notification"] for event in batch])


def api_token_issue(*, user: User) -> str:
    """A new API token for `user` (the old one, if any, stops working). Answers the key,
    shown once."""
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user).key


def api_token_revoke(*, user: User) -> bool:
    from rest_framework.authtoken.models import Token

    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)
