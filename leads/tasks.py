"""Celery tasks of the leads app: thin, taking ids, idempotent."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, OperationalError

from core import durable_jobs, jobs

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="leads.tasks.definitions_rescore",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    # Below the broker's visibility timeout: a retry waiting longer would be handed out twice.
    retry_backoff_max=40,
    max_retries=8,
    acks_late=True,
)
def definitions_rescore(self, run_id: int) -> dict:
    """Rescore open leads for a `RescoreRun` in batches, for one slice of time, then send
    itself again. Resumable: each committed batch moves the run's cursor, so a retry or a
    second delivery continues, never repeats."""
    from leads import long_jobs
    from leads.models import RescoreRun
    from leads.services.definitions import RESCORE_TASK, rescore_run_execute, rescore_run_fail

    try:
        run = rescore_run_execute(run_id=run_id, seconds=long_jobs.SLICE_SECONDS)
    except RescoreRun.DoesNotExist:
        logger.warning("definitions_rescore: run %s does not exist", run_id)
        return {"run": run_id, "status": "missing"}
    except SoftTimeLimitExceeded:
        # The batch in flight rolled back; continue in a fresh task from the cursor (if the
        # broker cannot take it now, the periodic resume sends it).
        jobs.send(RESCORE_TASK, run_id)
        return {"run": run_id, "status": "continued"}
    except OperationalError:
        raise
    except DatabaseError as exc:
        rescore_run_fail(run_id=run_id, error=str(exc))
        raise
    if not run.is_done:
        durable_jobs.send(RESCORE_TASK, run.pk)
        return {"run": run.pk, "status": "continued", "processed": run.processed}
    return {"run": run.pk, "status": run.status, "processed": run.processed}


@shared_task(name="leads.tasks.jobs_resume", ignore_result=True, expires=55)
def jobs_resume() -> dict:
    """Every minute: send again the imports and rescoring runs that stalled (their worker
    was killed, the broker lost them). Idempotent: a job sent twice applies each batch once."""
    from leads import long_jobs

    return long_jobs.jobs_resume()
