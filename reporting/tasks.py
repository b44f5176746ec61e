"""Celery tasks of the reporting app: thin, taking ids, idempotent, with their retry policy."""

from celery import shared_task
from django.db import OperationalError

from reporting import services


@shared_task(
    name="reporting.tasks.funnel_snapshots_roll_up",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    ignore_result=True,
)
def funnel_snapshots_roll_up(full: bool = False) -> int:
    """Rewrite the snapshot rows of the days that changed (every 15 minutes); re-runnable."""
    return services.funnel_snapshots_roll_up(full=bool(full))


@shared_task(
    name="reporting.tasks.weekly_review_build",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def weekly_review_build() -> int:
    """Build last week's review and email it to both teams, once (Monday 07:00 UTC)."""
    return services.weekly_review_build().pk
