"""Giving leads to owners (routing or a person), for one lead or many at once.

`assignments_plan` applies `leads.lifecycle.assign` to lead rows in memory (owner, team,
and the hand-off of a sales-stage lead that waited for an owner); `assignments_write`
records the audit rows with `COPY`, one notification per new owner for the batch, and the
`lead.assigned` / `lead.handed_off` events. `lead_assign` (a person reassigns a lead) is a
batch of one; routing on hand-off goes through the same two functions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, Role, User
from accounts.services import ITEMS_MAX, notification_item, notifications_create
from core import events
from core.bulk import rows_insert, rows_update
from core.errors import DomainError
from leads import events as topics
from leads import lifecycle
from leads.lifecycle import STAGE_LABELS
from leads.models import Lead, RoutingAssignment


@dataclass(frozen=True)
class AssignRequest:
    lead_id: int
    owner_id: int | None
    at: datetime
    reason: str
    team_id: int | None = None
    rule_id: int | None = None
    actor_id: int | None = None


def _state(row: dict) -> lifecycle.LeadState:
    return lifecycle.LeadState(
        stage=row["stage"],
        created_at=row["created_at"],
        owner_id=row["owner_id"],
        handed_off_at=row["handed_off_at"],
    )


def assignments_plan(
    rows: dict[int, dict], requests: Sequence[AssignRequest], *, now: datetime
) -> tuple[list[dict], list[dict]]:
    """Apply `requests` to lead `rows` in memory; answers (assignment rows, hand-offs)."""
    assignments, handoffs = [], []
    for request in requests:
        row = rows[request.lead_id]
        previous = row["owner_id"]
        state, handed_off = lifecycle.assign(_state(row), request.owner_id, at=request.at)
        row["owner_id"] = state.owner_id
        row["handed_off_at"] = state.handed_off_at
        if request.team_id is not None:
            row["team_id"] = request.team_id
        row["updated_at"] = now
        assignments.append(
            {
                "lead_id": request.lead_id,
                "owner_id": request.owner_id,
                "previous_owner_id": previous,
                "team_id": request.team_id,
                "rule_id": request.rule_id,
                "actor_id": request.actor_id,
                "reason": request.reason[:255],
                "at": request.at,
            }
        )
        if handed_off:
            handoffs.append({"lead": request.lead_id, "owner": request.owner_id, "at": request.at})
    return assignments, handoffs


def assignments_write(
    assignments: list[dict], rows: dict[int, dict], handoffs: list[dict], *, now: datetime
) -> None:
    """Record planned assignments: audit rows, owners' notifications, events."""
    if not assignments:
        return
    with events.batch():
        rows_insert(RoutingAssignment, assignments, now=now)
        _notify_owners(assignments, rows)
        events.publish(
            topics.ASSIGNED,
            [
                {
                    "lead": row["lead_id"],
                    "owner": row["owner_id"],
                    "previous_owner": row["previous_owner_id"],
                    "reason": row["reason"],
                    "at": row["at"],
                    "actor": row["actor_id"],
                    "rule": row["rule_id"],
                }
                for row in assignments
            ],
            occurred_at=now,
        )
        events.publish(topics.HANDED_OFF, handoffs, occurred_at=now)


def _lead_label(row: dict) -> str:
    name = f"{row.get('first_name') or ''} {row.get('last_name') or ''}".strip()
    return f"{name} <{row['email']}>" if name else row["email"]


def _notify_owners(assignments: list[dict], rows: dict[int, dict]) -> None:
    """One notification per new owner per batch (a digest naming the leads when they got
    several), at the instant of the (earliest) assignment, unless the owner assigned the
    lead to themselves."""
    by_owner: dict[int, list[dict]] = defaultdict(list)
    for row in assignments:
        if row["owner_id"] is not None and row["owner_id"] != row["actor_id"]:
            by_owner[row["owner_id"]].append(row)
    if not by_owner:
        return
    notifications = []
    for owner_id, owned in by_owner.items():
        if len(owned) == 1:
            lead = rows[owned[0]["lead_id"]]
            title = f"New lead for you: {_lead_label(lead)}"
            body = f"{owned[0]['reason']}. Stage: {STAGE_LABELS[lead['stage']]}."
            url = reverse("leads:detail", args=[lead["id"]])
        else:
            title = f"{len(owned)} new leads for you"
            body = "Assigned to you; see your queue."
            url = reverse("sla:index")
        notifications.append(
            Notification(
                user_id=owner_id,
                kind="lead_assigned",
                title=title[:200],
                body=body,
                url=url,
                occurred_at=min(row["at"] for row in owned),
                items=[
                    notification_item(
                        kind="lead", pk=row["lead_id"], label=_lead_label(rows[row["lead_id"]])
                    )
                    for row in owned[:ITEMS_MAX]
                ],
            )
        )
    notifications_create(notifications)


ROW_FIELDS = (
    "id",
    "stage",
    "created_at",
    "owner_id",
    "handed_off_at",
    "team_id",
    "email",
    "first_name",
    "last_name",
)
ASSIGN_FIELDS = ("owner_id", "team_id", "handed_off_at", "updated_at")


def lead_assign(
    *,
    lead: Lead | int,
    owner: User | None,
    actor: User | None,
    reason: str = "",
    now: datetime | None = None,
) -> RoutingAssignment:
    """A person gives a lead to `owner` (None unassigns), with an audit row and a
    notification. Reassigning does not reset an SLA clock: only the first owner of a
    sales-stage lead hands it off."""
    now = now or timezone.now()
    lead_id = lead if isinstance(lead, int) else lead.pk
    if owner is not None:
        if not owner.is_active:
            raise DomainError(f"{owner} is not an active user.", field="owner")
        if not (owner.has_role(Role.SALES) or owner.has_role(Role.MANAGER)):
            raise DomainError(f"{owner} is not in sales; leads go to sales owners.", field="owner")
    with transaction.atomic(), events.batch():
        row = Lead.objects.select_for_update().filter(pk=lead_id).values(*ROW_FIELDS).first()
        if row is None:
            raise DomainError("There is no such lead.")
        if owner is not None and owner.pk == row["owner_id"]:
            raise DomainError(f"The lead is already assigned to {owner}.", field="owner")
        if not reason:
            reason = f"Assigned by {actor}" if actor else "Assigned"
        rows = {lead_id: row}
        request = AssignRequest(
            lead_id=lead_id,
            owner_id=owner.pk if owner else None,
            team_id=owner.team_id if owner is not None else None,
            actor_id=actor.pk if actor else None,
            reason=reason,
            at=now,
        )
        assignments, handoffs = assignments_plan(rows, [request], now=now)
        rows_update(Lead, [row], ASSIGN_FIELDS)
        assignments_write(assignments, rows, handoffs, now=now)
    return RoutingAssignment.objects.get(pk=assignments[0]["id"])
