"""The public events the SLA app publishes (`core.events`; PRODUCT.md "Webhook events").

Each `sla.*` payload describes one clock (see `sla.services.alerts.EVENT_FIELDS`);
`commitment.at_risk` describes a marketing commitment behind its month pace.
"""

WARNING = "sla.warning"
BREACHED = "sla.breached"
EXHAUSTED = "sla.exhausted"
COMMITMENT_AT_RISK = "commitment.at_risk"

TOPICS = (WARNING, BREACHED, EXHAUSTED, COMMITMENT_AT_RISK)
