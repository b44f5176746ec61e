"""Domain events the leads app sends after commit; other apps subscribe in their `apps.py`.

Each signal carries lists so that bulk operations (API bulk upsert, CSV import, rescoring)
send one event for a whole batch and receivers can react set-based. `leads` never imports
`sla` or `reporting`: the arrows point one way.

Every signal is sent with `sender=None` and keyword arguments:
- `leads_created(lead_ids: list[int])`
- `lead_stage_changed(changes: list[StageChange])`
- `leads_handed_off(handoffs: list[HandOff])`: a lead became `sql` with an owner (or an `sql`
  lead without a clock got its first owner). Starts SLA clocks.
- `lead_assigned(assignments: list[Assignment])`: the owner changed (routing or manual).
- `contact_attempts_logged(attempt_ids: list[int])`
- `sales_feedback_given(feedback_ids: list[int])`
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.dispatch import Signal

leads_created = Signal()
lead_stage_changed = Signal()
leads_handed_off = Signal()
lead_assigned = Signal()
contact_attempts_logged = Signal()
sales_feedback_given = Signal()


@dataclass(frozen=True)
class StageChange:
    lead_id: int
    transition_id: int
    from_stage: str
    to_stage: str
    at: datetime
    actor_id: int | None
    reason: str


@dataclass(frozen=True)
class HandOff:
    lead_id: int
    owner_id: int
    at: datetime


@dataclass(frozen=True)
class Assignment:
    lead_id: int
    owner_id: int | None
    previous_owner_id: int | None
    at: datetime
    actor_id: int | None
    reason: str


def send_on_commit(signal: Signal, **kwargs) -> None:
    """Send `signal` once the current transaction commits (at once outside a transaction)."""
    if not any(kwargs.values()):
        return
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs), robust=False)
