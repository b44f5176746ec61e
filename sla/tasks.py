"""Periodic SLA jobs (scheduled in `CELERY_BEAT_SCHEDULE`): thin calls into the services.

Both are idempotent: running one twice, or two at once, changes nothing twice. A database
hiccup is retried with back-off; a sweep that still fails leaves its work to the next one.
"""

from celery import shared_task
from django.db import OperationalError

from sla import services


@shared_task(
    name="sla.tasks.clocks_sweep",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
    expires=55,
)
def clocks_sweep(batch_size: int = services.SWEEP_BATCH) -> dict:
    """Mark due breaches, warnings and exhaustions; answers how many of each."""
    batch_size = max(1, min(int(batch_size), 5000))
    result = services.clocks_sweep(batch_size=batch_size)
    return {
        "breached": len(result.breached),
        "warned": len(result.warned),
        "exhausted": len(result.exhausted),
        "closed": len(result.closed),
    }


@shared_task(
    name="sla.tasks.clocks_backfill",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
    ignore_result=True,
)
def clocks_backfill() -> int:
    """Start the clocks that a sales-stage lead with an owner is missing (every few
    minutes): the reconciliation behind the durable reactions."""
    return services.clocks_backfill()


@shared_task(
    name="sla.tasks.commitments_check",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    max_retries=3,
)
def commitments_check() -> dict:
    """Raise `commitment.at_risk` for this month's commitments behind pace (once each)."""
    risks = services.commitments_check()
    return {"raised": [risk.pk for risk in risks]}
