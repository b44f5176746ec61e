"""The lead lifecycle: stages, the moves allowed between them, and why a move is refused.

One place for the rule (PRODUCT.md, "Lifecycle stages"); the transition service applies it
inside a transaction. Pure: no Django import, so reports and tests can use it too.
"""

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
    """A move the lifecycle does not allow; the message says why, for a 400 or a form."""


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


def is_forward(from_stage: str, to_stage: str) -> bool:
    """True when the move goes further down the funnel (qualification or progress)."""
    target = forward_rank(to_stage)
    if target is None:
        return False
    source = forward_rank(from_stage)
    return source is None or target > source
