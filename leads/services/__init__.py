"""Writes on leads with side effects, one function per operation (`<entity>_<action>`).

Every function is keyword-only, atomic, reads the clock once, and publishes its domain
events in its own transaction (`leads.events`, through `core.events`). Refusals are
`DomainError`s (or a `ValidationError` with field messages), which the API maps to 400s.
"""

from leads.services.assignments import lead_assign
from leads.services.attempts import contact_attempt_log
from leads.services.definitions import (
    definition_activate,
    definition_create,
    definition_send_back,
    definition_submit,
    definition_update,
    rescore_run_batch,
    rescore_run_execute,
)
from leads.services.engagement import REJECTION_STAGE, lead_event_record, sales_feedback_give
from leads.services.history import MAX_HISTORY_STEPS, HistoryResult, lead_history_apply
from leads.services.moves import MoveRequest, lead_transition, moves_apply
from leads.services.qualify import leads_qualify, leads_score
from leads.services.records import (
    MAX_BULK_ROWS,
    UpsertResult,
    lead_create,
    lead_delete,
    lead_update,
    leads_upsert,
)

__all__ = [
    "MAX_BULK_ROWS",
    "MAX_HISTORY_STEPS",
    "HistoryResult",
    "lead_history_apply",
    "REJECTION_STAGE",
    "MoveRequest",
    "UpsertResult",
    "contact_attempt_log",
    "definition_activate",
    "definition_create",
    "definition_send_back",
    "definition_submit",
    "definition_update",
    "lead_assign",
    "lead_create",
    "lead_delete",
    "lead_event_record",
    "lead_transition",
    "lead_update",
    "leads_qualify",
    "leads_score",
    "leads_upsert",
    "moves_apply",
    "rescore_run_batch",
    "rescore_run_execute",
    "sales_feedback_give",
]
