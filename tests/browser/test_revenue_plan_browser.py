import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_manager_creates_a_revenue_plan_and_sees_the_goals_it_made(
    page, login, manager, artifact_path
):
    login(manager)
    page.goto("/goals/plans/new/")
    page.locator("#id_name").fill("Seed plan")
    page.locator("#id_period_start").fill("2026-04-01")
    page.locator("#id_revenue_target").fill("15000")
    page.get_by_label("Average deal size", exact=True).fill("1000")
    page.get_by_label("Lead → MQL rate (%)").fill("20")
    page.get_by_label("MQL → SQL rate (%)").fill("40")
    page.get_by_label("SQL → opportunity rate (%)").fill("50")
    page.get_by_label("Opportunity → customer rate (%)").fill("25")
    page.get_by_role("button", name="Compute and save the plan").click()
    assert page.get_by_test_id("need-customers").inner_text() == "15"
    assert page.get_by_test_id("need-leads").inner_text() == "1,500"

    page.get_by_role("button", name="Create the goals for both teams").click()
    goals = page.get_by_test_id("plan-goals")
    assert "Leads: 1,500 for Seed plan" in goals.inner_text()
    assert "Customers won: 15 for Seed plan" in goals.inner_text()
    page.screenshot(path=artifact_path("revenue-plan.png"), full_page=True)

    page.goto("/goals/")
    listing = page.get_by_test_id("goal-list").inner_text()
    assert "MQLs: 300 for Seed plan" in listing
    assert "Revenue won: 15,000 for Seed plan" in listing
