"""In a real browser, under the strict Content-Security-Policy: a manager reorders the
routing rules in place."""

import pytest
from playwright.sync_api import expect

from leads.models import RoutingRule

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_manager_moves_a_routing_rule_up_in_place(
    page, login, manager, sales_team, strict_csp, artifact_path
):
    RoutingRule.objects.create(name="Everyone", team=sales_team, priority=10)
    RoutingRule.objects.create(name="Germany", team=sales_team, priority=20, countries=["DE"])
    login(manager)
    page.goto("/leads/")
    page.get_by_test_id("routing-rules-link").click()
    rows = page.get_by_test_id("routing-rule")
    expect(rows.first).to_contain_text("Everyone")
    expect(rows.nth(1)).to_contain_text("Never reached")
    page.evaluate("window.beforeTheMove = 'still here'")
    page.get_by_role("button", name="Move “Germany” up").click()
    expect(rows.first).to_contain_text("Germany")
    expect(page.get_by_test_id("rule-shadowed")).to_have_count(0)
    assert page.evaluate("window.beforeTheMove") == "still here"  # swapped in place
    page.screenshot(path=artifact_path("routing-rules.png"), full_page=True)
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["Germany", "Everyone"]
    assert strict_csp == []
