"""Every page with a chart draws it from its json_script data under a strict
Content-Security-Policy, with nothing logged to the console."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from goals.services import revenue_plan_save
from leads.models import SalesFeedback
from reporting.services import funnel_snapshots_roll_up
from sla.services import clocks_backfill
from tests.goals.factories import GoalFactory
from tests.leads.factories import LeadFactory
from tests.personas.factories import PersonaFactory
from tests.reporting.history import base_day, story
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

DRAWN = """(ids) => ids.map((id) => {
    const canvas = document.getElementById(id);
    const chart = Chart.getChart(canvas);
    return Boolean(chart) && canvas.width > 0 && canvas.height > 0
      && chart.data.datasets.some((set) => set.data.some((value) => value));
})"""


def chart_pages(*, manager, rep, other_rep) -> dict[str, dict]:
    """A small world in which every chart has something to show: each chart page by name,
    with its address and the ids of its chart canvases."""
    leads = story(owner=rep, other_owner=other_rep)
    # The agreement comes after the story (written move by move, the back-filled hand-offs
    # would be handed back as their windows closed long ago); the periodic backfill then
    # starts the clocks of the leads still with sales.
    BusinessCalendarFactory(name="New York office")
    SLAAgreementFactory(name="Sales and marketing SLA")
    clocks_backfill()
    funnel_snapshots_roll_up()
    SalesFeedback.objects.create(lead=leads["ada"], author=rep, accepted=True, rating=5)
    SalesFeedback.objects.create(
        lead=leads["ben"], author=rep, accepted=False, rating=2, reason="not_ready"
    )
    plan = revenue_plan_save(
        actor=manager,
        name="This quarter",
        period_start=timezone.localdate().replace(day=1),
        months=3,
        revenue_target=Decimal(15000),
        average_deal_size=Decimal(1000),
        lead_to_mql_rate=Decimal("0.2"),
        mql_to_sql_rate=Decimal("0.4"),
        sql_to_opportunity_rate=Decimal("0.5"),
        opportunity_to_customer_rate=Decimal("0.25"),
    )
    goal = GoalFactory(title="Three hundred MQLs", measured_value=Decimal(80))
    persona = PersonaFactory(name="Ops Olivia")
    recently = timezone.now() - dt.timedelta(days=2)
    LeadFactory(persona=persona, created_at=recently, mql_at=recently, sql_at=recently)
    LeadFactory(persona=persona, created_at=recently, mql_at=recently)
    first, last = base_day(), base_day() + dt.timedelta(days=30)
    today = timezone.localdate()
    period = f"start={first}&end={last}"
    return {
        "dashboard": {"url": f"/?{period}", "charts": ["funnel-chart", "sla-chart"]},
        "explorer": {
            "url": f"/reports/?{period}&mode=flow&group_by=source",
            "charts": ["explorer-chart"],
        },
        "quality": {
            "url": f"/reports/quality/?start={today}&end={today}",
            "charts": ["quality-chart"],
        },
        "plan": {"url": plan.get_absolute_url(), "charts": ["plan-needs-chart"]},
        "goal": {"url": goal.get_absolute_url(), "charts": ["goal-progress"]},
        "persona": {"url": persona.get_absolute_url(), "charts": ["persona-trend"]},
        "sla compliance": {"url": "/sla/compliance/", "charts": ["sla-trend"]},
    }


def test_every_chart_is_drawn_under_a_strict_csp_without_console_errors(
    page, login, strict_csp, manager, rep, other_rep
):
    pages = chart_pages(manager=manager, rep=rep, other_rep=other_rep)
    login(manager)  # a manager may see every one of these pages

    problems = {}
    for name, chart_page in pages.items():
        strict_csp.clear()
        page.goto(chart_page["url"])
        for canvas_id in chart_page["charts"]:
            page.wait_for_selector(f"canvas#{canvas_id}[data-chart-ready]", state="attached")
        drawn = page.evaluate(DRAWN, chart_page["charts"])
        undrawn = [
            canvas_id for canvas_id, ok in zip(chart_page["charts"], drawn, strict=True) if not ok
        ]
        if undrawn or strict_csp:
            problems[name] = {"undrawn": undrawn, "console": list(strict_csp)}
    assert problems == {}


def test_the_charts_show_the_numbers_of_the_tables_beside_them(
    page, login, manager, rep, other_rep
):
    pages = chart_pages(manager=manager, rep=rep, other_rep=other_rep)
    login(manager)

    page.goto(pages["plan"]["url"])
    page.wait_for_selector("#plan-needs-chart[data-chart-ready]", state="attached")
    needed = page.evaluate("() => Chart.getChart('plan-needs-chart').data.datasets[0].data")
    assert needed == [1500, 300, 120, 60, 15]

    page.goto(pages["persona"]["url"])
    page.wait_for_selector("#persona-trend[data-chart-ready]", state="attached")
    trend = page.evaluate(
        """() => Chart.getChart('persona-trend').data.datasets.map(
            (set) => [set.label, set.data.filter((value) => value !== null && value !== 0)])"""
    )
    assert trend == [["Leads", [2]], ["MQLs", [2]], ["MQL→SQL %", [50]]]


def test_a_chart_spec_becomes_chart_js_options(page, login, marketer):
    login(marketer)
    page.goto("/goals/")  # any page loads static/js/charts.js

    config = page.evaluate(
        """() => smarketingCharts.config({
            labels: ["Webinar", "Ads"],
            datasets: [
                {label: "One", data: [1, 2]},
                {label: "Two", data: [3, 4], colors: "#123456"},
            ],
            horizontal: true,
            stacked: true,
            axes: {x: {percent: true, title: "Share"}, y: {grid: false}},
            options: {plugins: {tooltip: {enabled: false}}},
        }, document.createElement("canvas"))"""
    )

    options = config["options"]
    assert config["type"] == "bar"
    assert [d["backgroundColor"] for d in config["data"]["datasets"]] == ["#0d6efd", "#123456"]
    assert options["indexAxis"] == "y"
    assert options["animation"] is False
    assert options["maintainAspectRatio"] is False  # no height attribute: fills its container
    assert options["plugins"] == {"legend": {"display": True}, "tooltip": {"enabled": False}}
    x, y = options["scales"]["x"], options["scales"]["y"]
    assert (x["stacked"], x["min"], x["max"], x["title"]) == (
        True,
        0,
        100,
        {"display": True, "text": "Share"},
    )
    assert (y["stacked"], y["grid"]) == (True, {"drawOnChartArea": False})
