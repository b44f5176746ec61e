"""Bulk upserts: a fixed number of statements, new leads written once, explanations shared."""

import pytest

from leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def hand_off_setup(marketer, rep, other_rep, admin_user):
    """Directors qualify to mql and sql at once, are routed round-robin and start SLA
    clocks; a webhook wants every lead event."""
    from leads.models import RoutingRule
    from tests.leads.helpers import MQL_RULES, active_definition
    from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory
    from webhooks.services import webhook_subscription_create

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
    from sla.models import SLAClock
    from webhooks.models import WebhookDelivery

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

    from core import outbox

    small = queries_for(10, "small")
    large = queries_for(300, "large")

    # Small: the leads code, then the reactions tried right after commit (SLA clocks,
    # webhook deliveries, notifications). Large (more than EVENTS_INLINE_MAX events): the
    # leads code only, its reactions left to the worker. (Leads, transitions, routing
    # assignments and webhook deliveries are each an id query and a COPY.)
    assert (small, large) == (51, 22)
    assert SLAClock.objects.count() == 5  # the small batch's, tried inline
    outbox.drain()  # the worker's turn
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

    # The new leads are written once, by a COPY (which the query log does not show): no
    # INSERT or UPDATE of a lead goes through it.
    lead_writes = [
        q["sql"].split()[0]
        for q in queries
        if '"leads_lead"' in q["sql"].split("(")[0] and not q["sql"].startswith("SELECT")
    ]
    assert lead_writes == []
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
