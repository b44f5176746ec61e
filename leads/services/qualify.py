"""Scoring and qualification writes: store scores, record the moves the definitions call for."""

from dataclasses import dataclass, field
from datetime import datetime

from accounts.models import User
from leads.models import Lead
from leads.qualification import (
    SCORE_FIELDS,
    ActiveDefinitions,
    Names,
    active_definitions,
    assess,
    events_by_lead,
)
from leads.services.bulk import rows_update
from leads.services.handoff import MOVE_FIELDS, Move, stage_moves_record


@dataclass
class Scored:
    """The outcome of `leads_score` for a batch."""

    rescored: list[Lead] = field(default_factory=list)  # score or explanation changed
    moves: list[Move] = field(default_factory=list)

    @property
    def qualified_ids(self) -> set[int]:
        return {move.lead.pk for move in self.moves}


def leads_score(
    *,
    leads: list[Lead],
    now: datetime,
    definitions: ActiveDefinitions | None = None,
    names: Names | None = None,
    events: dict[int, list[dict]] | None = None,
) -> Scored:
    """Score `leads` in memory (nothing saved) and list the qualification moves.

    `events` maps lead id to event dicts; None loads them in one query. New leads (no pk)
    have no events.
    """
    definitions = definitions if definitions is not None else active_definitions()
    scored = Scored()
    if not definitions.any or not leads:
        return scored
    names = names if names is not None else Names.load()
    if events is None:
        events = events_by_lead([lead.pk for lead in leads if lead.pk], definitions, now)
    explained: dict = {}
    for lead in leads:
        assessment = assess(
            lead, events.get(lead.pk, []), definitions, names, now, explained=explained
        )
        if (
            lead.score != assessment.score
            or lead.fit_score != assessment.fit_score
            or lead.engagement_score != assessment.engagement_score
            or lead.score_details != assessment.details
        ):
            lead.score = assessment.score
            lead.fit_score = assessment.fit_score
            lead.engagement_score = assessment.engagement_score
            lead.score_details = assessment.details
            scored.rescored.append(lead)
        for stage, active in assessment.moves:
            scored.moves.append(Move(lead=lead, to_stage=stage, definition=active.row))
    return scored


def leads_qualify(
    *,
    leads: list[Lead],
    now: datetime,
    actor: User | None = None,
    definitions: ActiveDefinitions | None = None,
    names: Names | None = None,
    events: dict[int, list[dict]] | None = None,
) -> Scored:
    """Rescore saved, locked `leads`; save changed scores and record qualification moves.

    A fixed number of queries whatever the number of leads: events (one), names (three),
    one bulk update, and the bulk moves (see `stage_moves_record`).
    """
    scored = leads_score(leads=leads, now=now, definitions=definitions, names=names, events=events)
    stage_moves_record(moves=scored.moves, at=now, actor=actor, save=False)
    moved = {move.lead.pk: move.lead for move in scored.moves}
    only_rescored = [lead for lead in scored.rescored if lead.pk not in moved]
    if only_rescored:
        for lead in only_rescored:
            lead.updated_at = now
        rows_update(only_rescored, [*SCORE_FIELDS, "updated_at"])
    if moved:
        rows_update(list(moved.values()), [*SCORE_FIELDS, *MOVE_FIELDS])
    return scored
