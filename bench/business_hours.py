"""Benchmark: SLA deadline computation (``first_touch_due = calendar.add(handoff_at, 5 h)``).

Measures ``BusinessCalendar.add(start, timedelta(hours=5))`` over random hand-off instants
spread over 2026 in America/New_York (Mon-Fri 09:00-17:00, US federal holidays as explicit
dates), against pandas' ``CustomBusinessHour`` on the same inputs. pandas works on naive
local times, so each start is converted to a naive New York wall-clock time first (that
conversion is timed as part of the baseline, turning the result back into an aware datetime
is not). pandas is slow, so it runs on a prefix of the inputs and its rate is per second of
that prefix. Both answers are compared on that prefix; disagreements are reported, not
asserted.

Run ``python -m bench.business_hours [--scale small]`` to print the rows.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import warnings
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from zoneinfo import ZoneInfo

from sla.business_hours import BusinessCalendar

ZONE = ZoneInfo("America/New_York")
OFFICE_HOURS = {weekday: [(wall_time(9), wall_time(17))] for weekday in range(5)}
US_HOLIDAYS = [
    date(2026, 1, 1),
    date(2026, 1, 19),
    date(2026, 2, 16),
    date(2026, 5, 25),
    date(2026, 6, 19),
    date(2026, 7, 3),
    date(2026, 9, 7),
    date(2026, 10, 12),
    date(2026, 11, 11),
    date(2026, 11, 26),
    date(2026, 12, 25),
    date(2027, 1, 1),
]
ALLOWANCE = timedelta(hours=5)
SEED = 20_260_101
SIZES = {"small": 20_000}
DEFAULT_SIZE = 200_000
PANDAS_SAMPLE = {"small": 1_000}
DEFAULT_PANDAS_SAMPLE = 4_000
REPEATS = 3
MICROSECOND = timedelta(microseconds=1)


def run(scale: str = "default") -> list[dict]:
    """Measure deadlines per second; return one result row (see the module docstring)."""
    count = SIZES.get(scale, DEFAULT_SIZE)
    sample_size = min(count, PANDAS_SAMPLE.get(scale, DEFAULT_PANDAS_SAMPLE))
    calendar = BusinessCalendar(ZONE.key, OFFICE_HOURS, US_HOLIDAYS)
    starts = _random_starts(count)

    rate, deadlines = _measure_calendar(calendar, starts)
    baseline, pandas_deadlines = _measure_pandas(starts[:sample_size])
    # Random microsecond starts never land a deadline on a closing instant; on-the-hour starts
    # (every hour of January and of the week around Independence Day) do.
    edges = _hourly_starts(date(2026, 1, 1), 31) + _hourly_starts(date(2026, 6, 29), 7)
    _, edge_deadlines = _measure_pandas(edges)
    disagreements, closing_convention = _compare(
        calendar,
        deadlines[:sample_size] + [calendar.add(start, ALLOWANCE) for start in edges],
        pandas_deadlines + edge_deadlines,
    )
    compared = sample_size + len(edges)

    return [
        {
            "benchmark": "deadline computation BusinessCalendar.add",
            "figure": rate,
            "unit": "deadlines/s",
            "baseline": baseline,
            "baseline_label": "pandas CustomBusinessHour",
            "ratio": rate / baseline,
            "target": ">= 100,000/s and >= 20x baseline",
            "disagreements": disagreements,
            "notes": (
                f"{count:,} random hand-offs over 2026 in {ZONE.key}, Mon-Fri 09-17, "
                f"{len(US_HOLIDAYS)} holidays, +5 business hours; best of {REPEATS} passes, "
                f"one core. pandas: {sample_size:,} of the same starts, converted to naive "
                f"local time, + 5 * CustomBusinessHour. Compared on those and {len(edges)} "
                f"on-the-hour starts ({compared:,}): {disagreements} disagreements, plus "
                f"{closing_convention} where the deadline is exactly a closing instant "
                "(17:00): BusinessCalendar returns it, pandas rolls it to the next opening."
            ),
        }
    ]


def _random_starts(count: int) -> list[datetime]:
    rng = random.Random(SEED)
    year_start = datetime(2026, 1, 1, tzinfo=ZONE).astimezone(UTC)
    span_us = 365 * 86_400 * 1_000_000
    return [
        (year_start + timedelta(microseconds=rng.randrange(span_us))).astimezone(ZONE)
        for _ in range(count)
    ]


def _hourly_starts(first_day: date, days: int) -> list[datetime]:
    first = datetime.combine(first_day, wall_time(0), tzinfo=ZONE).astimezone(UTC)
    return [(first + timedelta(hours=hour)).astimezone(ZONE) for hour in range(24 * days)]


def _measure_calendar(
    calendar: BusinessCalendar, starts: list[datetime]
) -> tuple[float, list[datetime]]:
    add = calendar.add
    deadlines = [add(start, ALLOWANCE) for start in starts]  # warm the month cache
    best = float("inf")
    for _ in range(REPEATS):
        began = time.perf_counter()
        for start in starts:
            add(start, ALLOWANCE)
        best = min(best, time.perf_counter() - began)
    return len(starts) / best, deadlines


def _measure_pandas(starts: list[datetime]) -> tuple[float, list[datetime]]:
    import pandas as pd

    offset = 5 * pd.offsets.CustomBusinessHour(
        start="09:00", end="17:00", holidays=[day.isoformat() for day in US_HOLIDAYS]
    )
    deadlines = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        began = time.perf_counter()
        for start in starts:
            deadlines.append(pd.Timestamp(start.astimezone(ZONE).replace(tzinfo=None)) + offset)
        elapsed = time.perf_counter() - began
    return len(starts) / elapsed, [deadline.to_pydatetime() for deadline in deadlines]


def _compare(
    calendar: BusinessCalendar, deadlines: list[datetime], pandas_deadlines: list[datetime]
) -> tuple[int, int]:
    """(disagreements, differences explained by pandas rolling a closing instant forward)."""
    disagreements = closing_convention = 0
    for ours, theirs in zip(deadlines, pandas_deadlines, strict=True):
        if ours.astimezone(ZONE).replace(tzinfo=None) == theirs:
            continue
        next_opening = calendar.add(ours, MICROSECOND).astimezone(UTC) - MICROSECOND
        if not calendar.is_open(ours) and (
            next_opening.astimezone(ZONE).replace(tzinfo=None) == theirs
        ):
            closing_convention += 1
        else:
            disagreements += 1
    return disagreements, closing_convention


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="default", choices=["small", "default"])
    for row in run(parser.parse_args().scale):
        print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
