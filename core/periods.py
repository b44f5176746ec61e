"""Report periods from user input (query strings of the API and the pages): one rule for
every report (funnel, compliance, lead quality, the dashboard).

A date means whole days in the company time zone (core.days): ``start=2026-03-01&end=
2026-03-31`` is March, end day included. A date-time needs an offset and is taken as is:
the period is half-open, ``[start, end)``. Both are held to core.bounds (years 1900–2199,
offsets within ±15:59).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from core.bounds import date_problem, instant_problem
from core.days import day_start, local_day
from core.errors import DomainError

MAX_DAYS = 3 * 366


def _parse(value: str, *, field: str, is_end: bool) -> dt.datetime:
    value = (value or "").strip()
    try:
        day = parse_date(value)
    except ValueError:
        day = None
    if day is not None:
        problem = date_problem(day)
        if problem:
            raise DomainError(problem, field=field)
        return day_start(day + dt.timedelta(days=1) if is_end else day)
    try:
        moment = parse_datetime(value.replace(" ", "+"))
    except ValueError:
        moment = None
    if moment is None:
        raise DomainError(
            "Give a date (2026-03-31) or a date and time with an offset "
            "(2026-03-31T00:00:00+00:00).",
            field=field,
        )
    if timezone.is_naive(moment):
        raise DomainError("Give the time with its offset, e.g. +00:00.", field=field)
    problem = instant_problem(moment)
    if problem:
        raise DomainError(problem, field=field)
    return moment


def parse_period(
    start: str | None,
    end: str | None,
    *,
    today: dt.date | None = None,
    default_first: dt.date | None = None,
) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` as aware instants; without input, from `default_first` (the first of
    the current month) to the end of today."""
    today = today or local_day(timezone.now())
    first = default_first or today.replace(day=1)
    start_at = _parse(start, field="start", is_end=False) if start else day_start(first)
    end_at = (
        _parse(end, field="end", is_end=True) if end else day_start(today + dt.timedelta(days=1))
    )
    if end_at <= start_at:
        raise DomainError("The period must end after it starts.", field="end")
    if end_at - start_at > dt.timedelta(days=MAX_DAYS):
        raise DomainError("Report on three years at most.", field="end")
    return start_at, end_at


def period_inputs(start_at: dt.datetime, end_at: dt.datetime) -> tuple[str, str]:
    """The dates to put back into a form for a whole-day period (end day included)."""
    first = local_day(start_at)
    last = local_day(end_at - dt.timedelta(microseconds=1))
    return first.isoformat(), last.isoformat()
