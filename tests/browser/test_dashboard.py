import datetime as dt
from decimal import Decimal

import pytest

from goals.models import RevenuePlan
from reporting.services import funnel_snapshots_roll_up
from tests.reporting.history import base_day, story

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_shared_dashboard_draws_its_charts_and_drills_down_to_leads(
    page, login, marketer, rep, other_rep, artifact_path
):
    story(owner=rep, other_owner=other_rep)
    funnel_snapshots_roll_up()
    RevenuePlan.objects.create(
        name="The story's quarter",
        period_start=base_day().replace(day=1),
        months=3,
        revenue_target=Decimal("15000"),
        average_deal_size=Decimal("1000"),
        lead_to_mql_rate=Decimal("0.9"),
        mql_to_sql_rate=Decimal("0.9"),
        sql_to_opportunity_rate=Decimal("0.9"),
        opportunity_to_customer_rate=Decimal("0.9"),
    )
    first, last = base_day(), base_day() + dt.timedelta(days=30)

    login(marketer)
    page.goto(f"/?start={first}&end={last}")

    assert page.get_by_test_id("dashboard-title").inner_text() == "Shared dashboard"
    page.wait_for_selector("#funnel-chart[data-chart-ready]")
    chart_drawn = page.evaluate(
        "() => { const c = Chart.getChart('funnel-chart'); return c && c.data.datasets[0].data; }"
    )
    assert chart_drawn == [7, 7, 4, 3, 1]  # the same numbers as the table beside it
    assert "Bottleneck" in page.get_by_test_id("bottleneck").inner_text()
    assert page.get_by_test_id("funnel-count-customer").inner_text() == "1"
    page.screenshot(path=artifact_path("shared-dashboard.png"), full_page=True)

    page.get_by_test_id("funnel-count-recycled").click()
    page.wait_for_url("**/reports/funnel/leads/**")
    assert page.get_by_test_id("drilldown-title").inner_text().startswith("1 lead: Recycled")
    rows = page.get_by_test_id("drilldown-table").locator("tbody tr")
    assert rows.count() == 1
    assert "cleo@example.com" in rows.first.inner_text()


def test_the_funnel_explorer_switches_mode_and_grouping(page, login, manager, rep, other_rep):
    story(owner=rep, other_owner=other_rep)
    first, last = base_day(), base_day() + dt.timedelta(days=30)

    login(manager)
    page.goto(f"/reports/?start={first}&end={last}")
    page.get_by_label("Mode").select_option("flow")
    page.get_by_label("Group by").select_option("source")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**group_by=source**")
    page.wait_for_selector("#explorer-chart[data-chart-ready]")
    table = page.get_by_test_id("explorer-table")
    assert table.get_by_role("rowheader", name="webinar", exact=True).is_visible()
    assert table.get_by_role("rowheader", name="ads", exact=True).is_visible()
