"""Engagement events (which rescore and may qualify a lead) and sales feedback on hand-offs."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core import events
from core.errors import DomainError
from leads import events as topics
from leads.lifecycle import CLOCK_SKEW, Stage
from leads.models import Campaign, Event, Lead, SalesFeedback
from leads.qualification import SCORED_FIELDS
from leads.services.moves import lead_transition, leads_lock
from leads.services.qualify import leads_qualify

# What a rejection does to the lead. not_ready and bad_fit are the product's rule; the
# other reasons send the lead back to marketing as well: bad contact data can be fixed,
# a duplicate or a competitor is for marketing to clean up or disqualify, and "other" is
# never a reason for sales to end a lead on its own.
REJECTION_STAGE = {
    SalesFeedback.Reason.NOT_READY: Stage.RECYCLED,
    SalesFeedback.Reason.BAD_FIT: Stage.DISQUALIFIED,
    SalesFeedback.Reason.BAD_CONTACT_DATA: Stage.RECYCLED,
    SalesFeedback.Reason.DUPLICATE: Stage.RECYCLED,
    SalesFeedback.Reason.COMPETITOR: Stage.RECYCLED,
    SalesFeedback.Reason.OTHER: Stage.RECYCLED,
}


def lead_event_record(
    *,
    lead: Lead | int,
    type: str,  # noqa: A002 - the product's name for the field
    occurred_at: datetime,
    properties: dict | None = None,
    campaign: Campaign | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> Event:
    """Store an engagement event, rescore the lead, and qualify it (to `mql`, then `sql`)
    when the active definitions hold, recording the version on each transition.

    `occurred_at` must be aware and not in the future; it may predate the lead (tracking
    often knows a visitor before the form fill).
    """
    now = now or timezone.now()
    if not isinstance(type, str) or not type.strip():
        raise DomainError("Give the event type, e.g. demo_request.", field="type")
    if not isinstance(occurred_at, datetime) or timezone.is_naive(occurred_at):
        raise DomainError("Give a date and time with a time zone offset.", field="occurred_at")
    if occurred_at > now + CLOCK_SKEW:
        raise DomainError("This cannot be in the future.", field="occurred_at")
    if properties is not None and not isinstance(properties, dict):
        raise DomainError("Must be a JSON object.", field="properties")
    lead_id = lead if isinstance(lead, int) else lead.pk
    with transaction.atomic(), events.batch():
        rows = leads_lock([lead_id], extra=SCORED_FIELDS)
        if not rows:
            raise DomainError("There is no such lead.")
        event = Event.objects.create(
            lead_id=lead_id,
            type=type.strip(),
            occurred_at=occurred_at,
            properties=properties or {},
            campaign=campaign,
        )
        leads_qualify(rows=rows, now=now, actor_id=actor.pk if actor else None)
    if not isinstance(lead, int):
        for name in ("stage", "score", "fit_score", "engagement_score", "score_details"):
            setattr(lead, name, rows[lead_id][name])
    return event


def sales_feedback_give(
    *,
    lead: Lead | int,
    author: User,
    accepted: bool,
    rating: int,
    reason: str = "",
    comment: str = "",
    advance: bool = False,
    now: datetime | None = None,
) -> SalesFeedback:
    """Accept or reject a lead handed off to sales (stage `sql`).

    Reject with not_ready → `recycled`; bad_fit → `disqualified`; any other reason →
    `recycled` (see `REJECTION_STAGE`); the transition's reason is the feedback reason.
    Accept keeps the lead in `sql` unless `advance` is true, which moves it to `opportunity`.
    The feedback records the SQL definition version that qualified the lead.
    """
    now = now or timezone.now()
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise DomainError("Rate the lead from 1 to 5.", field="rating")
    if reason and reason not in SalesFeedback.Reason.values:
        raise DomainError(
            f"“{reason}” is not a reason; use one of: {', '.join(SalesFeedback.Reason.values)}.",
            field="reason",
        )
    if not accepted and not reason:
        raise DomainError("A rejection needs a reason.", field="reason")
    if advance and not accepted:
        raise DomainError("Only an accepted lead can be moved forward.", field="advance")
    lead_id = lead if isinstance(lead, int) else lead.pk
    with transaction.atomic(), events.batch():
        locked = Lead.objects.select_for_update().get(pk=lead_id)
        if locked.stage != Stage.SQL:
            raise DomainError(
                f"Feedback is for leads handed off to sales (stage “sql”); this lead is in "
                f"“{locked.stage}”.",
            )
        feedback = SalesFeedback.objects.create(
            lead=locked,
            author=author,
            accepted=accepted,
            rating=rating,
            reason=reason,
            comment=comment or "",
            definition_id=locked.sql_definition_id,
        )
        if not accepted:
            lead_transition(
                lead=locked.pk,
                to_stage=REJECTION_STAGE[reason],
                actor=author,
                reason=reason,
                now=now,
            )
        elif advance:
            lead_transition(
                lead=locked.pk,
                to_stage=Stage.OPPORTUNITY,
                actor=author,
                reason="accepted by sales",
                now=now,
            )
        events.publish(
            topics.FEEDBACK_GIVEN,
            [
                {
                    "feedback": feedback.pk,
                    "lead": lead_id,
                    "author": author.pk,
                    "accepted": accepted,
                    "rating": rating,
                    "reason": reason,
                }
            ],
            occurred_at=now,
        )
    return feedback
