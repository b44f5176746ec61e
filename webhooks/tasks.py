"""Celery tasks of webhooks: thin, taking ids, idempotent, with their retry policy."""

from celery import shared_task
from django.db import OperationalError

from webhooks import services
from webhooks.models import WebhookDelivery


def _ids(value, *, most: int) -> list[int]:
    if (
        not isinstance(value, list)
        or len(value) > most
        or not all(isinstance(pk, int) and not isinstance(pk, bool) for pk in value)
    ):
        raise ValueError(f"delivery_ids must be a list of at most {most} integers")
    return value


@shared_task(
    name=services.ATTEMPT_TASK,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def webhook_delivery_attempt(delivery_id: int) -> str:
    """One HTTP attempt of a delivery. HTTP failures are retried by the delivery's own
    back-off schedule (`webhook_deliveries_resume`), not by Celery; only database hiccups
    retry here. A delivered or claimed delivery is left alone, so a duplicate message does
    nothing."""
    if not isinstance(delivery_id, int) or isinstance(delivery_id, bool):
        raise ValueError(f"delivery_id must be an integer, not {delivery_id!r}")
    if not WebhookDelivery.objects.filter(pk=delivery_id).exists():
        return "missing"
    return services.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(
    name=services.ENQUEUE_TASK,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def webhook_deliveries_enqueue(delivery_ids: list[int]) -> int:
    """Fan a batch of new deliveries out into one attempt task each. Re-runnable: an
    attempt task of a delivery already claimed does nothing."""
    return services.deliveries_enqueue(delivery_ids=_ids(delivery_ids, most=services.ENQUEUE_PIECE))


@shared_task(name="webhooks.tasks.webhook_deliveries_resume", ignore_result=True)
def webhook_deliveries_resume() -> dict:
    """Every minute: due retries, lost first attempts and expired claims (see the service)."""
    return services.deliveries_resume()
