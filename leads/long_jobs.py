"""Long jobs of the leads app (CSV imports, rescoring runs): when one has stalled, sending
the lost ones again, and a person's restart.

A long job works in batches; each committed batch writes the job's progress and its
`heartbeat_at` in one transaction, under the job's row lock, so a batch is applied once
however many tasks run the job. A task works for about `SLICE_SECONDS`, then sends itself
again: no task outlives the broker's visibility timeout (settings: a task unacknowledged for
longer is handed to another worker), and a worker killed mid-batch loses that batch only,
which rolls back.

A job that is queued or running and has shown no sign of life (a batch, its start, its
creation) for `STALL_AFTER` has lost its task: a worker killed as a whole, a broker
outage, a send that never happened. `jobs_resume`, every minute, sends it again; its page
says it stalled, and the people who may run it can restart it (a failed job too), from
where it stopped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from core import durable_jobs
from core.errors import DomainError
from leads.imports import IMPORT_TASK
from leads.models import LeadImport, QualificationDefinition, RescoreRun
from leads.services.definitions import RESCORE_TASK

logger = logging.getLogger(__name__)

SLICE_SECONDS = 20.0
STALL_AFTER = timedelta(minutes=2)
# At most this many jobs of each kind are sent again per resume (the next takes the rest).
RESUME_LIMIT = 100

IMPORT_ACTIVE = (LeadImport.Status.QUEUED, LeadImport.Status.RUNNING)
RUN_ACTIVE = (RescoreRun.Status.PENDING, RescoreRun.Status.RUNNING)


def last_sign_of_life(job: LeadImport | RescoreRun) -> datetime:
    """The job's last committed batch, else its start, else its creation (aware)."""
    return job.heartbeat_at or job.started_at or job.created_at


def _is_active(job: LeadImport | RescoreRun) -> bool:
    active = IMPORT_ACTIVE if isinstance(job, LeadImport) else RUN_ACTIVE
    return job.status in active


def stalled_since(job: LeadImport | RescoreRun, *, now: datetime) -> datetime | None:
    """When a queued or running job last showed a sign of life, if that is `STALL_AFTER`
    or longer before `now`; None for a job that moves, or that is not active."""
    if not _is_active(job):
        return None
    last = last_sign_of_life(job)
    return last if now - last >= STALL_AFTER else None


def _silent_since(cutoff: datetime) -> Q:
    """Rows whose last sign of life is at or before `cutoff` (as `last_sign_of_life`)."""
    return (
        Q(heartbeat_at__lte=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__lte=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True, created_at__lte=cutoff)
    )


def stalled_imports(*, now: datetime) -> QuerySet[LeadImport]:
    return LeadImport.objects.filter(
        _silent_since(now - STALL_AFTER), status__in=IMPORT_ACTIVE
    ).order_by("pk")


def stalled_rescore_runs(*, now: datetime) -> QuerySet[RescoreRun]:
    return RescoreRun.objects.filter(
        _silent_since(now - STALL_AFTER), status__in=RUN_ACTIVE
    ).order_by("pk")


def jobs_resume(*, now: datetime | None = None) -> dict[str, list[int]]:
    """Send every stalled import and rescoring run again (the periodic job); answers their
    ids. Each is claimed by moving its heartbeat to `now` with a conditional update that
    must touch its row: two resumes at once send it once, and a job sent again has
    `STALL_AFTER` to show progress before it is sent once more."""
    now = now or timezone.now()
    cutoff = now - STALL_AFTER
    resent: dict[str, list[int]] = {"imports": [], "rescore_runs": []}
    kinds = (
        ("imports", stalled_imports(now=now), IMPORT_ACTIVE, IMPORT_TASK),
        ("rescore_runs", stalled_rescore_runs(now=now), RUN_ACTIVE, RESCORE_TASK),
    )
    for kind, stalled, active, task in kinds:
        model = stalled.model
        for pk in list(stalled.values_list("pk", flat=True)[:RESUME_LIMIT]):
            with transaction.atomic():
                claimed = model.objects.filter(
                    _silent_since(cutoff), pk=pk, status__in=active
                ).update(heartbeat_at=now)
                if claimed:
                    durable_jobs.send(task, pk)
                    resent[kind].append(pk)
    if resent["imports"] or resent["rescore_runs"]:
        logger.warning("jobs_resume: sent stalled jobs again: %s", resent)
    return resent


def lead_import_restart(
    *, lead_import: LeadImport, actor: User | None, now: datetime | None = None
) -> LeadImport:
    """Send a failed or stalled import again; it goes on after its last committed batch
    (callers check that `actor` may run the import). `DomainError` for an import that is
    done, still being mapped, or moving."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if locked.status == LeadImport.Status.FAILED:
            locked.status = LeadImport.Status.QUEUED
            locked.message = ""
            locked.finished_at = None
        elif locked.status == LeadImport.Status.MAPPING:
            raise DomainError("Choose the column mapping first: this import has not started.")
        elif locked.status == LeadImport.Status.DONE:
            raise DomainError("This import is done; there is nothing to restart.")
        elif stalled_since(locked, now=now) is None:
            raise DomainError(
                "This import is moving (its last batch was less than "
                f"{_minutes(STALL_AFTER)} ago); restart it only once it has stalled."
            )
        locked.heartbeat_at = now
        locked.save(update_fields=["status", "message", "finished_at", "heartbeat_at"])
        durable_jobs.send(IMPORT_TASK, locked.pk)
    logger.info("import %s restarted by %s", locked.pk, actor or "an integration")
    return locked


def rescore_run_restart(
    *, run: RescoreRun, actor: User | None, now: datetime | None = None
) -> RescoreRun:
    """Send a failed or stalled rescoring run again; it goes on from its cursor (callers
    check the manager permission). `DomainError` for a run that is finished or moving, or
    whose version is no longer the active one."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            RescoreRun.objects.select_for_update(of=("self",))
            .select_related("definition")
            .get(pk=run.pk)
        )
        if locked.status in (RescoreRun.Status.FINISHED, RescoreRun.Status.SUPERSEDED):
            raise DomainError(
                f"This rescoring is {locked.get_status_display().lower()}; there is nothing "
                "to restart."
            )
        if locked.definition.status != QualificationDefinition.Status.ACTIVE:
            raise DomainError(
                f"Version {locked.definition.version} is no longer active, so its rescoring "
                "is not restarted: the active version has a run of its own."
            )
        if locked.status == RescoreRun.Status.FAILED:
            locked.status = (
                RescoreRun.Status.RUNNING if locked.started_at else RescoreRun.Status.PENDING
            )
            locked.error = ""
            locked.finished_at = None
        elif stalled_since(locked, now=now) is None:
            raise DomainError(
                "This rescoring is moving (its last batch was less than "
                f"{_minutes(STALL_AFTER)} ago); restart it only once it has stalled."
            )
        locked.heartbeat_at = now
        locked.save(update_fields=["status", "error", "finished_at", "heartbeat_at"])
        durable_jobs.send(RESCORE_TASK, locked.pk)
    logger.info("rescoring run %s restarted by %s", locked.pk, actor or "an integration")
    return locked


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
