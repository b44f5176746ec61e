"""Celery tasks of the accounts app: thin, taking ids, with their retry policy."""

from celery import shared_task
from django.db import OperationalError

from accounts import services


@shared_task(
    name="accounts.tasks.notification_emails_send",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    ignore_result=True,
)
def notification_emails_send(notification_ids: list[int]) -> int:
    """Email copies of these notifications. Ids that no longer exist are skipped; a
    repeated message emails again (email is at-least-once, the bell is exactly-once)."""
    if not isinstance(notification_ids, list) or not all(
        isinstance(pk, int) and not isinstance(pk, bool) for pk in notification_ids
    ):
        raise ValueError(f"notification_ids must be a list of integers, not {notification_ids!r}")
    return services.notification_emails_send(notification_ids=notification_ids)
