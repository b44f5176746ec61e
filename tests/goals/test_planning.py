"""The reverse funnel ("sign up for a number"): pure arithmetic, no database."""

import math
from dataclasses import fields, replace
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goals.planning import (
    AMOUNT_MESSAGE,
    FLOAT_MESSAGE,
    MONTHS_MESSAGE,
    NOT_A_NUMBER_MESSAGE,
    NOT_FINITE_MESSAGE,
    RATE_FIELDS,
    RATE_MESSAGE,
    REQUIRED_MESSAGE,
    STAGES,
    MeasuredRates,
    PlanInputs,
    PlanNeeds,
    PlanningError,
    RateSource,
    StageCounts,
    measured_rates,
    per_month,
    plan_needs,
    realism_ratio,
    realism_sentence,
    split_by_product,
    validate_plan_inputs,
    validate_product_shares,
    with_measured_rates,
)

D = Decimal


def make_inputs(
    target="15000",
    deal="1000",
    lead_to_mql="0.2",
    mql_to_sql="0.4",
    sql_to_opportunity="0.5",
    opportunity_to_customer="0.25",
) -> PlanInputs:
    """The seed plan ($15,000 a month at $1,000 a deal, demo rates), with any value replaced.

    Strings become Decimals; anything else (None, a float, an int...) is passed as is.
    """

    def value(raw):
        return D(raw) if isinstance(raw, str) else raw

    return PlanInputs(
        revenue_target=value(target),
        average_deal_size=value(deal),
        lead_to_mql_rate=value(lead_to_mql),
        mql_to_sql_rate=value(mql_to_sql),
        sql_to_opportunity_rate=value(sql_to_opportunity),
        opportunity_to_customer_rate=value(opportunity_to_customer),
    )


def counts(needs: PlanNeeds) -> tuple[int, int, int, int, int]:
    return (needs.customers, needs.opportunities, needs.sqls, needs.mqls, needs.leads)


# --- the chain --------------------------------------------------------------------------------


def test_seed_plan_fifteen_thousand_a_month_at_a_thousand_a_deal_needs_fifteen_hundred_leads():
    needs = plan_needs(make_inputs())

    # 15000 / 1000 = 15 customers; 15 / 0.25 = 60 opportunities; 60 / 0.5 = 120 SQLs;
    # 120 / 0.4 = 300 MQLs; 300 / 0.2 = 1500 leads. Every division is exact: nothing rounds up.
    assert needs.customers == 15
    assert needs.opportunities == 60
    assert needs.sqls == 120
    assert needs.mqls == 300
    assert needs.leads == 1500
    assert needs.expected_revenue == D("15000")
    assert needs.by_stage() == {
        "lead": 1500,
        "mql": 300,
        "sql": 120,
        "opportunity": 60,
        "customer": 15,
    }
    assert list(needs.by_stage()) == list(STAGES)


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        pytest.param(make_inputs(), (15, 60, 120, 300, 1500), id="seed-exact-divisions"),
        # 10000/3000 = 3.33 -> 4; 4/0.3 = 13.33 -> 14; 14/0.4 = 35 exactly;
        # 35/0.6 = 58.33 -> 59; 59/0.15 = 393.33 -> 394.
        pytest.param(
            make_inputs("10000", "3000", "0.15", "0.6", "0.4", "0.3"),
            (4, 14, 35, 59, 394),
            id="rounds-up-at-each-stage",
        ),
        # 3 customers; 3/0.3 = 10; 10/0.3 = 33.33 -> 34; 34/0.3 = 113.33 -> 114;
        # 114/0.3 = 380 exactly.
        pytest.param(
            make_inputs("3000", "1000", "0.3", "0.3", "0.3", "0.3"),
            (3, 10, 34, 114, 380),
            id="decimal-point-three",
        ),
        # 21/0.7 = 30, 30/0.6 = 50, 50/0.5 = 100, 100/0.1 = 1000: all exact (21/0.7 is
        # 30.000000000000004 in floats).
        pytest.param(
            make_inputs("21000", "1000", "0.1", "0.5", "0.6", "0.7"),
            (21, 30, 50, 100, 1000),
            id="exact-where-floats-are-not",
        ),
        pytest.param(
            make_inputs("1", "1000", "1", "1", "1", "1"),
            (1, 1, 1, 1, 1),
            id="a-tiny-target-still-needs-one-customer",
        ),
        pytest.param(
            make_inputs("15000.01", "1000", "1", "1", "1", "1"),
            (16, 16, 16, 16, 16),
            id="a-cent-over-needs-another-customer",
        ),
        pytest.param(
            make_inputs("1234.50", "123.45", "1", "1", "1", "1"),
            (10, 10, 10, 10, 10),
            id="cents-dividing-exactly",
        ),
        pytest.param(
            make_inputs(15000, 1000, "0.2", "0.4", "0.5", "0.25"),
            (15, 60, 120, 300, 1500),
            id="int-money",
        ),
    ],
)
def test_plan_needs_chain(inputs, expected):
    assert counts(plan_needs(inputs)) == expected


def test_each_stage_rounds_up_from_the_whole_number_of_the_next_stage():
    inputs = make_inputs("10000", "3000", "0.15", "0.6", "0.4", "0.3")

    # Rounding only at the end of the unrounded chain would ask for
    # ceil(10000 / 3000 / 0.3 / 0.4 / 0.6 / 0.15) = ceil(308.6) = 309 leads.
    assert plan_needs(inputs).leads == 394


@pytest.mark.parametrize(
    ("customers", "rate", "opportunities"),
    [(15, "0.25", 60), (21, "0.7", 30), (42, "0.35", 120), (3, "0.3", 10)],
)
def test_exact_divisions_never_round_up(customers, rate, opportunities):
    inputs = make_inputs(str(customers * 1000), "1000", "1", "1", "1", opportunity_to_customer=rate)

    assert plan_needs(inputs).opportunities == opportunities


def test_the_float_trap_the_decimal_tests_guard_against_is_real():
    assert math.ceil(21 / 0.7) == 31
    assert math.ceil(42 / 0.35) == 121


def test_plan_needs_ignores_the_callers_decimal_context():
    inputs = make_inputs("123456789.01", "0.07", "0.3", "0.3", "0.3", "0.3")
    expected = plan_needs(inputs)

    with localcontext() as ctx:
        ctx.prec = 3
        assert plan_needs(inputs) == expected
        assert expected.expected_revenue == D("123456789.05")


def test_expected_revenue_is_customers_times_deal_size():
    needs = plan_needs(make_inputs("10000", "3000"))

    assert needs.customers == 4
    assert needs.expected_revenue == D("12000")


@pytest.mark.parametrize("stage", ["won", "customers", ""])
def test_for_stage_refuses_an_unknown_stage(stage):
    with pytest.raises(ValueError, match="unknown stage"):
        plan_needs(make_inputs()).for_stage(stage)


@pytest.mark.parametrize(
    ("stage", "count"),
    [("lead", 1500), ("mql", 300), ("sql", 120), ("opportunity", 60), ("customer", 15)],
)
def test_for_stage(stage, count):
    assert plan_needs(make_inputs()).for_stage(stage) == count


# --- validation -------------------------------------------------------------------------------

AMOUNTS = ("revenue_target", "average_deal_size")

BAD_AMOUNTS = [
    (None, REQUIRED_MESSAGE),
    (D("0"), AMOUNT_MESSAGE),
    (0, AMOUNT_MESSAGE),
    (D("-0"), AMOUNT_MESSAGE),
    (D("-1000"), AMOUNT_MESSAGE),
    (D("-0.01"), AMOUNT_MESSAGE),
    (1000.0, FLOAT_MESSAGE),
    ("1000", NOT_A_NUMBER_MESSAGE),
    (True, NOT_A_NUMBER_MESSAGE),
    (D("NaN"), NOT_FINITE_MESSAGE),
    (D("sNaN"), NOT_FINITE_MESSAGE),
    (D("Infinity"), NOT_FINITE_MESSAGE),
]

BAD_RATES = [
    (None, REQUIRED_MESSAGE),
    (D("0"), RATE_MESSAGE),
    (0, RATE_MESSAGE),
    (D("-0.1"), RATE_MESSAGE),
    (D("-1"), RATE_MESSAGE),
    (D("1.01"), RATE_MESSAGE),
    (D("25"), RATE_MESSAGE),  # a percentage typed where a fraction belongs
    (2, RATE_MESSAGE),
    (0.25, FLOAT_MESSAGE),
    ("0.25", NOT_A_NUMBER_MESSAGE),
    (D("NaN"), NOT_FINITE_MESSAGE),
    (D("-Infinity"), NOT_FINITE_MESSAGE),
]

BAD_INPUTS = [
    pytest.param(field, value, message, id=f"{field}={value!r}")
    for field in AMOUNTS
    for value, message in BAD_AMOUNTS
] + [
    pytest.param(field, value, message, id=f"{field}={value!r}")
    for field in RATE_FIELDS
    for value, message in BAD_RATES
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUTS)
def test_validation_reports_the_bad_field_only(field, value, message):
    inputs = replace(make_inputs(), **{field: value})

    assert validate_plan_inputs(inputs) == {field: [message]}


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUTS)
def test_plan_needs_raises_planning_error_never_zero_division(field, value, message):
    inputs = replace(make_inputs(), **{field: value})

    with pytest.raises(PlanningError) as caught:
        plan_needs(inputs)

    assert caught.value.errors == {field: [message]}
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, ZeroDivisionError)


def test_the_rate_message_speaks_in_percent():
    assert RATE_MESSAGE == "Must be greater than 0% and at most 100%."


@pytest.mark.parametrize(
    "inputs",
    [
        make_inputs(),
        make_inputs("0.01", "0.01", "1", "1", "1", "1"),
        make_inputs(1, 1, 1, 1, 1, 1),
        make_inputs(lead_to_mql="0.0001"),
    ],
)
def test_valid_inputs_have_no_errors(inputs):
    assert validate_plan_inputs(inputs) == {}


def test_every_bad_field_is_reported_at_once_in_field_order():
    inputs = PlanInputs(None, D("0"), D("0"), D("-0.5"), D("1.5"), None)

    errors = validate_plan_inputs(inputs)

    assert errors == {
        "revenue_target": [REQUIRED_MESSAGE],
        "average_deal_size": [AMOUNT_MESSAGE],
        "lead_to_mql_rate": [RATE_MESSAGE],
        "mql_to_sql_rate": [RATE_MESSAGE],
        "sql_to_opportunity_rate": [RATE_MESSAGE],
        "opportunity_to_customer_rate": [REQUIRED_MESSAGE],
    }
    assert list(errors) == [field.name for field in fields(PlanInputs)]
    with pytest.raises(PlanningError, match="revenue_target: This field is required"):
        plan_needs(inputs)


def test_inputs_are_frozen():
    inputs = make_inputs()

    with pytest.raises(AttributeError):
        inputs.revenue_target = D("1")  # type: ignore[misc]


# --- per product ------------------------------------------------------------------------------


def test_split_by_product_gives_each_product_its_share_of_the_target():
    needs = split_by_product(make_inputs(), {"crm": D("0.6"), "helpdesk": D("0.4")})

    # crm: 9000 / 1000 = 9 -> 36 -> 72 -> 180 -> 900; helpdesk: 6000 -> 6 -> 24 -> 48 -> 120 -> 600.
    assert counts(needs["crm"]) == (9, 36, 72, 180, 900)
    assert counts(needs["helpdesk"]) == (6, 24, 48, 120, 600)
    assert needs["crm"].expected_revenue == D("9000")


def test_split_by_product_rounds_up_each_product_on_its_own():
    needs = split_by_product(make_inputs(), {"crm": D("0.3333"), "helpdesk": D("0.6667")})

    # crm: 15000 x 0.3333 = 4999.5 -> 5 customers; helpdesk: 10000.5 -> 11 customers.
    assert counts(needs["crm"]) == (5, 20, 40, 100, 500)
    assert counts(needs["helpdesk"]) == (11, 44, 88, 220, 1100)
    assert needs["crm"].leads + needs["helpdesk"].leads > plan_needs(make_inputs()).leads


def test_split_by_product_with_a_single_product_is_the_whole_plan():
    assert split_by_product(make_inputs(), {7: D("1")}) == {7: plan_needs(make_inputs())}


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ({}, "Give at least one product."),
        (
            {"crm": D("0.6"), "helpdesk": D("0.3")},
            "Shares must add up to 100% (they add up to 90%).",
        ),
        (
            {"crm": D("0.6"), "helpdesk": D("0.5")},
            "Shares must add up to 100% (they add up to 110%).",
        ),
        (
            {"crm": D("0.3333"), "helpdesk": D("0.3333"), "ads": D("0.3333")},
            "Shares must add up to 100% (they add up to 99.99%).",
        ),
        ({"crm": D("1"), "helpdesk": D("0")}, f"Share for helpdesk: {RATE_MESSAGE}"),
        ({"crm": D("1.5"), "helpdesk": D("-0.5")}, f"Share for crm: {RATE_MESSAGE}"),
        ({"crm": None}, f"Share for crm: {REQUIRED_MESSAGE}"),
        ({"crm": 0.5, "helpdesk": 0.5}, f"Share for crm: {FLOAT_MESSAGE}"),
    ],
)
def test_bad_product_shares(shares, message):
    errors = validate_product_shares(shares)

    assert message in errors["product_shares"]
    with pytest.raises(PlanningError) as caught:
        split_by_product(make_inputs(), shares)
    assert caught.value.errors == errors


def test_split_by_product_reports_bad_inputs_and_bad_shares_together():
    with pytest.raises(PlanningError) as caught:
        split_by_product(make_inputs(deal="0"), {"crm": D("0.5")})

    assert caught.value.errors == {
        "average_deal_size": [AMOUNT_MESSAGE],
        "product_shares": ["Shares must add up to 100% (they add up to 50%)."],
    }


# --- per month --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        (1, (15, 60, 120, 300, 1500)),
        (3, (5, 20, 40, 100, 500)),
        # 15/4 = 3.75 -> 4; 60/4 = 15; 120/4 = 30; 300/4 = 75; 1500/4 = 375.
        (4, (4, 15, 30, 75, 375)),
        # 15/7 = 2.1 -> 3; 60/7 = 8.6 -> 9; 120/7 = 17.1 -> 18; 300/7 = 42.9 -> 43;
        # 1500/7 = 214.3 -> 215.
        (7, (3, 9, 18, 43, 215)),
        (2000, (1, 1, 1, 1, 1)),
    ],
)
def test_per_month_rounds_each_stage_up(months, expected):
    monthly = per_month(plan_needs(make_inputs()), months)

    assert counts(monthly) == expected
    assert monthly.expected_revenue == expected[0] * D("1000")


@pytest.mark.parametrize("months", [0, -1, 1.5, True, "3", None])
def test_per_month_refuses_a_bad_month_count(months):
    with pytest.raises(PlanningError) as caught:
        per_month(plan_needs(make_inputs()), months)

    assert caught.value.errors == {"months": [MONTHS_MESSAGE]}


def test_the_sla_marketing_commitment_is_sqls_per_product_per_month():
    # A quarter of $45,000, split 60/40, committed at the SLA's default stage (sql).
    plan = split_by_product(make_inputs(target="45000"), {"crm": D("0.6"), "helpdesk": D("0.4")})

    # crm: 27 customers -> 108 -> 216 SQLs a quarter -> 72 a month.
    # helpdesk: 18 customers -> 72 -> 144 SQLs a quarter -> 48 a month.
    assert per_month(plan["crm"], 3).for_stage("sql") == 72
    assert per_month(plan["helpdesk"], 3).for_stage("sql") == 48


# --- realism ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "last", "ratio"),
    [
        (36, 15, D("2.4")),
        (D("15000"), D("15000"), D("1")),
        (D("7500"), D("15000"), D("0.5")),
        (1, 3, D("0.3333333333333333333333333333")),
        (0, 10, D("0")),
        (D("15000"), D("0"), None),
        (D("15000"), 0, None),
        (D("15000"), D("-100"), None),
        (None, 10, None),
        (10, None, None),
    ],
)
def test_realism_ratio(target, last, ratio):
    assert realism_ratio(target, last) == ratio


@pytest.mark.parametrize(
    ("target", "last", "sentence"),
    [
        (36, 15, "needs 2.4× last quarter"),
        (30, 15, "needs 2× last quarter"),
        (D("2.45"), 1, "needs 2.5× last quarter"),
        (D("2.44"), 1, "needs 2.4× last quarter"),
        (D("1.06"), 1, "needs 1.1× last quarter"),
        (D("15.5"), 15, "just above last quarter"),
        (15, 15, "same as last quarter"),
        (10, 15, "below last quarter"),
        (D("14.99"), 15, "below last quarter"),
        (10, 0, "no last quarter figure to compare with"),
        (10, None, "no last quarter figure to compare with"),
    ],
)
def test_realism_sentence(target, last, sentence):
    assert realism_sentence(target, last) == sentence


def test_realism_sentence_names_the_period_it_compares_with():
    assert realism_sentence(24, 10, "last month") == "needs 2.4× last month"


def test_realism_ratio_refuses_floats():
    with pytest.raises(TypeError):
        realism_ratio(2.4, 1)


# --- measured rates ---------------------------------------------------------------------------


def test_measured_rates_from_the_seed_funnel():
    rates = measured_rates(
        StageCounts(leads=1500, mqls=300, sqls=120, opportunities=60, customers=15)
    )

    assert rates == MeasuredRates(D("0.2"), D("0.4"), D("0.5"), D("0.25"))


@pytest.mark.parametrize(
    ("stage_counts", "expected"),
    [
        (StageCounts(0, 0, 0, 0, 0), MeasuredRates(None, None, None, None)),
        (StageCounts(10, 0, 0, 0, 0), MeasuredRates(D("0"), None, None, None)),
        (StageCounts(10, 5, 0, 0, 0), MeasuredRates(D("0.5"), D("0"), None, None)),
        (StageCounts(0, 0, 4, 2, 1), MeasuredRates(None, None, D("0.5"), D("0.5"))),
        (StageCounts(9, 3, 2, 0, 0), MeasuredRates(D("0.3333"), D("0.6667"), D("0"), None)),
        # Stage-skipping data can measure above 1; returned as measured.
        (StageCounts(10, 2, 3, 3, 1), MeasuredRates(D("0.2"), D("1.5"), D("1"), D("0.3333"))),
    ],
)
def test_measured_rates_are_none_where_the_denominator_is_zero(stage_counts, expected):
    assert measured_rates(stage_counts) == expected


def test_measured_rates_round_half_up_to_the_given_places():
    rates = measured_rates(StageCounts(8, 1, 1, 1, 1), places=2)

    assert rates.lead_to_mql_rate == D("0.13")
    assert str(rates.mql_to_sql_rate) == "1.00"


@pytest.mark.parametrize("bad", [-1, 1.0, None, True])
def test_measured_rates_refuse_bad_counts(bad):
    with pytest.raises(ValueError, match="non-negative ints"):
        measured_rates(StageCounts(10, bad, 1, 1, 1))


def test_with_measured_rates_uses_usable_measured_rates_and_says_which():
    typed = make_inputs()
    measured = MeasuredRates(
        lead_to_mql_rate=D("0.1"),  # usable
        mql_to_sql_rate=None,  # nothing measured
        sql_to_opportunity_rate=D("0"),  # measured zero: unusable in a plan
        opportunity_to_customer_rate=D("1.5"),  # above 100%: unusable
    )

    used, sources = with_measured_rates(typed, measured)

    assert used == replace(typed, lead_to_mql_rate=D("0.1"))
    assert sources == {
        "lead_to_mql_rate": RateSource.MEASURED,
        "mql_to_sql_rate": RateSource.TYPED,
        "sql_to_opportunity_rate": RateSource.TYPED,
        "opportunity_to_customer_rate": RateSource.TYPED,
    }
    assert plan_needs(used).leads == 3000


def test_a_plan_uses_the_measured_rate_as_shown():
    # 1 of 3 opportunities won shows as 33.33%; 5 customers / 0.3333 = 15.0015 -> 16.
    measured = measured_rates(StageCounts(3, 3, 3, 3, 1))
    used, _ = with_measured_rates(make_inputs(target="5000"), measured)

    assert used.opportunity_to_customer_rate == D("0.3333")
    assert plan_needs(used).opportunities == 16


# --- properties -------------------------------------------------------------------------------

money = st.decimals(
    min_value=D("0.01"), max_value=D("10000000"), places=2, allow_nan=False, allow_infinity=False
)
deal_sizes = st.decimals(
    min_value=D("1"), max_value=D("1000000"), places=2, allow_nan=False, allow_infinity=False
)
rates = st.decimals(
    min_value=D("0.0001"), max_value=D("1"), places=4, allow_nan=False, allow_infinity=False
)


@st.composite
def plan_inputs(draw) -> PlanInputs:
    return PlanInputs(
        revenue_target=draw(money),
        average_deal_size=draw(deal_sizes),
        lead_to_mql_rate=draw(rates),
        mql_to_sql_rate=draw(rates),
        sql_to_opportunity_rate=draw(rates),
        opportunity_to_customer_rate=draw(rates),
    )


def _at_least_as_many(bigger: PlanNeeds, smaller: PlanNeeds) -> bool:
    return all(b >= s for b, s in zip(counts(bigger), counts(smaller), strict=True))


@given(plan_inputs(), money)
def test_a_bigger_target_never_needs_fewer(inputs, other_target):
    low, high = sorted([inputs.revenue_target, other_target])

    assert _at_least_as_many(
        plan_needs(replace(inputs, revenue_target=high)),
        plan_needs(replace(inputs, revenue_target=low)),
    )


@given(plan_inputs(), st.sampled_from(RATE_FIELDS), rates)
def test_a_higher_rate_never_needs_more(inputs, field, other_rate):
    low, high = sorted([getattr(inputs, field), other_rate])

    assert _at_least_as_many(
        plan_needs(replace(inputs, **{field: low})),
        plan_needs(replace(inputs, **{field: high})),
    )


@given(plan_inputs())
def test_each_stage_needs_at_least_as_many_as_the_next(inputs):
    needs = plan_needs(inputs)

    assert needs.leads >= needs.mqls >= needs.sqls >= needs.opportunities >= needs.customers >= 1
    assert needs.expected_revenue >= inputs.revenue_target
    assert needs.expected_revenue - inputs.average_deal_size < inputs.revenue_target


@given(plan_inputs(), st.integers(min_value=1, max_value=36))
def test_per_month_covers_the_period_and_keeps_the_stage_order(inputs, months):
    needs = plan_needs(inputs)
    monthly = per_month(needs, months)

    assert all(m * months >= n for m, n in zip(counts(monthly), counts(needs), strict=True))
    assert all(m * months - n < months for m, n in zip(counts(monthly), counts(needs), strict=True))
    assert monthly.leads >= monthly.mqls >= monthly.sqls >= monthly.opportunities
    assert monthly.opportunities >= monthly.customers >= 1
