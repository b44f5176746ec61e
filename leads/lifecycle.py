"""The lead lifecycle: stages, the moves allowed between them, and what a move does.

One place for the rule (PRODUCT.md, "Lifecycle stages"). `apply_move` takes a lead's state
and a move and answers the new state and the transition to record (or refuses with
`IllegalTransition`, saying why); `assign` does the same for a change of owner. Every path
that moves a lead (the API, the pages, bulk upsert, CSV import, rescoring, the SLA's
exhaustion hand-back, the benchmark data) goes through them, by way of the set-based
service `leads.services.moves`. Pure: no Django import, so reports and tests use it too.

Hand-off: a move that takes a lead from before the sales stages (`lead`, `mql`,
`recycled`) to `sql` or beyond hands it to sales at the move's instant, skips included
(lead → customer, recycled → opportunity). A lead with an owner is handed off then; one
without is routed (a sales stage) and handed off when it gets its owner. A re-open
(lost → opportunity) re-enters the stage it names and is no new hand-off.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class Stage(StrEnum):
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    RECYCLED = "recycled"
    DISQUALIFIED = "disqualified"
    LOST = "lost"


STAGE_LABELS: dict[Stage, str] = {
    Stage.LEAD: "Lead",
    Stage.MQL: "MQL",
    Stage.SQL: "SQL",
    Stage.OPPORTUNITY: "Opportunity",
    Stage.CUSTOMER: "Customer",
    Stage.RECYCLED: "Recycled",
    Stage.DISQUALIFIED: "Disqualified",
    Stage.LOST: "Lost",
}

FORWARD_STAGES: tuple[Stage, ...] = (
    Stage.LEAD,
    Stage.MQL,
    Stage.SQL,
    Stage.OPPORTUNITY,
    Stage.CUSTOMER,
)
# Choices for fields and the API schema: every stage, and the forward funnel only.
STAGE_CHOICES: list[tuple[str, str]] = [(stage.value, STAGE_LABELS[stage]) for stage in Stage]
FORWARD_STAGE_CHOICES: list[tuple[str, str]] = [
    (stage.value, STAGE_LABELS[stage]) for stage in FORWARD_STAGES
]
EXIT_STAGES: tuple[Stage, ...] = (Stage.RECYCLED, Stage.DISQUALIFIED, Stage.LOST)
# Stages in which a lead is with sales: SLA clocks run here.
SALES_STAGES: frozenset[Stage] = frozenset({Stage.SQL, Stage.OPPORTUNITY})
# Stages whose first-reached instant is kept on the lead (`mql_at`, …).
TIMESTAMPED_STAGES: tuple[Stage, ...] = (Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER)
# Moves into these stages must say why.
REASON_REQUIRED: frozenset[Stage] = frozenset(EXIT_STAGES)

_RANK = {stage: rank for rank, stage in enumerate(FORWARD_STAGES)}

# Allowed moves. Forward moves may skip stages (a manual move, e.g. lead → sql for a
# referral); recycled leads may qualify again; lost opportunities may be reopened or nurtured.
ALLOWED_MOVES: dict[Stage, frozenset[Stage]] = {
    Stage.LEAD: frozenset(
        {Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.DISQUALIFIED}
    ),
    Stage.MQL: frozenset(
        {Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.RECYCLED, Stage.DISQUALIFIED}
    ),
    Stage.SQL: frozenset({Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.RECYCLED, Stage.DISQUALIFIED}),
    Stage.OPPORTUNITY: frozenset({Stage.CUSTOMER, Stage.LOST, Stage.RECYCLED}),
    Stage.CUSTOMER: frozenset(),
    Stage.RECYCLED: frozenset(
        {Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.DISQUALIFIED}
    ),
    Stage.DISQUALIFIED: frozenset({Stage.LEAD}),
    Stage.LOST: frozenset({Stage.OPPORTUNITY, Stage.RECYCLED}),
}


class IllegalTransition(ValueError):
    """A move the lifecycle does not allow; the message says why, for a 400 or a form.

    `field` names what is wrong: `to` (the stage or the reason) or `at` (the instant).
    """

    def __init__(self, message: str, *, field: str = "to"):
        super().__init__(message)
        self.field = field


def check_move(from_stage: str, to_stage: str, *, reason: str = "") -> None:
    """Raise `IllegalTransition` unless `from_stage` → `to_stage` is allowed with `reason`."""
    try:
        source, target = Stage(from_stage), Stage(to_stage)
    except ValueError as exc:
        known = ", ".join(stage.value for stage in Stage)
        raise IllegalTransition(f"Unknown stage. Stages are: {known}.") from exc
    if source == target:
        raise IllegalTransition(f"The lead is already in stage “{source}”.")
    if target not in ALLOWED_MOVES[source]:
        allowed = ", ".join(sorted(ALLOWED_MOVES[source])) or "none (it is final)"
        raise IllegalTransition(
            f"A lead cannot move from “{source}” to “{target}”. From “{source}” it can move "
            f"to: {allowed}."
        )
    if target in REASON_REQUIRED and not reason.strip():
        raise IllegalTransition(f"Moving a lead to “{target}” needs a reason.")


def allowed_targets(from_stage: str) -> list[Stage]:
    """The stages a lead in `from_stage` may move to, in funnel order then exits."""
    targets = ALLOWED_MOVES[Stage(from_stage)]
    return [stage for stage in (*FORWARD_STAGES, *EXIT_STAGES) if stage in targets]


def forward_rank(stage: str) -> int | None:
    """Position in the forward funnel (lead = 0 … customer = 4), None for exits."""
    return _RANK.get(Stage(stage))


def stages_reached(to_stage: str) -> tuple[Stage, ...]:
    """Timestamped stages a lead has reached once it enters `to_stage`.

    The funnel is cumulative: a lead moved lead → sql also counts as having been an MQL, so
    entering a forward stage reaches every earlier timestamped stage too.
    """
    rank = forward_rank(to_stage)
    if rank is None:
        return ()
    return tuple(stage for stage in TIMESTAMPED_STAGES if _RANK[stage] <= rank)


def entered_stages(from_stage: str | None, to_stage: str) -> tuple[str, ...]:
    """The stages a move enters, as flow reports count them: its target and the forward
    stages it skipped on the way.

    A `from_stage` of None (creation) sits before `lead`; an exit re-qualified into `mql` or
    `sql` sits at `lead` (the lead is back in marketing's hands), so recycled → sql enters
    `mql` and `sql`; a re-open (lost → opportunity, recycled → opportunity) re-enters its
    target only; a move back (opportunity → sql) enters only its target.
    """
    target = _RANK.get(to_stage)
    if target is None:
        return (to_stage,)
    if from_stage is None:
        source = -1
    elif from_stage in _RANK:
        source = _RANK[from_stage]
    elif target > _RANK[Stage.SQL]:
        return (to_stage,)  # a re-open
    else:
        source = 0  # re-qualified: the exit sits at `lead`
    skipped = FORWARD_STAGES[source + 1 : target]
    return (*(stage.value for stage in skipped), str(to_stage))


def velocity_start_stage(from_stage: str | None, to_stage: str) -> str | None:
    """The stage whose latest entry starts the velocity of the first forward stage this move
    enters: the stage before it in the funnel (lead → mql: `lead`; mql → opportunity, which
    enters `sql` first: `mql`). None when the move enters no forward stage after `lead`.
    Every later stage the move enters is reached from one it entered at the same instant."""
    for stage in entered_stages(from_stage, to_stage):
        rank = _RANK.get(stage)
        if rank:  # a forward stage after `lead`
            return FORWARD_STAGES[rank - 1].value
    return None


def is_forward(from_stage: str, to_stage: str) -> bool:
    """True when the move goes further down the funnel (qualification or progress)."""
    target = forward_rank(to_stage)
    if target is None:
        return False
    source = forward_rank(from_stage)
    return source is None or target > source


# Stages a hand-off starts from: before sales took the lead (or after it gave it back).
BEFORE_SALES: frozenset[Stage] = frozenset({Stage.LEAD, Stage.MQL, Stage.RECYCLED})
# Stages a hand-off move goes to: sql or further down the funnel.
SALES_OR_LATER: frozenset[Stage] = frozenset({Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER})
# Clocks of client machines drift: an instant this far ahead of ours is still "now".
CLOCK_SKEW = timedelta(minutes=2)


def is_handoff(from_stage: str, to_stage: str) -> bool:
    """True when moving `from_stage` → `to_stage` hands the lead to sales."""
    return Stage(from_stage) in BEFORE_SALES and Stage(to_stage) in SALES_OR_LATER


@dataclass(frozen=True)
class LeadState:
    """What the lifecycle reads and writes of a lead (instants are aware datetimes).

    `last_move_at` is the instant of the lead's latest transition: a back-filled move may
    not go before it, so the history keeps its order.
    """

    stage: str
    created_at: datetime
    owner_id: int | None = None
    stage_changed_at: datetime | None = None
    handed_off_at: datetime | None = None
    mql_at: datetime | None = None
    sql_at: datetime | None = None
    opportunity_at: datetime | None = None
    customer_at: datetime | None = None
    mql_definition_id: int | None = None
    sql_definition_id: int | None = None
    last_move_at: datetime | None = None


@dataclass(frozen=True)
class Move:
    """A requested change of stage. `definition_id`: the version that qualified the lead."""

    to_stage: str
    at: datetime
    reason: str = ""
    actor_id: int | None = None
    definition_id: int | None = None


@dataclass(frozen=True)
class Transition:
    """A move as it is recorded (PRODUCT.md's stage transition), and what it started."""

    from_stage: str
    to_stage: str
    at: datetime
    reason: str
    actor_id: int | None
    definition_id: int | None
    # The move handed the lead to sales: `handed_off` when it had an owner, `needs_owner`
    # when it has none and lands in a sales stage (routing gives it one).
    handed_off: bool = False
    needs_owner: bool = False


def check_instant(at: datetime, *, created_at: datetime, now: datetime) -> None:
    """Refuse an instant without offset, in the future, or before the lead existed."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise IllegalTransition("Give a date and time with a time zone offset.", field="at")
    if at > now + CLOCK_SKEW:
        raise IllegalTransition("This cannot be in the future.", field="at")
    if at < created_at:
        raise IllegalTransition("This is before the lead was created.", field="at")


def apply_move(state: LeadState, move: Move, *, now: datetime) -> tuple[LeadState, Transition]:
    """The lead's state after `move`, and the transition to record.

    Raises `IllegalTransition` for a move the lifecycle forbids, a missing reason, an
    instant in the future, before the lead was created, or before its last transition.
    The first time each stage was reached is kept (a back-fill can make it earlier); the
    qualifying version is kept for `mql` and `sql`.
    """
    check_move(state.stage, move.to_stage, reason=move.reason)
    check_instant(move.at, created_at=state.created_at, now=now)
    if state.last_move_at is not None and move.at < state.last_move_at:
        raise IllegalTransition(
            f"The lead's last transition is at {state.last_move_at.isoformat()}; a "
            "back-filled transition cannot be earlier.",
            field="at",
        )
    changes: dict = {
        "stage": Stage(move.to_stage).value,
        "stage_changed_at": move.at,
        "last_move_at": move.at,
    }
    for stage in stages_reached(move.to_stage):
        current = getattr(state, f"{stage}_at")
        if current is None or current > move.at:
            changes[f"{stage}_at"] = move.at
    if move.definition_id is not None and move.to_stage in (Stage.MQL, Stage.SQL):
        changes[f"{move.to_stage}_definition_id"] = move.definition_id
    handed_off = needs_owner = False
    if is_handoff(state.stage, move.to_stage):
        if state.owner_id is not None:
            changes["handed_off_at"] = move.at
            handed_off = True
        else:
            changes["handed_off_at"] = None
            needs_owner = Stage(move.to_stage) in SALES_STAGES
    transition = Transition(
        from_stage=state.stage,
        to_stage=changes["stage"],
        at=move.at,
        reason=move.reason,
        actor_id=move.actor_id,
        definition_id=move.definition_id,
        handed_off=handed_off,
        needs_owner=needs_owner,
    )
    return replace(state, **changes), transition


def assign(state: LeadState, owner_id: int | None, *, at: datetime) -> tuple[LeadState, bool]:
    """The lead's state once `owner_id` owns it (None: unassigned) from `at`, and whether
    that hands it off: a lead in a sales stage that was never handed off in this episode
    (it waited for an owner) is handed off when it first gets one. Reassigning a lead that
    was handed off changes nothing else: its clock is not reset."""
    changes: dict = {"owner_id": owner_id}
    handed_off = (
        owner_id is not None and Stage(state.stage) in SALES_STAGES and state.handed_off_at is None
    )
    if handed_off:
        changes["handed_off_at"] = at
    return replace(state, **changes), handed_off
