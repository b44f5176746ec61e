"""Celery tasks of the leads app: thin, taking ids, idempotent."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, OperationalError

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="leads.tasks.definitions_rescore",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=8,
    acks_late=True,
)
def definitions_rescore(self, run_id: int) -> dict:
    """Rescore open leads for a `RescoreRun` in batches. Resumable: each committed batch
    moves the run's cursor, so a retry or a second delivery continues, never repeats."""
    from leads.models import RescoreRun
    from leads.services.definitions import rescore_run_execute, rescore_run_fail

    try:
        run = rescore_run_execute(run_id=run_id)
    except RescoreRun.DoesNotExist:
        logger.warning("definitions_rescore: run %s does not exist", run_id)
        return {"run": run_id, "status": "missing"}
    except SoftTimeLimitExceeded:
        # The batch in flight rolled back; continue in a fresh task from the cursor.
        definitions_rescore.apply_async(args=[run_id], countdown=1)
        return {"run": run_id, "status": "continued"}
    except OperationalError:
        raise
    except DatabaseError as exc:
        rescore_run_fail(run_id=run_id, error=str(exc))
        raise
    return {"run": run.pk, "status": run.status, "processed": run.processed}
