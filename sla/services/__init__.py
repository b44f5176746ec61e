"""Writes of the SLA app, by subject: calendars, agreements, clocks, the sweep, alerts and
marketing commitments. Every function is keyword-only and atomic, reads the clock once,
and tells people and integrations only what it committed (notifications are rows of the
same transaction; emails and webhook events are durable reactions of it). Deadline and
clock-state arithmetic lives in `sla.clock_rules`; these modules store and act on it.
"""

from sla.services.agreements import (
    AGREEMENT_FIELDS,
    agreement_create,
    agreement_delete,
    agreement_update,
)
from sla.services.alerts import EVENT_FIELDS, clock_payload
from sla.services.calendars import (
    CALENDAR_FIELDS,
    calendar_create,
    calendar_delete,
    calendar_engine_for,
    calendar_update,
)
from sla.services.clocks import (
    EXHAUSTED_REASON,
    HandOff,
    clocks_backfill,
    clocks_react,
    clocks_reconcile,
    clocks_start,
)
from sla.services.commitments import commitments_check, products_covered
from sla.services.sweep import SWEEP_BATCH, SweepResult, clocks_sweep

__all__ = [
    "AGREEMENT_FIELDS",
    "CALENDAR_FIELDS",
    "EVENT_FIELDS",
    "EXHAUSTED_REASON",
    "SWEEP_BATCH",
    "HandOff",
    "SweepResult",
    "agreement_create",
    "agreement_delete",
    "agreement_update",
    "calendar_create",
    "calendar_delete",
    "calendar_engine_for",
    "calendar_update",
    "clock_payload",
    "clocks_backfill",
    "clocks_react",
    "clocks_reconcile",
    "clocks_start",
    "clocks_sweep",
    "commitments_check",
    "products_covered",
]
