"""One convention for rates: percentages on pages, fractions in the API (and its schema)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from core.rates import percent_text
from goals.models import Metric
from tests.goals.factories import GoalFactory
from tests.reporting.history import base_day, story

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        (D("0.425"), 0, "43%"),
        (D("0.425"), 1, "42.5%"),
        (0.25, 2, "25%"),
        (D(1) / 3, 1, "33.3%"),
        (1.5, 0, "150%"),
        (0, 0, "0%"),
        (None, 0, "—"),
        ("", 1, "—"),
        ("not a rate", 0, "—"),
    ],
)
def test_a_fraction_is_shown_as_a_percentage(value, places, shown):
    assert percent_text(value, places) == shown


def test_the_funnel_page_shows_percentages_and_the_api_fractions(client, api_as, marketer, rep):
    story(owner=rep)
    first, last = base_day(), base_day() + dt.timedelta(days=30)
    query = f"start={first}&end={last}&mode=cohort"
    client.force_login(marketer)

    html = client.get(f"/reports/?{query}").content.decode()
    data = api_as(marketer).get(f"/api/v1/reports/funnel/?{query}").json()

    rates = {(p["from"], p["to"]): p["rate"] for p in data["total"]["conversion"]}
    mql_sql = rates[("mql", "sql")]
    assert 0 < mql_sql < 1  # a fraction, 4 of 7
    assert mql_sql == pytest.approx(4 / 7)
    assert "57.1%" in html
    assert "0.57" not in html


def test_the_schema_says_funnel_rates_are_fractions(api_as, marketer):
    schema = api_as(marketer).get("/api/schema/?format=json").json()
    pair = schema["components"]["schemas"]["FunnelPair"]["properties"]["rate"]
    assert "fraction from 0 to 1" in pair["description"]


def test_a_rate_goal_shows_its_target_as_a_percentage(client, marketer):
    goal = GoalFactory(
        metric=Metric.CONVERSION_RATE,
        from_stage="mql",
        to_stage="sql",
        target_value=D("0.425"),
        baseline_value=D("0.3"),
    )
    client.force_login(marketer)
    html = client.get(goal.get_absolute_url()).content.decode()
    assert "42.5%" in html and "30%" in html
