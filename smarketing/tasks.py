"""Project-level tasks: the heartbeat that shows beat and a worker are alive."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "smarketing:worker-heartbeat"


@shared_task(name="smarketing.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Record the instant a worker last ran a beat-scheduled task."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)


@shared_task(name="smarketing.tasks.ping")
def ping(token: str) -> dict:
    """Round trip through broker, worker and database: answers the token and the user count."""
    from django.contrib.auth import get_user_model

    return {"token": token, "users": get_user_model().objects.count()}
