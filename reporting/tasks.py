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
    name="reporting.tasks.webhook_delivery_attempt",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def webhook_delivery_attempt(delivery_id: int) -> str:
    """One HTTP attempt of a delivery. HTTP failures are retried by the delivery's own
    back-off schedule (`webhook_deliveries_retry_due`), not by Celery; only database
    hiccups retry here. A delivered or claimed delivery is left alone, so a duplicate
    message does nothing."""
    from reporting.models import WebhookDelivery

    if not isinstance(delivery_id, int) or isinstance(delivery_id, bool):
        raise ValueError(f"delivery_id must be an integer, not {delivery_id!r}")
    if not WebhookDelivery.objects.filter(pk=delivery_id).exists():
        return "missing"
    return services.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(
    name="reporting.tasks.webhook_deliveries_enqueue",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def webhook_deliveries_enqueue(delivery_ids: list[int]) -> int:
    """Fan a batch of new deliveries out into one attempt task each (see
    `services.ENQUEUE_PIECE`). Re-runnable: an attempt task of a delivery already claimed
    does nothing."""
    if (
        not isinstance(delivery_ids, list)
        or len(delivery_ids) > services.ENQUEUE_PIECE
        or not all(isinstance(pk, int) and not isinstance(pk, bool) for pk in delivery_ids)
    ):
        raise ValueError(
            f"delivery_ids must be a list of at most {services.ENQUEUE_PIECE} integers"
        )
    return services.webhook_deliveries_enqueue(delivery_ids=delivery_ids)


@shared_task(name="reporting.tasks.webhook_deliveries_retry_due", ignore_result=True)
def webhook_deliveries_retry_due() -> int:
    """Enqueue the deliveries whose back-off has elapsed (every minute)."""
    return services.webhook_deliveries_retry_due()


@shared_task(
    name="reporting.tasks.weekly_review_build",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def weekly_review_build() -> int:
    """Build last week's review and email it to both teams, once (Monday 07:00 UTC)."""
    return services.weekly_review_build().pk
