"""The domain events the leads app publishes (`core.events`), and their payloads.

Other apps subscribe in their `apps.py` (the SLA starts and evaluates clocks, webhooks
deliver the public ones, reports mark days to recompute); `leads` never imports them.
Payloads are JSON objects; instants are ISO 8601 with offset. The public webhook events
(PRODUCT.md) are `lead.created`, `lead.stage_changed` and `lead.assigned`.

- `lead.created`: lead, external_id, email, source, campaign, product, persona, stage,
  score, created_at.
- `lead.stage_changed`: lead, transition, from, to, at, reason, definition, actor.
- `lead.handed_off`: lead, owner, at: the lead was handed to sales (starts its SLA clock).
- `lead.assigned`: lead, owner, previous_owner, reason, at, actor, rule.
- `lead.changed`: lead, fields: a lead's own fields changed (not its stage).
- `lead.deleted`: lead, created_at: a lead was deleted with its history.
- `lead.attempt_logged`: attempt, lead, actor, channel, outcome, occurred_at.
- `lead.feedback_given`: feedback, lead, author, accepted, rating, reason.
"""

CREATED = "lead.created"
STAGE_CHANGED = "lead.stage_changed"
HANDED_OFF = "lead.handed_off"
ASSIGNED = "lead.assigned"
CHANGED = "lead.changed"
DELETED = "lead.deleted"
ATTEMPT_LOGGED = "lead.attempt_logged"
FEEDBACK_GIVEN = "lead.feedback_given"

TOPICS = (
    CREATED,
    STAGE_CHANGED,
    HANDED_OFF,
    ASSIGNED,
    CHANGED,
    DELETED,
    ATTEMPT_LOGGED,
    FEEDBACK_GIVEN,
)
