"""Manual moves: stage transitions, assignment and hand-off, contact attempts.

Every function is keyword-only, atomic, reads the clock once, and sends its domain signal
after commit (leads/signals.py). Refusals are `DomainError`s, which the API maps to 400s.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import notification_send
from leads import lifecycle, routing
from leads.lifecycle import SALES_STAGES, IllegalTransition, Stage
from leads.models import (
    ContactAttempt,
    Lead,
    QualificationDefinition,
    RoutingAssignment,
    StageTransition,
)
from leads.signals import (
    Assignment,
    HandOff,
    StageChange,
    contact_attempts_logged,
    lead_assigned,
    lead_stage_changed,
    leads_handed_off,
    send_on_commit,
)
from smarketing.api_support import DomainError
from smarketing.events import emit

# Clocks of client machines drift: an instant this far ahead of ours is still "now".
CLOCK_SKEW = timedelta(minutes=2)


def _check_instant(value: datetime, *, field: str, now: datetime, lead: Lead) -> None:
    if timezone.is_naive(value):
        raise DomainError("Give a date and time with a time zone offset.", field=field)
    if value > now + CLOCK_SKEW:
        raise DomainError("This cannot be in the future.", field=field)
    if value < lead.created_at:
        raise DomainError("This is before the lead was created.", field=field)


def lead_transition(
    *,
    lead: Lead | int,
    to_stage: str,
    actor: User | None = None,
    reason: str = "",
    at: datetime | None = None,
    definition: QualificationDefinition | None = None,
    now: datetime | None = None,
) -> StageTransition:
    """Move a lead to `to_stage`, recording the transition; the lifecycle decides what is legal.

    `at` back-fills a transition (imports); it may not be earlier than the lead's last
    transition, so the history keeps its order. Two concurrent transitions of one lead are
    serialised by a row lock: the second sees the first one's stage and may be refused.
    """
    now = now or timezone.now()
    at = at or now
    lead_id = lead if isinstance(lead, int) else lead.pk
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead_id)
        _check_instant(at, field="at", now=now, lead=locked)
        try:
            lifecycle.check_move(locked.stage, to_stage, reason=reason)
        except IllegalTransition as exc:
            raise DomainError(str(exc), field="to") from exc
        last_at = (
            StageTransition.objects.filter(lead_id=lead_id)
            .order_by("-at", "-id")
            .values_list("at", flat=True)
            .first()
        )
        if last_at is not None and at < last_at:
            raise DomainError(
                f"The lead's last transition is at {last_at.isoformat()}; a back-filled "
                "transition cannot be earlier.",
                field="at",
            )
        from_stage = locked.stage
        transition = StageTransition.objects.create(
            lead=locked,
            from_stage=from_stage,
            to_stage=to_stage,
            at=at,
            actor=actor,
            reason=reason,
            definition=definition,
        )
        changed = ["stage", "stage_changed_at", "updated_at"]
        for stage in lifecycle.stages_reached(to_stage):
            field = f"{stage}_at"
            current = getattr(locked, field)
            if current is None or current > at:
                setattr(locked, field, at)
                changed.append(field)
        if definition is not None and to_stage in (Stage.MQL, Stage.SQL):
            setattr(locked, f"{to_stage}_definition", definition)
            changed.append(f"{to_stage}_definition")
        locked.stage = to_stage
        locked.stage_changed_at = at
        if to_stage == Stage.SQL:
            # A new hand-off for every (re-)qualification to SQL.
            locked.handed_off_at = None
            changed.append("handed_off_at")
        locked.save(update_fields=changed)

        send_on_commit(
            lead_stage_changed,
            changes=[
                StageChange(
                    lead_id=lead_id,
                    transition_id=transition.pk,
                    from_stage=from_stage,
                    to_stage=to_stage,
                    at=at,
                    actor_id=actor.pk if actor else None,
                    reason=reason,
                )
            ],
        )
        payload = {
            "lead": lead_id,
            "from": from_stage,
            "to": to_stage,
            "at": at.isoformat(),
            "reason": reason,
            "definition": definition.pk if definition else None,
        }
        transaction.on_commit(lambda: emit("lead.stage_changed", payload, occurred_at=at))

        if to_stage == Stage.SQL:
            if locked.owner_id is None:
                routing.lead_route(lead=locked, at=at)  # assigns, which hands off
            else:
                _hand_off(locked, at=at)
    return transition


def _hand_off(lead: Lead, *, at: datetime) -> None:
    """Start the SLA: the lead is in a sales stage with an owner and no hand-off yet."""
    lead.handed_off_at = at
    lead.save(update_fields=["handed_off_at"])
    send_on_commit(
        leads_handed_off, handoffs=[HandOff(lead_id=lead.pk, owner_id=lead.owner_id, at=at)]
    )


def lead_assign(
    *,
    lead: Lead | int,
    owner: User | None,
    actor: User | None,
    reason: str = "",
    rule=None,
    team=None,
    now: datetime | None = None,
) -> RoutingAssignment:
    """Give a lead to `owner` (None unassigns), with an audit row and a notification.

    Reassigning does not reset an SLA clock: only the first owner of a sales-stage lead
    triggers the hand-off.
    """
    now = now or timezone.now()
    lead_id = lead if isinstance(lead, int) else lead.pk
    if owner is not None:
        if not owner.is_active:
            raise DomainError(f"{owner} is not an active user.", field="owner")
        if not (owner.has_role(Role.SALES) or owner.has_role(Role.MANAGER)):
            raise DomainError(f"{owner} is not in sales; leads go to sales owners.", field="owner")
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead_id)
        previous_owner_id = locked.owner_id
        if owner is not None and owner.pk == previous_owner_id:
            raise DomainError(f"The lead is already assigned to {owner}.", field="owner")
        locked.owner = owner
        fields = ["owner", "updated_at"]
        new_team = team or (owner.team if owner is not None else None)
        if new_team is not None:
            locked.team = new_team
            fields.append("team")
        locked.save(update_fields=fields)
        if not reason:
            reason = f"Assigned by {actor}" if actor else "Assigned"
        assignment = RoutingAssignment.objects.create(
            lead=locked,
            owner=owner,
            previous_owner_id=previous_owner_id,
            team=new_team,
            rule=rule,
            actor=actor,
            reason=reason,
            at=now,
        )
        send_on_commit(
            lead_assigned,
            assignments=[
                Assignment(
                    lead_id=lead_id,
                    owner_id=owner.pk if owner else None,
                    previous_owner_id=previous_owner_id,
                    at=now,
                    actor_id=actor.pk if actor else None,
                    reason=reason,
                )
            ],
        )
        payload = {
            "lead": lead_id,
            "owner": owner.pk if owner else None,
            "previous_owner": previous_owner_id,
            "reason": reason,
        }
        transaction.on_commit(lambda: emit("lead.assigned", payload, occurred_at=now))
        if owner is not None and owner != actor:
            notification_send(
                users=[owner],
                kind="lead_assigned",
                title=f"New lead for you: {locked}",
                body=f"{reason}. Stage: {locked.get_stage_display()}.",
                url=locked.get_absolute_url(),
            )
        if owner is not None and locked.stage in SALES_STAGES and locked.handed_off_at is None:
            _hand_off(locked, at=now)
    return assignment


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
    """Record a human sales touch. Nothing a rep did is refused for being one too many:
    the SLA app flags over-contact; here only impossible input is refused."""
    now = now or timezone.now()
    occurred_at = occurred_at or now
    if channel not in ContactAttempt.Channel.values:
        raise DomainError(f"“{channel}” is not a channel.", field="channel")
    if outcome not in ContactAttempt.Outcome.values:
        raise DomainError(f"“{outcome}” is not an outcome.", field="outcome")
    lead_id = lead if isinstance(lead, int) else lead.pk
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead_id)
        _check_instant(occurred_at, field="occurred_at", now=now, lead=locked)
        attempt = ContactAttempt.objects.create(
            lead=locked,
            actor=actor,
            channel=channel,
            outcome=outcome,
            occurred_at=occurred_at,
            note=note,
        )
        send_on_commit(contact_attempts_logged, attempt_ids=[attempt.pk])
    return attempt
