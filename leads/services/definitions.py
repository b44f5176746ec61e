"""Qualification definition versions: drafts, activation, and bulk rescoring of open leads."""

import logging
import time
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import notification_item, notification_send
from core import durable_jobs, events
from core.errors import DomainError
from leads import scoring
from leads.lifecycle import Stage
from leads.models import Lead, QualificationDefinition, RescoreRun
from leads.qualification import (
    OPEN_STAGES,
    SCORED_FIELDS,
    Names,
    active_definitions,
    events_by_lead,
)
from leads.services.moves import leads_lock
from leads.services.qualify import leads_qualify

logger = logging.getLogger(__name__)

RESCORE_BATCH_SIZE = 2000
REVIEW_COMMENT_MAX = 2000
RESCORE_TASK = "leads.tasks.definitions_rescore"
Status = QualificationDefinition.Status


def _clean_rules(stage: str, rules: object) -> dict:
    """Validate rules with `leads.scoring` and return their canonical JSON."""
    if isinstance(rules, dict) and "stage" not in rules:
        rules = {**rules, "stage": stage}
    errors = scoring.validate_definition(rules)
    if errors:
        raise _rules_error(errors)
    if rules["stage"] != stage:
        raise DomainError(
            f"These rules are for “{rules['stage']}”, the definition for “{stage}”.",
            field="rules",
        )
    return scoring.Definition.from_dict(rules).to_dict()


def _rules_error(errors: dict[str, list[str]]) -> DomainError:
    summary = "; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items())
    return DomainError(f"The rules are not a valid definition. {summary}", field="rules")


def definition_create(
    *, stage: str, name: str, rules: dict, description: str = "", actor: User | None
) -> QualificationDefinition:
    """A new draft version of the `stage` definition (version = last + 1)."""
    if stage not in (Stage.MQL, Stage.SQL):
        raise DomainError("A definition is for “mql” or “sql”.", field="stage")
    if not isinstance(name, str) or not name.strip():
        raise DomainError("Give the version a name.", field="name")
    rules = _clean_rules(stage, rules)
    for attempt in range(2):
        try:
            with transaction.atomic():
                # Locks the stage's latest row: two drafts created at once get two versions.
                latest = (
                    QualificationDefinition.objects.select_for_update()
                    .filter(stage=stage)
                    .order_by("-version")
                    .first()
                )
                return QualificationDefinition.objects.create(
                    stage=stage,
                    version=(latest.version if latest else 0) + 1,
                    name=name.strip(),
                    description=description or "",
                    rules=rules,
                    created_by=actor,
                )
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def definition_update(
    *,
    definition: QualificationDefinition,
    name: str | None = None,
    description: str | None = None,
    rules: dict | None = None,
) -> QualificationDefinition:
    """Edit a draft. A version that is or was active is never edited."""
    with transaction.atomic():
        locked = QualificationDefinition.objects.select_for_update().get(pk=definition.pk)
        if locked.status != Status.DRAFT:
            raise DomainError(
                f"Version {locked.version} is {locked.get_status_display().lower()} and cannot "
                "be edited: create a new version."
            )
        if name is not None:
            if not name.strip():
                raise DomainError("Give the version a name.", field="name")
            locked.name = name.strip()
        if description is not None:
            locked.description = description
        if rules is not None:
            locked.rules = _clean_rules(locked.stage, rules)
        locked.save(update_fields=["name", "description", "rules"])
    return locked


def definition_activate(
    *, definition: QualificationDefinition, actor: User | None, now: datetime | None = None
) -> RescoreRun:
    """Make a draft the active version of its stage (callers check the manager permission).

    Retires the previous active version, sets `effective_at`, and rescores open leads in
    bulk after commit (`leads.tasks.definitions_rescore`). Returns the run to follow.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            QualificationDefinition.objects.select_for_update()
            .filter(stage=definition.stage)
            .order_by("id")
        )
        locked = next(row for row in rows if row.pk == definition.pk)
        if locked.status == Status.ACTIVE:
            raise DomainError(f"Version {locked.version} is already active.")
        if locked.status == Status.RETIRED:
            raise DomainError(
                f"Version {locked.version} is retired; to use its rules again, create a new "
                "version from them."
            )
        for row in rows:
            if row.status == Status.ACTIVE:
                row.status = Status.RETIRED
                row.retired_at = now
                row.save(update_fields=["status", "retired_at"])
        locked.status = Status.ACTIVE
        locked.effective_at = now
        locked.activated_at = now
        locked.activated_by = actor
        locked.reviewed_by = actor
        locked.reviewed_at = now
        locked.save(
            update_fields=[
                "status",
                "effective_at",
                "activated_at",
                "activated_by",
                "reviewed_by",
                "reviewed_at",
            ]
        )
        _notify_author(
            locked,
            actor,
            kind="definition_approved",
            title=f"{locked} was approved and is active",
            body="Open leads are being rescored with it.",
            now=now,
        )
        RescoreRun.objects.filter(
            definition__stage=locked.stage,
            status__in=[RescoreRun.Status.PENDING, RescoreRun.Status.RUNNING],
        ).update(status=RescoreRun.Status.SUPERSEDED, finished_at=now)
        run = RescoreRun.objects.create(
            definition=locked,
            total=Lead.objects.filter(stage__in=OPEN_STAGES).count(),
            requested_by=actor,
        )
        # Durable: with the broker down the run stays pending and is sent once it is back.
        durable_jobs.send(RESCORE_TASK, run.pk)
    definition.refresh_from_db()
    return run


def definition_submit(
    *, definition: QualificationDefinition, actor: User | None, now: datetime | None = None
) -> QualificationDefinition:
    """Submit a draft for a manager's approval; the managers are notified.

    A submitted version is no longer edited: the manager approves what was submitted. It
    returns to draft when sent back."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = QualificationDefinition.objects.select_for_update().get(pk=definition.pk)
        if locked.status != Status.DRAFT:
            raise DomainError(
                f"Version {locked.version} is {locked.get_status_display().lower()}; only a "
                "draft is submitted for approval."
            )
        locked.status = Status.SUBMITTED
        locked.submitted_by = actor
        locked.submitted_at = now
        locked.save(update_fields=["status", "submitted_by", "submitted_at"])
        managers = User.objects.filter(groups__name=Role.MANAGER, is_active=True).distinct()
        notification_send(
            users=[user for user in managers if actor is None or user.pk != actor.pk],
            kind="definition_submitted",
            title=f"{locked} waits for your approval",
            body=f"Submitted by {actor or 'an integration'}.",
            url=_definition_url(locked),
            occurred_at=now,
            items=[notification_item(kind="definition", pk=locked.pk, label=str(locked))],
        )
    definition.refresh_from_db()
    return definition


def definition_send_back(
    *,
    definition: QualificationDefinition,
    actor: User | None,
    comment: str,
    now: datetime | None = None,
) -> QualificationDefinition:
    """Return a submitted version to draft with the reviewer's comment (callers check the
    manager permission); whoever submitted it is notified."""
    now = now or timezone.now()
    comment = (comment or "").strip() if isinstance(comment, str) else ""
    if not comment:
        raise DomainError("Say what should change before sending it back.", field="comment")
    if len(comment) > REVIEW_COMMENT_MAX:
        raise DomainError(
            f"Keep the comment under {REVIEW_COMMENT_MAX} characters.", field="comment"
        )
    with transaction.atomic():
        locked = QualificationDefinition.objects.select_for_update().get(pk=definition.pk)
        if locked.status != Status.SUBMITTED:
            raise DomainError(
                f"Version {locked.version} is {locked.get_status_display().lower()}; only a "
                "submitted version is sent back."
            )
        locked.status = Status.DRAFT
        locked.reviewed_by = actor
        locked.reviewed_at = now
        locked.review_comment = comment
        locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment"])
        _notify_author(
            locked,
            actor,
            kind="definition_sent_back",
            title=f"{locked} was sent back",
            body=comment,
            now=now,
        )
    definition.refresh_from_db()
    return definition


def _definition_url(definition: QualificationDefinition) -> str:
    from django.urls import reverse

    return reverse("leads:definition_detail", args=[definition.pk])


def _notify_author(
    definition: QualificationDefinition,
    actor: User | None,
    *,
    kind: str,
    title: str,
    body: str,
    now: datetime,
) -> None:
    """Tell whoever submitted (else created) the version, unless they did it themselves."""
    author_id = definition.submitted_by_id or definition.created_by_id
    if author_id is None or (actor is not None and actor.pk == author_id):
        return
    notification_send(
        users=User.objects.filter(pk=author_id, is_active=True),
        kind=kind,
        title=title,
        body=body,
        url=_definition_url(definition),
        occurred_at=now,
        items=[notification_item(kind="definition", pk=definition.pk, label=str(definition))],
    )


def rescore_run_batch(*, run_id: int, batch_size: int = RESCORE_BATCH_SIZE) -> RescoreRun:
    """Rescore the next batch of open leads of a run; returns the run as committed.

    One transaction per batch: the run row is locked, the batch is the open leads after the
    run's cursor in primary-key order (locked too), and the cursor and the heartbeat move
    with the batch's results, so a batch is applied exactly once even with retries or two
    workers. The number of queries per batch does not depend on the batch size.
    """
    now = timezone.now()
    with transaction.atomic(), events.batch():
        run = RescoreRun.objects.select_for_update().select_related("definition").get(pk=run_id)
        if run.is_done:
            return run
        if run.definition.status != Status.ACTIVE:
            run.status = RescoreRun.Status.SUPERSEDED
            run.finished_at = now
            run.save(update_fields=["status", "finished_at"])
            return run
        if run.status == RescoreRun.Status.PENDING:
            run.status = RescoreRun.Status.RUNNING
            run.started_at = now
        batch = list(
            Lead.objects.filter(stage__in=OPEN_STAGES, pk__gt=run.cursor)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        rows = leads_lock(batch, extra=SCORED_FIELDS)
        # A lead that left the open stages meanwhile is not rescored.
        rows = {pk: row for pk, row in rows.items() if row["stage"] in OPEN_STAGES}
        if not batch:
            run.status = RescoreRun.Status.FINISHED
            run.finished_at = now
            run.total = max(run.total, run.processed)
        else:
            definitions = active_definitions()
            found = events_by_lead(list(rows), definitions, now)
            scored = leads_qualify(
                rows=rows, now=now, definitions=definitions, names=Names.load(), events=found
            )
            run.cursor = batch[-1]
            run.processed += len(batch)
            run.qualified += len(scored.qualified_ids)
        run.heartbeat_at = now
        run.save()
    return run


def rescore_run_execute(
    *, run_id: int, batch_size: int = RESCORE_BATCH_SIZE, seconds: float | None = None
) -> RescoreRun:
    """Run batches until the run is done (resumes from the cursor when re-run). With
    `seconds`, stops after the first batch that ends later than that and answers the run
    still running: the caller sends the task again to go on."""
    began = time.monotonic()
    while True:
        run = rescore_run_batch(run_id=run_id, batch_size=batch_size)
        if run.is_done or (seconds is not None and time.monotonic() - began >= seconds):
            return run


def rescore_run_fail(*, run_id: int, error: str) -> None:
    RescoreRun.objects.filter(pk=run_id).exclude(
        status__in=[RescoreRun.Status.FINISHED, RescoreRun.Status.SUPERSEDED]
    ).update(status=RescoreRun.Status.FAILED, error=error[:2000], finished_at=timezone.now())


def definition_next_version(stage: str) -> int:
    latest = QualificationDefinition.objects.filter(stage=stage).aggregate(v=Max("version"))["v"]
    return (latest or 0) + 1
