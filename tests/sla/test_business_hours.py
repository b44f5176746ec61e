"""Behaviour of the business calendar behind every SLA clock (pure core, no database).

Instants are compared in UTC: two aware datetimes sharing a ZoneInfo compare by wall clock
and ignore ``fold``, which would hide exactly the daylight-saving bugs tested here.
"""

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.business_hours import BusinessCalendar

NEW_YORK = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
SANTIAGO = ZoneInfo("America/Santiago")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
MICROSECOND = timedelta(microseconds=1)
HOUR = timedelta(hours=1)


def weekdays(*intervals, days=range(5)):
    return {day: list(intervals) for day in days}


def hm(hours, minutes=0):
    return time(hours, minutes)


NINE_TO_FIVE = weekdays((hm(9), hm(17)))
SPLIT_DAY = weekdays((hm(9), hm(12)), (hm(13), hm(17)))
ROUND_THE_CLOCK = weekdays((time(0), time(0)), days=range(7))  # 00:00-24:00 every day
NIGHT_SHIFT = weekdays((hm(1), hm(4)), days=range(7))  # straddles every DST change hour

MLK_DAY = date(2026, 1, 19)
US_HOLIDAYS = frozenset(
    {
        date(2026, 1, 1),
        MLK_DAY,
        date(2026, 2, 16),
        date(2026, 5, 25),
        date(2026, 6, 19),
        date(2026, 7, 3),
        date(2026, 9, 7),
        date(2026, 11, 26),
        date(2026, 12, 25),
        date(2027, 1, 1),
        date(2027, 1, 18),
        date(2027, 2, 15),
        date(2027, 5, 31),
        date(2027, 6, 18),
        date(2027, 7, 5),
        date(2027, 9, 6),
        date(2027, 11, 25),
        date(2027, 12, 24),
    }
)
FRENCH_HOLIDAYS = frozenset(
    {
        date(2026, 1, 1),
        date(2026, 4, 6),
        date(2026, 5, 1),
        date(2026, 5, 8),
        date(2026, 5, 14),
        date(2026, 5, 25),
        date(2026, 7, 14),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
        date(2027, 1, 1),
        date(2027, 3, 29),
        date(2027, 5, 1),
        date(2027, 7, 14),
        date(2027, 12, 25),
    }
)


def at(zone, year, month, day, hour=0, minute=0, second=0, microsecond=0, fold=0):
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=zone, fold=fold)


def utc(moment):
    return moment.astimezone(UTC)


def new_york(*fields, **kw):
    return at(NEW_YORK, *fields, **kw)


def paris(*fields, **kw):
    return at(PARIS, *fields, **kw)


def calendar(zone, hours, holidays=()):
    return BusinessCalendar(zone.key, hours, holidays)


# -- a slow, obviously correct reference, written from the documented rules ----------------------


def reference_intervals(zone, hours, holidays, first_day, last_day):
    """Open intervals as UTC pairs.

    A day's intervals are merged on the wall clock, then each wall-clock time is read with
    fold=0 and converted to UTC; whatever still overlaps is united.
    """
    pieces = []
    day = first_day
    while day <= last_day:
        if day not in holidays:
            wall = []
            for opens, closes in sorted(hours.get(day.weekday(), [])):
                closing_day = day + timedelta(days=1) if closes == time(0) else day
                opening, closing = (
                    datetime.combine(day, opens),
                    datetime.combine(closing_day, closes),
                )
                if wall and opening <= wall[-1][1]:
                    wall[-1][1] = max(wall[-1][1], closing)
                else:
                    wall.append([opening, closing])
            for opening, closing in wall:
                begin = utc(opening.replace(tzinfo=zone))
                finish = utc(closing.replace(tzinfo=zone))
                if finish > begin:
                    pieces.append((begin, finish))
        day += timedelta(days=1)
    merged = []
    for begin, finish in sorted(pieces):
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], finish)
        else:
            merged.append([begin, finish])
    return merged


def reference_add(zone, hours, holidays, start, delta):
    """Walk whole intervals, a fortnight of days at a time."""
    start = utc(start)
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    remaining = delta
    while True:
        last_day = first_day + timedelta(days=13)
        for begin, finish in reference_intervals(zone, hours, holidays, first_day, last_day):
            if finish <= start:
                continue
            begin = max(begin, start)
            if finish - begin >= remaining:
                return begin + remaining
            remaining -= finish - begin
            start = finish
        first_day = last_day + timedelta(days=1)


def reference_elapsed(zone, hours, holidays, start, end):
    start, end = utc(start), utc(end)
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date() + timedelta(days=1)
    total = timedelta(0)
    for begin, finish in reference_intervals(zone, hours, holidays, first_day, last_day):
        overlap = min(finish, end) - max(begin, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def minute_walk_add(zone, hours, holidays, start, minutes):
    """Count open minutes one by one (short spans, whole-minute inputs only)."""
    moment = utc(start)
    first_day = moment.astimezone(zone).date() - timedelta(days=1)
    intervals = reference_intervals(zone, hours, holidays, first_day, first_day + timedelta(20))
    counted = 0
    while True:
        if any(begin <= moment < finish for begin, finish in intervals):
            counted += 1
        moment += timedelta(minutes=1)
        if counted == minutes:
            return moment


# -- add: explicit cases -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "hours", "holidays", "start", "delta", "due"),
    [
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 9, 16),
            5 * HOUR,
            new_york(2026, 1, 12, 13),
            id="friday-16h-plus-5h-is-monday-13h",
        ),
        pytest.param(
            PARIS,
            NINE_TO_FIVE,
            (),
            paris(2026, 1, 9, 16),
            5 * HOUR,
            paris(2026, 1, 12, 13),
            id="friday-16h-plus-5h-is-monday-13h-in-paris",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 9, 16),
            HOUR,
            new_york(2026, 1, 9, 17),
            id="lands-on-the-closing-instant-not-the-next-opening",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 13, 23),
            5 * HOUR,
            new_york(2026, 1, 14, 14),
            id="tuesday-night-hand-off-counts-from-wednesday-9h",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 14, 7, 30),
            5 * HOUR,
            new_york(2026, 1, 14, 14),
            id="early-morning-hand-off-counts-from-opening",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 10, 10),
            5 * HOUR,
            new_york(2026, 1, 12, 14),
            id="saturday-hand-off-counts-from-monday",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 11, 23, 59),
            5 * HOUR,
            new_york(2026, 1, 12, 14),
            id="sunday-night-hand-off-counts-from-monday",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 12, 9),
            8 * HOUR,
            new_york(2026, 1, 12, 17),
            id="a-full-day-ends-at-closing",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 12, 9),
            8 * HOUR + MICROSECOND,
            new_york(2026, 1, 13, 9, microsecond=1),
            id="one-microsecond-more-is-next-morning",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 12, 16, 59, 59, 999_999),
            MICROSECOND,
            new_york(2026, 1, 12, 17),
            id="microsecond-precision",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 12, 9),
            40 * HOUR,
            new_york(2026, 1, 16, 17),
            id="a-working-week-is-forty-hours",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (MLK_DAY,),
            new_york(2026, 1, 16, 16),
            5 * HOUR,
            new_york(2026, 1, 20, 13),
            id="friday-hand-off-skips-monday-holiday",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (MLK_DAY,),
            new_york(2026, 1, 19, 10),
            5 * HOUR,
            new_york(2026, 1, 20, 14),
            id="hand-off-on-a-holiday-counts-from-next-opening",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1)),
            new_york(2026, 12, 23, 15),
            14 * HOUR,
            new_york(2026, 12, 29, 13),
            id="year-end-holidays",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            US_HOLIDAYS,
            new_york(2026, 12, 31, 16),
            5 * HOUR,
            new_york(2027, 1, 4, 13),
            id="new-year-hand-off-crosses-months-and-a-holiday",
        ),
        pytest.param(
            NEW_YORK,
            SPLIT_DAY,
            (),
            new_york(2026, 1, 12, 11),
            2 * HOUR,
            new_york(2026, 1, 12, 14),
            id="split-day-skips-lunch",
        ),
        pytest.param(
            NEW_YORK,
            SPLIT_DAY,
            (),
            new_york(2026, 1, 12, 11),
            HOUR,
            new_york(2026, 1, 12, 12),
            id="split-day-lands-on-lunch-closing",
        ),
        pytest.param(
            NEW_YORK,
            SPLIT_DAY,
            (),
            new_york(2026, 1, 12, 12, 30),
            HOUR,
            new_york(2026, 1, 12, 14),
            id="hand-off-during-lunch-counts-from-13h",
        ),
        pytest.param(
            NEW_YORK,
            SPLIT_DAY,
            (),
            new_york(2026, 1, 12, 16),
            2 * HOUR,
            new_york(2026, 1, 13, 10),
            id="split-day-rolls-to-next-morning",
        ),
        pytest.param(
            NEW_YORK,
            {0: [(hm(22), time(0))]},
            (),
            new_york(2026, 1, 12, 23),
            HOUR,
            new_york(2026, 1, 13, 0),
            id="midnight-closing-is-written-00h00",
        ),
    ],
)
def test_add_returns_the_earliest_instant_with_enough_open_time(
    zone, hours, holidays, start, delta, due
):
    result = calendar(zone, hours, holidays).add(start, delta)

    assert utc(result) == utc(due)
    assert result.tzinfo is zone


@pytest.mark.parametrize(
    ("zone", "hours", "start", "delta", "due"),
    [
        # Office hours: the DST weekend changes the real elapsed time, not the business time.
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            new_york(2026, 3, 6, 16),
            5 * HOUR,
            new_york(2026, 3, 9, 13),
            id="new-york-spring-forward-weekend",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            new_york(2026, 10, 30, 16),
            5 * HOUR,
            new_york(2026, 11, 2, 13),
            id="new-york-fall-back-weekend",
        ),
        pytest.param(
            PARIS,
            NINE_TO_FIVE,
            paris(2026, 3, 27, 16),
            5 * HOUR,
            paris(2026, 3, 30, 13),
            id="paris-spring-forward-weekend",
        ),
        pytest.param(
            PARIS,
            NINE_TO_FIVE,
            paris(2026, 10, 23, 16),
            5 * HOUR,
            paris(2026, 10, 26, 13),
            id="paris-fall-back-weekend",
        ),
        # Round the clock: five real hours, whatever the wall clock says.
        pytest.param(
            NEW_YORK,
            ROUND_THE_CLOCK,
            new_york(2026, 3, 7, 22),
            5 * HOUR,
            new_york(2026, 3, 8, 4),
            id="new-york-24-7-loses-the-skipped-hour",
        ),
        pytest.param(
            NEW_YORK,
            ROUND_THE_CLOCK,
            new_york(2026, 10, 31, 22),
            5 * HOUR,
            new_york(2026, 11, 1, 2),
            id="new-york-24-7-lives-the-repeated-hour",
        ),
        pytest.param(
            PARIS,
            ROUND_THE_CLOCK,
            paris(2026, 3, 28, 22),
            5 * HOUR,
            paris(2026, 3, 29, 4),
            id="paris-24-7-loses-the-skipped-hour",
        ),
        pytest.param(
            PARIS,
            ROUND_THE_CLOCK,
            paris(2026, 10, 24, 22),
            5 * HOUR,
            paris(2026, 10, 25, 2, fold=1),
            id="paris-24-7-ends-in-the-second-2am",
        ),
        # A night shift 01:00-04:00 holds 2 real hours in spring and 4 in autumn.
        pytest.param(
            NEW_YORK,
            NIGHT_SHIFT,
            new_york(2026, 3, 8, 1),
            2 * HOUR,
            new_york(2026, 3, 8, 4),
            id="new-york-spring-night-is-two-hours",
        ),
        pytest.param(
            NEW_YORK,
            NIGHT_SHIFT,
            new_york(2026, 3, 8, 1),
            2 * HOUR + timedelta(minutes=1),
            new_york(2026, 3, 9, 1, 1),
            id="new-york-spring-night-overflows-to-next-night",
        ),
        pytest.param(
            NEW_YORK,
            NIGHT_SHIFT,
            new_york(2026, 11, 1, 1),
            4 * HOUR,
            new_york(2026, 11, 1, 4),
            id="new-york-autumn-night-is-four-hours",
        ),
        pytest.param(
            NEW_YORK,
            NIGHT_SHIFT,
            new_york(2026, 11, 1, 1, 30),
            HOUR,
            new_york(2026, 11, 1, 1, 30, fold=1),
            id="new-york-autumn-first-130-plus-1h",
        ),
        pytest.param(
            PARIS,
            NIGHT_SHIFT,
            paris(2026, 3, 29, 1),
            2 * HOUR,
            paris(2026, 3, 29, 4),
            id="paris-spring-night-is-two-hours",
        ),
        pytest.param(
            PARIS,
            NIGHT_SHIFT,
            paris(2026, 10, 25, 1),
            4 * HOUR,
            paris(2026, 10, 25, 4),
            id="paris-autumn-night-is-four-hours",
        ),
    ],
)
def test_add_counts_real_hours_across_dst_changes(zone, hours, start, delta, due):
    assert utc(calendar(zone, hours).add(start, delta)) == utc(due)


def test_add_of_zero_returns_the_start_unchanged_even_when_closed():
    saturday = new_york(2026, 1, 10, 10)

    assert calendar(NEW_YORK, NINE_TO_FIVE).add(saturday, timedelta(0)) is saturday


def test_add_accepts_a_start_in_any_zone():
    friday_16h_new_york = datetime(2026, 1, 9, 21, tzinfo=UTC)

    due = calendar(NEW_YORK, NINE_TO_FIVE).add(friday_16h_new_york, 5 * HOUR)

    assert utc(due) == utc(new_york(2026, 1, 12, 13))


def test_add_of_400_business_hours_matches_the_reference():
    start = new_york(2026, 2, 11, 14, 25)
    cal = calendar(NEW_YORK, NINE_TO_FIVE, US_HOLIDAYS)

    due = cal.add(start, 400 * HOUR)

    assert utc(due) == reference_add(NEW_YORK, NINE_TO_FIVE, US_HOLIDAYS, start, 400 * HOUR)
    # Ten working weeks, plus one day for Presidents' Day.
    assert utc(due) == utc(new_york(2026, 4, 23, 14, 25))


@pytest.mark.parametrize(
    ("zone", "hours", "holidays"),
    [
        (NEW_YORK, NINE_TO_FIVE, US_HOLIDAYS),
        (PARIS, SPLIT_DAY, FRENCH_HOLIDAYS),
        (NEW_YORK, NIGHT_SHIFT, US_HOLIDAYS),
        (PARIS, ROUND_THE_CLOCK, FRENCH_HOLIDAYS),
    ],
)
@pytest.mark.parametrize("hours_to_add", [1, 37, 400, 2_000, 6_000])
def test_long_spans_match_the_interval_walking_reference(zone, hours, holidays, hours_to_add):
    cal = calendar(zone, hours, holidays)
    delta = timedelta(hours=hours_to_add, minutes=17, microseconds=3)
    for start in (at(zone, 2026, 1, 1), at(zone, 2026, 3, 27, 16, 45), at(zone, 2026, 10, 30)):
        due = cal.add(start, delta)

        assert utc(due) == reference_add(zone, hours, holidays, start, delta)
        assert cal.elapsed(start, due) == delta


@pytest.mark.parametrize(
    ("zone", "hours", "holidays", "start", "minutes"),
    [
        (NEW_YORK, NINE_TO_FIVE, (MLK_DAY,), new_york(2026, 1, 16, 16, 1), 300),
        (NEW_YORK, SPLIT_DAY, (), new_york(2026, 1, 12, 11, 59), 181),
        (NEW_YORK, NIGHT_SHIFT, (), new_york(2026, 3, 7, 3, 30), 150),
        (NEW_YORK, NIGHT_SHIFT, (), new_york(2026, 10, 31, 2), 300),
        (NEW_YORK, ROUND_THE_CLOCK, (), new_york(2026, 3, 7, 23), 240),
        (PARIS, ROUND_THE_CLOCK, (), paris(2026, 10, 24, 23), 240),
        (PARIS, NINE_TO_FIVE, FRENCH_HOLIDAYS, paris(2026, 5, 7, 15, 13), 900),
    ],
)
def test_short_spans_match_the_minute_walking_reference(zone, hours, holidays, start, minutes):
    due = calendar(zone, hours, holidays).add(start, timedelta(minutes=minutes))

    assert utc(due) == minute_walk_add(zone, hours, holidays, start, minutes)


# -- elapsed -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "hours", "holidays", "start", "end", "open_time"),
    [
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 9, 15),
            new_york(2026, 1, 12, 10),
            3 * HOUR,
            id="over-a-weekend",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (MLK_DAY,),
            new_york(2026, 1, 16, 15),
            new_york(2026, 1, 20, 10),
            3 * HOUR,
            id="over-a-weekend-and-a-monday-holiday",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 12),
            new_york(2026, 1, 19),
            40 * HOUR,
            id="a-week",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (MLK_DAY,),
            new_york(2026, 1, 19),
            new_york(2026, 1, 26),
            32 * HOUR,
            id="a-week-with-a-holiday",
        ),
        pytest.param(
            NEW_YORK,
            SPLIT_DAY,
            (),
            new_york(2026, 1, 12, 8),
            new_york(2026, 1, 12, 18),
            7 * HOUR,
            id="a-split-day",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            (),
            new_york(2026, 1, 12, 10),
            new_york(2026, 1, 12, 9),
            timedelta(0),
            id="end-before-start-is-zero",
        ),
        pytest.param(
            NEW_YORK,
            ROUND_THE_CLOCK,
            (),
            new_york(2026, 3, 8),
            new_york(2026, 3, 9),
            23 * HOUR,
            id="new-york-spring-forward-day-is-23h",
        ),
        pytest.param(
            NEW_YORK,
            ROUND_THE_CLOCK,
            (),
            new_york(2026, 11, 1),
            new_york(2026, 11, 2),
            25 * HOUR,
            id="new-york-fall-back-day-is-25h",
        ),
        pytest.param(
            PARIS,
            ROUND_THE_CLOCK,
            (),
            paris(2026, 3, 29),
            paris(2026, 3, 30),
            23 * HOUR,
            id="paris-spring-forward-day-is-23h",
        ),
        pytest.param(
            PARIS,
            ROUND_THE_CLOCK,
            (),
            paris(2026, 10, 25),
            paris(2026, 10, 26),
            25 * HOUR,
            id="paris-fall-back-day-is-25h",
        ),
        pytest.param(
            NEW_YORK,
            NIGHT_SHIFT,
            (),
            new_york(2026, 3, 8),
            new_york(2026, 3, 8, 12),
            2 * HOUR,
            id="new-york-spring-night-shift",
        ),
        pytest.param(
            NEW_YORK,
            NIGHT_SHIFT,
            (),
            new_york(2026, 11, 1),
            new_york(2026, 11, 1, 12),
            4 * HOUR,
            id="new-york-autumn-night-shift",
        ),
        pytest.param(
            NEW_YORK,
            NINE_TO_FIVE,
            US_HOLIDAYS,
            new_york(2026, 1, 1),
            new_york(2027, 1, 1),
            (261 - 9) * 8 * HOUR,
            id="a-year-of-working-days-minus-holidays",
        ),
    ],
)
def test_elapsed_counts_only_open_time(zone, hours, holidays, start, end, open_time):
    assert calendar(zone, hours, holidays).elapsed(start, end) == open_time


def test_elapsed_over_months_matches_the_reference():
    cal = calendar(PARIS, SPLIT_DAY, FRENCH_HOLIDAYS)
    start, end = paris(2026, 2, 3, 10, 7), paris(2027, 11, 5, 16, 41)

    assert cal.elapsed(start, end) == reference_elapsed(
        PARIS, SPLIT_DAY, FRENCH_HOLIDAYS, start, end
    )


# -- wall-clock times that are skipped or repeated (fold=0, through UTC) ------------------------


def test_an_opening_in_the_spring_gap_opens_after_the_gap_by_its_length():
    # Sunday 02:30-05:00 on 2026-03-08: 02:30 is read as EST, i.e. 03:30 EDT.
    cal = calendar(NEW_YORK, {6: [(hm(2, 30), hm(5))]})

    assert not cal.is_open(new_york(2026, 3, 8, 3, 15))
    assert cal.is_open(new_york(2026, 3, 8, 3, 30))
    assert cal.elapsed(new_york(2026, 3, 8), new_york(2026, 3, 9)) == timedelta(hours=1.5)
    assert cal.elapsed(new_york(2026, 3, 15), new_york(2026, 3, 16)) == timedelta(hours=2.5)


def test_an_interval_that_resolves_to_nothing_in_the_gap_is_closed():
    # 02:30 EST is 07:30 UTC, 03:00 EDT is 07:00 UTC: nothing is open that Sunday.
    cal = calendar(NEW_YORK, {6: [(hm(2, 30), hm(3))]})

    assert cal.elapsed(new_york(2026, 3, 8), new_york(2026, 3, 9)) == timedelta(0)
    assert cal.elapsed(new_york(2026, 3, 15), new_york(2026, 3, 16)) == timedelta(minutes=30)


def test_an_ambiguous_opening_is_its_first_occurrence():
    # Sunday 01:30-03:00 on 2026-11-01: opens 01:30 EDT, closes 03:00 EST: 2.5 real hours.
    cal = calendar(NEW_YORK, {6: [(hm(1, 30), hm(3))]})

    assert cal.is_open(new_york(2026, 11, 1, 1, 30))
    assert cal.is_open(new_york(2026, 11, 1, 1, 15, fold=1))
    assert not cal.is_open(new_york(2026, 11, 1, 1, 15))
    assert cal.elapsed(new_york(2026, 11, 1), new_york(2026, 11, 2)) == timedelta(hours=2.5)


def test_a_skipped_day_owns_no_open_time():
    # Samoa skipped 2011-12-30; its 09:00-17:00 must not double the hours of 2011-12-31.
    apia = ZoneInfo("Pacific/Apia")
    cal = calendar(apia, weekdays((hm(9), hm(17)), days=range(7)))
    start = at(apia, 2011, 12, 29)

    assert cal.elapsed(start, at(apia, 2012, 1, 1)) == 16 * HOUR
    assert utc(cal.add(start, 9 * HOUR)) == utc(at(apia, 2011, 12, 31, 10))


def test_midnight_dst_changes_keep_days_apart():
    # America/Santiago changes clocks at midnight; a 24/7 calendar is plain real time.
    cal = calendar(SANTIAGO, ROUND_THE_CLOCK)
    start = at(SANTIAGO, 2026, 4, 3)

    assert cal.elapsed(start, at(SANTIAGO, 2026, 4, 6)) == 73 * HOUR
    assert utc(cal.add(start, 73 * HOUR)) == utc(start) + 73 * HOUR


# -- is_open -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "moment", "expected"),
    [
        pytest.param(NINE_TO_FIVE, new_york(2026, 1, 12, 9), True, id="open-at-opening"),
        pytest.param(NINE_TO_FIVE, new_york(2026, 1, 12, 17), False, id="closed-at-closing"),
        pytest.param(
            NINE_TO_FIVE,
            new_york(2026, 1, 12, 16, 59, 59, 999_999),
            True,
            id="open-just-before-closing",
        ),
        pytest.param(
            NINE_TO_FIVE,
            new_york(2026, 1, 12, 8, 59, 59, 999_999),
            False,
            id="closed-just-before-opening",
        ),
        pytest.param(NINE_TO_FIVE, new_york(2026, 1, 10, 12), False, id="closed-on-saturday"),
        pytest.param(NINE_TO_FIVE, new_york(2026, 1, 19, 12), False, id="closed-on-a-holiday"),
        pytest.param(NINE_TO_FIVE, datetime(2026, 1, 12, 14, tzinfo=UTC), True, id="any-zone"),
        pytest.param(SPLIT_DAY, new_york(2026, 1, 12, 12), False, id="closed-for-lunch"),
        pytest.param(SPLIT_DAY, new_york(2026, 1, 12, 13), True, id="open-after-lunch"),
        pytest.param(ROUND_THE_CLOCK, new_york(2026, 1, 12), True, id="24-7-open-at-midnight"),
        pytest.param(
            {0: [(hm(22), time(0))]},
            new_york(2026, 1, 13),
            False,
            id="closed-at-a-midnight-closing",
        ),
    ],
)
def test_is_open(hours, moment, expected):
    assert calendar(NEW_YORK, hours, (MLK_DAY,)).is_open(moment) is expected


def test_overlapping_intervals_are_merged():
    cal = calendar(NEW_YORK, {0: [(hm(11), hm(14)), (hm(9), hm(12)), (hm(14), hm(15))]})

    assert cal.elapsed(new_york(2026, 1, 12), new_york(2026, 1, 13)) == 6 * HOUR
    assert cal.hours == {0: ((hm(9), hm(15)),)}


def test_open_time_per_week_is_precomputed():
    assert calendar(NEW_YORK, SPLIT_DAY).open_time_per_week == 35 * HOUR
    assert calendar(NEW_YORK, ROUND_THE_CLOCK).open_time_per_week == timedelta(days=7)


# -- invalid input -------------------------------------------------------------------------------


def test_naive_datetimes_are_refused():
    cal = calendar(NEW_YORK, NINE_TO_FIVE)
    naive = datetime(2026, 1, 12, 10)  # noqa: DTZ001 - deliberately naive
    aware = new_york(2026, 1, 12, 10)

    with pytest.raises(ValueError, match="naive"):
        cal.is_open(naive)
    with pytest.raises(ValueError, match="naive"):
        cal.add(naive, HOUR)
    with pytest.raises(ValueError, match="naive"):
        cal.add(naive, timedelta(0))
    with pytest.raises(ValueError, match="naive"):
        cal.elapsed(naive, aware)
    with pytest.raises(ValueError, match="naive"):
        cal.elapsed(aware, naive)


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        pytest.param({0: [(hm(17), hm(9))]}, "must close after it opens", id="end-before-start"),
        pytest.param({0: [(hm(9), hm(9))]}, "must close after it opens", id="empty-interval"),
        pytest.param({7: [(hm(9), hm(17))]}, "weekday must be 0..6", id="weekday-7"),
        pytest.param({-1: [(hm(9), hm(17))]}, "weekday must be 0..6", id="weekday-minus-1"),
        pytest.param(
            {0: [(time(9, tzinfo=UTC), hm(17))]}, "must be naive", id="aware-opening-time"
        ),
    ],
)
def test_invalid_opening_hours_are_refused(hours, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar("America/New_York", hours)


def test_an_unknown_zone_is_refused():
    with pytest.raises(ValueError, match="unknown time zone"):
        BusinessCalendar("Mars/Olympus_Mons", NINE_TO_FIVE)


def test_a_negative_delta_is_refused():
    with pytest.raises(ValueError, match="negative"):
        calendar(NEW_YORK, NINE_TO_FIVE).add(new_york(2026, 1, 12, 10), -HOUR)


def test_a_calendar_that_never_opens_cannot_reach_a_deadline():
    never = calendar(NEW_YORK, {0: []})
    start = new_york(2026, 1, 12, 10)

    with pytest.raises(ValueError, match="no opening hours"):
        never.add(start, HOUR)
    assert never.add(start, timedelta(0)) is start
    assert never.elapsed(start, start + timedelta(days=30)) == timedelta(0)
    assert not never.is_open(start)


def test_the_module_imports_without_django():
    code = "import sys, sla.business_hours; sys.exit('django' in sys.modules)"

    root = Path(__file__).resolve().parents[2]

    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


# -- properties ----------------------------------------------------------------------------------

CALENDAR_DEFINITIONS = [
    (NEW_YORK, NINE_TO_FIVE, US_HOLIDAYS),
    (PARIS, SPLIT_DAY, FRENCH_HOLIDAYS),
    (NEW_YORK, ROUND_THE_CLOCK, frozenset()),
    (PARIS, NIGHT_SHIFT, FRENCH_HOLIDAYS),
    (
        NEW_YORK,
        {
            5: [(hm(22), time(0))],
            6: [(time(0), hm(1)), (hm(1, 30), hm(3)), (hm(2, 30), hm(5)), (hm(23), time(0))],
            0: [(time(0), hm(0, 45)), (hm(12), hm(12, 1))],
        },
        US_HOLIDAYS,
    ),
    (SANTIAGO, weekdays((time(0), hm(0, 30)), (hm(23), time(0)), days=range(7)), frozenset()),
    (LORD_HOWE, weekdays((hm(1), hm(3)), (hm(8, 30), hm(17, 30)), days=range(7)), frozenset()),
]
CALENDARS = [calendar(*definition) for definition in CALENDAR_DEFINITIONS]
CALENDAR_SPECS = {
    id(cal): definition for cal, definition in zip(CALENDARS, CALENDAR_DEFINITIONS, strict=True)
}
DST_CHANGES = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2027, 3, 14, 7, tzinfo=UTC),
    datetime(2027, 11, 7, 6, tzinfo=UTC),
    datetime(2027, 3, 28, 1, tzinfo=UTC),
    datetime(2027, 10, 31, 1, tzinfo=UTC),
    datetime(2026, 4, 5, 3, tzinfo=UTC),
    datetime(2026, 9, 6, 4, tzinfo=UTC),
    datetime(2026, 4, 4, 15, tzinfo=UTC),
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
]

calendars = st.sampled_from(CALENDARS)
instants = st.one_of(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(  # noqa: DTZ001
        lambda naive: naive.replace(tzinfo=UTC)
    ),
    st.builds(
        lambda change, offset: change + offset,
        st.sampled_from(DST_CHANGES),
        st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)),
    ),
)
deltas = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=12)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=600)),
    st.integers(min_value=0, max_value=60).map(lambda minutes: timedelta(minutes=minutes)),
)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def in_zone(cal, instant):
    return instant.astimezone(cal.zone)


@PROPERTY_SETTINGS
@given(cal=calendars, start=instants, delta=deltas)
def test_elapsed_undoes_add(cal, start, delta):
    assert cal.elapsed(in_zone(cal, start), cal.add(in_zone(cal, start), delta)) == delta


@PROPERTY_SETTINGS
@given(cal=calendars, start=instants, delta=deltas.filter(bool))
def test_add_matches_the_reference(cal, start, delta):
    zone, hours, holidays = CALENDAR_SPECS[id(cal)]

    assert utc(cal.add(start, delta)) == reference_add(zone, hours, holidays, start, delta)


@PROPERTY_SETTINGS
@given(cal=calendars, start=instants, delta=deltas.filter(bool))
def test_add_lands_in_open_time_or_on_a_closing_instant(cal, start, delta):
    due = utc(cal.add(in_zone(cal, start), delta))

    assert cal.is_open(due) or cal.is_open(due - MICROSECOND)


@PROPERTY_SETTINGS
@given(cal=calendars, start=instants, smaller=deltas, larger=deltas)
def test_add_is_monotone_in_delta(cal, start, smaller, larger):
    smaller, larger = sorted((smaller, larger))

    assert utc(cal.add(start, smaller)) <= utc(cal.add(start, larger))


@PROPERTY_SETTINGS
@given(cal=calendars, earlier=instants, later=instants, delta=deltas)
def test_add_is_monotone_in_start(cal, earlier, later, delta):
    earlier, later = sorted((earlier, later))

    assert utc(cal.add(earlier, delta)) <= utc(cal.add(later, delta))


@PROPERTY_SETTINGS
@given(cal=calendars, a=instants, b=instants, c=instants)
def test_elapsed_is_additive(cal, a, b, c):
    a, b, c = sorted((a, b, c))

    assert cal.elapsed(a, b) + cal.elapsed(b, c) == cal.elapsed(a, c)
    assert cal.elapsed(a, c) == reference_elapsed(*CALENDAR_SPECS[id(cal)], a, c)


@PROPERTY_SETTINGS
@given(cal=calendars, moment=instants)
def test_is_open_agrees_with_the_reference(cal, moment):
    zone, hours, holidays = CALENDAR_SPECS[id(cal)]
    day = moment.astimezone(zone).date()
    intervals = reference_intervals(
        zone, hours, holidays, day - timedelta(days=1), day + timedelta(days=1)
    )

    assert cal.is_open(moment) is any(begin <= moment < finish for begin, finish in intervals)
