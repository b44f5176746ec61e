"""The leads UI: list and export, the lead page with its in-place actions, definitions, imports,
routing rules.

Views validate with a form, call one service, and render; refusals from a service
(`DomainError`) are shown on the form, never as a 500. Each page family lives in a module of
its own; this package gathers them for `leads.urls`.
"""

from leads.views.campaigns import (
    campaign_archive,
    campaign_create,
    campaign_detail,
    campaign_edit,
    campaign_list,
    product_archive,
    product_create,
    product_delete,
    product_detail,
    product_edit,
    product_list,
)
from leads.views.definitions import (
    definition_activate,
    definition_detail,
    definition_new,
    definition_preview,
    definition_send_back,
    definition_submit,
    definitions,
    rescore_progress,
    rescore_restart,
)
from leads.views.imports import (
    import_detail,
    import_errors,
    import_mapping,
    import_restart,
    import_upload,
)
from leads.views.lead_edit import lead_edit
from leads.views.leads import assign, attempt, detail, export, feedback, index, transition
from leads.views.routing import (
    routing_rule_delete,
    routing_rule_edit,
    routing_rule_move,
    routing_rules,
)

__all__ = [
    "assign",
    "attempt",
    "campaign_archive",
    "campaign_create",
    "campaign_detail",
    "campaign_edit",
    "campaign_list",
    "definition_activate",
    "definition_detail",
    "definition_new",
    "definition_preview",
    "definition_send_back",
    "definition_submit",
    "definitions",
    "detail",
    "export",
    "feedback",
    "import_detail",
    "import_errors",
    "import_mapping",
    "import_restart",
    "import_upload",
    "index",
    "lead_edit",
    "product_archive",
    "product_create",
    "product_delete",
    "product_detail",
    "product_edit",
    "product_list",
    "rescore_progress",
    "rescore_restart",
    "routing_rule_delete",
    "routing_rule_edit",
    "routing_rule_move",
    "routing_rules",
    "transition",
]
