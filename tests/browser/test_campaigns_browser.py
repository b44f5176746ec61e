import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import Campaign, Lead
from leads.services import lead_transition
from tests.leads.factories import LeadFactory, ProductFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def blocked(console: list[str]) -> list[str]:
    """Console errors but the 400 a refused form answers (it is meant)."""
    return [line for line in console if "status of 400" not in line]


def test_a_marketer_creates_a_campaign_sees_it_listed_and_archives_it(
    page, login, marketer, strict_csp, artifact_path
):
    ProductFactory(name="Analytics", code="analytics")
    login(marketer)
    page.goto("/")
    page.get_by_role("link", name="Campaigns").click()
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()

    page.get_by_test_id("new-campaign").click()
    form = page.get_by_test_id("campaign-form")
    form.get_by_label("Name").fill("Spring webinar")
    form.get_by_label("Channel").select_option("webinar")
    form.get_by_label("Source").fill("webinar")
    form.get_by_label("Product").select_option(label="Analytics")
    form.get_by_label("Cost").fill("2500")
    form.get_by_label("Starts on").fill("2026-03-01")
    form.get_by_label("Ends on").fill("2026-02-01")
    form.get_by_role("button", name="Save campaign").click()
    # A campaign ending before it starts is refused on its field, the input kept.
    expect(page.get_by_text("The campaign cannot end before it starts.")).to_be_visible()
    expect(form.get_by_label("Name")).to_have_value("Spring webinar")
    form.get_by_label("Ends on").fill("2026-03-31")
    form.get_by_role("button", name="Save campaign").click()

    expect(page.get_by_test_id("campaign-name")).to_have_text("Spring webinar")
    expect(page.get_by_test_id("campaign-cost")).to_have_text("2,500.00")
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name="Campaigns").click()
    row = page.get_by_test_id("campaign-row").filter(has_text="Spring webinar")
    expect(row).to_contain_text("Webinar")
    expect(row).to_contain_text("Analytics")
    page.screenshot(path=artifact_path("campaign-list.png"), full_page=True)

    row.get_by_role("link", name="Spring webinar").click()
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_test_id("archived-badge")).to_be_visible()
    assert Campaign.objects.get(name="Spring webinar").archived_at is not None

    page.goto("/leads/campaigns/")
    expect(page.get_by_test_id("campaign-row")).to_have_count(0)
    page.get_by_label("Show archived").check()  # submits itself (data-autosubmit)
    page.wait_for_url("**/leads/campaigns/?archived=1")
    archived = page.get_by_test_id("campaign-row").filter(has_text="Spring webinar")
    expect(archived.get_by_test_id("archived-badge")).to_be_visible()
    page.screenshot(path=artifact_path("campaign-list-archived.png"), full_page=True)
    assert blocked(strict_csp) == []


def test_the_move_form_asks_for_the_amount_only_when_customer_is_chosen(
    page, login, marketer, strict_csp
):
    lead = LeadFactory(
        first_name="Grace", last_name="Hopper", created_at=timezone.now() - dt.timedelta(days=3)
    )
    lead_transition(lead=lead, to_stage="opportunity", reason="demo went well")
    login(marketer)
    page.goto(f"/leads/{lead.pk}/")
    page.get_by_role("tab", name="Move").click()
    form = page.get_by_test_id("transition-form")
    amount = form.get_by_label("Deal amount")

    form.get_by_label("Move to").select_option("lost")
    expect(amount).to_be_hidden()
    form.get_by_label("Move to").select_option("customer")
    expect(amount).to_be_visible()
    form.get_by_role("button", name="Move the lead").click()
    expect(page.get_by_text("Give the deal's amount: won revenue counts it.")).to_be_visible()

    page.get_by_test_id("transition-form").get_by_label("Deal amount").fill("1800")
    page.get_by_test_id("transition-form").get_by_role("button", name="Move the lead").click()
    expect(page.get_by_test_id("lead-stage")).to_have_text("Customer")
    assert Lead.objects.get(pk=lead.pk).amount == Decimal("1800")
    assert strict_csp == []
