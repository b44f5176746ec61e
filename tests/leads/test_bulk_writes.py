"""Bulk inserts with COPY: the same rows as `bulk_create`, ids set, constraints kept."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from leads.models import Lead
from leads.services.bulk import instances_new, rows_insert
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def test_inserted_leads_get_their_ids_and_read_back_field_by_field(django_assert_num_queries):
    leads = [
        Lead(
            external_id=f"crm-{number}",
            email=f"person{number}@acme.example",
            first_name="Ana",
            last_name="Tab\tand\nnewline" if number == 0 else "Plain",
            country="DE",
            attributes={"company_size": number, "industry": "software", "note": 'ü \\ "q"'},
            amount=Decimal("1250.50") if number == 1 else None,
            created_at=AT,
        )
        for number in range(3)
    ]
    # the ids from the sequence, then the COPY (counted like any other statement)
    with django_assert_num_queries(2):
        rows_insert(leads)

    assert all(lead.pk for lead in leads)
    stored = {lead.pk: lead for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])}
    first = stored[leads[0].pk]
    assert first.last_name == "Tab\tand\nnewline"
    assert first.attributes == {"company_size": 0, "industry": "software", "note": 'ü \\ "q"'}
    assert first.created_at == AT and first.updated_at is not None
    assert first.stage == "lead" and first.score_details == leads[0].score_details
    assert stored[leads[1].pk].amount == Decimal("1250.50")
    assert stored[leads[2].pk].amount is None


def test_new_instances_equal_those_of_the_model_constructor_defaults_included():
    rows = [
        {"email": "ana@acme.example", "created_at": AT},
        {
            "external_id": "crm-1",
            "email": "bo@acme.example",
            "country": "DE",
            "campaign_id": None,
            "attributes": {"industry": "software"},
            "amount": Decimal("10.00"),
            "created_at": AT,
        },
    ]
    built = instances_new(Lead, rows)
    expected = [Lead(**values) for values in rows]

    def fields(lead):
        return {name: value for name, value in vars(lead).items() if name != "_state"}

    assert [fields(lead) for lead in built] == [fields(lead) for lead in expected]
    assert all(lead._state.adding and lead.pk is None for lead in built)
    # A callable default is made per instance, never shared.
    assert built[0].score_details is not expected[0].score_details
    assert built[0].score_details is not instances_new(Lead, rows[:1])[0].score_details


def test_new_instances_refuse_an_unknown_field_like_the_constructor():
    with pytest.raises(TypeError):
        instances_new(Lead, [{"email": "ana@acme.example", "campaign": 3}])


def test_a_duplicate_external_id_is_an_integrity_error_and_inserts_nothing():
    LeadFactory(external_id="crm-7")
    leads = [Lead(external_id=f"crm-{n}", email=f"p{n}@acme.example") for n in (6, 7, 8)]
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(leads)
    assert Lead.objects.count() == 1


@pytest.fixture
def hand_off_setup(marketer, rep, other_rep, admin_user):
    """Directors qualify to mql and sql at once, are routed round-robin and start SLA
    clocks; a webhook wants every lead event."""
    from leads.models import RoutingRule
    from reporting.services import webhook_subscription_create
    from tests.leads.helpers import MQL_RULES, active_definition
    from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

    director = [{"points": 20, "attribute": "title", "operator": "contains", "value": "director"}]
    active_definition("mql", MQL_RULES, marketer)
    active_definition("sql", {"threshold": 20, "fit": director}, marketer)
    RoutingRule.objects.create(name="Everything", team=rep.team)
    BusinessCalendarFactory()
    SLAAgreementFactory()
    webhook_subscription_create(
        name="CRM",
        url="https://crm.example.com/hooks",
        event_types=["lead.created", "lead.stage_changed", "lead.assigned"],
    )


def test_a_bulk_upsert_costs_the_same_queries_for_10_or_300_leads_with_everything_after_commit(
    hand_off_setup, marketer, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.services import leads_upsert
    from reporting.models import WebhookDelivery
    from sla.models import SLAClock

    def queries_for(size: int, prefix: str) -> int:
        payload = [
            {
                "external_id": f"{prefix}-{number}",
                "email": f"person{number}@{prefix}.example",
                "title": "Director" if number % 2 else "Analyst",
                "country": "DE",
                "attributes": {"company_size": 100},
            }
            for number in range(size)
        ]
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            result = leads_upsert(rows=payload, actor=marketer)
        assert len(result.created) == size and not result.errors
        return len(queries)

    small = queries_for(10, "small")
    large = queries_for(300, "large")

    # Leads code, then the receivers: SLA clocks, webhook deliveries, notifications.
    # (Leads, transitions, routing assignments and each event type's webhook deliveries are
    # each an id query and a COPY.)
    assert small == large == 47
    assert SLAClock.objects.count() == 5 + 150
    assert WebhookDelivery.objects.filter(event_type="lead.created").count() == 310


def test_new_leads_that_qualify_are_written_once_with_their_moves_and_owner(
    hand_off_setup, marketer, rep, other_rep, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.models import StageTransition
    from leads.services import leads_upsert
    from sla.models import SLAClock

    payload = [
        {
            "external_id": f"new-{number}",
            "email": f"p{number}@acme.example",
            "title": title,
            "country": "DE",
            "attributes": {"company_size": 100},
        }
        for number, title in enumerate(["Director", "Analyst", "Director of Sales"])
    ]
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = leads_upsert(rows=payload, actor=marketer)

    lead_writes = [
        q["sql"].split()[0]
        for q in queries
        if '"leads_lead"' in q["sql"].split("(")[0] and not q["sql"].startswith("SELECT")
    ]
    assert lead_writes == ["COPY"]
    directors = Lead.objects.filter(pk__in=result.created, title__startswith="Director")
    assert {lead.stage for lead in directors} == {"sql"}
    assert {lead.owner_id for lead in directors} == {rep.pk, other_rep.pk}
    for lead in directors:
        assert lead.team_id == rep.team_id and lead.handed_off_at == lead.sql_at
        assert lead.mql_at == lead.sql_at == lead.stage_changed_at
        assert lead.mql_definition_id and lead.sql_definition_id and lead.score == 30
    analyst = Lead.objects.get(external_id="new-1")
    assert (analyst.stage, analyst.owner_id, analyst.sql_at) == ("lead", None, None)
    assert StageTransition.objects.filter(lead__in=directors).count() == 4
    assert SLAClock.objects.filter(lead__in=directors).count() == 2


def test_leads_with_the_same_results_store_the_explanation_they_would_get_alone(
    hand_off_setup, marketer
):
    from leads.services import lead_create, leads_upsert

    def row(number: int, title: str) -> dict:
        return {
            "external_id": f"same-{number}",
            "email": f"p{number}@acme.example",
            "title": title,
            "country": "DE",
            "attributes": {"company_size": 100 if number else 10},
        }

    result = leads_upsert(
        rows=[row(0, "Director"), row(1, "Director"), row(2, "Director"), row(3, "Analyst")],
        actor=marketer,
    )
    alone = lead_create(data=row(4, "Director"), actor=marketer)

    stored = dict(Lead.objects.filter(pk__in=result.created).values_list("email", "score_details"))
    assert stored["p1@acme.example"] == stored["p2@acme.example"] == alone.score_details
    assert stored["p1@acme.example"]["mql"]["score"] == 30
    # Different results, different explanations: a smaller company, another title.
    assert stored["p0@acme.example"]["mql"]["score"] == 20
    assert stored["p3@acme.example"]["mql"]["score"] == 10
