import datetime as dt

import pytest

from reporting import selectors
from tests.leads.factories import ProductFactory
from tests.sla.factories import SLAAgreementFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def test_a_month_ending_exclusively_shows_that_month_only_with_a_readable_pace():
    product = ProductFactory(name="Analytics")
    SLAAgreementFactory(leads_per_product_per_month=75).products.set([product])
    rows = selectors.commitment_pace(
        start=dt.datetime(2026, 11, 1, tzinfo=UTC),
        end=dt.datetime(2026, 12, 1, tzinfo=UTC),
        now=dt.datetime(2026, 11, 10, tzinfo=UTC),
    )
    assert [(row["product_name"], row["month"]) for row in rows] == [
        ("Analytics", dt.date(2026, 11, 1))
    ]
    assert rows[0]["status"] == "at_risk"
    assert rows[0]["status_label"] == "At risk"
