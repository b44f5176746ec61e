"""Writes on leads with side effects, one function per operation (`<entity>_<action>`).

Every function is keyword-only, atomic, reads the clock once, and sends its domain signals
after commit (leads/signals.py). Refusals are `DomainError`s (or a `ValidationError` with
field messages), which the API maps to 400s.
"""

from leads.services.definitions import (
    definition_activate,
    definition_create,
    definition_update,
    rescore_run_batch,
    rescore_run_execute,
)
from leads.services.engagement import REJECTION_STAGE, lead_event_record, sales_feedback_give
from leads.services.handoff import Move, stage_moves_record
from leads.services.moves import (
    CLOCK_SKEW,
    contact_attempt_log,
    lead_assign,
    lead_transition,
)
from leads.services.qualify import leads_qualify, leads_score
from leads.services.records import (
    MAX_BULK_ROWS,
    UpsertResult,
    lead_create,
    lead_delete,
    lead_row_clean,
    lead_update,
    leads_upsert,
)

__all__ = [
    "CLOCK_SKEW",
    "MAX_BULK_ROWS",
    "REJECTION_STAGE",
    "Move",
    "UpsertResult",
    "contact_attempt_log",
    "definition_activate",
    "definition_create",
    "definition_update",
    "lead_assign",
    "lead_create",
    "lead_delete",
    "lead_event_record",
    "lead_row_clean",
    "lead_transition",
    "lead_update",
    "leads_qualify",
    "leads_score",
    "leads_upsert",
    "rescore_run_batch",
    "rescore_run_execute",
    "sales_feedback_give",
    "stage_moves_record",
]
