"""The funnel's reference arithmetic, over hand-built rows (no database).

The March cohort, created in a period ``[1 March, 1 April)`` 2024 (UTC), everything at 09:00:

* ``ada`` (webinar, 1000) goes lead -> mql -> sql -> opportunity -> customer;
* ``ben`` (ads, 500) is moved by hand from lead straight to sql, then to opportunity;
* ``cleo`` (webinar, 2000) reaches sql, is recycled, and re-qualifies later in March;
* ``dan`` (ads, 300) becomes a customer, his transitions back-filled out of order;
* ``eve`` (ads) was created in February and becomes an SQL in March;
* ``fay`` (webinar) is disqualified; ``gus`` (ads, 800) is lost as an opportunity.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reporting.funnel import (
    ALL,
    EXIT_STAGES,
    FORWARD_PAIRS,
    FORWARD_STAGES,
    STAGES,
    Attribution,
    BottleneckResult,
    FunnelResult,
    LeadRow,
    TransitionRow,
    attribute_revenue,
    bottleneck,
    cohort_funnel,
    conversion_from_counts,
    flow_funnel,
    merge_counts,
)

DAY = timedelta(days=1)
MARCH = (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
FEBRUARY = (datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
JANUARY = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))

LEAD_MQL, MQL_SQL, SQL_OPPORTUNITY, OPPORTUNITY_CUSTOMER = FORWARD_PAIRS


def on(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=UTC)


def march(day: int, hour: int = 9) -> datetime:
    return on(3, day, hour)


def move(lead_id: str, from_stage: str | None, to_stage: str, at: datetime) -> TransitionRow:
    return TransitionRow(lead_id=lead_id, from_stage=from_stage, to_stage=to_stage, at=at)


ada = LeadRow("ada", march(1), "webinar", Decimal("1000"))
ben = LeadRow("ben", march(3), "ads", Decimal("500"))
cleo = LeadRow("cleo", march(5), "webinar", Decimal("2000"))
dan = LeadRow("dan", march(10), "ads", Decimal("300"))
eve = LeadRow("eve", on(2, 20), "ads", Decimal("700"))
fay = LeadRow("fay", march(12), "webinar")
gus = LeadRow("gus", march(14), "ads", Decimal("800"))
LEADS = [ada, ben, cleo, dan, eve, fay, gus]

ADA_MOVES = [
    move("ada", "lead", "mql", march(2)),
    move("ada", "mql", "sql", march(4)),
    move("ada", "sql", "opportunity", march(8)),
    move("ada", "opportunity", "customer", march(16)),
]
BEN_MOVES = [
    move("ben", "lead", "sql", march(5)),  # manual move that skips mql
    move("ben", "sql", "opportunity", march(10)),
]
CLEO_MOVES = [
    move("cleo", "lead", "mql", march(6)),
    move("cleo", "mql", "sql", march(7)),
    move("cleo", "sql", "recycled", march(9)),
    move("cleo", "recycled", "mql", march(20)),
    move("cleo", "mql", "sql", march(22)),
]
DAN_MOVES = [  # back-filled: not in time order
    move("dan", "opportunity", "customer", march(25)),
    move("dan", "lead", "mql", march(11)),
    move("dan", "sql", "opportunity", march(15)),
    move("dan", "mql", "sql", march(12)),
]
EVE_MOVES = [
    move("eve", "lead", "mql", on(2, 21)),
    move("eve", "mql", "sql", march(2)),
]
FAY_MOVES = [move("fay", "lead", "disqualified", march(13))]
GUS_MOVES = [
    move("gus", "lead", "mql", march(15)),
    move("gus", "mql", "sql", march(16)),
    move("gus", "sql", "opportunity", march(18)),
    move("gus", "opportunity", "lost", march(28)),
]
TRANSITIONS = [*GUS_MOVES, *DAN_MOVES, *ADA_MOVES, *FAY_MOVES, *CLEO_MOVES, *EVE_MOVES, *BEN_MOVES]


def counts(**values: int) -> dict[str, int]:
    return {stage: values.get(stage, 0) for stage in STAGES}


# --------------------------------------------------------------------------- cohort


def test_cohort_counts_each_lead_created_in_the_period_at_every_stage_it_reached():
    total = cohort_funnel(LEADS, TRANSITIONS, *MARCH)[ALL]

    assert total.counts == counts(
        lead=6, mql=5, sql=5, opportunity=4, customer=2, recycled=1, disqualified=1, lost=1
    )


def test_cohort_leaves_out_a_lead_created_before_the_period():
    march_cohort = cohort_funnel(LEADS, TRANSITIONS, *MARCH)
    february_cohort = cohort_funnel(LEADS, TRANSITIONS, *FEBRUARY)

    assert march_cohort[ALL].counts["sql"] == 5  # eve's March sql is not in it
    assert february_cohort[ALL].counts == counts(lead=1, mql=1, sql=1)


def test_cohort_counts_a_lead_moved_past_mql_by_hand_as_an_mql():
    result = cohort_funnel([ben], BEN_MOVES, *MARCH)[ALL]

    assert result.counts == counts(lead=1, mql=1, sql=1, opportunity=1)
    assert result.conversion[LEAD_MQL] == 1.0
    assert result.conversion[MQL_SQL] == 1.0


def test_cohort_dates_a_skipped_stage_when_the_next_one_was_reached():
    result = cohort_funnel([ben], BEN_MOVES, *MARCH)[ALL]

    assert result.velocity[LEAD_MQL] == 2 * DAY
    assert result.velocity[MQL_SQL] == timedelta(0)


def test_cohort_counts_a_recycled_lead_that_requalifies_once_and_keeps_its_first_times():
    result = cohort_funnel([cleo], CLEO_MOVES, *MARCH)[ALL]

    assert result.counts == counts(lead=1, mql=1, sql=1, recycled=1)
    assert result.velocity[MQL_SQL] == DAY  # 6 -> 7 March, not 20 -> 22 March


def test_cohort_reads_back_filled_transitions_in_time_order():
    result = cohort_funnel([dan], DAN_MOVES, *MARCH)[ALL]

    assert result.counts == counts(lead=1, mql=1, sql=1, opportunity=1, customer=1)
    assert result.velocity == {
        LEAD_MQL: DAY,
        MQL_SQL: DAY,
        SQL_OPPORTUNITY: 3 * DAY,
        OPPORTUNITY_CUSTOMER: 10 * DAY,
    }


def test_cohort_conversion_rates_are_ratios_of_consecutive_counts():
    total = cohort_funnel(LEADS, TRANSITIONS, *MARCH)[ALL]

    assert total.conversion == {
        LEAD_MQL: pytest.approx(5 / 6),
        MQL_SQL: 1.0,
        SQL_OPPORTUNITY: 0.8,
        OPPORTUNITY_CUSTOMER: 0.5,
    }


def test_cohort_velocity_is_the_median_time_between_first_arrivals():
    total = cohort_funnel(LEADS, TRANSITIONS, *MARCH)[ALL]

    assert total.velocity == {
        LEAD_MQL: DAY,  # 1, 1, 1, 1, 2 days
        MQL_SQL: DAY,  # 0, 1, 1, 1, 2 days
        SQL_OPPORTUNITY: timedelta(days=3.5),  # 2, 3, 4, 5 days
        OPPORTUNITY_CUSTOMER: 9 * DAY,  # 8, 10 days
    }


def test_cohort_won_revenue_sums_the_amounts_of_leads_that_became_customers():
    total = cohort_funnel(LEADS, TRANSITIONS, *MARCH)[ALL]

    assert total.won_revenue == Decimal("1300")  # ada and dan


def test_cohort_is_grouped_by_source_with_a_total():
    result = cohort_funnel(LEADS, TRANSITIONS, *MARCH)

    assert set(result) == {"webinar", "ads", ALL}
    assert result["webinar"].counts == counts(
        lead=3, mql=2, sql=2, opportunity=1, customer=1, recycled=1, disqualified=1
    )
    assert result["webinar"].won_revenue == Decimal("1000")
    assert result["ads"].counts == counts(lead=3, mql=3, sql=3, opportunity=3, customer=1, lost=1)
    assert result["ads"].won_revenue == Decimal("300")


def test_cohort_keeps_leads_without_a_group_under_none():
    unsourced = LeadRow("hal", march(2))

    result = cohort_funnel([unsourced], [], *MARCH)

    assert set(result) == {None, ALL}
    assert result[None].counts["lead"] == 1


def test_cohort_as_of_ignores_transitions_after_it_and_includes_one_exactly_at_it():
    total = cohort_funnel(LEADS, TRANSITIONS, *MARCH, as_of=march(15))[ALL]

    # dan's opportunity on 15 March at 09:00 counts; ada's and dan's customers do not.
    assert total.counts == counts(lead=6, mql=5, sql=4, opportunity=3, recycled=1, disqualified=1)
    assert total.won_revenue == Decimal("0")
    assert total.velocity[OPPORTUNITY_CUSTOMER] is None


def test_cohort_period_boundaries_are_instants_in_any_time_zone():
    paris = ZoneInfo("Europe/Paris")
    april_in_paris = (datetime(2024, 4, 1, tzinfo=paris), datetime(2024, 5, 1, tzinfo=paris))
    just_after_midnight_in_paris = LeadRow("ivy", datetime(2024, 3, 31, 22, 30, tzinfo=UTC))
    just_before_midnight_in_paris = LeadRow("jon", datetime(2024, 3, 31, 21, 30, tzinfo=UTC))

    result = cohort_funnel(
        [just_after_midnight_in_paris, just_before_midnight_in_paris], [], *april_in_paris
    )

    assert result[ALL].counts["lead"] == 1


def test_cohort_of_an_empty_period_has_zero_counts_and_no_rates():
    result = cohort_funnel(LEADS, TRANSITIONS, *JANUARY)

    assert result == {
        ALL: FunnelResult(
            counts=counts(),
            conversion=dict.fromkeys(FORWARD_PAIRS),
            velocity=dict.fromkeys(FORWARD_PAIRS),
            won_revenue=Decimal("0"),
        )
    }


# --------------------------------------------------------------------------- flow


def test_flow_counts_the_leads_that_entered_each_stage_in_the_period():
    total = flow_funnel(LEADS, TRANSITIONS, *MARCH)[ALL]

    # eve, created in February, becomes an SQL in March: more SQLs than MQLs.
    assert total.counts == counts(
        lead=6, mql=5, sql=6, opportunity=4, customer=2, recycled=1, disqualified=1, lost=1
    )
    assert total.conversion[MQL_SQL] == pytest.approx(1.2)


def test_flow_counts_a_lead_created_before_the_period_in_the_period_it_moved():
    february = flow_funnel(LEADS, TRANSITIONS, *FEBRUARY)

    assert february[ALL].counts == counts(lead=1, mql=1)
    assert set(february) == {"ads", ALL}


def test_flow_counts_a_skipped_stage_as_entered():
    total = flow_funnel([ben], BEN_MOVES, *MARCH)[ALL]

    assert total.counts == counts(lead=1, mql=1, sql=1, opportunity=1)


def test_flow_counts_a_lead_that_requalifies_in_the_same_period_once():
    total = flow_funnel([cleo], CLEO_MOVES, *MARCH)[ALL]

    assert total.counts == counts(lead=1, mql=1, sql=1, recycled=1)
    assert total.velocity[MQL_SQL] == DAY  # its first SQL of the period, from its MQL


def test_flow_counts_a_lead_that_requalifies_in_a_later_period_again_in_that_period():
    first_half = (march(1, 0), march(15, 0))
    second_half = (march(15, 0), march(31, 0))

    before = flow_funnel([cleo], CLEO_MOVES, *first_half)[ALL]
    after = flow_funnel([cleo], CLEO_MOVES, *second_half)[ALL]

    assert before.counts == counts(lead=1, mql=1, sql=1, recycled=1)
    # Coming back from recycled enters mql, not lead; the clock restarts at the new MQL.
    assert after.counts == counts(mql=1, sql=1)
    assert after.velocity[MQL_SQL] == 2 * DAY


def test_flow_enters_the_skipped_stages_when_a_recycled_lead_jumps_to_sql():
    moves = [*CLEO_MOVES[:3], move("cleo", "recycled", "sql", march(20))]

    after = flow_funnel([cleo], moves, march(15, 0), march(31, 0))[ALL]

    assert after.counts == counts(mql=1, sql=1)


@pytest.mark.parametrize("exit_stage", ["lost", "recycled"])
def test_a_re_opened_exit_is_one_re_entry_into_the_stage_it_re_enters(exit_stage):
    moves = [*GUS_MOVES[:3], move("gus", "opportunity", exit_stage, march(20))]
    moves.append(move("gus", exit_stage, "opportunity", march(25)))

    after = flow_funnel([gus], moves, march(21), march(31))[ALL]

    assert after.counts == counts(opportunity=1)
    assert after.velocity[SQL_OPPORTUNITY] == 9 * DAY  # from its SQL on 16 March


def test_flow_enters_only_the_target_when_a_lead_moves_back():
    moves = [*GUS_MOVES[:3], move("gus", "opportunity", "sql", march(20))]

    after = flow_funnel([gus], moves, march(19), march(31))[ALL]

    assert after.counts == counts(sql=1)
    assert after.velocity[MQL_SQL] == 5 * DAY  # from its MQL on 15 March


def test_flow_velocity_measures_from_a_stage_reached_before_the_period():
    total = flow_funnel([eve], EVE_MOVES, *MARCH)[ALL]

    assert total.counts == counts(sql=1)
    assert total.velocity[MQL_SQL] == 10 * DAY  # 21 February -> 2 March (leap year)


def test_flow_velocity_is_the_median_over_the_period():
    total = flow_funnel(LEADS, TRANSITIONS, *MARCH)[ALL]

    # ben 0, ada 2, cleo 1, dan 1, gus 1, eve 10 days
    assert total.velocity[MQL_SQL] == DAY
    assert total.velocity[OPPORTUNITY_CUSTOMER] == 9 * DAY


def test_flow_won_revenue_counts_the_customers_of_the_period():
    march_flow = flow_funnel(LEADS, TRANSITIONS, *MARCH)
    first_week = flow_funnel(LEADS, TRANSITIONS, march(1), march(8))

    assert march_flow[ALL].won_revenue == Decimal("1300")
    assert march_flow["ads"].won_revenue == Decimal("300")
    assert first_week[ALL].won_revenue == Decimal("0")


def test_flow_of_an_empty_period_has_zero_counts_and_no_rates():
    result = flow_funnel(LEADS, TRANSITIONS, *JANUARY)

    assert set(result) == {ALL}
    assert result[ALL].counts == counts()
    assert set(result[ALL].conversion.values()) == {None}
    assert set(result[ALL].velocity.values()) == {None}


def test_flow_refuses_a_transition_in_the_period_of_an_unknown_lead():
    with pytest.raises(ValueError, match="unknown lead 'ada'"):
        flow_funnel([ben], [*ADA_MOVES, *BEN_MOVES], *MARCH)


# --------------------------------------------------------------------------- input checks


@pytest.mark.parametrize("funnel", [cohort_funnel, flow_funnel])
def test_funnels_refuse_a_naive_period(funnel):
    with pytest.raises(ValueError, match="aware"):
        funnel(LEADS, TRANSITIONS, datetime(2024, 3, 1), datetime(2024, 4, 1))  # noqa: DTZ001


@pytest.mark.parametrize("funnel", [cohort_funnel, flow_funnel])
def test_funnels_refuse_an_unknown_stage(funnel):
    typo = move("ada", "mql", "sqll", march(4))

    with pytest.raises(ValueError, match="unknown lifecycle stage 'sqll'"):
        funnel([ada], [typo], *MARCH)


def test_funnels_refuse_a_lead_given_twice():
    with pytest.raises(ValueError, match="given twice"):
        cohort_funnel([ada, ada], [], *MARCH)


def test_funnels_refuse_a_period_that_ends_before_it_starts():
    with pytest.raises(ValueError, match="before it starts"):
        cohort_funnel(LEADS, TRANSITIONS, MARCH[1], MARCH[0])


# --------------------------------------------------------------------------- rates and plan


def test_conversion_from_counts_treats_a_missing_stage_as_zero():
    assert conversion_from_counts({"lead": 10, "mql": 4}) == {
        LEAD_MQL: 0.4,
        MQL_SQL: 0.0,
        SQL_OPPORTUNITY: None,
        OPPORTUNITY_CUSTOMER: None,
    }


PLAN = {LEAD_MQL: 0.25, MQL_SQL: 0.5, SQL_OPPORTUNITY: 0.5, OPPORTUNITY_CUSTOMER: 0.3}


def test_bottleneck_is_the_pair_furthest_below_plan_by_ratio():
    measured = {LEAD_MQL: 0.2, MQL_SQL: 0.3, SQL_OPPORTUNITY: 0.6, OPPORTUNITY_CUSTOMER: None}

    result = bottleneck(measured, PLAN)

    # lead->mql converts at 80 % of its plan rate, mql->sql at 60 %, sql->opportunity above.
    assert result == BottleneckResult(
        from_stage="mql",
        to_stage="sql",
        measured=0.3,
        planned=0.5,
        gap_points=pytest.approx(0.2),
        ratio_to_plan=pytest.approx(0.6),
    )
    assert result.pair == MQL_SQL


def test_bottleneck_ranks_by_ratio_not_by_points():
    # lead->mql: 15 points below, at 40 % of plan; sql->opportunity: 20 points, at 60 %.
    measured = {LEAD_MQL: 0.1, SQL_OPPORTUNITY: 0.3}

    result = bottleneck(measured, PLAN)

    assert result.pair == LEAD_MQL
    assert result.gap_points == pytest.approx(0.15)
    assert result.ratio_to_plan == pytest.approx(0.4)


def test_bottleneck_tie_goes_to_the_earlier_stage():
    measured = {LEAD_MQL: 0.125, MQL_SQL: 0.25, SQL_OPPORTUNITY: 0.25}  # all at 50 % of plan

    assert bottleneck(measured, PLAN).pair == LEAD_MQL


def test_bottleneck_ignores_pairs_without_a_measurement_or_a_plan():
    measured = {LEAD_MQL: None, MQL_SQL: 0.1, SQL_OPPORTUNITY: 0.4}
    plan = {LEAD_MQL: 0.25, SQL_OPPORTUNITY: 0.5}

    assert bottleneck(measured, plan).pair == SQL_OPPORTUNITY


def test_bottleneck_accepts_the_decimal_rates_of_a_revenue_plan():
    plan = {MQL_SQL: Decimal("0.40"), SQL_OPPORTUNITY: Decimal("0.50")}

    result = bottleneck({MQL_SQL: 0.3, SQL_OPPORTUNITY: 0.5}, plan)

    assert result.pair == MQL_SQL
    assert result.planned == 0.4
    assert result.ratio_to_plan == pytest.approx(0.75)


def test_no_bottleneck_when_nothing_is_below_plan():
    at_or_above = {LEAD_MQL: 0.25, MQL_SQL: 0.9, SQL_OPPORTUNITY: 0.5, OPPORTUNITY_CUSTOMER: None}

    assert bottleneck(at_or_above, PLAN) is None
    assert bottleneck(dict.fromkeys(FORWARD_PAIRS), PLAN) is None


def test_bottleneck_of_a_measured_funnel():
    total = cohort_funnel(LEADS, TRANSITIONS, *MARCH)[ALL]

    assert bottleneck(total.conversion, PLAN) is None
    assert bottleneck(total.conversion, {**PLAN, OPPORTUNITY_CUSTOMER: 0.8}).pair == (
        OPPORTUNITY_CUSTOMER
    )


# --------------------------------------------------------------------------- merge


def test_merging_two_cohort_halves_gives_the_whole_period():
    first_half = cohort_funnel(LEADS, TRANSITIONS, march(1, 0), march(8, 0))[ALL]
    second_half = cohort_funnel(LEADS, TRANSITIONS, march(8, 0), MARCH[1])[ALL]
    whole = cohort_funnel(LEADS, TRANSITIONS, *MARCH)[ALL]

    merged = merge_counts(first_half, second_half)

    assert merged.counts == whole.counts
    assert merged.conversion == whole.conversion
    assert merged.won_revenue == whole.won_revenue == Decimal("1300")


def test_merge_keeps_a_velocity_only_one_piece_measured_and_drops_one_both_did():
    snapshot = FunnelResult(
        counts=counts(lead=10, mql=4, sql=2),
        conversion=conversion_from_counts(counts(lead=10, mql=4, sql=2)),
        velocity={**dict.fromkeys(FORWARD_PAIRS), LEAD_MQL: 3 * DAY, MQL_SQL: 2 * DAY},
        won_revenue=Decimal("0"),
    )
    live = FunnelResult(
        counts=counts(lead=2, mql=1, customer=0),
        conversion=conversion_from_counts(counts(lead=2, mql=1)),
        velocity={**dict.fromkeys(FORWARD_PAIRS), LEAD_MQL: DAY},
        won_revenue=Decimal("12.50"),
    )

    merged = merge_counts(snapshot, live)

    assert merged.counts == counts(lead=12, mql=5, sql=2)
    assert merged.conversion[LEAD_MQL] == pytest.approx(5 / 12)
    assert merged.conversion[MQL_SQL] == pytest.approx(2 / 5)
    assert merged.conversion[SQL_OPPORTUNITY] == 0.0
    assert merged.won_revenue == Decimal("12.50")
    assert merged.velocity == {**dict.fromkeys(FORWARD_PAIRS), MQL_SQL: 2 * DAY}


def test_merging_flow_halves_counts_a_requalified_lead_once_per_half():
    first_half = flow_funnel([cleo], CLEO_MOVES, march(1, 0), march(15, 0))[ALL]
    second_half = flow_funnel([cleo], CLEO_MOVES, march(15, 0), MARCH[1])[ALL]

    assert merge_counts(first_half, second_half).counts["mql"] == 2
    assert flow_funnel([cleo], CLEO_MOVES, *MARCH)[ALL].counts["mql"] == 1


def test_merging_nothing_gives_an_empty_funnel():
    merged = merge_counts()

    assert merged.counts == counts()
    assert set(merged.conversion.values()) == {None}
    assert merged.won_revenue == Decimal("0")


# --------------------------------------------------------------------------- attribution


def test_attribution_credits_first_and_last_touch_campaigns_with_the_won_amount():
    touches = {
        "ada": [(march(1), "webinar-q1"), (march(3), "retargeting"), (march(10), "newsletter")],
        "dan": [(march(20), "newsletter"), (march(2), "ads-spring")],  # back-filled
        "ben": [(march(1), "ads-spring")],  # not won
        "gus": [(march(5), "retargeting")],  # a single touch is both first and last
    }
    won = {
        "ada": Decimal("1000"),
        "dan": Decimal("300"),
        "gus": Decimal("80"),
        "zed": Decimal("50"),  # won without any touch
    }

    result = attribute_revenue(touches, won)

    assert result == Attribution(
        first_touch={
            "webinar-q1": Decimal("1000"),
            "ads-spring": Decimal("300"),
            "retargeting": Decimal("80"),
        },
        last_touch={"newsletter": Decimal("1300"), "retargeting": Decimal("80")},
        unattributed=Decimal("50"),
    )


def test_attribution_keeps_the_given_order_of_touches_at_the_same_time():
    touches = {"ada": [(march(1), "webinar-q1"), (march(1), "retargeting")]}

    result = attribute_revenue(touches, {"ada": Decimal("10")})

    assert result.first_touch == {"webinar-q1": Decimal("10")}
    assert result.last_touch == {"retargeting": Decimal("10")}


def test_attribution_of_no_wins_is_empty():
    assert attribute_revenue({"ben": [(march(1), "ads-spring")]}, {}) == Attribution(
        first_touch={}, last_touch={}, unattributed=Decimal("0")
    )


# --------------------------------------------------------------------------- properties

ORIGIN = datetime(2024, 3, 1, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=60 * 24 * 60)


@st.composite
def histories(draw):
    """Random leads over two months and random transitions between any stages."""
    lead_count = draw(st.integers(min_value=0, max_value=12))
    leads = [
        LeadRow(
            lead_id=index,
            created_at=ORIGIN + timedelta(minutes=draw(minutes)),
            group=draw(st.sampled_from(["ads", "webinar", None])),
            amount=draw(st.none() | st.decimals(min_value=0, max_value=10_000, places=2)),
        )
        for index in range(lead_count)
    ]
    transitions = []
    if leads:
        transitions = draw(
            st.lists(
                st.builds(
                    TransitionRow,
                    lead_id=st.integers(min_value=0, max_value=lead_count - 1),
                    from_stage=st.none() | st.sampled_from(STAGES),
                    to_stage=st.sampled_from(STAGES),
                    at=st.builds(lambda m: ORIGIN + timedelta(minutes=m), minutes),
                ),
                max_size=40,
            )
        )
    return leads, transitions


def periods():
    return st.tuples(minutes, minutes).map(
        lambda pair: tuple(ORIGIN + timedelta(minutes=m) for m in sorted(pair))
    )


@given(history=histories(), period=periods(), as_of=st.none() | minutes)
def test_cohort_counts_never_grow_along_the_funnel_and_rates_stay_within_one(
    history, period, as_of
):
    leads, transitions = history
    as_of_moment = None if as_of is None else ORIGIN + timedelta(minutes=as_of)

    result = cohort_funnel(leads, transitions, *period, as_of=as_of_moment)

    assert ALL in result
    for funnel in result.values():
        forward = [funnel.counts[stage] for stage in FORWARD_STAGES]
        assert forward == sorted(forward, reverse=True)
        assert all(funnel.counts[stage] <= funnel.counts["lead"] for stage in EXIT_STAGES)
        for rate in funnel.conversion.values():
            assert rate is None or 0 <= rate <= 1
        for pace in funnel.velocity.values():
            assert pace is None or pace >= timedelta(0)


@given(history=histories(), period=periods(), split=minutes)
def test_cohorts_of_adjacent_periods_merge_into_the_cohort_of_both(history, period, split):
    leads, transitions = history
    start, end = period
    middle = min(max(ORIGIN + timedelta(minutes=split), start), end)

    merged = merge_counts(
        cohort_funnel(leads, transitions, start, middle)[ALL],
        cohort_funnel(leads, transitions, middle, end)[ALL],
    )
    whole = cohort_funnel(leads, transitions, start, end)[ALL]

    assert merged.counts == whole.counts
    assert merged.conversion == whole.conversion
    assert merged.won_revenue == whole.won_revenue
