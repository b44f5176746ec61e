"""Persona performance from leads, checked against figures computed by hand."""

import datetime as dt
from decimal import Decimal as D

import pytest

from reporting.personas import conversion_flags, persona_monthly_trend, persona_performance
from tests.leads.factories import LeadFactory
from tests.personas.factories import PersonaFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def lead(persona, created, **stages):
    return LeadFactory(persona=persona, created_at=created, **stages)


@pytest.fixture
def ops(db):
    """Hand-computed fixture for the "Ops Olivia" persona (window: the year before NOW).

    - 6 leads created in the window, 1 before it (won in the window).
    - MQLs in window: 4 (a, b, c, d); of them SQLs: a, b, c → MQL→SQL = 3/4 = 75%.
    - opportunities in window: a, b, c; won: a, b → win rate 2/3 = 66.67%.
    - old (created 400 days ago) won in the window too, but was an opportunity before it.
    - revenue: a 1,000 + b 3,000 + old 500 = 4,500.
    - cycle: a 10 days, b 30 days, old 400 days → median 30 days.
    - feedback: a accepted, b accepted, c rejected → acceptance 2/3.
    """
    from leads.models import SalesFeedback

    persona = PersonaFactory(name="Ops Olivia")
    start = NOW - 100 * DAY
    a = lead(
        persona,
        start,
        mql_at=start + DAY,
        sql_at=start + 2 * DAY,
        opportunity_at=start + 3 * DAY,
        customer_at=start + 10 * DAY,
        amount=D(1000),
    )
    b = lead(
        persona,
        start,
        mql_at=start + DAY,
        sql_at=start + 2 * DAY,
        opportunity_at=start + 3 * DAY,
        customer_at=start + 30 * DAY,
        amount=D(3000),
    )
    c = lead(
        persona, start, mql_at=start + DAY, sql_at=start + 2 * DAY, opportunity_at=start + 3 * DAY
    )
    lead(persona, start, mql_at=start + DAY)
    lead(persona, start)
    lead(persona, start)
    old_created = NOW - 400 * DAY
    lead(
        persona,
        old_created,
        mql_at=old_created,
        sql_at=old_created,
        opportunity_at=old_created,
        customer_at=old_created + 400 * DAY - 2 * DAY,
        amount=D(500),
    )
    # Someone else's lead must not count.
    LeadFactory(
        persona=PersonaFactory(name="Other"),
        created_at=start,
        amount=D(9999),
        customer_at=start + DAY,
    )
    for the_lead, accepted in ((a, True), (b, True), (c, False)):
        feedback = SalesFeedback.objects.create(
            lead=the_lead, accepted=accepted, rating=4, reason="" if accepted else "bad_fit"
        )
        SalesFeedback.objects.filter(pk=feedback.pk).update(created_at=start + 5 * DAY)
    return persona


def test_persona_performance_matches_the_hand_computed_figures(ops):
    perf = persona_performance(now=NOW)[ops.pk]
    assert perf.leads == 6
    assert perf.mqls == 4
    assert perf.mql_to_sql_rate == D("0.75")
    assert perf.acceptance_rate == D("0.6667")
    assert perf.win_rate == D("0.6667")
    assert perf.revenue == D(4500)
    assert perf.median_cycle_days == D("30.0")


def test_persona_performance_takes_three_queries_for_every_persona(ops, django_assert_num_queries):
    for index in range(5):
        PersonaFactory(name=f"Extra {index}")
    with django_assert_num_queries(3):
        persona_performance(now=NOW)


def test_the_monthly_trend_counts_each_month(ops):
    rows = persona_monthly_trend(persona=ops, now=NOW, months=6)
    assert [row.month for row in rows][-1] == dt.date(2026, 6, 1)
    by_month = {row.month: row for row in rows}
    march = by_month[dt.date(2026, 3, 1)]  # NOW - 100 days is 7 March
    assert march.leads == 6
    assert march.mqls == 4 and march.sqls_of_mqls == 3
    assert by_month[dt.date(2026, 4, 1)].revenue == D(3000)  # b, won 6 April
    assert by_month[dt.date(2026, 6, 1)].revenue == D(500)  # old, won 13 June


def test_a_persona_whose_conversion_collapses_is_flagged(db):
    falling, steady = PersonaFactory(name="Falling"), PersonaFactory(name="Steady")
    past, recent = NOW - 200 * DAY, NOW - 20 * DAY
    for index in range(10):
        lead(falling, past, mql_at=past, sql_at=past if index < 6 else None)  # 60% before
        lead(falling, recent, mql_at=recent, sql_at=recent if index < 1 else None)  # 10% now
        lead(steady, recent, mql_at=recent, sql_at=recent if index < 5 else None)  # 50%
    perf = persona_performance(now=NOW)
    assert len(perf[falling.pk].flags) == 2
    assert "well below its own past (60%)" in perf[falling.pk].flags[0]
    assert "the other personas (50%)" in perf[falling.pk].flags[1]
    assert perf[steady.pk].flags == []


@pytest.mark.parametrize(
    "recent, past, others, count",
    [
        ((4, 0), (10, 8), (10, 8), 0),  # too few recent MQLs to judge
        ((10, 6), (10, 8), (10, 8), 0),  # 60% vs 80%: not *well* below (75%)
        ((10, 5), (10, 8), (3, 3), 1),  # 50% < 70% of 80%; too few others to compare
    ],
)
def test_the_flag_needs_enough_data_and_a_real_drop(recent, past, others, count):
    assert len(conversion_flags(recent=recent, past=past, others=others)) == count


@pytest.mark.parametrize(
    "recent, past, flag",
    [
        # 1 of 8 is 12.5%, 5 of 6 is 83.33…%: whole numbers rounded half to even said 12%, 83%
        ((8, 1), (6, 5), "MQL→SQL conversion is 12.5% recently, well below its own past (83.3%)."),
        # 1 of 16 is 6.25%: half up to one decimal, 6.3% (half to even would say 6.2%)
        ((16, 1), (8, 5), "MQL→SQL conversion is 6.3% recently, well below its own past (62.5%)."),
        # a whole percentage has no trailing zero, as on the pages
        ((10, 2), (10, 8), "MQL→SQL conversion is 20% recently, well below its own past (80%)."),
    ],
)
def test_a_flags_rates_are_rounded_as_the_pages_show_rates(recent, past, flag):
    from django.template import Context, Template

    from goals.planning import conversion_rate

    (message,) = conversion_flags(recent=recent, past=past, others=(0, 0))
    assert message == flag
    # The same text the persona pages' `percent:1` filter shows for the measured rate.
    shown = Template("{% load rates %}{{ a|percent:1 }} {{ b|percent:1 }}").render(
        Context({"a": conversion_rate(*recent), "b": conversion_rate(*past)})
    )
    now, before = shown.split()
    assert f"is {now} recently" in message and f"({before})" in message
