"""SLA clocks: one per hand-off, its state always computed from the facts.

- `clocks_start`: a clock per hand-off (idempotent), with the deadlines of the agreement
  and calendar that cover it; then its state, as for any other clock.
- `clocks_reconcile`: every clock of some leads recomputed from its deadlines, the leads'
  attempts, transitions and assignments (`sla.clock_rules.evaluate`): met, breached (at
  the due instant), exhausted (with the agreement's action, once), closed, and its owner.
  A repeated, late or out-of-order reaction changes nothing twice, and a clock closed late
  is breached the same whether the sweep or the exit came first.
- `clocks_react`: the outbox handler of the leads app's events (hand-offs, moves,
  assignments, attempts), one call per batch.
- `clocks_backfill`: the periodic reconciliation: every lead in a sales stage with an owner
  has the clock of its hand-off.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Role, User
from core import events
from core.bulk import instance_values, rows_insert_new, rows_update
from leads import events as lead_topics
from leads.lifecycle import SALES_STAGES, Stage
from leads.models import ContactAttempt, Lead, RoutingAssignment, StageTransition
from leads.services.moves import MoveRequest, moves_apply
from sla import clock_rules
from sla.models import (
    BusinessCalendar,
    SLAAgreement,
    SLAClock,
    SLARecord,
    TeamCalendar,
    UncoveredHandoff,
)
from sla.services.agreements import agreement_for, coverage_load, terms_of
from sla.services.alerts import alert, clock_rows
from sla.services.calendars import calendar_engine_for

logger = logging.getLogger(__name__)

EXHAUSTED_REASON = "sla_exhausted"


@dataclass(frozen=True)
class HandOff:
    lead_id: int
    owner_id: int
    at: datetime


# -- starting clocks ------------------------------------------------------------------------------


def clocks_start(*, handoffs: Sequence[HandOff], now: datetime | None = None) -> list[int]:
    """Start one clock per hand-off, set-based and idempotent, then compute the leads'
    clocks (a back-filled hand-off may be met, breached or closed already).

    The agreement is the active one covering the lead's product and persona on the
    hand-off day; the calendar is the owner's team's, else the default one. A hand-off no
    agreement or calendar covers starts no clock (logged). Answers the ids of the clocks
    created (a hand-off that had its clock already is not among them).
    """
    now = now or timezone.now()
    if not handoffs:
        return []
    with transaction.atomic():
        created = _clocks_create(handoffs)
        clocks_reconcile(lead_ids={h.lead_id for h in handoffs}, now=now)
    return [row["id"] for row in created if row.get("id")]


def _clocks_create(handoffs: Sequence[HandOff]) -> list[dict]:
    leads = {
        row["id"]: row
        for row in Lead.objects.filter(pk__any=list({h.lead_id for h in handoffs})).values(
            "id", "product_id", "persona_id"
        )
    }
    owner_teams = dict(
        User.objects.filter(pk__in={h.owner_id for h in handoffs}).values_list("id", "team_id")
    )
    team_calendars = {
        row.team_id: row.calendar
        for row in TeamCalendar.objects.filter(
            team_id__in={t for t in owner_teams.values() if t}
        ).select_related("calendar")
    }
    default_calendar = BusinessCalendar.objects.filter(
        is_default=True, superseded_at__isnull=True
    ).first()
    coverage = coverage_load()
    # A batch's hand-offs share a few products, personas, instants and calendars: each
    # agreement choice and each set of deadlines is worked out once per distinct case.
    chosen: dict[tuple, SLAAgreement | None] = {}
    deadlines: dict[tuple, clock_rules.Deadlines] = {}
    clocks = []
    gaps = []
    for handoff in handoffs:
        lead = leads.get(handoff.lead_id)
        if lead is None:
            continue
        case = (lead["product_id"], lead["persona_id"], handoff.at)
        if case not in chosen:
            chosen[case] = agreement_for(coverage, lead, handoff.at)
        agreement = chosen[case]
        calendar = team_calendars.get(owner_teams.get(handoff.owner_id)) or default_calendar
        if agreement is None or calendar is None:
            missing = "agreement" if agreement is None else "calendar"
            logger.warning("No SLA clock for lead %s: no %s covers it.", handoff.lead_id, missing)
            # Kept for the managers to see, not only logged.
            gaps.append(
                {
                    "lead_id": handoff.lead_id,
                    "owner_id": handoff.owner_id,
                    "handoff_at": handoff.at,
                    "missing": missing,
                }
            )
            continue
        timing = (calendar.pk, agreement.pk, handoff.at)
        due = deadlines.get(timing)
        if due is None:
            due = deadlines[timing] = clock_rules.deadlines(
                calendar_engine_for(calendar), handoff.at, terms_of(agreement)
            )
        clocks.append(
            {
                "lead_id": handoff.lead_id,
                "owner_id": handoff.owner_id,
                "agreement_id": agreement.pk,
                "calendar_id": calendar.pk,
                "handoff_at": handoff.at,
                "first_touch_due_at": due.first_touch_due_at,
                "warn_at": due.warn_at,
                "attempt_window_ends_at": due.attempt_window_ends_at,
            }
        )
    if clocks:
        rows_insert_new(SLAClock, clocks, conflict=("lead_id", "handoff_at"))
    if gaps:
        rows_insert_new(UncoveredHandoff, gaps, conflict=("lead_id", "handoff_at"))
    return clocks


# -- computing clocks from the facts ---------------------------------------------------------------

STATE_FIELDS = (
    "owner_id",
    "status",
    "first_touch_at",
    "response_business_seconds",
    "attempts",
    "over_contact",
    "breached_at",
    "exhausted_at",
    "closed_at",
)


@dataclass
class Reconciled:
    changed: list[int] = field(default_factory=list)
    breached: list[int] = field(default_factory=list)
    exhausted: list[int] = field(default_factory=list)


def _managers() -> set[int]:
    """Managers: their attempts count on any lead."""
    return set(
        User.objects.filter(Q(groups__name=Role.MANAGER) | Q(is_superuser=True)).values_list(
            "id", flat=True
        )
    )


def _assignments(lead_ids: set[int]) -> dict[int, list[tuple[datetime, int | None]]]:
    """Each lead's assignments `(at, owner)` in the order they happened."""
    assigned: dict[int, list[tuple[datetime, int | None]]] = defaultdict(list)
    for lead_id, at, owner_id in (
        RoutingAssignment.objects.filter(lead_id__any=list(lead_ids))
        .order_by("lead_id", "at", "id")
        .values_list("lead_id", "at", "owner_id")
    ):
        assigned[lead_id].append((at, owner_id))
    return assigned


def _clock_owner(
    clock: SLAClock,
    assignments: Sequence[tuple[datetime, int | None]],
    closed_at: datetime | None,
) -> int | None:
    """Who holds a clock: the lead's owner at its hand-off, then whoever the lead is given
    to while the clock is open (a reassignment moves it, never resets it); an assignment
    once it closed leaves it with the owner it closed under. Without an assignment on
    record before it closed, the owner it started with."""
    owner = clock.owner_id
    for at, owner_id in assignments:
        if closed_at is not None and at >= closed_at:
            break
        owner = owner_id
    return owner


def clocks_reconcile(*, lead_ids: Iterable[int], now: datetime | None = None) -> Reconciled:
    """Recompute every clock of `lead_ids` from the facts and store what changed.

    Attempts count when made by the clock's owner, a previous owner of the lead, or a
    manager (human sales touches); each attempt belongs to the clock running when it was
    made. A clock that becomes breached gets its breach record and alert, one that becomes
    exhausted its record, alert and the agreement's exhaustion action, each once. A fixed
    number of queries whatever the number of leads.
    """
    now = now or timezone.now()
    lead_ids = set(lead_ids)
    result = Reconciled()
    if not lead_ids:
        return result
    with transaction.atomic():
        clocks = list(
            SLAClock.objects.select_for_update(of=("self",))
            .filter(lead_id__any=list(lead_ids))
            .select_related("agreement", "calendar")
            .order_by("lead_id", "handoff_at")
        )
        if not clocks:
            return result
        lead_ids = {clock.lead_id for clock in clocks}
        earliest = min(clock.handoff_at for clock in clocks)
        moves: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
        for lead_id, at, from_stage, to_stage in (
            StageTransition.objects.filter(lead_id__any=list(lead_ids), at__gte=earliest)
            .order_by("lead_id", "at", "id")
            .values_list("lead_id", "at", "from_stage", "to_stage")
        ):
            moves[lead_id].append((at, from_stage, to_stage))
        # The transition at or before the earliest hand-off says the stage it started in.
        for lead_id, at, from_stage, to_stage in (
            StageTransition.objects.filter(lead_id__any=list(lead_ids), at__lt=earliest)
            .order_by("lead_id", "-at", "-id")
            .distinct("lead_id")
            .values_list("lead_id", "at", "from_stage", "to_stage")
        ):
            moves[lead_id].insert(0, (at, from_stage, to_stage))
        stages = dict(Lead.objects.filter(pk__any=list(lead_ids)).values_list("id", "stage"))
        managers = _managers()
        assignments = _assignments(lead_ids)
        past_owners = {
            lead_id: {owner for _, owner in rows if owner is not None}
            for lead_id, rows in assignments.items()
        }
        attempts: dict[int, list] = defaultdict(list)
        for lead_id, actor_id, occurred_at, outcome in (
            ContactAttempt.objects.filter(lead_id__any=list(lead_ids), occurred_at__gte=earliest)
            .order_by("occurred_at", "id")
            .values_list("lead_id", "actor_id", "occurred_at", "outcome")
        ):
            attempts[lead_id].append((actor_id, clock_rules.Attempt(occurred_at, outcome)))

        following: dict[int, datetime | None] = {}
        for clock, after in zip(clocks, [*clocks[1:], None], strict=True):
            same = after is not None and after.lead_id == clock.lead_id
            following[clock.pk] = after.handoff_at if same else None

        changed, breached, exhausted, unbreached = [], [], [], []
        for clock in clocks:
            allowed = managers | past_owners.get(clock.lead_id, set()) | {clock.owner_id}
            course = clock_rules.course_after(
                clock.handoff_at,
                moves.get(clock.lead_id, []),
                stage_now=stages.get(clock.lead_id, ""),
                next_handoff_at=following[clock.pk],
            )
            state = clock_rules.evaluate(
                handoff_at=clock.handoff_at,
                first_touch_due_at=clock.first_touch_due_at,
                attempt_window_ends_at=clock.attempt_window_ends_at,
                max_attempts=clock.agreement.max_attempts,
                attempts=[a for actor, a in attempts.get(clock.lead_id, []) if actor in allowed],
                course=course,
                now=now,
            )
            response = None
            if state.first_touch_at is not None:
                response = clock_rules.response_seconds(
                    calendar_engine_for(clock.calendar), clock.handoff_at, state.first_touch_at
                )
            before = tuple(getattr(clock, name) for name in STATE_FIELDS)
            was_breached, was_exhausted = clock.status == "breached", clock.exhausted_at
            clock.owner_id = _clock_owner(
                clock, assignments.get(clock.lead_id, []), state.closed_at
            )
            clock.status = state.status
            clock.first_touch_at = state.first_touch_at
            clock.response_business_seconds = response
            clock.attempts = state.attempts
            clock.over_contact = state.over_contact
            clock.breached_at = state.breached_at
            clock.exhausted_at = state.exhausted_at
            clock.closed_at = state.closed_at
            if tuple(getattr(clock, name) for name in STATE_FIELDS) != before:
                changed.append(clock)
            if state.status == "breached" and not was_breached:
                breached.append(clock)
            if was_breached and state.status != "breached":
                unbreached.append(clock.pk)
            if state.exhausted_at is not None and was_exhausted is None:
                exhausted.append((clock, state.exhausted_by))
        if changed:
            rows_update(
                SLAClock,
                [instance_values(clock, ["id", *STATE_FIELDS]) for clock in changed],
                STATE_FIELDS,
            )
        if unbreached:
            # A breach found wrong later (an attempt logged in time reached us late) is
            # taken back; its notification went out and stays in people's bells.
            SLARecord.objects.filter(clock__in=unbreached, kind=SLARecord.Kind.BREACH).delete()
        if breached:
            _record(SLARecord.Kind.BREACH, [(c, c.first_touch_due_at, "") for c in breached])
            alert("breached", clock_rows([c.pk for c in breached]), now)
        if exhausted:
            _exhaust(exhausted, now)
        result.changed = [c.pk for c in changed]
        result.breached = [c.pk for c in breached]
        result.exhausted = [c.pk for c, _ in exhausted]
    return result


def _record(kind: str, rows: list[tuple[SLAClock, datetime, str]]) -> None:
    SLARecord.objects.bulk_create(
        [
            SLARecord(clock_id=clock.pk, kind=kind, at=at, owner_id=clock.owner_id, detail=detail)
            for clock, at, detail in rows
        ],
        ignore_conflicts=True,
    )


def _exhaust(exhausted: list[tuple[SLAClock, str]], now: datetime) -> None:
    """Record exhaustions and run their agreements' action once: hand the leads still in
    sql back to marketing as `recycled` at the instant the allowance ran out."""
    _record(
        SLARecord.Kind.EXHAUSTION,
        [
            (
                clock,
                clock.exhausted_at,
                "attempt window closed" if by == "window" else "attempts used without progress",
            )
            for clock, by in exhausted
        ],
    )
    recycle = [
        MoveRequest(
            lead_id=clock.lead_id,
            to_stage=Stage.RECYCLED,
            at=clock.exhausted_at,
            reason=EXHAUSTED_REASON,
        )
        for clock, _ in exhausted
        if clock.agreement.exhaustion_action == SLAAgreement.ExhaustionAction.RECYCLE
    ]
    if recycle:
        in_sql = set(
            Lead.objects.filter(
                pk__in=[move.lead_id for move in recycle], stage=Stage.SQL
            ).values_list("id", flat=True)
        )
        # A rep may have moved a lead on meanwhile: only leads still in sql go back.
        result = moves_apply(
            moves=[move for move in recycle if move.lead_id in in_sql], now=now, refuse=False
        )
        for refusal in result.refused:
            logger.warning("SLA exhaustion could not recycle lead %s: %s", refusal.lead_id, refusal)
    alert("exhausted", clock_rows([clock.pk for clock, _ in exhausted]), now)


# -- reacting to the leads app ------------------------------------------------------------------

TOPICS = (
    lead_topics.HANDED_OFF,
    lead_topics.STAGE_CHANGED,
    lead_topics.ASSIGNED,
    lead_topics.ATTEMPT_LOGGED,
)


def concerns(topic: str, payload: dict) -> bool:
    """Which events can change a clock: all but the moves that do not leave a sales stage
    (hand-offs come as their own events), such as the thousands of lead → mql moves of a
    bulk upsert."""
    return topic != lead_topics.STAGE_CHANGED or payload["from"] in SALES_STAGES


def _instant(value) -> datetime:
    return value if isinstance(value, datetime) else parse_datetime(value)


def clocks_react(batch: list[events.Event], *, now: datetime | None = None) -> None:
    """The outbox handler of hand-offs, moves, assignments and attempts: start the clocks
    of the hand-offs and recompute the clocks of every lead concerned, once for the whole
    batch (open clocks follow their lead's new owner there, from the assignments' instants:
    a back-filled history gives the owners the same history lived gives)."""
    handoffs: list[HandOff] = []
    concerned: set[int] = set()
    for event in batch:
        payload = event.payload
        lead_id = payload["lead"]
        if event.topic == lead_topics.HANDED_OFF:
            handoffs.append(HandOff(lead_id, payload["owner"], _instant(payload["at"])))
            concerned.add(lead_id)
        elif event.topic == lead_topics.STAGE_CHANGED:
            # Only a move out of a sales stage can change a running clock (hand-offs
            # come as their own events).
            if payload["from"] in SALES_STAGES:
                concerned.add(lead_id)
        else:
            concerned.add(lead_id)
    now = now or timezone.now()
    with transaction.atomic():
        if handoffs:
            _clocks_create(handoffs)
        clocks_reconcile(lead_ids=concerned, now=now)


def clocks_backfill(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Start the clock of every lead in a sales stage with an owner whose hand-off has
    none (a reaction that never ran, an agreement created later, leads loaded without their
    hand-off instant, which is then their first `sql` instant): the periodic
    reconciliation. Answers how many hand-offs it tried."""
    now = now or timezone.now()
    missing = (
        Lead.objects.filter(stage__in=list(SALES_STAGES), owner__isnull=False)
        .annotate(handoff=Coalesce("handed_off_at", "sql_at"))
        .filter(handoff__isnull=False)
        .exclude(
            Exists(SLAClock.objects.filter(lead_id=OuterRef("pk"), handoff_at=OuterRef("handoff")))
        )
        .values_list("id", "owner_id", "handoff")[:limit]
    )
    handoffs = [HandOff(pk, owner, at) for pk, owner, at in missing]
    clocks_start(handoffs=handoffs, now=now)
    return len(handoffs)
