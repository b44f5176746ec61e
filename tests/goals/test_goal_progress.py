"""Pace, expected-by-today, OKR scores and colours; and the measured conversion rate helper."""

import datetime as dt
from decimal import Decimal as D

import pytest

from goals.planning import conversion_rate
from goals.progress import (
    Pace,
    average_score,
    elapsed_share,
    expected_to_date,
    okr_score,
    pace,
    score_colour,
)

JAN1, JAN31 = dt.date(2026, 1, 1), dt.date(2026, 1, 31)


@pytest.mark.parametrize(
    "today, share",
    [
        (dt.date(2025, 12, 31), D(0)),
        (JAN1, D(1) / D(31)),
        (dt.date(2026, 1, 10), D(10) / D(31)),
        (JAN31, D(1)),
        (dt.date(2026, 2, 5), D(1)),
    ],
)
def test_elapsed_share_counts_whole_days_including_today(today, share):
    assert elapsed_share(JAN1, JAN31, today) == share


def test_counts_are_expected_to_grow_linearly_but_rates_are_expected_at_target():
    mid = dt.date(2026, 1, 31) - dt.timedelta(days=0)
    assert expected_to_date(D(310), JAN1, JAN31, dt.date(2026, 1, 10), is_rate=False) == D(100)
    assert expected_to_date(D("0.4"), JAN1, JAN31, mid, is_rate=True) == D("0.4")


@pytest.mark.parametrize(
    "measured, expected_pace",
    [
        (None, Pace.NOT_MEASURED),
        (D(310), Pace.ACHIEVED),
        (D(100), Pace.ON_TRACK),
        (D(80), Pace.AT_RISK),
        (D(79), Pace.BEHIND),
    ],
)
def test_pace_compares_with_expected_by_today(measured, expected_pace):
    assert pace(measured, D(310), JAN1, JAN31, dt.date(2026, 1, 10), is_rate=False) == expected_pace


def test_a_goal_that_has_not_started_is_not_started():
    assert pace(D(0), D(10), JAN1, JAN31, dt.date(2025, 12, 1), is_rate=False) == Pace.NOT_STARTED


@pytest.mark.parametrize(
    "current, start, target, score",
    [
        (None, D(0), D(10), D("0.00")),
        (D(5), D(0), D(10), D("0.50")),
        (D(12), D(0), D(10), D("1.00")),
        (D(-3), D(0), D(10), D("0.00")),
        (D(20), D(30), D(10), D("0.50")),  # a target below the start: reducing something
        (D(7), D(7), D(7), D("1.00")),
    ],
)
def test_okr_score_is_the_share_of_the_way_from_start_to_target(current, start, target, score):
    assert okr_score(current, start, target) == score


@pytest.mark.parametrize(
    "score, colour",
    [
        (None, "red"),
        (D("0.39"), "red"),
        (D("0.4"), "yellow"),
        (D("0.69"), "yellow"),
        (D("0.7"), "green"),
        (D(1), "green"),
    ],
)
def test_score_colours_are_the_usual_traffic_light(score, colour):
    assert score_colour(score) == colour


def test_objective_score_is_the_mean_of_its_key_results():
    assert average_score([D("0.5"), D("1"), D("0.25")]) == D("0.58")
    assert average_score([]) is None


@pytest.mark.parametrize(
    "reached, converted, rate",
    [(0, 0, None), (3, 1, D("0.3333")), (3, 2, D("0.6667")), (8, 8, D(1)), (5, 0, D(0))],
)
def test_conversion_rate_rounds_half_up_to_four_places(reached, converted, rate):
    assert conversion_rate(reached, converted) == rate


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_conversion_rate_refuses_counts_that_are_not_counts(bad):
    with pytest.raises(ValueError):
        conversion_rate(bad, 0)
