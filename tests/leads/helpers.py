"""Definitions used across the leads tests."""

from leads.models import QualificationDefinition
from leads.services import definition_activate, definition_create

MQL_RULES = {
    "threshold": 30,
    "recency_days": 90,
    "fit": [
        {"points": 20, "attribute": "title", "operator": "contains", "value": "director"},
        {
            "points": 10,
            "label": "Target market",
            "all": [
                {"attribute": "country", "operator": "in", "value": ["DE", "AT", "CH"]},
                {
                    "any": [
                        {"attribute": "company_size", "operator": "gte", "value": 50},
                        {"attribute": "industry", "operator": "equals", "value": "software"},
                    ]
                },
            ],
        },
    ],
    "engagement": {
        "email_open": {"points": 2, "recency_days": 30, "max_points": 10},
        "webinar_attended": 10,
    },
    "hand_raisers": ["demo_request"],
}

SQL_RULES = {
    "threshold": 60,
    "fit": [{"points": 20, "attribute": "title", "operator": "contains", "value": "director"}],
    "engagement": {"webinar_attended": 20, "pricing_page_view": 10},
    "hand_raisers": ["contact_sales"],
}


def active_definition(
    stage: str, rules: dict, actor=None, name: str = ""
) -> QualificationDefinition:
    """Create and activate a version (its bulk rescoring is enqueued after commit only)."""
    definition = definition_create(
        stage=stage, name=name or f"{stage.upper()} rules", rules=rules, actor=actor
    )
    definition_activate(definition=definition, actor=actor)
    definition.refresh_from_db()
    return definition
