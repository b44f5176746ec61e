"""Writes for accounts: notifications to people (in-app bell plus email)."""

import logging
import smtplib
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail, send_mass_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Notification, User

logger = logging.getLogger(__name__)


def notification_send(
    *,
    users: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    email: bool = True,
) -> list[Notification]:
    """Create one in-app notification per user and, after commit, email those with an address.

    `url` is a path inside the app; emails carry it as text.
    """
    users = [user for user in users if user is not None]
    notifications = Notification.objects.bulk_create(
        [Notification(user=user, kind=kind, title=title, body=body, url=url) for user in users]
    )
    if email:
        recipients = [user.email for user in users if user.email]

        def _send() -> None:
            text = body + (f"\n\n{url}" if url else "")
            for recipient in recipients:
                try:
                    send_mail(title, text, settings.DEFAULT_FROM_EMAIL, [recipient])
                except (OSError, smtplib.SMTPException) as exc:
                    # The in-app notification is the record; a mail outage must not fail it.
                    logger.warning("notification email to %s failed: %s", recipient, exc)

        if recipients:
            transaction.on_commit(_send)
    return notifications


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when `ids` is None)."""
    queryset = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(id__in=list(ids))
    return queryset.update(read_at=timezone.now())


def notification_emails_send(*, notification_ids: Iterable[int]) -> int:
    """Email copies of stored notifications over one mail connection (for batches written
    with `Notification.objects.bulk_create`, e.g. the SLA sweep's digests). Answers how many
    emails went out; a mail outage is logged, the in-app notifications stay the record."""
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
        return 0
