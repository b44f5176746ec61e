"""Celery tasks for goals: thin, idempotent, named after the service they call."""

from celery import shared_task

from goals import services


@shared_task(
    name="goals.tasks.goal_progress_measure",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
)
def goal_progress_measure() -> int:
    """Measure every running goal and measured key result from the data (hourly)."""
    return services.goal_progress_measure()
