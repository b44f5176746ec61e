"""One convention for rates: percentages on pages, fractions in the API (and its schema)."""

import datetime as dt
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines
from django.urls import reverse
from django.utils import timezone

from core.rates import percent_text
from goals.models import Metric, RevenuePlan
from leads.models import Lead, SalesFeedback
from leads.selectors import leads_funnel
from reporting.personas import persona_performance
from reporting.selectors import day_start
from tests.goals.factories import GoalFactory
from tests.leads.factories import CampaignFactory, LeadFactory
from tests.personas.factories import PersonaFactory
from tests.reporting.history import base_day, story
from tests.sla import conftest as sla
from tests.sla.conftest import ny
from tests.sla.factories import SLAAgreementFactory

pytestmark = pytest.mark.django_db

# The SLA pages' fixtures (their conftest only serves tests/sla/).
office_calendar, agreement, product = sla.office_calendar, sla.agreement, sla.product
hand_off, log_attempt = sla.hand_off, sla.log_attempt


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


# -- every page shows its rates the dashboard's way -----------------------------------------------


def shown(fraction) -> str:
    """What a page must show for ``fraction``, worked out here rather than by the filter: the
    fraction × 100 rounded half up to one decimal (as the dashboard rounds), no trailing
    zero; no fraction (nothing to divide by) is "—"."""
    if fraction is None:
        return "—"
    if isinstance(fraction, Fraction):
        fraction = D(fraction.numerator) / D(fraction.denominator)
    value = (D(str(fraction)) * 100).quantize(D("0.1"), rounding=ROUND_HALF_UP)
    return f"{value.normalize():f}%"


class _Tables(HTMLParser):
    """The cell texts of every table on a page, row by row, by the table's id or test id."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._open: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            name = attrs.get("id") or attrs.get("data-testid") or ""
            self._open.append(name)
            self.tables.setdefault(name, [])
        elif tag == "tr" and self._open:
            self._row = []
            self.tables[self._open[-1]].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._open:
            self._open.pop()
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table(html: str, name: str) -> list[dict[str, str]]:
    """The rows of the table `name` as {column heading: cell text}."""
    parser = _Tables()
    parser.feed(html)
    header, *rows = parser.tables[name]
    return [dict(zip(header, row, strict=False)) for row in rows]


def test_shown_rounds_half_up_to_one_decimal_like_the_dashboard():
    assert [shown(v) for v in (4 / 7, D("0.6665"), D("0.0005"), 1, 0, None)] == [
        "57.1%",
        "66.7%",
        "0.1%",
        "100%",
        "0%",
        "—",
    ]
    # widthratio showed 4 of 7 as "57%" and 2 of 3 as "67%": not the dashboard's way.
    assert percent_text(4 / 7, 1) == shown(4 / 7) != "57%"


def test_no_template_computes_a_rate_with_widthratio():
    root = Path(settings.BASE_DIR)
    folders = [
        Path(folder)
        for folder in engines["django"].template_dirs
        if Path(folder).resolve().is_relative_to(root) and ".venv" not in Path(folder).parts
    ]
    assert folders, "the project's template folders are searched"
    templates = [path for folder in folders for path in folder.rglob("*.html")]
    assert len(templates) > 50
    assert [str(p) for p in templates if "widthratio" in p.read_text()] == []


def test_the_dashboard_funnel_shows_the_apis_fractions_as_percentages(
    client, api_as, marketer, rep
):
    story(owner=rep)
    first, last = base_day(), base_day() + dt.timedelta(days=30)
    query = f"start={first}&end={last}&mode=cohort"
    client.force_login(marketer)

    rows = table(client.get(f"/?{query}").content.decode(), "funnel-table")
    data = api_as(marketer).get(f"/api/v1/reports/funnel/?{query}").json()

    conversion = {row["Stage"]: row["Conversion"] for row in rows}
    labels = {"mql": "MQLs", "sql": "SQLs", "opportunity": "Opportunities", "customer": "Customers"}
    pairs = data["total"]["conversion"]
    assert {labels[p["to"]]: shown(p["rate"]) for p in pairs} == {
        label: conversion[label] for label in labels.values()
    }
    assert conversion["SQLs"] == "57.1%"  # 4 of 7 MQLs


def _last_month() -> tuple[dt.date, dt.date]:
    first_of_this = timezone.localdate().replace(day=1)
    last = first_of_this - dt.timedelta(days=1)
    return last.replace(day=1), last


@pytest.mark.parametrize(
    ("target", "won", "whole_month", "share", "bar"),
    [
        (D("3000"), [D("400"), D("600")], True, Fraction(1, 3), "33.3"),
        (D("3000"), [D("4500")], True, Fraction(3, 2), "100.0"),  # past the target: a full bar
        # One day of a 0.01 target is 0.00 to win: nothing to divide by.
        (D("0.01"), [D("1000")], False, None, "0.0"),
    ],
)
def test_the_dashboard_shows_revenue_won_against_the_plan_as_a_percentage(
    client, marketer, target, won, whole_month, share, bar
):
    first, last = _last_month()
    RevenuePlan.objects.create(
        name="Last month's plan",
        period_start=first,
        months=1,
        revenue_target=target,
        average_deal_size=D("1000"),
        lead_to_mql_rate=D("0.2"),
        mql_to_sql_rate=D("0.4"),
        sql_to_opportunity_rate=D("0.5"),
        opportunity_to_customer_rate=D("0.25"),
    )
    won_at = day_start(first + dt.timedelta(days=9)) + dt.timedelta(hours=12)
    for amount in won:
        LeadFactory(stage="customer", created_at=won_at, customer_at=won_at, amount=amount)
    client.force_login(marketer)

    html = client.get(f"/?start={first}&end={last if whole_month else first}").content.decode()

    assert f'data-testid="won-share">({shown(share)})</span>' in html
    assert f'aria-valuenow="{bar}" aria-valuetext="{shown(share)}"' in html
    assert f'style="width: {bar}%"' in html


@pytest.fixture
def persona_with_rates(db):
    """Ops: 7 MQLs of which 4 SQLs (4/7), 3 opportunities of which 2 won (2/3), 3 pieces of
    sales feedback of which 1 accepted (1/3), all ten days ago. Quiet: leads, no MQL."""
    ops, quiet = PersonaFactory(name="Ops Olivia"), PersonaFactory(name="Quiet Quentin")
    when = timezone.now() - dt.timedelta(days=10)
    leads = []
    for n in range(7):
        stages = {"mql_at": when}
        if n < 4:
            stages["sql_at"] = when
        if n < 3:
            stages["opportunity_at"] = when
        if n < 2:
            stages["customer_at"] = when
        leads.append(LeadFactory(persona=ops, created_at=when, amount=D("100"), **stages))
    for lead, accepted in zip(leads, (True, False, False), strict=False):
        SalesFeedback.objects.create(
            lead=lead, accepted=accepted, rating=3, reason="" if accepted else "bad_fit"
        )
    LeadFactory(persona=quiet, created_at=when)
    return ops, quiet


def test_the_persona_pages_show_the_measured_fractions_as_percentages(
    client, marketer, persona_with_rates
):
    ops, quiet = persona_with_rates
    perf = persona_performance(persona_ids=[ops.pk, quiet.pk])
    measured = perf[ops.pk].mql_to_sql_rate, perf[ops.pk].acceptance_rate, perf[ops.pk].win_rate
    assert [float(rate) for rate in measured] == pytest.approx([4 / 7, 1 / 3, 2 / 3], abs=1e-4)
    client.force_login(marketer)

    html = client.get(f"/personas/?compare={ops.pk}&compare={quiet.pk}").content.decode()
    rows = {row["Persona"].split()[0]: row for row in table(html, "persona-list")}
    for persona, name in ((ops, "Ops"), (quiet, "Quiet")):
        figures = perf[persona.pk]
        assert (rows[name]["MQL→SQL"], rows[name]["Acceptance"], rows[name]["Win rate"]) == (
            shown(figures.mql_to_sql_rate),
            shown(figures.acceptance_rate),
            shown(figures.win_rate),
        )
    assert (rows["Ops"]["MQL→SQL"], rows["Quiet"]["MQL→SQL"]) == ("57.1%", "—")
    side_by_side = {row[""]: row for row in table(html, "persona-comparison")}
    assert side_by_side["MQL→SQL"]["Ops Olivia"] == shown(perf[ops.pk].mql_to_sql_rate)
    assert side_by_side["Win rate"]["Ops Olivia"] == "66.7%"
    assert side_by_side["Win rate"]["Quiet Quentin"] == "—"

    detail = client.get(ops.get_absolute_url()).content.decode()
    for fraction in measured:
        assert f'<div class="kpi-value">{shown(fraction)}</div>' in detail
    trend = table(detail, "trend-table")
    month = timezone.localtime(timezone.now() - dt.timedelta(days=10)).strftime("%b %Y")
    by_month = {row["Month"]: row["MQL→SQL"] for row in trend}
    assert by_month.pop(month) == "57.1%"
    assert set(by_month.values()) == {"—"}  # months without an MQL


def test_the_campaign_and_product_funnels_show_the_fractions_as_percentages(client, marketer):
    campaign = CampaignFactory(name="Spring webinar")
    for n in range(7):  # 3 of 7 become MQLs, none of them an SQL
        LeadFactory(
            campaign=campaign,
            product=campaign.product,
            mql_at=timezone.now() if n < 3 else None,
        )
    funnel = leads_funnel(Lead.objects.filter(campaign=campaign))
    rates = {step["label"]: step.get("rate") for step in funnel["reached"]}
    client.force_login(marketer)

    for url in (
        reverse("leads:campaign_detail", args=[campaign.pk]),
        reverse("leads:product_detail", args=[campaign.product.pk]),
    ):
        rows = table(client.get(url).content.decode(), "funnel")
        assert {row["Stage"]: row["From the stage before"] for row in rows} == {
            label: "" if rate is None and index == 0 else shown(rate)
            for index, (label, rate) in enumerate(rates.items())
        }
        assert [row["From the stage before"] for row in rows] == ["", "42.9%", "0%", "—", "—"]


def test_the_agreement_shows_its_warning_share_as_the_api_fraction(
    client, api_as, marketer, manager
):
    agreement = SLAAgreementFactory(warning_share=D("0.67"))
    client.force_login(marketer)
    html = client.get(agreement.get_absolute_url()).content.decode()
    share = api_as(manager).get(f"/api/v1/sla/agreements/{agreement.pk}/").json()["warning_share"]
    assert D(str(share)) == D("0.67")
    assert f"The owner is warned when {shown(share)} of the first-touch allowance" in html
    assert shown(share) == "67%"


def test_the_compliance_page_shows_the_apis_met_rates_as_percentages(
    client, api_as, manager, rep, other_rep, office_calendar, agreement, hand_off, log_attempt
):
    # Rep: two met (an attempt on Monday morning), one breached (Monday 15:00, after the 5
    # business hours); Other Rep: one still pending, so no met rate.
    for attempt_at in (ny(2026, 1, 12, 10), ny(2026, 1, 12, 10), ny(2026, 1, 12, 15)):
        log_attempt(hand_off(rep, ny(2026, 1, 9, 16)), rep, attempt_at)
    hand_off(other_rep, ny(2026, 1, 9, 16))
    query = "start=2026-01-01&end=2026-01-31&group_by=owner"
    client.force_login(manager)

    html = client.get(f"/sla/compliance/?{query}").content.decode()
    data = api_as(manager).get(f"/api/v1/sla/compliance/?{query}").json()

    groups = {row["Owner"]: row["Met rate"] for row in table(html, "compliance-groups")}
    assert groups == {row["label"]: shown(row["met_rate"]) for row in data["rows"]}
    assert sorted(groups.values()) == ["66.7%", "—"]
    weeks = [row["Met rate"] for row in table(html, "compliance-weeks")]
    assert weeks == [shown(week["met_rate"]) for week in data["weeks"]] == ["66.7%"]
