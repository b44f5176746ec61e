"""Celery task for CSV imports of leads (a thin interface over `leads.imports`)."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, InterfaceError, OperationalError

from core import durable_jobs, jobs
from leads import imports, long_jobs

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


@shared_task(
    name="leads.import_tasks.lead_import_run",
    bind=True,
    acks_late=True,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def lead_import_run(self, lead_import_id) -> None:
    """Run (or resume) a queued import for one slice of time, then send itself again to go
    on. Safe to repeat: committed batches are not redone."""
    try:
        lead_import_id = int(lead_import_id)
    except (TypeError, ValueError):
        logger.error("lead_import_run: %r is not an import id", lead_import_id)
        return
    try:
        result = imports.lead_import_run(
            lead_import_id=lead_import_id, seconds=long_jobs.SLICE_SECONDS
        )
    except SoftTimeLimitExceeded:
        # The batch in flight rolled back; go on in a fresh task after the last committed
        # one (if the broker cannot take it now, the periodic resume sends it).
        jobs.send(imports.IMPORT_TASK, lead_import_id)
        return
    except (OperationalError, InterfaceError) as exc:
        # The database went away or a lock timed out: try again, resuming after the last batch.
        if self.request.retries >= MAX_RETRIES:
            imports.lead_import_fail(
                lead_import_id=lead_import_id,
                message="The database was unavailable; the rows imported so far are kept.",
            )
            raise
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
    except DatabaseError as exc:
        logger.exception("lead_import_run %s failed", lead_import_id)
        imports.lead_import_fail(
            lead_import_id=lead_import_id, message=f"The import stopped: {exc.__class__.__name__}."
        )
        raise
    if result is None:
        logger.warning("lead_import_run: import %s does not exist", lead_import_id)
    elif result.status == result.Status.RUNNING:
        durable_jobs.send(imports.IMPORT_TASK, lead_import_id)  # the next slice
