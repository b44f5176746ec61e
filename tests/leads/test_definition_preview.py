"""The live preview of a draft definition agrees with the pure evaluator, lead by lead."""

import datetime as dt
import random
from collections import Counter, defaultdict

import pytest
from django.utils import timezone

from leads import scoring
from leads.models import Event, Lead, QualificationDefinition
from leads.preview import BAND_WIDTH, BELOW_ZERO, TOP_BAND, definition_preview
from leads.qualification import OPEN_STAGES, Names, lead_attributes
from tests.leads.factories import CampaignFactory, LeadFactory, ProductFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)

ACTIVE = {
    "stage": "mql",
    "threshold": 30,
    "recency_days": 90,
    "fit": [
        {"points": 20, "attribute": "title", "operator": "contains", "value": "director"},
        {
            "points": 10,
            "label": "Target market",
            "all": [
                {"attribute": "country", "operator": "in", "value": ["DE", "AT", "ch"]},
                {
                    "any": [
                        {"attribute": "company_size", "operator": "gte", "value": 50},
                        {"attribute": "industry", "operator": "equals", "value": "Software"},
                    ]
                },
            ],
        },
        {"points": -20, "attribute": "email_domain", "operator": "in", "value": ["gmail.com"]},
    ],
    "engagement": {
        "email_open": {"points": 2, "recency_days": 30, "max_points": 10},
        "webinar_attended": 10,
        "pricing_page_view": 5,
    },
    "hand_raisers": ["demo_request"],
}
DRAFT = {
    **ACTIVE,
    "threshold": 25,
    "min_fit": 5,
    "hand_raisers_require_min_fit": True,
    "fit": [
        *ACTIVE["fit"],
        {"points": 15, "attribute": "product", "operator": "equals", "value": "crm"},
        {"points": 5, "attribute": "campaign", "operator": "exists"},
        {"points": 7, "attribute": "tags", "operator": "contains", "value": "vip"},
        {"points": 3, "attribute": "company_size", "operator": "lte", "value": 20},
    ],
}
TITLES = ["Director of Sales", "CTO", "", "marketing DIRECTOR", "Intern"]
COUNTRIES = ["DE", "at", "CH", "US", "", "FR"]
SIZES = [None, 10, 49, 50, "250", 50.5, True, "many", [1], {"n": 1}, "20"]
INDUSTRIES = [None, "software", " SOFTWARE ", "retail", 7]
DOMAINS = ["gmail.com", "acme.de", "GMAIL.com", "example.org"]
TYPES = ["email_open", "webinar_attended", "pricing_page_view", "demo_request", "other"]


def _make_leads(rng: random.Random, count: int) -> None:
    crm = ProductFactory(code="crm")
    other = ProductFactory(code="erp")
    campaign = CampaignFactory(name="Spring webinar", product=crm)
    events = []
    for index in range(count):
        attributes = {}
        size = rng.choice(SIZES)
        if size is not None:
            attributes["company_size"] = size
        industry = rng.choice(INDUSTRIES)
        if industry is not None:
            attributes["industry"] = industry
        if rng.random() < 0.3:
            attributes["tags"] = rng.choice([["vip", "x"], ["VIP"], "vip list", []])
        if rng.random() < 0.1:
            attributes["title"] = "Director from JSON"  # the own field wins when filled in
        lead = LeadFactory(
            email=f"p{index}@{rng.choice(DOMAINS)}",
            title=rng.choice(TITLES),
            country=rng.choice(COUNTRIES),
            attributes=attributes,
            product=rng.choice([None, crm, other]),
            campaign=campaign if rng.random() < 0.3 else None,
            stage=rng.choice(["lead", "lead", "mql", "sql", "customer", "disqualified"]),
        )
        for _ in range(rng.randint(0, 7)):
            events.append(
                Event(
                    lead=lead,
                    type=rng.choice(TYPES),
                    occurred_at=NOW - dt.timedelta(days=rng.uniform(-2, 120)),
                )
            )
    Event.objects.bulk_create(events)


def _oracle(rules: dict) -> dict[int, scoring.ScoreResult]:
    compiled = scoring.compile_definition(scoring.Definition.from_dict(rules))
    names = Names.load()
    found = defaultdict(list)
    for lead_id, event_type, occurred_at in Event.objects.filter(
        lead__stage__in=OPEN_STAGES, occurred_at__lte=NOW
    ).values_list("lead_id", "type", "occurred_at"):
        found[lead_id].append({"type": event_type, "occurred_at": occurred_at})
    rows = Lead.objects.filter(stage__in=OPEN_STAGES).values(
        "id", "attributes", "email", "title", "company", "country", "source",
        "persona_id", "product_id", "campaign_id",
    )  # fmt: skip
    return {
        row["id"]: compiled.evaluate(lead_attributes(row, names), found[row["id"]], NOW)
        for row in rows
    }


def _band(score: int) -> int:
    return max(BELOW_ZERO, min(TOP_BAND, score // BAND_WIDTH))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_preview_counts_what_the_evaluator_decides_lead_by_lead(seed):
    _make_leads(random.Random(seed), 120)
    active = QualificationDefinition.objects.create(
        stage="mql", version=1, name="Now", rules=ACTIVE, status="active"
    )
    draft = _oracle(DRAFT)
    current = _oracle(ACTIVE)

    preview = definition_preview(
        definition=scoring.Definition.from_dict(DRAFT), active=active, now=NOW, limit=15
    )

    assert preview.open_leads == len(draft)
    assert preview.qualified == sum(result.qualified for result in draft.values())
    assert preview.active_qualified == sum(result.qualified for result in current.values())
    assert preview.newly_qualified == sum(
        draft[pk].qualified and not current[pk].qualified for pk in draft
    )
    assert preview.no_longer_qualified == sum(
        current[pk].qualified and not draft[pk].qualified for pk in draft
    )
    shown = sorted(
        ((pk, result.score) for pk, result in draft.items() if result.qualified),
        key=lambda row: (-row[1], row[0]),
    )[:15]
    assert [(lead.id, lead.score) for lead in preview.leads] == shown
    assert all(lead.active_qualifies == current[lead.id].qualified for lead in preview.leads)
    draft_bands = Counter(_band(result.score) for result in draft.values())
    active_bands = Counter(_band(result.score) for result in current.values())
    low = min([*draft_bands, *active_bands, 0])
    assert [band.draft for band in preview.bands] == [
        draft_bands.get(band, 0) for band in range(low, low + len(preview.bands))
    ]
    assert [band.active for band in preview.bands] == [
        active_bands.get(band, 0) for band in range(low, low + len(preview.bands))
    ]
    assert sum(band.draft for band in preview.bands) == preview.open_leads


def test_without_an_active_version_the_comparison_is_absent():
    _make_leads(random.Random(9), 30)
    preview = definition_preview(
        definition=scoring.Definition.from_dict(DRAFT), active=None, now=NOW
    )
    draft = _oracle(DRAFT)
    assert preview.qualified == sum(result.qualified for result in draft.values())
    assert preview.active_qualified is None
    assert preview.no_longer_qualified == 0
    assert preview.newly_qualified == preview.qualified
    assert all(band.active is None for band in preview.bands)
    assert all(lead.active_qualifies is None for lead in preview.leads)
    chart = preview.chart()
    assert len(chart["datasets"]) == 1
    assert chart["labels"] == [band.label for band in preview.bands]


def test_no_open_leads_and_a_rule_on_an_attribute_nobody_has():
    LeadFactory(stage="customer", attributes={"x": 1})
    rules = {
        "stage": "mql",
        "threshold": 1,
        "fit": [{"points": 5, "attribute": "nobody_has", "operator": "equals", "value": "1"}],
    }
    preview = definition_preview(
        definition=scoring.Definition.from_dict(rules), active=None, now=NOW
    )
    assert (preview.open_leads, preview.qualified, preview.leads) == (0, 0, [])
    assert [band.draft for band in preview.bands] == [0]


def test_the_largest_points_and_hostile_values_are_parameters():
    hostile = "'); DROP TABLE leads_lead; --"
    LeadFactory(stage="lead", title=hostile, attributes={"size": 2**40})
    LeadFactory(stage="lead", title="plain", attributes={"size": 1})
    top = scoring.MAX_POINTS
    rules = {
        "stage": "mql",
        "threshold": top,
        "fit": [
            {"points": top, "attribute": "title", "operator": "equals", "value": hostile},
            {"points": top, "attribute": "size", "operator": "gte", "value": 2**39},
        ],
    }
    preview = definition_preview(
        definition=scoring.Definition.from_dict(rules), active=None, now=timezone.now()
    )
    assert preview.qualified == 1
    assert preview.leads[0].score == 2 * top
    assert Lead.objects.count() == 2


def test_points_beyond_the_bound_are_refused_with_a_message():
    errors = scoring.validate_definition(
        {"stage": "mql", "threshold": 2**40, "recency_days": 10**6, "engagement": {"x": 2**33}}
    )
    assert errors["threshold"] == ["Must be between -1,000,000 and 1,000,000."]
    assert "engagement.x" in errors and "recency_days" in errors
