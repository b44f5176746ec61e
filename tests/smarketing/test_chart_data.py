"""Each chart's json_script data, as rendered, holds the numbers of a small known world."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import SalesFeedback
from sla.models import SLAClock
from tests.goals.factories import GoalFactory, revenue_plan
from tests.leads.factories import LeadFactory
from tests.personas.factories import PersonaFactory
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = pytest.mark.django_db


def chart_spec(response, data_id: str) -> dict:
    """The spec a page's chart canvas points at, read back from its json_script element."""
    html = response.content.decode()
    assert f'data-chart="{data_id}"' in html
    element = re.search(rf'<script id="{data_id}" type="application/json">(.*?)</script>', html)
    return json.loads(element.group(1))


@pytest.fixture
def clocks(db):
    """`clocks(*statuses, handoff_at=...)`: one SLA clock per status, handed off then."""
    agreement, calendar = SLAAgreementFactory(), BusinessCalendarFactory()

    def _clocks(*statuses: str, handoff_at: dt.datetime) -> None:
        for status in statuses:
            SLAClock.objects.create(
                lead=LeadFactory(),
                agreement=agreement,
                calendar=calendar,
                handoff_at=handoff_at,
                first_touch_due_at=handoff_at + dt.timedelta(hours=5),
                warn_at=handoff_at + dt.timedelta(hours=4),
                attempt_window_ends_at=handoff_at + dt.timedelta(days=16),
                status=status,
            )

    return _clocks


def test_the_dashboard_doughnut_counts_the_periods_clocks_by_status(client, marketer, clocks):
    clocks("met", "met", "breached", "pending", "pending", "pending", handoff_at=timezone.now())
    client.force_login(marketer)

    spec = chart_spec(client.get("/"), "sla-chart-data")

    assert spec["type"] == "doughnut"
    assert spec["labels"] == ["Met", "Breached", "Pending"]
    assert spec["datasets"][0]["data"] == [2, 1, 3]


def test_the_compliance_trend_has_one_point_per_week(client, manager, clocks):
    monday = dt.datetime(2026, 1, 5, 15, tzinfo=dt.UTC)
    clocks("met", "met", "met", "breached", handoff_at=monday)
    clocks("breached", handoff_at=monday + dt.timedelta(weeks=1))
    client.force_login(manager)

    spec = chart_spec(
        client.get("/sla/compliance/?start=2026-01-01&end=2026-01-31"), "sla-trend-data"
    )

    assert spec["labels"] == ["2026-01-05", "2026-01-12"]
    met_rate, breaches, handoffs = (dataset["data"] for dataset in spec["datasets"])
    assert (met_rate, breaches, handoffs) == ([75.0, 0.0], [1, 1], [4, 1])


def test_the_quality_chart_shows_the_acceptance_rate_per_source(client, marketer, rep):
    for accepted in (True, False, False, True):
        SalesFeedback.objects.create(
            lead=LeadFactory(source="webinar"),
            author=rep,
            accepted=accepted,
            rating=3,
            reason="" if accepted else "bad_fit",
        )
    SalesFeedback.objects.create(
        lead=LeadFactory(source="ads"), author=rep, accepted=False, rating=1, reason="not_ready"
    )
    client.force_login(marketer)
    today = timezone.localdate()

    spec = chart_spec(
        client.get(f"/reports/quality/?start={today}&end={today}"), "quality-chart-data"
    )

    rates = dict(zip(spec["labels"], spec["datasets"][0]["data"], strict=True))
    assert rates == {"webinar": 50.0, "ads": 0.0}


def test_the_goal_chart_shows_baseline_measured_expected_and_target(client, rep):
    goal = GoalFactory(
        baseline_value=Decimal(60), target_value=Decimal(100), measured_value=Decimal(80)
    )
    client.force_login(rep)

    response = client.get(goal.get_absolute_url())
    spec = chart_spec(response, "goal-progress-data")

    assert spec["labels"] == ["Baseline", "Measured", "Expected by today", "Target"]
    assert spec["datasets"][0]["label"] == "MQLs"
    assert spec["datasets"][0]["data"] == [60, 80, float(response.context["expected"]), 100]


def test_the_plan_chart_shows_what_each_stage_needs(client, manager):
    plan = revenue_plan(manager, name="Spring")
    client.force_login(manager)

    spec = chart_spec(client.get(reverse("goals:plan_detail", args=[plan.pk])), "plan-needs-data")

    assert spec["horizontal"] is True
    assert spec["datasets"][0]["data"] == [1500, 300, 120, 60, 15]


def test_the_persona_trend_counts_leads_mqls_and_the_mql_to_sql_rate(client, rep):
    persona = PersonaFactory(name="Ops Olivia")
    recently = timezone.now() - dt.timedelta(days=2)
    LeadFactory(persona=persona, created_at=recently, mql_at=recently, sql_at=recently)
    LeadFactory(persona=persona, created_at=recently, mql_at=recently)
    client.force_login(rep)

    spec = chart_spec(client.get(persona.get_absolute_url()), "persona-trend-data")

    leads, mqls, rate = (dataset["data"] for dataset in spec["datasets"])
    assert len(spec["labels"]) == len(leads) == 12
    assert (sum(leads), sum(mqls)) == (2, 2)
    assert [value for value in rate if value is not None] == [50.0]
