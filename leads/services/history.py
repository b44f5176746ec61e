"""A lead's history written in one go: ordered moves, assignments and attempts, one
transaction, the reactions evaluated once at the end.

An integrator back-filling what happened in another system sends the steps of a lead in the
order they happened. Each step goes through the same service as a live one (the lifecycle's
checks, routing, the attempt checks); their events are gathered into one batch, so the SLA
evaluates the lead's clocks once, from the whole history, after the commit: a hand-off whose
window closed long ago is judged on the attempts that follow it in the same history, not
exhausted between two calls. A refused step refuses the whole history (nothing is saved)
and the answer names the step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from core import events
from core.errors import DomainError
from leads.models import Lead
from leads.services.assignments import lead_assign
from leads.services.attempts import contact_attempt_log
from leads.services.moves import lead_transition

MAX_HISTORY_STEPS = 500


@dataclass(frozen=True)
class HistoryResult:
    transitions: list[int]
    attempts: list[int]
    assignments: list[int]


def _step_error(index: int, exc: Exception) -> DomainError:
    field = getattr(exc, "field", None)
    message = getattr(exc, "message", None) or str(exc)
    path = f"steps.{index}.{field}" if field else f"steps.{index}"
    return DomainError(f"Step {index}: {message}", field=path)


def _actor(user_id: int | None, fallback: User | None, lead: Lead) -> User | None:
    """Who made an attempt: the user named, else the lead's owner at that step, else the
    caller."""
    if user_id is None:
        return lead.owner or fallback
    actor = User.objects.filter(pk=user_id, is_active=True).first()
    if actor is None or not (actor.has_role(Role.SALES) or actor.has_role(Role.MANAGER)):
        raise DomainError("Attempts are made by active sales users or managers.", field="actor")
    return actor


def lead_history_apply(
    *,
    lead: Lead | int,
    steps: Sequence[Mapping],
    actor: User | None,
    now: datetime | None = None,
) -> HistoryResult:
    """Apply `steps` (validated: each has `type` transition / assign / attempt and `at`, in
    non-decreasing order) to the lead, all or nothing."""
    now = now or timezone.now()
    lead_id = lead if isinstance(lead, int) else lead.pk
    if not steps:
        raise DomainError("Send at least one step.", field="steps")
    if len(steps) > MAX_HISTORY_STEPS:
        raise DomainError(f"Send at most {MAX_HISTORY_STEPS} steps.", field="steps")
    for index, step in enumerate(steps):
        if step["at"] > now:
            raise DomainError(
                f"Step {index}: {step['at'].isoformat()} is in the future.",
                field=f"steps.{index}.at",
            )
        if index and step["at"] < steps[index - 1]["at"]:
            raise DomainError(
                f"Step {index}: steps must be in the order they happened "
                f"({steps[index]['at'].isoformat()} is before the step above it).",
                field=f"steps.{index}.at",
            )
    transitions: list[int] = []
    attempts: list[int] = []
    assignments: list[int] = []
    with transaction.atomic(), events.batch():
        if not Lead.objects.select_for_update().filter(pk=lead_id).exists():
            raise DomainError("There is no such lead.")
        for index, step in enumerate(steps):
            try:
                if step["type"] == "transition":
                    transitions.append(
                        lead_transition(
                            lead=lead_id,
                            to_stage=step["to"],
                            actor=actor,
                            reason=step.get("reason") or "",
                            at=step["at"],
                            amount=step.get("amount"),
                            now=now,
                        ).pk
                    )
                elif step["type"] == "assign":
                    owner = step.get("owner")
                    assignments.append(
                        lead_assign(
                            lead=lead_id,
                            owner=owner,
                            actor=actor,
                            reason=step.get("reason") or "",
                            now=step["at"],
                        ).pk
                    )
                else:
                    current = Lead.objects.select_related("owner").get(pk=lead_id)
                    attempts.append(
                        contact_attempt_log(
                            lead=lead_id,
                            actor=_actor(step.get("actor"), actor, current),
                            channel=step["channel"],
                            outcome=step["outcome"],
                            occurred_at=step["at"],
                            note=step.get("note") or "",
                            now=now,
                        ).pk
                    )
            except DomainError as exc:
                raise _step_error(index, exc) from exc
    return HistoryResult(transitions=transitions, attempts=attempts, assignments=assignments)
