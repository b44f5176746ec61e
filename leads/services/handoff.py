"""Set-based qualification moves and hand-off, for one lead or a thousand at once.

Automatic moves (scoring qualified a lead) are recorded here with a fixed number of queries
per batch: bulk-created transitions, one bulk update of the leads, routing with one pass
per sales team, and each domain signal sent once for the whole batch. Manual moves go
through `lead_transition`; both apply `leads.lifecycle`, the one place for stage rules.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from accounts.models import Notification, User
from accounts.tasks import notification_emails_send
from leads import lifecycle, routing
from leads.lifecycle import SALES_STAGES, Stage
from leads.models import (
    Lead,
    QualificationDefinition,
    RoutingAssignment,
    RoutingRule,
    StageTransition,
)
from leads.services.bulk import rows_insert, rows_update
from leads.signals import (
    Assignment,
    HandOff,
    StageChange,
    lead_assigned,
    lead_stage_changed,
    leads_handed_off,
    send_on_commit,
)
from smarketing.events import emit_many

MOVE_FIELDS = (
    "stage",
    "stage_changed_at",
    "mql_at",
    "sql_at",
    "opportunity_at",
    "customer_at",
    "mql_definition",
    "sql_definition",
    "handed_off_at",
    "owner",
    "team",
    "updated_at",
)


@dataclass(frozen=True)
class Move:
    lead: Lead
    to_stage: str
    definition: QualificationDefinition | None
    reason: str = ""


def stage_moves_record(
    *, moves: list[Move], at: datetime, actor: User | None, save: bool = True
) -> list[StageTransition]:
    """Record `moves` (in order; a lead may move twice, e.g. lead → mql → sql) at `at`.

    The leads must be locked (or new) in the caller's transaction. Applies the lifecycle to
    each move, fills the first-reached times and the qualifying version, hands leads that
    reach `sql` off (routing those without an owner), and sends every signal once after
    commit. With `save=False` the caller saves the leads' `MOVE_FIELDS` itself (to fold it
    into an update it makes anyway).
    """
    if not moves:
        return []
    transitions: list[StageTransition] = []
    reached_sql: dict[int, Lead] = {}
    for move in moves:
        lead = move.lead
        lifecycle.check_move(lead.stage, move.to_stage, reason=move.reason)
        transitions.append(
            StageTransition(
                lead=lead,
                from_stage=lead.stage,
                to_stage=move.to_stage,
                at=at,
                actor=actor,
                reason=move.reason,
                definition=move.definition,
            )
        )
        for stage in lifecycle.stages_reached(move.to_stage):
            current = getattr(lead, f"{stage}_at")
            if current is None or current > at:
                setattr(lead, f"{stage}_at", at)
        if move.definition is not None and move.to_stage in (Stage.MQL, Stage.SQL):
            setattr(lead, f"{move.to_stage}_definition", move.definition)
        lead.stage = move.to_stage
        lead.stage_changed_at = at
        lead.updated_at = at
        if move.to_stage == Stage.SQL:
            lead.handed_off_at = None
            reached_sql[lead.pk] = lead
        else:
            reached_sql.pop(lead.pk, None)

    handoffs, assignments = _hand_off(list(reached_sql.values()), at=at)
    if save:
        leads = list({move.lead.pk: move.lead for move in moves}.values())
        rows_update(leads, MOVE_FIELDS)
    # COPY rather than bulk_create: Django prepares each value of each row in Python,
    # which cost more than the database's work for a batch of a few hundred moves.
    rows_insert(transitions)
    rows_insert(assignments)

    changes = [
        StageChange(
            lead_id=row.lead_id,
            transition_id=row.pk,
            from_stage=row.from_stage,
            to_stage=row.to_stage,
            at=at,
            actor_id=actor.pk if actor else None,
            reason=row.reason,
        )
        for row in transitions
    ]
    send_on_commit(lead_stage_changed, changes=changes)
    send_on_commit(
        lead_assigned,
        assignments=[
            Assignment(
                lead_id=row.lead_id,
                owner_id=row.owner_id,
                previous_owner_id=None,
                at=at,
                actor_id=None,
                reason=row.reason,
            )
            for row in assignments
        ],
    )
    send_on_commit(leads_handed_off, handoffs=handoffs)

    stage_payloads = [
        {
            "lead": row.lead_id,
            "from": row.from_stage,
            "to": row.to_stage,
            "at": at.isoformat(),
            "reason": row.reason,
            "definition": row.definition_id,
        }
        for row in transitions
    ]
    assigned_payloads = [
        {"lead": row.lead_id, "owner": row.owner_id, "previous_owner": None, "reason": row.reason}
        for row in assignments
    ]

    def _emit() -> None:
        emit_many("lead.stage_changed", stage_payloads, occurred_at=at)
        emit_many("lead.assigned", assigned_payloads, occurred_at=at)

    transaction.on_commit(_emit)
    _notify_new_owners(assignments)
    return transitions


def _hand_off(leads: list[Lead], *, at: datetime) -> tuple[list[HandOff], list[RoutingAssignment]]:
    """Hand off leads that just became `sql`: those with an owner at once, the others after
    routing. Leads no rule or rep fits wait unassigned (they are handed off on assignment)."""
    if not leads:
        return [], []
    assignments = _route(
        [lead for lead in leads if lead.owner_id is None and lead.stage in SALES_STAGES], at=at
    )
    handoffs = []
    for lead in leads:
        if lead.owner_id is not None:
            lead.handed_off_at = at
            handoffs.append(HandOff(lead_id=lead.pk, owner_id=lead.owner_id, at=at))
    return handoffs, assignments


def _route(leads: list[Lead], *, at: datetime) -> list[RoutingAssignment]:
    """Round-robin routing for many leads with a query count that depends on the number of
    teams, not of leads: rules once, then per team a lock and its reps in routing order."""
    if not leads:
        return []
    rules = list(RoutingRule.objects.filter(is_active=True).select_related("team"))
    by_team: dict[int, list[tuple[Lead, RoutingRule]]] = defaultdict(list)
    for lead in leads:
        rule = next((rule for rule in rules if routing.rule_matches(rule, lead)), None)
        if rule is not None:
            by_team[rule.team_id].append((lead, rule))
    assignments = []
    for team_id, routed in sorted(by_team.items()):
        reps = list(routing.reps_in_routing_order(routed[0][1].team))
        if not reps:
            continue
        for index, (lead, rule) in enumerate(routed):
            rep = reps[index % len(reps)]
            lead.owner = rep
            lead.team_id = team_id
            assignments.append(
                RoutingAssignment(
                    lead=lead,
                    owner=rep,
                    previous_owner=None,
                    team_id=team_id,
                    rule=rule,
                    actor=None,
                    reason=(
                        f"Routed by rule “{rule.name}” to {rule.team}; round-robin picked "
                        f"{rep} (active, not away, least recently routed)"
                    ),
                    at=at,
                )
            )
    return assignments


def _notify_new_owners(assignments: list[RoutingAssignment]) -> None:
    """One notification per rep per batch (not one per lead), all written in one insert;
    the email copies are sent by a worker after commit."""
    by_owner: dict[int, list[RoutingAssignment]] = defaultdict(list)
    for row in assignments:
        by_owner[row.owner_id].append(row)
    notifications = []
    for rows in by_owner.values():
        owner, lead = rows[0].owner, rows[0].lead
        if len(rows) == 1:
            title = f"New lead for you: {lead}"
            body = f"{rows[0].reason}. Stage: {lead.get_stage_display()}."
            url = lead.get_absolute_url()
        else:
            title = f"{len(rows)} new leads for you"
            body = "Routed to you on hand-off; see your queue."
            url = "/leads/"
        notifications.append(
            Notification(user=owner, kind="lead_assigned", title=title[:200], body=body, url=url)
        )
    if not notifications:
        return
    Notification.objects.bulk_create(notifications)
    emailed = [notification.pk for notification in notifications if notification.user.email]
    if emailed:
        # robust: a broker outage loses email copies, never the committed hand-off.
        transaction.on_commit(lambda: notification_emails_send.delay(emailed), robust=True)
