"""Celery tasks of the ground floor: draining the outbox."""

from celery import shared_task

from core import outbox


@shared_task(name=outbox.DRAIN_TASK, ignore_result=True)
def outbox_drain() -> int:
    """Run the reactions that are due (every few seconds, and when a publisher asks)."""
    return outbox.drain().done
