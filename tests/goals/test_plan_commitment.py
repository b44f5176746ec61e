"""A revenue plan sets an SLA agreement's marketing commitment (leads per product per month)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from goals import services
from sla.models import SLAAgreement, SLAClock
from tests.leads.factories import LeadFactory, ProductFactory
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)


def seed_plan(manager, **extra):
    # $15,000 at $1,000 → 15 customers → 60 opportunities → 120 SQLs in one month.
    return services.revenue_plan_save(
        actor=manager,
        now=NOW,
        name="Seed plan",
        period_start=dt.date(2026, 4, 1),
        months=1,
        revenue_target=D(15000),
        average_deal_size=D(1000),
        lead_to_mql_rate=D("0.2"),
        mql_to_sql_rate=D("0.4"),
        sql_to_opportunity_rate=D("0.5"),
        opportunity_to_customer_rate=D("0.25"),
        **extra,
    )


@pytest.fixture
def products(db):
    return ProductFactory(name="Analytics", code="analytics"), ProductFactory(
        name="Automation", code="automation"
    )


def test_without_a_split_the_monthly_need_is_spread_over_the_covered_products(manager, products):
    plan = seed_plan(manager)
    agreement = SLAAgreementFactory(leads_per_product_per_month=75)
    agreement.products.set(products)
    current = services.revenue_plan_set_commitment(plan=plan, agreement=agreement, actor=manager)
    # 120 SQLs a month over two products.
    assert current.pk == agreement.pk  # no clock uses it yet: edited in place
    assert current.leads_per_product_per_month == 60


def test_with_a_product_split_the_largest_products_need_is_committed(manager, products):
    analytics, automation = products
    plan = seed_plan(manager, product_shares={analytics.pk: D("0.6"), automation.pk: D("0.4")})
    agreement = SLAAgreementFactory()
    figure, how = services.revenue_plan_commitment_figure(plan=plan, agreement=agreement)
    # Analytics: $9,000 → 9 customers → 36 opportunities → 72 SQLs; Automation needs 48.
    assert figure == 72
    assert "largest monthly sqls need" in how


def test_an_agreement_in_use_gets_a_new_version_and_old_clocks_keep_their_terms(
    manager, rep, products
):
    plan = seed_plan(manager)
    agreement = SLAAgreementFactory(leads_per_product_per_month=75)
    agreement.products.set(products)
    calendar = BusinessCalendarFactory()
    lead = LeadFactory(owner=rep, stage="sql")
    now = timezone.now()
    SLAClock.objects.create(
        lead=lead,
        owner=rep,
        agreement=agreement,
        calendar=calendar,
        handoff_at=now,
        first_touch_due_at=now + dt.timedelta(hours=5),
        warn_at=now + dt.timedelta(hours=4),
        attempt_window_ends_at=now + dt.timedelta(days=16),
    )
    current = services.revenue_plan_set_commitment(plan=plan, agreement=agreement, actor=manager)
    agreement.refresh_from_db()
    assert current.pk != agreement.pk
    assert (current.version, current.leads_per_product_per_month) == (2, 60)
    assert agreement.status == SLAAgreement.Status.SUPERSEDED
    assert agreement.leads_per_product_per_month == 75
    assert SLAClock.objects.get(lead=lead).agreement_id == agreement.pk


def test_the_api_sets_the_commitment_and_refuses_bad_input(api_as, manager, rep, products):
    plan = seed_plan(manager)
    agreement = SLAAgreementFactory()
    agreement.products.set(products)
    url = f"/api/v1/revenue-plans/{plan.pk}/set-commitment/"

    assert api_as(rep).post(url, {"agreement": agreement.pk}, format="json").status_code == 403
    missing = api_as(manager).post(url, {"agreement": 999999}, format="json")
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"agreement": ["No such SLA agreement."]}
    junk = api_as(manager).post(url, {"agreement": "x"}, format="json")
    assert junk.status_code == 400
    assert "agreement" in junk.json()["errors"]

    response = api_as(manager).post(url, {"agreement": agreement.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["leads_per_product_per_month"] == 60
    assert response.json()["commitment_stage"] == "sql"


def test_a_manager_sets_the_commitment_from_the_plan_page(client, manager, products):
    plan = seed_plan(manager)
    agreement = SLAAgreementFactory(name="Our SLA")
    agreement.products.set(products)
    client.force_login(manager)
    page = client.get(f"/goals/plans/{plan.pk}/").content.decode()
    assert "Our SLA v1: 75 → 60 SQLs per product per month" in page
    response = client.post(
        f"/goals/plans/{plan.pk}/set-commitment/", {"agreement": agreement.pk}, follow=True
    )
    assert "now commits marketing to 60 leads reaching SQL per product per month" in (
        response.content.decode()
    )
    bad = client.post(f"/goals/plans/{plan.pk}/set-commitment/", {"agreement": "nope"}, follow=True)
    assert "Choose an SLA agreement." in bad.content.decode()


def test_the_plan_page_query_count_does_not_grow_with_agreements(
    client, manager, products, django_assert_num_queries
):
    plan = seed_plan(manager)
    client.force_login(manager)
    SLAAgreementFactory()
    client.get(f"/goals/plans/{plan.pk}/")
    with django_assert_num_queries(12):
        client.get(f"/goals/plans/{plan.pk}/")
    SLAAgreementFactory().products.set(products)
    SLAAgreementFactory()
    with django_assert_num_queries(12):
        client.get(f"/goals/plans/{plan.pk}/")
