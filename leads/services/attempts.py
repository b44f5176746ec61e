"""Contact attempts: human sales touches, logged one at a time or as a batch (back-fills)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core import events
from core.bulk import rows_insert
from core.errors import DomainError
from leads import events as topics
from leads import lifecycle
from leads.models import ContactAttempt, Lead


@dataclass(frozen=True)
class AttemptRequest:
    lead_id: int
    actor_id: int | None
    channel: str
    outcome: str
    occurred_at: datetime | None = None
    note: str = ""


def attempt_check(request: AttemptRequest, lead: Mapping, *, now: datetime) -> None:
    """Refuse an attempt with an unknown channel or outcome, or an impossible instant
    (`DomainError` naming the field). Nothing a rep did is refused for being one too many:
    the SLA flags over-contact."""
    if request.channel not in ContactAttempt.Channel.values:
        raise DomainError(f"“{request.channel}” is not a channel.", field="channel")
    if request.outcome not in ContactAttempt.Outcome.values:
        raise DomainError(f"“{request.outcome}” is not an outcome.", field="outcome")
    try:
        lifecycle.check_instant(request.occurred_at or now, created_at=lead["created_at"], now=now)
    except lifecycle.IllegalTransition as exc:
        raise DomainError(str(exc), field="occurred_at") from exc


def attempts_record(requests: Sequence[AttemptRequest], *, now: datetime) -> list[dict]:
    """Insert checked attempts with `COPY` and publish `lead.attempt_logged` for them."""
    rows = [
        {
            "lead_id": request.lead_id,
            "actor_id": request.actor_id,
            "channel": request.channel,
            "outcome": request.outcome,
            "occurred_at": request.occurred_at or now,
            "note": request.note or "",
            "recorded_at": now,
        }
        for request in requests
    ]
    if not rows:
        return rows
    rows_insert(ContactAttempt, rows, now=now)
    events.publish(
        topics.ATTEMPT_LOGGED,
        [
            {
                "attempt": row["id"],
                "lead": row["lead_id"],
                "actor": row["actor_id"],
                "channel": row["channel"],
                "outcome": row["outcome"],
                "occurred_at": row["occurred_at"],
            }
            for row in rows
        ],
        occurred_at=now,
    )
    return rows


def contact_attempt_log(
    *,
    lead: Lead | int,
    actor: User,
    channel: str,
    outcome: str,
    occurred_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> ContactAttempt:
    """Record one human sales touch (a batch of one)."""
    now = now or timezone.now()
    lead_id = lead if isinstance(lead, int) else lead.pk
    request = AttemptRequest(
        lead_id=lead_id,
        actor_id=actor.pk if actor else None,
        channel=channel,
        outcome=outcome,
        occurred_at=occurred_at,
        note=note,
    )
    with transaction.atomic(), events.batch():
        row = Lead.objects.select_for_update().filter(pk=lead_id).values("created_at").first()
        if row is None:
            raise DomainError("There is no such lead.")
        attempt_check(request, row, now=now)
        written = attempts_record([request], now=now)
    return ContactAttempt(**written[0])
