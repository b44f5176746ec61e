"""Writes for accounts: notifications to people (the in-app bell, and an email copy).

The bell is the record: a notification is a row written in the transaction of whatever
caused it. Its email copy is a durable reaction (`notification.created` through the
outbox), sent by a worker after commit, so a mail server outage or a killed worker delays
an email and never loses it (email is at-least-once: a worker killed after sending and
before committing sends it again).
"""

import logging
import smtplib
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mass_mail
from django.utils import timezone

from accounts.models import Notification, User
from core import events

logger = logging.getLogger(__name__)

CREATED = "notification.created"


def notifications_create(
    notifications: list[Notification], *, email: bool = True
) -> list[Notification]:
    """Write unsaved notifications in one insert; their email copies follow after commit."""
    if not notifications:
        return []
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
    email: bool = True,
) -> list[Notification]:
    """One in-app notification per user (and an email copy to those with an address).

    `url` is a path inside the app; emails carry it as text.
    """
    return notifications_create(
        [
            Notification(user=user, kind=kind, title=title[:200], body=body, url=url)
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
        .only("title", "body", "url", "user__email")
        .order_by("id")
    )
    messages = [
        (
            notification.title,
            notification.body + (f"\n\n{notification.url}" if notification.url else ""),
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


def notification_emails_react(batch: list[events.Event]) -> None:
    """Outbox handler of `notification.created`: email the batch's notifications."""
    notification_emails_send(notification_ids=[event.payload["notification"] for event in batch])
