"""Scoring leads against the active definitions, and qualification with the version recorded."""

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import DomainError
from leads.models import Event, Lead, RoutingRule, StageTransition
from leads.qualification import Names, lead_attributes
from leads.services import (
    lead_create,
    lead_event_record,
    lead_transition,
    lead_update,
)
from personas.models import Persona
from tests.leads.factories import CampaignFactory, EventFactory, LeadFactory, ProductFactory
from tests.leads.helpers import MQL_RULES, SQL_RULES, active_definition

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def test_fit_rules_see_the_leads_fields_and_its_free_attributes():
    persona = Persona.objects.create(name="Ops Olivia")
    product = ProductFactory(code="crm")
    campaign = CampaignFactory(name="Spring webinar")
    lead = LeadFactory.build(
        title="IT Director",
        company="Acme",
        country="DE",
        source="webinar",
        email="ann@acme.example",
        persona=persona,
        product=product,
        campaign=campaign,
        attributes={"company_size": 120, "title": "ignored: the field wins"},
    )
    row = {field.attname: getattr(lead, field.attname) for field in lead._meta.concrete_fields}
    attributes = lead_attributes(row, Names.load())
    assert attributes == {
        "company_size": 120,
        "title": "IT Director",
        "company": "Acme",
        "country": "DE",
        "source": "webinar",
        "email_domain": "acme.example",
        "persona": "Ops Olivia",
        "product": "crm",
        "campaign": "Spring webinar",
    }


def test_a_new_lead_is_scored_and_the_items_add_up(marketer):
    active_definition("mql", MQL_RULES, marketer)
    lead = lead_create(
        data={
            "email": "Ann@Acme.example",
            "title": "Director of IT",
            "country": "de",
            "attributes": {"company_size": 10, "industry": "Software"},
        },
        actor=marketer,
    )
    lead.refresh_from_db()
    assert lead.email == "ann@acme.example"
    assert lead.country == "DE"
    assert (lead.fit_score, lead.engagement_score, lead.score) == (30, 0, 30)
    details = lead.score_details["mql"]
    assert sum(item["points"] for item in details["items"]) == lead.score
    assert [item["label"] for item in details["items"]] == [
        "title contains director",
        "Target market",
    ]
    # 30 meets the threshold of 30: the lead qualified on fit alone.
    assert lead.stage == "mql"


def test_a_missing_attribute_never_matches_and_never_fails(marketer):
    active_definition("mql", MQL_RULES, marketer)
    lead = lead_create(data={"email": "bare@example.com"}, actor=marketer)
    lead.refresh_from_db()
    assert (lead.score, lead.stage) == (0, "lead")
    assert lead.score_details["mql"]["items"] == []


def test_an_any_group_needs_one_member_and_an_all_group_needs_every_one(marketer):
    active_definition("mql", MQL_RULES, marketer)
    in_market = lead_create(
        data={"email": "a@x.example", "country": "AT", "attributes": {"industry": "software"}},
        actor=marketer,
    )
    wrong_country = lead_create(
        data={"email": "b@x.example", "country": "FR", "attributes": {"company_size": 500}},
        actor=marketer,
    )
    neither = lead_create(
        data={"email": "c@x.example", "country": "CH", "attributes": {"company_size": 10}},
        actor=marketer,
    )
    scores = {
        lead.email: lead.fit_score
        for lead in Lead.objects.filter(pk__in=[in_market.pk, wrong_country.pk, neither.pk])
    }
    assert scores == {"a@x.example": 10, "b@x.example": 0, "c@x.example": 0}


def test_an_event_exactly_at_the_window_edge_counts_and_one_second_older_does_not(marketer):
    active_definition("mql", MQL_RULES, marketer)
    lead = LeadFactory(title="Analyst", country="US", created_at=NOW - dt.timedelta(days=60))
    EventFactory(lead=lead, type="email_open", occurred_at=NOW - dt.timedelta(days=30))
    EventFactory(lead=lead, type="email_open", occurred_at=NOW - dt.timedelta(days=30, seconds=1))
    lead_event_record(lead=lead, type="email_open", occurred_at=NOW, now=NOW)
    lead.refresh_from_db()
    assert lead.engagement_score == 4  # the edge event and the new one, 2 points each
    assert lead.score_details["mql"]["items"] == [
        {
            "kind": "event",
            "label": "email_open: 2 events × 2 points = 4",
            "points": 4,
            "count": 2,
            "event_type": "email_open",
        }
    ]


def test_engagement_qualifies_with_the_version_recorded(marketer):
    definition = active_definition("mql", MQL_RULES, marketer)
    lead = LeadFactory(title="Director", country="US", created_at=NOW - dt.timedelta(days=5))
    lead_event_record(lead=lead, type="webinar_attended", occurred_at=NOW, now=NOW, actor=marketer)
    lead.refresh_from_db()
    assert (lead.score, lead.stage, lead.mql_at, lead.mql_definition) == (
        30,
        "mql",
        NOW,
        definition,
    )
    transition = StageTransition.objects.get(lead=lead)
    assert (transition.from_stage, transition.to_stage, transition.definition) == (
        "lead",
        "mql",
        definition,
    )
    assert Event.objects.filter(lead=lead).count() == 1


def test_a_hand_raiser_qualifies_alone_and_the_sql_definition_hands_off(marketer, sales_team, rep):
    mql = active_definition("mql", MQL_RULES, marketer)
    sql = active_definition("sql", SQL_RULES, marketer)
    RoutingRule.objects.create(name="All to East", team=sales_team)
    lead = LeadFactory(title="Intern", country="US", created_at=NOW - dt.timedelta(days=1))
    lead_event_record(lead=lead, type="demo_request", occurred_at=NOW, now=NOW)
    lead.refresh_from_db()
    assert lead.stage == "mql"
    lead_event_record(lead=lead, type="contact_sales", occurred_at=NOW, now=NOW)
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.handed_off_at, lead.sql_definition) == (
        "sql",
        rep,
        NOW,
        sql,
    )
    assert list(
        StageTransition.objects.filter(lead=lead).values_list("to_stage", "definition")
    ) == [("mql", mql.pk), ("sql", sql.pk)]
    assert rep.notifications.get().title.startswith("New lead for you")


def test_one_event_can_qualify_to_mql_and_sql_at_once(marketer):
    mql = active_definition("mql", MQL_RULES, marketer)
    sql = active_definition("sql", SQL_RULES, marketer)
    lead = LeadFactory(title="Sales Director", created_at=NOW - dt.timedelta(days=1))
    EventFactory(lead=lead, type="webinar_attended", occurred_at=NOW - dt.timedelta(days=1))
    lead_event_record(lead=lead, type="webinar_attended", occurred_at=NOW, now=NOW)
    lead.refresh_from_db()
    # MQL: 20 fit + 2 × 10 = 40 ≥ 30; SQL: 20 fit + 2 × 20 = 60 ≥ 60.
    assert lead.stage == "sql"
    assert list(
        StageTransition.objects.filter(lead=lead).values_list(
            "from_stage", "to_stage", "definition"
        )
    ) == [("lead", "mql", mql.pk), ("mql", "sql", sql.pk)]


def test_a_recycled_lead_needs_new_engagement_to_qualify_again(marketer):
    active_definition("mql", MQL_RULES, marketer)
    lead = LeadFactory(title="Director", country="US", created_at=NOW - dt.timedelta(days=9))
    lead_event_record(
        lead=lead,
        type="webinar_attended",
        occurred_at=NOW - dt.timedelta(days=8),
        now=NOW - dt.timedelta(days=8),
    )
    lead_transition(
        lead=lead, to_stage="recycled", reason="not_ready", at=NOW - dt.timedelta(days=7), now=NOW
    )
    # Editing the lead rescores it; the old webinar still scores 30 but does not re-qualify it.
    lead_update(lead=lead, data={"company": "Acme"}, actor=marketer, now=NOW)
    lead.refresh_from_db()
    assert (lead.score, lead.stage) == (30, "recycled")
    lead_event_record(lead=lead, type="email_open", occurred_at=NOW, now=NOW)
    lead.refresh_from_db()
    assert lead.stage == "mql"


def test_scoring_never_moves_a_lead_backwards(marketer):
    active_definition("mql", MQL_RULES, marketer)
    lead = LeadFactory(title="Nobody", stage="sql", created_at=NOW - dt.timedelta(days=2))
    lead_event_record(lead=lead, type="email_open", occurred_at=NOW, now=NOW)
    lead.refresh_from_db()
    assert (lead.stage, lead.score) == ("sql", 2)
    assert not StageTransition.objects.filter(lead=lead).exists()


def test_an_event_with_a_naive_or_future_time_is_refused(marketer):
    lead = LeadFactory()
    with pytest.raises(DomainError, match="time zone offset"):
        lead_event_record(lead=lead, type="email_open", occurred_at=dt.datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(DomainError, match="future"):
        lead_event_record(
            lead=lead, type="email_open", occurred_at=timezone.now() + dt.timedelta(hours=1)
        )
    assert not Event.objects.exists()
