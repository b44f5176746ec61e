"""Scoring and qualification: store scores, and the moves the definitions call for.

Works on lead rows (dicts by attname, as read with `.values()` or built for new leads),
so a batch of thousands is scored without building model instances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.bulk import rows_update
from leads.models import Lead
from leads.qualification import (
    SCORE_FIELDS,
    ActiveDefinitions,
    Names,
    active_definitions,
    assess,
    events_by_lead,
)
from leads.services.moves import MOVE_FIELDS, MoveRequest, moves_plan, moves_record


@dataclass
class Scored:
    """The outcome of `leads_score` for a batch."""

    rescored: list[int] = field(default_factory=list)  # ids whose score or explanation changed
    moves: list[MoveRequest] = field(default_factory=list)

    @property
    def qualified_ids(self) -> set[int]:
        return {move.lead_id for move in self.moves}


def leads_score(
    *,
    rows: list[dict],
    now: datetime,
    definitions: ActiveDefinitions | None = None,
    names: Names | None = None,
    events: dict[int, list[dict]] | None = None,
    actor_id: int | None = None,
) -> Scored:
    """Score lead `rows` in memory (their score fields are set; nothing is saved) and list
    the qualification moves, each with the version that qualifies it.

    `events` maps lead id to event dicts; None loads them in one query (new leads have
    none). Rows must have their ids (reserved for new leads).
    """
    definitions = definitions if definitions is not None else active_definitions()
    scored = Scored()
    if not definitions.any or not rows:
        return scored
    names = names if names is not None else Names.load()
    if events is None:
        events = events_by_lead([row["id"] for row in rows], definitions, now)
    explained: dict = {}
    for row in rows:
        assessment = assess(
            row, events.get(row["id"], []), definitions, names, now, explained=explained
        )
        if (
            row["score"] != _stored(assessment.score)
            or row["fit_score"] != _stored(assessment.fit_score)
            or row["engagement_score"] != _stored(assessment.engagement_score)
            or row["score_details"] != assessment.details
        ):
            row["score"] = _stored(assessment.score)
            row["fit_score"] = _stored(assessment.fit_score)
            row["engagement_score"] = _stored(assessment.engagement_score)
            row["score_details"] = assessment.details
            scored.rescored.append(row["id"])
        for stage, active in assessment.moves:
            scored.moves.append(
                MoveRequest(
                    lead_id=row["id"],
                    to_stage=stage,
                    at=now,
                    actor_id=actor_id,
                    definition_id=active.row.pk,
                )
            )
    return scored


def leads_qualify(
    *,
    rows: dict[int, dict],
    now: datetime,
    actor_id: int | None = None,
    definitions: ActiveDefinitions | None = None,
    names: Names | None = None,
    events: dict[int, list[dict]] | None = None,
) -> Scored:
    """Rescore saved, locked lead `rows` (by id, as read by `leads.services.moves.leads_lock`
    plus `SCORED_FIELDS`); save changed scores and record the qualification moves.

    A fixed number of queries whatever the number of leads: events (one), names (three),
    one update of the rescored leads, and the moves (see `moves_record`).
    """
    scored = leads_score(
        rows=list(rows.values()),
        now=now,
        definitions=definitions,
        names=names,
        events=events,
        actor_id=actor_id,
    )
    plan = moves_plan(rows, scored.moves, now=now)
    moves_record(plan, now=now, write_leads=False)
    changed = [*dict.fromkeys([*scored.rescored, *plan.moved])]
    if changed:
        moved = set(plan.moved)
        for lead_id in changed:
            rows[lead_id]["updated_at"] = now
        only_rescored = [rows[pk] for pk in changed if pk not in moved]
        rows_update(Lead, only_rescored, [*SCORE_FIELDS, "updated_at"])
        rows_update(Lead, [rows[pk] for pk in plan.moved], [*SCORE_FIELDS, *MOVE_FIELDS])
    return scored


_INT32 = 2**31 - 1


def _stored(score: int) -> int:
    """A score as the integer column holds it: clamped, never an overflow error."""
    return max(-_INT32 - 1, min(_INT32, score))
