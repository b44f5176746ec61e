"""The revenue plan a report reads is the one in force over its period: the weekly review
finds it however the plan's months fall around the week, and whenever it was written down."""

import datetime as dt
from decimal import Decimal as D

import pytest

from reporting.selectors import day_start, revenue_plan_in_force
from reporting.services import weekly_review_build
from tests.goals.factories import RevenuePlanFactory

pytestmark = pytest.mark.django_db

# Monday 30 March 2026 to Sunday 5 April 2026: the week straddles a month and a quarter.
MONDAY = dt.date(2026, 3, 30)
SUNDAY = MONDAY + dt.timedelta(days=6)


def build_review():
    return weekly_review_build(week_start=MONDAY, now=day_start(SUNDAY) + dt.timedelta(days=1))


def test_the_review_finds_a_quarter_plan_that_began_before_the_week():
    RevenuePlanFactory(name="Q1", period_start=dt.date(2026, 1, 1), months=3)

    assert build_review().content["plan"] == {"name": "Q1"}


def test_the_review_finds_a_plan_that_starts_in_the_middle_of_the_week():
    RevenuePlanFactory(name="April", period_start=dt.date(2026, 4, 1), months=1)

    assert build_review().content["plan"] == {"name": "April"}


def test_the_review_finds_a_year_plan_that_ends_long_after_the_week():
    RevenuePlanFactory(name="2026", period_start=dt.date(2026, 1, 1), months=12)
    RevenuePlanFactory(name="Last year", period_start=dt.date(2025, 1, 1), months=12)

    assert build_review().content["plan"] == {"name": "2026"}


def test_the_review_of_a_past_week_finds_a_plan_written_down_afterwards():
    review = build_review()
    assert review.content["plan"] is None

    RevenuePlanFactory(name="Written late", period_start=dt.date(2026, 3, 1), months=2)

    assert build_review().content["plan"] == {"name": "Written late"}


def test_a_plan_that_ended_or_has_not_begun_is_not_in_force():
    RevenuePlanFactory(name="February", period_start=dt.date(2026, 2, 1), months=1)
    RevenuePlanFactory(name="May", period_start=dt.date(2026, 5, 1), months=1)

    assert build_review().content["plan"] is None


def test_of_two_plans_the_one_covering_more_of_the_week_is_in_force():
    RevenuePlanFactory(name="March", period_start=dt.date(2026, 3, 1), months=1)  # 2 days
    RevenuePlanFactory(name="April", period_start=dt.date(2026, 4, 1), months=1)  # 5 days

    assert revenue_plan_in_force(first=MONDAY, last=SUNDAY).name == "April"


def test_of_two_plans_covering_the_whole_period_the_more_specific_is_in_force():
    RevenuePlanFactory(name="2026", period_start=dt.date(2026, 1, 1), months=12)
    RevenuePlanFactory(name="April", period_start=dt.date(2026, 4, 1), months=1)

    plan = revenue_plan_in_force(first=dt.date(2026, 4, 6), last=dt.date(2026, 4, 12))

    assert plan.name == "April"


def test_the_plan_in_force_carries_its_share_of_the_period():
    plan = RevenuePlanFactory(
        name="Q2", period_start=dt.date(2026, 4, 1), months=3, revenue_target=D("91000")
    )
    plan.computed = {"needs": {"customers": 91, "opportunities": 364, "leads": 9100}}
    plan.save()

    view = revenue_plan_in_force(first=dt.date(2026, 3, 1), last=dt.date(2026, 4, 10))

    assert (view.first, view.last) == (dt.date(2026, 4, 1), dt.date(2026, 4, 10))
    assert view.target_in_period == D("10000.00")  # 10 of the plan's 91 days
    assert view.needs_in_period == {"customers": 10, "opportunities": 40, "leads": 1000}
