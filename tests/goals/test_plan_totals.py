"""A revenue plan split by product shows totals that are exactly the sums of its products'
rows (each product rounded up on its own), and says so on the page."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest

from goals import planning, services
from tests.leads.factories import ProductFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
THIRDS = (D("0.3333"), D("0.3333"), D("0.3334"))


def thirds_plan(manager):
    products = [
        ProductFactory(name="Analytics", code="analytics"),
        ProductFactory(name="Automation", code="automation"),
        ProductFactory(name="Billing", code="billing"),
    ]
    # $10,000 at $1,000: 10 customers for the whole target, but a third of it ($3,333) needs
    # 4 customers, so the three products need 12.
    return services.revenue_plan_save(
        actor=manager,
        now=NOW,
        name="Thirds",
        period_start=dt.date(2026, 4, 1),
        months=3,
        revenue_target=D(10000),
        average_deal_size=D(1000),
        lead_to_mql_rate=D("0.3"),
        mql_to_sql_rate=D("0.3"),
        sql_to_opportunity_rate=D("0.3"),
        opportunity_to_customer_rate=D("0.3"),
        product_shares={p.pk: share for p, share in zip(products, THIRDS, strict=True)},
    )


def test_the_plans_needs_are_the_sums_of_its_products_needs(manager):
    plan = thirds_plan(manager)
    rows = plan.computed["products"]

    for key in ("customers", "opportunities", "sqls", "mqls", "leads"):
        assert plan.computed["needs"][key] == sum(row["needs"][key] for row in rows)
        assert plan.computed["needs_per_month"][key] == sum(
            row["needs_per_month"][key] for row in rows
        )
    assert plan.computed["needs"]["customers"] == 12
    assert plan.computed["whole_plan_needs"]["customers"] == 10
    assert D(plan.computed["needs"]["expected_revenue"]) == D(12000)


def test_a_plan_without_products_keeps_the_whole_targets_needs(manager):
    plan = services.revenue_plan_save(
        actor=manager,
        now=NOW,
        name="Whole",
        period_start=dt.date(2026, 4, 1),
        months=1,
        revenue_target=D(15000),
        average_deal_size=D(1000),
        lead_to_mql_rate=D("0.2"),
        mql_to_sql_rate=D("0.4"),
        sql_to_opportunity_rate=D("0.5"),
        opportunity_to_customer_rate=D("0.25"),
    )
    assert plan.computed["needs"]["leads"] == 1500
    assert plan.computed["whole_plan_needs"] == plan.computed["needs"]


def cells(html: str, testid: str) -> list[str]:
    row = re.search(rf'data-testid="{testid}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[dh][^>]*>.*?</t[dh]>", row)]


def test_the_plan_page_totals_add_up_and_say_why(client, manager):
    plan = thirds_plan(manager)
    client.force_login(manager)

    html = client.get(plan.get_absolute_url()).content.decode()

    body = re.search(r'data-testid="plan-products">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    product_rows = [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>.*?</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
    assert [row[1] for row in product_rows] == ["33.33%", "33.33%", "33.34%"]
    total = cells(html, "plan-products-total")
    for column in (2, 3, 4, 5):
        assert int(total[column].replace(",", "")) == sum(
            int(row[column].replace(",", "")) for row in product_rows
        )
    assert total[2] == "12"
    leads_total = re.search(r'data-testid="need-leads">([\d,]+)<', html).group(1)
    assert leads_total == total[3]
    note = re.search(r'data-testid="plan-needs-by-product">(.*?)</p>', html, re.S).group(1)
    assert "sums of the products' rows" in note.replace("&#x27;", "'")
    assert "10 customers" in note


def test_total_needs_refuses_parts_of_different_plans():
    a = planning.PlanNeeds(1, 2, 3, 4, 5, D(1000))
    b = planning.PlanNeeds(1, 2, 3, 4, 5, D(900))
    assert planning.total_needs([a, a]).leads == 10
    with pytest.raises(ValueError):
        planning.total_needs([a, b])
    with pytest.raises(ValueError):
        planning.total_needs([])
