"""SLA clock arithmetic, in one place, on top of `sla.business_hours` (no Django import).

- `deadlines(...)`: first-touch due, warning instant and attempt-window end of a hand-off;
- `attempts_outcome(...)`: what a clock's attempts mean (met or late first touch, count,
  over-contact, whether the A-th attempt used up the allowance without progress);
- `course_after(...)` and `evaluate(...)`: a clock's whole state (status, first touch,
  breach, exhaustion, closing) from its deadlines, its attempts and what the lead did,
  whenever it is computed: the sweep, a reaction, a back-fill and a report agree;
- `month_pace(...)`: a marketing commitment's pace inside a month;
- `calendar_engine(...)`: the `business_hours.BusinessCalendar` of a stored calendar
  definition (holidays from the `holidays` package plus custom dates), cached per version.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sla.business_hours import BusinessCalendar

# Outcomes that mean the conversation is moving: an A-th attempt with one of these does not
# exhaust the clock (the window end still does, unless the lead moved forward).
PROGRESS_OUTCOMES = frozenset({"connected", "meeting_booked"})
# Holidays are expanded over these years for every calendar (cheap: done once per version).
HOLIDAY_YEARS = range(2000, 2051)


@dataclass(frozen=True)
class Terms:
    """The sales commitment of an agreement version."""

    first_touch_hours: Decimal
    max_attempts: int
    attempt_window_days: int
    warning_share: Decimal


@dataclass(frozen=True)
class Deadlines:
    first_touch_due_at: datetime
    warn_at: datetime
    attempt_window_ends_at: datetime


def deadlines(calendar: BusinessCalendar, handoff_at: datetime, terms: Terms) -> Deadlines:
    """Deadlines of a hand-off at `handoff_at` (aware) under `terms`, counted in `calendar`.

    First touch is due once `first_touch_hours` of open time have passed; the warning once
    `warning_share` of that allowance has; the attempt window closes `attempt_window_days`
    calendar days (local wall clock of the calendar's zone) after hand-off. Results are UTC.
    """
    hours = Decimal(str(terms.first_touch_hours))
    allowance = timedelta(seconds=round(hours * 3600))
    warning = timedelta(seconds=round(hours * 3600 * Decimal(str(terms.warning_share))))
    local = handoff_at.astimezone(calendar.zone)
    window_end = (local.replace(tzinfo=None) + timedelta(days=terms.attempt_window_days)).replace(
        tzinfo=calendar.zone
    )
    return Deadlines(
        first_touch_due_at=calendar.add(handoff_at, allowance).astimezone(UTC),
        warn_at=calendar.add(handoff_at, warning).astimezone(UTC),
        attempt_window_ends_at=window_end.astimezone(UTC),
    )


def response_seconds(calendar: BusinessCalendar, handoff_at: datetime, touched_at: datetime) -> int:
    """Business seconds between hand-off and first touch (rounded down)."""
    return int(calendar.elapsed(handoff_at, touched_at).total_seconds())


@dataclass(frozen=True)
class Attempt:
    occurred_at: datetime
    outcome: str


@dataclass(frozen=True)
class AttemptsOutcome:
    first_touch_at: datetime | None
    first_touch_met: bool | None  # None: no touch yet
    attempts: int
    over_contact: bool
    allowance_used_without_progress: bool


def attempts_outcome(
    attempts: Sequence[Attempt],
    *,
    first_touch_due_at: datetime,
    attempt_window_ends_at: datetime,
    max_attempts: int,
) -> AttemptsOutcome:
    """What a clock's counted attempts (sorted by `occurred_at`) mean under its terms.

    Attempts beyond `max_attempts` inside the window are counted and flag over-contact;
    nothing is dropped. The allowance is used without progress when the `max_attempts`-th
    attempt inside the window has an outcome outside `PROGRESS_OUTCOMES`.
    """
    if not attempts:
        return AttemptsOutcome(None, None, 0, False, False)
    first = attempts[0].occurred_at
    in_window = [a for a in attempts if a.occurred_at <= attempt_window_ends_at]
    used = len(in_window) >= max_attempts and (
        in_window[max_attempts - 1].outcome not in PROGRESS_OUTCOMES
    )
    return AttemptsOutcome(
        first_touch_at=first,
        first_touch_met=first <= first_touch_due_at,
        attempts=len(attempts),
        over_contact=len(in_window) > max_attempts,
        allowance_used_without_progress=used,
    )


# -- a clock's state from the facts ----------------------------------------------------------------

SALES = frozenset({"sql", "opportunity"})


@dataclass(frozen=True)
class Course:
    """What the lead did after a hand-off (instants; None: not yet).

    `sql_until`: it stopped being in `sql` (moved forward or out); `left_sales_at`: it left
    the sales stages (sql, opportunity); `next_handoff_at`: it was handed off again (the
    next clock takes over)."""

    sql_until: datetime | None
    left_sales_at: datetime | None
    next_handoff_at: datetime | None = None


def course_after(
    handoff_at: datetime,
    transitions: Sequence[tuple[datetime, str, str]],
    *,
    stage_now: str,
    next_handoff_at: datetime | None = None,
) -> Course:
    """The course of a lead after a hand-off at `handoff_at`, from its transitions
    `(at, from_stage, to_stage)` in recording order (by instant, then id).

    The stage at the hand-off is the one the last transition at or before it led to (a
    hand-off on assignment comes after the move to sql; a skip to customer leaves sales at
    once); without one, the one the next transition left, or else the lead's stage now."""
    stage = None
    later = []
    for at, from_stage, to_stage in transitions:
        if at <= handoff_at:
            stage = to_stage
        else:
            later.append((at, from_stage, to_stage))
    if stage is None:
        stage = later[0][1] if later else stage_now
    sql_until = left_sales_at = None
    if stage != "sql":
        sql_until = handoff_at
    if stage not in SALES:
        left_sales_at = handoff_at
    for at, from_stage, to_stage in later:
        if next_handoff_at is not None and at >= next_handoff_at:
            break
        if sql_until is None and from_stage == "sql":
            sql_until = at
        if left_sales_at is None and to_stage not in SALES:
            left_sales_at = at
            break
    return Course(sql_until=sql_until, left_sales_at=left_sales_at, next_handoff_at=next_handoff_at)


@dataclass(frozen=True)
class ClockState:
    status: str  # "pending", "met", "breached"
    first_touch_at: datetime | None
    attempts: int
    over_contact: bool
    breached_at: datetime | None
    exhausted_at: datetime | None
    exhausted_by: str  # "", "window" (the window closed) or "attempts" (the A-th attempt)
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None and self.exhausted_at is None


def counted_attempts(
    attempts: Sequence[Attempt], handoff_at: datetime, course: Course
) -> list[Attempt]:
    """The attempts that belong to a clock: from its hand-off until the lead's next
    hand-off. Attempts after the lead left sales still belong to it (a touch after a
    hand-back is over-contact all the more)."""
    return [
        attempt
        for attempt in attempts
        if attempt.occurred_at >= handoff_at
        and (course.next_handoff_at is None or attempt.occurred_at < course.next_handoff_at)
    ]


def evaluate(
    *,
    handoff_at: datetime,
    first_touch_due_at: datetime,
    attempt_window_ends_at: datetime,
    max_attempts: int,
    attempts: Sequence[Attempt],
    course: Course,
    now: datetime,
) -> ClockState:
    """A clock's state at `now` (PRODUCT.md, "SLA semantics"), from its facts only.

    - The first counted attempt at or before the due instant makes it met; a later one
      makes it breached (the real response is kept). With no attempt, it is breached once
      the due instant has passed while it ran (`now`, or the lead leaving sales, whichever
      came first) and pending otherwise: a clock whose lead left sales before the due
      instant, untouched, stays pending (not measured).
    - It is breached at its due instant (`breached_at`), whenever that was found out.
    - It is exhausted when its window closes with the lead still in sql, or at the A-th
      attempt inside the window if that one ends without progress while the lead is in
      sql, whichever comes first (`exhausted_at` is that instant).
    - It is closed when the lead leaves sales (or is handed off again), or, for a lead that
      moved forward and was not exhausted, when its window closes.
    `attempts` are the lead's attempts by people who count, sorted by `occurred_at`.
    """
    counted = counted_attempts(attempts, handoff_at, course)
    outcome = attempts_outcome(
        counted,
        first_touch_due_at=first_touch_due_at,
        attempt_window_ends_at=attempt_window_ends_at,
        max_attempts=max_attempts,
    )
    stopped = min(
        (moment for moment in (course.left_sales_at, course.next_handoff_at) if moment),
        default=None,
    )
    horizon = min(now, stopped) if stopped is not None else now
    if outcome.first_touch_at is not None:
        status = "met" if outcome.first_touch_met else "breached"
    elif first_touch_due_at <= horizon:
        status = "breached"
    else:
        status = "pending"

    candidates = []
    in_sql_until = course.sql_until
    if attempt_window_ends_at <= now and (
        in_sql_until is None or in_sql_until >= attempt_window_ends_at
    ):
        candidates.append((attempt_window_ends_at, "window"))
    if outcome.allowance_used_without_progress:
        in_window = [a for a in counted if a.occurred_at <= attempt_window_ends_at]
        last = in_window[max_attempts - 1].occurred_at
        # (At the instant itself the lead may already be leaving: that is the hand-back.)
        if last <= now and (in_sql_until is None or in_sql_until >= last):
            candidates.append((last, "attempts"))
    exhausted_at, exhausted_by = min(candidates) if candidates else (None, "")

    if stopped is not None:
        closed_at = stopped
    elif exhausted_at is None and attempt_window_ends_at <= now:
        closed_at = attempt_window_ends_at
    else:
        closed_at = None
    return ClockState(
        status=status,
        first_touch_at=outcome.first_touch_at,
        attempts=outcome.attempts,
        over_contact=outcome.over_contact,
        breached_at=first_touch_due_at if status == "breached" else None,
        exhausted_at=exhausted_at,
        exhausted_by=exhausted_by,
        closed_at=closed_at,
    )


# -- opening hours as stored (JSON) --------------------------------------------------------------


def parse_hours(data: object) -> dict[int, list[tuple[time, time]]]:
    """Stored hours `{"0": [["09:00", "17:00"]], …}` → `business_hours` hours.

    Raises `ValueError` with a message naming the weekday for anything malformed.
    """
    if not isinstance(data, Mapping):
        raise ValueError('Opening hours must map weekdays "0" (Monday) … "6" to intervals.')
    hours: dict[int, list[tuple[time, time]]] = {}
    for key, intervals in data.items():
        try:
            weekday = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"“{key}” is not a weekday number 0 (Monday) … 6.") from None
        if not 0 <= weekday <= 6:
            raise ValueError(f"“{key}” is not a weekday number 0 (Monday) … 6.")
        if not isinstance(intervals, list | tuple):
            raise ValueError(f"{WEEKDAYS[weekday]}: give a list of [opens, closes] pairs.")
        parsed = []
        for interval in intervals:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise ValueError(
                    f"{WEEKDAYS[weekday]}: “{interval}” is not an [opens, closes] pair."
                )
            opens, closes = (_parse_time(value, weekday) for value in interval)
            if closes != time(0) and closes <= opens:
                raise ValueError(
                    f"{WEEKDAYS[weekday]}: {interval[0]}–{interval[1]} must close after it opens."
                )
            parsed.append((opens, closes))
        hours[weekday] = parsed
    return hours


def format_hours(hours: Mapping) -> dict[str, list[list[str]]]:
    """`business_hours` hours → the stored JSON shape (the inverse of `parse_hours`)."""
    return {
        str(day): [[o.strftime("%H:%M"), c.strftime("%H:%M")] for o, c in intervals]
        for day, intervals in sorted(hours.items())
        if intervals
    }


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _parse_time(value: object, weekday: int) -> time:
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{WEEKDAYS[weekday]}: “{value}” is not a time like 09:00.")


def parse_dates(values: Iterable[object]) -> list[date]:
    """Custom holiday strings (YYYY-MM-DD) → dates; `ValueError` names the bad one."""
    parsed = []
    for value in values:
        try:
            parsed.append(date.fromisoformat(str(value).strip()))
        except ValueError:
            raise ValueError(f"“{value}” is not a date like 2026-12-24.") from None
    return parsed


# -- building calendars --------------------------------------------------------------------------

_engines: dict[tuple, BusinessCalendar] = {}
_engines_lock = threading.Lock()


def holiday_dates(country: str, subdivision: str = "") -> frozenset[date]:
    """Public holidays of `country`/`subdivision` from the `holidays` package."""
    if not country:
        return frozenset()
    import holidays

    try:
        found = holidays.country_holidays(
            country.upper(), subdiv=subdivision.upper() or None, years=HOLIDAY_YEARS
        )
    except NotImplementedError as exc:  # unknown country or subdivision
        raise ValueError(f"Unknown holiday country or subdivision: {exc}.") from exc
    return frozenset(found.keys())


def calendar_engine(
    *,
    cache_key: object,
    time_zone: str,
    hours: object,
    holiday_country: str = "",
    holiday_subdivision: str = "",
    custom_holidays: Iterable[object] = (),
) -> BusinessCalendar:
    """The business calendar of a stored definition; cached by `cache_key` (id, version).

    Raises `ValueError` with a readable message when the definition is invalid.
    """
    engine = _engines.get(cache_key) if cache_key is not None else None
    if engine is not None:
        return engine
    try:
        ZoneInfo(time_zone)
    except Exception:
        raise ValueError(f"“{time_zone}” is not a known IANA time zone.") from None
    days = holiday_dates(holiday_country, holiday_subdivision) | set(parse_dates(custom_holidays))
    engine = BusinessCalendar(time_zone, parse_hours(hours), days)
    if cache_key is not None:
        with _engines_lock:
            if len(_engines) > 256:
                _engines.clear()
            _engines[cache_key] = engine
    return engine


# -- marketing commitments -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    status: str  # "on_track", "at_risk", "met", "missed", "upcoming"
    expected_by_now: Decimal
    elapsed_share: Decimal


def month_pace(
    *, delivered: int, committed: int, month_start: datetime, month_end: datetime, now: datetime
) -> Pace:
    """Pace of `delivered` against `committed` for the month [month_start, month_end).

    A month in progress is at risk when fewer leads arrived than the committed number pro
    rata of the time elapsed (a straight line through the month); a past month is met or
    missed; reaching the number early is met.
    """
    total = (month_end - month_start).total_seconds()
    done = min(max((now - month_start).total_seconds(), 0.0), total)
    share = Decimal(done / total).quantize(Decimal("0.0001")) if total else Decimal(1)
    expected = (Decimal(committed) * share).quantize(Decimal("0.01"))
    if delivered >= committed:
        status = "met"
    elif now >= month_end:
        status = "missed"
    elif now < month_start:
        status = "upcoming"
    else:
        status = "on_track" if delivered >= expected else "at_risk"
    return Pace(status=status, expected_by_now=expected, elapsed_share=share)
