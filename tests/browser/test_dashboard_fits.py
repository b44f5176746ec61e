"""The shared dashboard at 1366 × 768 with demo-like data (long names, many products): no
table is wider than its card, and every card names the period it reads."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from goals.models import RevenuePlan
from sla import services
from sla.services import HandOff
from tests.leads.factories import CampaignFactory, LeadFactory, ProductFactory
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

LONG = "Enterprise Customer Data Platform for Regulated Industries"


def demo_like_data(rep):
    BusinessCalendarFactory(
        name="Always open", time_zone="UTC", hours={str(d): [["00:00", "00:00"]] for d in range(7)}
    )
    products = [ProductFactory(name=f"{LONG} {n} Premium Tier", code=f"long-{n}") for n in range(8)]
    SLAAgreementFactory(name="Sales and marketing SLA with a very long name indeed")
    today = timezone.localdate()
    RevenuePlan.objects.create(
        name=f"Revenue plan for the {LONG} product line, all regions",
        period_start=today.replace(day=1),
        months=3,
        revenue_target=Decimal("1500000"),
        average_deal_size=Decimal("1000"),
        lead_to_mql_rate=Decimal("0.2"),
        mql_to_sql_rate=Decimal("0.4"),
        sql_to_opportunity_rate=Decimal("0.5"),
        opportunity_to_customer_rate=Decimal("0.25"),
    )
    handed_off = timezone.now() - dt.timedelta(minutes=20)
    for n, product in enumerate(products):
        campaign = CampaignFactory(
            name=f"Spring webinar series on {LONG.lower()} number {n}", product=product
        )
        lead = LeadFactory(
            owner=rep,
            stage="sql",
            product=product,
            campaign=campaign,
            first_name="Maximiliana-Alexandrina",
            last_name=f"Vanderbilt-Montgomery-Featherstonehaugh{n}",
            company=f"{LONG} Holdings International",
            created_at=handed_off,
        )
        services.clocks_start(handoffs=[HandOff(lead.pk, rep.pk, handed_off)])


def test_no_dashboard_table_is_wider_than_its_card_at_1366(
    page, login, marketer, rep, artifact_path
):
    rep.first_name, rep.last_name = "Bartholomew-Christopher", "Worthington-Smythe"
    rep.save()
    demo_like_data(rep)

    page.set_viewport_size({"width": 1366, "height": 768})
    login(marketer)
    page.goto("/")
    page.get_by_test_id("leads-at-risk").locator("tbody tr").first.wait_for()
    page.screenshot(path=artifact_path("dashboard-1366.png"), full_page=True)

    overflowing = page.evaluate(
        """() => {
          const bad = [];
          for (const body of document.querySelectorAll('.card-body, .table-responsive')) {
            const name = (el) => el.closest('[data-testid]')?.dataset.testid || el.className;
            if (body.scrollWidth > body.clientWidth + 1) bad.push(name(body));
            const right = body.getBoundingClientRect().right;
            for (const table of body.querySelectorAll('table')) {
              if (table.getBoundingClientRect().right > right + 1) bad.push(name(table));
            }
          }
          return bad;
        }"""
    )
    assert overflowing == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.get_by_test_id("commitment-pace").locator("tbody tr").count() >= 8
    assert page.get_by_test_id("leads-at-risk").locator("tbody tr").count() == 8

    today = timezone.localdate()
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    period = f"{quarter_start} to {today}"
    for card in ("funnel-card", "sla-health", "leads-at-risk"):
        assert period in page.get_by_test_id(card).locator("h2").inner_text()
    assert page.get_by_test_id("plan-period").inner_text() != ""
    assert quarter_start.strftime("%b %Y") in page.get_by_test_id("commitment-pace").inner_text()
