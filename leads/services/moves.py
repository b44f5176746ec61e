"""Stage moves, for one lead or thousands at once: the one service that moves leads.

`moves_apply` locks the leads, applies `leads.lifecycle.apply_move` to each requested move
in order (a lead may move several times in one batch: lead → mql → sql), routes the leads
that reached a sales stage without an owner, and records everything with a fixed number
of statements whatever the batch size: the transitions with `COPY`, the leads with one
`UPDATE … FROM unnest`, the routing assignments and owner notifications in one go, and
each domain event published once for the batch (`leads.events`).

Callers that hold the leads already (bulk upsert, rescoring: rows read and locked in their
own transaction, or new leads not inserted yet) use `moves_plan` and `moves_record`
directly. A single transition (`lead_transition`) is a batch of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.models import User
from core import events
from core.bulk import rows_insert, rows_update
from core.errors import DomainError
from leads import events as topics
from leads import lifecycle
from leads.lifecycle import IllegalTransition, LeadState
from leads.models import Lead, QualificationDefinition, StageTransition
from leads.routing import leads_route
from leads.services.assignments import AssignRequest, assignments_plan, assignments_write
from leads.services.entries import previous_stages_fill

# A lead row as the moves read it (attnames), and the columns a move writes.
STATE_FIELDS = (
    "stage",
    "created_at",
    "owner_id",
    "stage_changed_at",
    "handed_off_at",
    "mql_at",
    "sql_at",
    "opportunity_at",
    "customer_at",
    "mql_definition_id",
    "sql_definition_id",
)
ROW_FIELDS = (
    "id",
    *STATE_FIELDS,
    "team_id",
    "product_id",
    "persona_id",
    "country",
    "email",
    "first_name",
    "last_name",
    "amount",
)
MOVE_FIELDS = (
    "stage",
    "stage_changed_at",
    "handed_off_at",
    "mql_at",
    "sql_at",
    "opportunity_at",
    "customer_at",
    "mql_definition_id",
    "sql_definition_id",
    "owner_id",
    "team_id",
    "updated_at",
)
WON_AMOUNT_MISSING = "Give the deal's amount to move the lead to Customer: won revenue counts it."
WON_AMOUNT_NOT_POSITIVE = "The amount of a won deal must be more than 0."


@dataclass(frozen=True)
class MoveRequest:
    """A move asked for lead `lead_id`; `at` None means now.

    `amount` (money, > 0) is the won deal's amount, for a move to `customer` only: a lead
    becomes a customer only with an amount, its own or this one, so won revenue is never
    silently 0."""

    lead_id: int
    to_stage: str
    at: datetime | None = None
    reason: str = ""
    actor_id: int | None = None
    definition_id: int | None = None
    amount: Decimal | None = None


class MoveRefused(DomainError):
    """A move of a batch the lifecycle refuses: `index` is its position in the batch."""

    def __init__(self, message: str, *, index: int, lead_id: int, field: str = "to"):
        super().__init__(message, field=field)
        self.index = index
        self.lead_id = lead_id


@dataclass
class Plan:
    """Moves applied in memory: the leads' rows as they end, and the transitions to write."""

    rows: dict[int, dict]
    transitions: list[dict] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)  # lead ids, first move order
    refused: list[MoveRefused] = field(default_factory=list)
    amounts_set: list[int] = field(default_factory=list)  # lead ids whose amount a move set
    # Leads with transitions stored before the plan (the others' histories are all here).
    with_history: set[int] = field(default_factory=set)


def state_of(row: Mapping) -> LeadState:
    return LeadState(**{name: row[name] for name in STATE_FIELDS}, last_move_at=row["last_move_at"])


def leads_lock(lead_ids: Sequence[int], *, extra: Sequence[str] = ()) -> dict[int, dict]:
    """Lock the leads (in id order, so two batches never deadlock) and read their rows
    (`ROW_FIELDS` and `extra`), each with the instant of its latest transition
    (`last_move_at`). One query."""
    latest = StageTransition.objects.filter(lead_id=OuterRef("pk")).order_by("-at").values("at")[:1]
    rows = (
        Lead.objects.select_for_update(of=("self",))
        .filter(pk__in=set(lead_ids))
        .order_by("pk")
        .annotate(last_move_at=Subquery(latest))
        .values(*dict.fromkeys([*ROW_FIELDS, *extra]), "last_move_at")
    )
    return {row["id"]: row for row in rows}


def _won_amount_problem(row: Mapping, move: MoveRequest) -> tuple[str, str] | None:
    """(field, message) when `move` may not make the lead a customer for want of an amount."""
    if move.amount is not None:
        if move.to_stage != lifecycle.Stage.CUSTOMER:
            return "amount", "An amount goes with a move to Customer only; edit the lead instead."
        return None if move.amount > 0 else ("amount", WON_AMOUNT_NOT_POSITIVE)
    if move.to_stage == lifecycle.Stage.CUSTOMER and not row.get("amount"):
        return "amount", WON_AMOUNT_MISSING
    return None


def moves_plan(
    rows: dict[int, dict], moves: Sequence[MoveRequest], *, now: datetime, refuse: bool = True
) -> Plan:
    """Apply `moves` in order to `rows` (lead rows by id, changed in place).

    A refused move raises `MoveRefused` (`refuse`), or is listed in `plan.refused` and
    skipped. Rows must carry `last_move_at` (None for a lead without transitions) and
    `amount`: a move to `customer` needs the lead's amount or the move's own (which is
    written to the row; `plan.amounts_set` lists those leads).
    """
    plan = Plan(rows=rows)
    seen: set[int] = set()
    for index, move in enumerate(moves):
        row = rows.get(move.lead_id)
        if row is None:
            refusal = MoveRefused("There is no such lead.", index=index, lead_id=move.lead_id)
            if refuse:
                raise refusal
            plan.refused.append(refusal)
            continue
        at = move.at or now
        try:
            state, transition = lifecycle.apply_move(
                state_of(row),
                lifecycle.Move(
                    to_stage=move.to_stage,
                    at=at,
                    reason=move.reason,
                    actor_id=move.actor_id,
                    definition_id=move.definition_id,
                ),
                now=now,
            )
        except IllegalTransition as exc:
            refusal = MoveRefused(str(exc), index=index, lead_id=move.lead_id, field=exc.field)
            if refuse:
                raise refusal from exc
            plan.refused.append(refusal)
            continue
        # A move the lifecycle allows, which may still lack the amount a win needs.
        problem = _won_amount_problem(row, move)
        if problem is not None:
            refusal = MoveRefused(problem[1], index=index, lead_id=move.lead_id, field=problem[0])
            if refuse:
                raise refusal
            plan.refused.append(refusal)
            continue
        if row["last_move_at"] is not None and move.lead_id not in seen:
            plan.with_history.add(move.lead_id)
        for name in STATE_FIELDS:
            row[name] = getattr(state, name)
        row["last_move_at"] = state.last_move_at
        row["updated_at"] = now
        if move.amount is not None:
            row["amount"] = move.amount
            plan.amounts_set.append(move.lead_id)
        plan.transitions.append(
            {
                "lead_id": move.lead_id,
                "from_stage": transition.from_stage,
                "to_stage": transition.to_stage,
                "at": transition.at,
                "actor_id": transition.actor_id,
                "reason": transition.reason,
                "definition_id": transition.definition_id,
                "recorded_at": now,
                "_handed_off": transition.handed_off,
                "_needs_owner": transition.needs_owner,
            }
        )
        if move.lead_id not in seen:
            seen.add(move.lead_id)
            plan.moved.append(move.lead_id)
    return plan


def moves_record(plan: Plan, *, now: datetime, write_leads: bool = True) -> list[dict]:
    """Write a plan: route who needs an owner, insert the transitions, update the leads
    (unless `write_leads` is False: the caller writes their rows itself, e.g. new leads it
    inserts afterwards, amounts the moves set included), record the routing assignments,
    and publish the batch's events.

    Answers the transitions written (dicts with their ids). Runs inside the caller's
    transaction, with the leads locked (or not inserted yet).
    """
    if not plan.transitions:
        return []
    rows = plan.rows
    # A lead's last move of the batch decides whether it waits for an owner.
    last_move: dict[int, dict] = {row["lead_id"]: row for row in plan.transitions}
    waiting = [
        rows[lead_id]
        for lead_id, transition in last_move.items()
        if transition["_needs_owner"] and rows[lead_id]["owner_id"] is None
    ]
    handoffs = [
        {"lead": t["lead_id"], "owner": rows[t["lead_id"]]["owner_id"], "at": t["at"]}
        for t in plan.transitions
        if t["_handed_off"]
    ]
    # Routing assigns at the instant of the move, which hands the lead off then.
    routed = [
        AssignRequest(
            lead_id=lead_id,
            owner_id=route.owner_id,
            team_id=route.team_id,
            rule_id=route.rule_id,
            reason=route.reason,
            at=last_move[lead_id]["at"],
        )
        for lead_id, route in leads_route(waiting).items()
    ]
    assignments, routed_handoffs = assignments_plan(rows, routed, now=now)
    written = [
        {key: value for key, value in row.items() if not key.startswith("_")}
        for row in plan.transitions
    ]
    created = {row["lead_id"]: rows[row["lead_id"]]["created_at"] for row in written}
    previous_stages_fill(written, created, stored=plan.with_history)
    with events.batch():
        rows_insert(StageTransition, written, now=now)
        if write_leads:
            rows_update(Lead, [rows[lead_id] for lead_id in plan.moved], MOVE_FIELDS)
            if plan.amounts_set:
                rows_update(Lead, [rows[lead_id] for lead_id in plan.amounts_set], ["amount"])
        assignments_write(assignments, rows, [], now=now)
        _publish(written, handoffs + routed_handoffs, now=now)
        if plan.amounts_set:
            events.publish(
                topics.CHANGED,
                [{"lead": lead_id, "fields": ["amount"]} for lead_id in plan.amounts_set],
                occurred_at=now,
            )
    return written


def _publish(transitions: list[dict], handoffs: list[dict], *, now: datetime) -> None:
    """One batch per topic (each payload says when its move happened: `at`)."""
    events.publish(
        topics.STAGE_CHANGED,
        [
            {
                "lead": row["lead_id"],
                "transition": row["id"],
                "from": row["from_stage"],
                "to": row["to_stage"],
                "at": row["at"],
                "reason": row["reason"],
                "definition": row["definition_id"],
                "actor": row["actor_id"],
            }
            for row in transitions
        ],
        occurred_at=now,
    )
    events.publish(topics.HANDED_OFF, handoffs, occurred_at=now)


@dataclass
class MovesResult:
    transitions: list[dict]
    refused: list[MoveRefused]


def moves_apply(
    *, moves: Sequence[MoveRequest], now: datetime | None = None, refuse: bool = True
) -> MovesResult:
    """Lock the leads of `moves`, apply the moves in order and record them (atomic).

    With `refuse` (the default) a refused move refuses the whole batch (`MoveRefused`,
    nothing written); otherwise refused moves are skipped and answered in `refused`.
    """
    now = now or timezone.now()
    if not moves:
        return MovesResult([], [])
    with transaction.atomic(), events.batch():
        rows = leads_lock([move.lead_id for move in moves])
        plan = moves_plan(rows, moves, now=now, refuse=refuse)
        written = moves_record(plan, now=now)
    return MovesResult(written, plan.refused)


def lead_transition(
    *,
    lead: Lead | int,
    to_stage: str,
    actor: User | None = None,
    reason: str = "",
    at: datetime | None = None,
    definition: QualificationDefinition | None = None,
    amount: Decimal | None = None,
    now: datetime | None = None,
) -> StageTransition:
    """Move one lead to `to_stage` (a batch of one); answers the recorded transition.

    `at` back-fills the move (not before the lead's last transition). Two concurrent moves
    of one lead are serialised by the row lock: the second sees the first one's stage.
    A move to `customer` needs an amount: the lead's, or `amount` (> 0), which is saved
    on the lead with the move; without either it is refused (`DomainError` on `amount`).
    """
    lead_id = lead if isinstance(lead, int) else lead.pk
    result = moves_apply(
        moves=[
            MoveRequest(
                lead_id=lead_id,
                to_stage=to_stage,
                at=at,
                reason=reason or "",
                actor_id=actor.pk if actor else None,
                definition_id=definition.pk if definition else None,
                amount=amount,
            )
        ],
        now=now,
    )
    values = result.transitions[0]
    return StageTransition(**values)
