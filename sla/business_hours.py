"""Business-hours arithmetic for SLA clocks (pure core: standard library and ``zoneinfo`` only).

A :class:`BusinessCalendar` is an IANA time zone, weekly opening intervals per weekday and
holiday dates. It answers three questions about *instants* (aware datetimes):

- ``is_open(moment)``: is the business open at that instant?
- ``add(start, delta)``: the earliest instant at which ``delta`` of open time has elapsed since
  ``start`` (this is how ``first_touch_due`` is computed from a hand-off);
- ``elapsed(start, end)``: how much open time lies between two instants (response times).

Open time is real elapsed time, measured in microseconds between UTC instants: on a daylight
saving change day an interval written 01:00-04:00 lasts 2 real hours in spring
(America/New_York, 2026-03-08) and 4 in autumn (2026-11-01).

Writing opening hours
---------------------
``hours`` maps a weekday (0 = Monday ... 6 = Sunday) to a list of ``(opens, closes)`` pairs of
naive ``datetime.time`` values, local wall-clock times in the calendar's zone. An interval is
half-open, ``[opens, closes)``: open at ``opens``, closed at ``closes``. ``closes`` equal to
``time(0, 0)`` means midnight at the *end* of that day (24:00), so ``(time(0), time(0))`` is a
whole day and ``{d: [(time(0), time(0))] for d in range(7)}`` is a 24/7 calendar. Any other
``closes <= opens`` is a ``ValueError``. Several intervals per day are allowed (a lunch break);
overlapping or touching intervals of a day are merged, on the wall clock, before anything else.
Weekdays that are absent or map to an empty list are closed. Holidays are local dates, closed
all day.

Resolving wall-clock times that do not exist or happen twice
------------------------------------------------------------
Each wall-clock time is turned into an instant with ``fold=0`` semantics (PEP 495), normalised
through UTC:

- a *skipped* time (inside a spring-forward gap) is read with the offset in force before the
  change, which lands it after the gap by the gap's length: in America/New_York on 2026-03-08
  an opening written 02:30 opens at 03:30 EDT;
- an *ambiguous* time (inside an autumn repeated hour) is its first occurrence: in
  America/New_York on 2026-11-01 an opening written 01:30 opens at 01:30 EDT (05:30 UTC).

Each local date owns the instants from its midnight to the next midnight (both resolved as
above); a day's intervals are clipped to that span, so no day can overlap its neighbours even
in zones whose clocks change at midnight. An interval that resolves to nothing (written
02:30-03:00 on a spring-forward day) is simply closed; intervals that overlap once resolved
(01:00-02:30 and 03:00-04:00 on that day) are united.

Speed
-----
Open intervals are laid out per local calendar month as sorted instants (``timedelta`` offsets
from the UTC epoch, exact to the microsecond) with running totals of open time, built once per
month and shared by every calendar with the same definition. A query is two ``bisect`` calls
inside one month; a long ``add`` or ``elapsed`` skips whole months using each month's total
open time, which already accounts for holidays and daylight saving changes (so no week is
assumed equal to another). Nothing walks minute by minute; building a month walks its days
once (one zone conversion per midnight, opening and closing: well under a millisecond).

Supported instants lie between years 2 and 9998 in the calendar's zone.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["BusinessCalendar"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_DAY_US = 86_400_000_000
_MIDNIGHT = time(0)
_ZERO = timedelta(0)
_FIRST_YEAR = 2
_LAST_YEAR = 9998

# Cache sizes: months of one calendar definition, and calendar definitions.
_MONTHS_PER_TIMELINE = 480
_TIMELINES = 64

# Normalised opening hours: for each weekday 0..6 a tuple of (opens, closes) where closes is
# None for midnight at the end of the day.
_DayHours = tuple[tuple[time, time | None], ...]
_WeekHours = tuple[_DayHours, ...]


class BusinessCalendar:
    """Opening hours in one IANA time zone, with holidays.

    ``tz``: IANA zone name, e.g. ``"America/New_York"`` (a ``ZoneInfo`` is accepted too);
    an unknown zone is a ``ValueError``.
    ``hours``: weekday (0 = Monday ... 6 = Sunday) -> list of ``(opens, closes)`` naive
    ``datetime.time`` pairs in local wall-clock time; ``closes == time(0, 0)`` means 24:00.
    ``holidays``: iterable of ``datetime.date``, local dates closed all day.

    All methods take and return aware datetimes (any zone; compared by instant). Results are
    returned in the calendar's zone. Durations are ``timedelta`` of real elapsed open time,
    exact to the microsecond. Instances are meant to be built once and reused (construction
    normalises and validates the definition; per-month work is cached and shared by all
    calendars with the same definition); they are safe to share between threads.
    Instants must lie between years 2 and 9998 (``ValueError`` otherwise).
    """

    __slots__ = ("tz", "zone", "hours", "holidays", "open_time_per_week", "_timeline")

    def __init__(
        self,
        tz: str | ZoneInfo,
        hours: Mapping[int, Sequence[tuple[time, time]]],
        holidays: Iterable[date] = (),
    ) -> None:
        zone = _zone(tz)
        week = _normalise_hours(hours)
        holiday_set = _normalise_holidays(holidays)
        #: IANA name of the calendar's zone.
        self.tz: str = zone.key
        #: The calendar's zone; results of ``add`` are expressed in it.
        self.zone: ZoneInfo = zone
        #: Normalised opening hours: open weekdays -> sorted, merged ``(opens, closes)`` pairs,
        #: written as on input (``closes == time(0)`` for midnight ending the day).
        self.hours: Mapping[int, tuple[tuple[time, time], ...]] = MappingProxyType(
            {
                day: tuple((opens, _MIDNIGHT if c is None else c) for opens, c in pairs)
                for day, pairs in enumerate(week)
                if pairs
            }
        )
        #: Holiday dates (local), closed all day.
        self.holidays: frozenset[date] = holiday_set
        self._timeline = _timeline_for(zone, week, holiday_set)
        #: Nominal open time of a week without holidays or clock changes.
        self.open_time_per_week: timedelta = self._timeline.open_per_week

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar(tz={self.tz!r}, open_time_per_week={self.open_time_per_week}, "
            f"holidays={len(self.holidays)})"
        )

    def is_open(self, moment: datetime) -> bool:
        """True if the business is open at the instant ``moment`` (an aware datetime).

        Intervals are half-open: open at an opening instant, closed at a closing instant
        (unless another interval opens at that very instant).
        """
        instant = _since_epoch(moment)
        month = self._timeline.month_at(instant, moment)
        return month.starts[bisect_right(month.ends, instant)] <= instant

    def add(self, start: datetime, delta: timedelta) -> datetime:
        """The earliest instant at which ``delta`` of open time has elapsed since ``start``.

        ``start``: aware datetime; if the business is closed then (night, weekend, holiday),
        counting begins at the next opening. ``delta``: non-negative ``timedelta`` of open
        time. A zero delta returns ``start`` unchanged. Otherwise the result is an aware
        datetime in the calendar's zone, inside open time or exactly at a closing instant
        (Mon-Fri 09-17: Friday 16:00 + 1 h is Friday 17:00, not Monday 09:00).

        Raises ``ValueError`` for a naive ``start``, a negative ``delta``, or a positive
        ``delta`` on a calendar that is never open; ``TypeError`` if ``delta`` is not a
        ``timedelta``.
        """
        instant = _since_epoch(start)
        if not isinstance(delta, timedelta):
            raise TypeError(f"delta must be a datetime.timedelta, not {type(delta).__name__}")
        if delta <= _ZERO:
            if delta == _ZERO:
                return start
            raise ValueError(f"delta must not be negative, got {delta!r}")
        timeline = self._timeline
        if not timeline.open_per_week:
            raise ValueError("this calendar has no opening hours; no deadline can be reached")
        # Hot path, inlined: find the month, the open time before the start, then the target.
        month = timeline.month_at(instant, start)
        index = bisect_right(month.ends, instant)
        opens = month.starts[index]
        if opens < instant:
            target = month.done_before[index] + (instant - opens) + delta
        else:
            target = month.done_before[index] + delta
        if target > month.total:
            # Skip whole months by their totals (kept even when a month's intervals are not).
            key, total = month.key, month.total
            while target > total:
                target -= total
                key += 1
                total = timeline.month_total(key)
            month = timeline.month(key)
        index = bisect_left(month.done_after, target)
        due = month.starts[index] + (target - month.done_before[index])
        return timeline.zone.fromutc(timeline.epoch_in_zone + due)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Open time between the instants ``start`` and ``end`` (aware datetimes).

        Returns a ``timedelta`` of real elapsed open time; zero if ``end <= start``.
        """
        first = _since_epoch(start)
        last = _since_epoch(end)
        if last <= first:
            return _ZERO
        timeline = self._timeline
        month = timeline.month_at(first, start)
        if last < month.last:
            return _open_before(month, last) - _open_before(month, first)
        total = month.total - _open_before(month, first)
        end_month = timeline.month_at(last, end)
        for key in range(month.key + 1, end_month.key):
            total += timeline.month_total(key)
        return total + _open_before(end_month, last)


class _Month:
    """Open intervals of one local calendar month.

    Instants are ``timedelta`` offsets from 1970-01-01T00:00Z (exact to the microsecond, and
    cheaper to compare and add than aware datetimes).
    ``first``/``last``: the month's span ``[first, last)`` (its first and next month's first
    local midnight).
    ``starts``/``ends``: disjoint, sorted open intervals; each list ends with a sentinel equal
    to ``last`` so ``bisect_right(ends, t)`` for ``t`` in the span always finds an index.
    ``done_before[i]``: open time of the month before ``starts[i]`` (sentinel: ``total``).
    ``done_after[i]``: open time of the month up to ``ends[i]`` (no sentinel).
    """

    __slots__ = ("key", "first", "last", "starts", "ends", "done_before", "done_after", "total")

    def __init__(
        self, key: int, first: timedelta, last: timedelta, intervals: list[list[timedelta]]
    ) -> None:
        self.key = key
        self.first = first
        self.last = last
        self.starts = [opens for opens, _ in intervals] + [last]
        self.ends = [closes for _, closes in intervals] + [last]
        done = _ZERO
        self.done_before: list[timedelta] = []
        self.done_after: list[timedelta] = []
        for opens, closes in intervals:
            self.done_before.append(done)
            done += closes - opens
            self.done_after.append(done)
        self.done_before.append(done)
        self.total = done


def _open_before(month: _Month, instant: timedelta) -> timedelta:
    """Open time of ``month`` before ``instant`` (which lies in the month's span)."""
    index = bisect_right(month.ends, instant)
    opens = month.starts[index]
    if opens < instant:
        return month.done_before[index] + (instant - opens)
    return month.done_before[index]


class _Timeline:
    """The open intervals of one calendar definition, built lazily month by month.

    Shared by every ``BusinessCalendar`` with the same zone, hours and holidays. Months are
    keyed ``year * 12 + month - 1`` in the calendar's zone. ``by_utc_day`` maps a UTC day
    number (days since the epoch) to the built month holding that whole UTC day, so most
    lookups need no time-zone conversion.
    """

    def __init__(self, zone: ZoneInfo, week: _WeekHours, holidays: frozenset[date]) -> None:
        self.zone = zone
        self.epoch_in_zone = datetime(1970, 1, 1, tzinfo=zone)  # for zone.fromutc
        self.week = week
        self.holidays = holidays
        self.open_per_week = _MICROSECOND * sum(_wall_us(o, c) for day in week for o, c in day)
        self.by_utc_day: dict[int, _Month] = {}
        self._months: dict[int, _Month] = {}
        self._totals: dict[int, timedelta] = {}
        self._lock = threading.Lock()

    def month(self, key: int) -> _Month:
        month = self._months.get(key)
        if month is None:
            month = self._build(key)
        return month

    def month_total(self, key: int) -> timedelta:
        total = self._totals.get(key)
        if total is None:
            total = self._build(key).total
        return total

    def month_at(self, instant: timedelta, moment: datetime) -> _Month:
        """The month whose span holds ``instant`` (``moment`` is the same instant)."""
        month = self.by_utc_day.get(instant.days)
        if month is not None:
            return month
        local = moment.astimezone(self.zone)
        month = self.month(local.year * 12 + local.month - 1)
        # Only differs from the local date's month where midnight itself is skipped.
        while instant < month.first:
            month = self.month(month.key - 1)
        while instant >= month.last:
            month = self.month(month.key + 1)
        return month

    def _build(self, key: int) -> _Month:
        year, month_index = divmod(key, 12)
        if not _FIRST_YEAR <= year <= _LAST_YEAR:
            raise ValueError(
                f"instants must lie between years {_FIRST_YEAR} and {_LAST_YEAR}, "
                f"needed {year}-{month_index + 1:02d}"
            )
        day = date(year, month_index + 1, 1)
        following = date(year + 1, 1, 1) if month_index == 11 else date(year, month_index + 2, 1)
        resolve = self._resolve
        day_start = resolve(day, _MIDNIGHT)
        first = day_start
        intervals: list[list[timedelta]] = []
        while day < following:
            next_day = day + _ONE_DAY
            day_end = resolve(next_day, _MIDNIGHT)
            if day not in self.holidays:
                pieces = []
                for opens, closes in self.week[day.weekday()]:
                    begin = max(resolve(day, opens), day_start)
                    finish = day_end if closes is None else min(resolve(day, closes), day_end)
                    if finish > begin:
                        pieces.append((begin, finish))
                # Resolution through a spring-forward gap can reorder or overlap pieces.
                pieces.sort()
                for begin, finish in pieces:
                    if intervals and begin <= intervals[-1][1]:
                        intervals[-1][1] = max(intervals[-1][1], finish)
                    else:
                        intervals.append([begin, finish])
            day, day_start = next_day, day_end
        built = _Month(key, first, day_start, intervals)
        with self._lock:
            if len(self._months) >= _MONTHS_PER_TIMELINE:
                self._forget(self._months.pop(next(iter(self._months))))
            self._months[key] = built
            self._totals[key] = built.total
            for utc_day in _whole_utc_days(built):
                self.by_utc_day[utc_day] = built
        return built

    def _forget(self, month: _Month) -> None:
        for utc_day in _whole_utc_days(month):
            if self.by_utc_day.get(utc_day) is month:
                del self.by_utc_day[utc_day]

    def _resolve(self, day: date, wall: time) -> timedelta:
        """Instant of local wall-clock ``wall`` on ``day`` (fold=0, via UTC)."""
        return datetime.combine(day, wall, tzinfo=self.zone) - _EPOCH


def _whole_utc_days(month: _Month) -> range:
    """UTC day numbers whose 24 hours lie entirely inside the month's span."""
    first_day = -((-month.first) // _ONE_DAY)  # ceiling
    return range(first_day, month.last // _ONE_DAY)


_timelines: dict[tuple[str, _WeekHours, frozenset[date]], _Timeline] = {}
_timelines_lock = threading.Lock()


def _timeline_for(zone: ZoneInfo, week: _WeekHours, holidays: frozenset[date]) -> _Timeline:
    key = (zone.key, week, holidays)
    timeline = _timelines.get(key)
    if timeline is None:
        with _timelines_lock:
            timeline = _timelines.get(key)
            if timeline is None:
                if len(_timelines) >= _TIMELINES:
                    _timelines.pop(next(iter(_timelines)))
                timeline = _timelines[key] = _Timeline(zone, week, holidays)
    return timeline


def _since_epoch(moment: datetime) -> timedelta:
    """The instant of an aware datetime, as an offset from 1970-01-01T00:00Z.

    ValueError if ``moment`` is naive, TypeError if it is not a datetime.
    """
    try:
        return moment - _EPOCH
    except TypeError:
        if isinstance(moment, datetime):
            raise ValueError(
                f"expected an aware datetime, got naive {moment.isoformat()}"
            ) from None
        raise TypeError(f"expected an aware datetime, got {type(moment).__name__}") from None


def _wall_us(opens: time, closes: time | None) -> int:
    """Nominal length of a wall-clock interval in microseconds (closes None = 24:00)."""
    return (_time_us(closes) if closes is not None else _DAY_US) - _time_us(opens)


def _time_us(wall: time) -> int:
    return ((wall.hour * 60 + wall.minute) * 60 + wall.second) * 1_000_000 + wall.microsecond


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    if not isinstance(tz, str):
        raise TypeError(f"tz must be an IANA zone name, not {type(tz).__name__}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def _normalise_hours(hours: Mapping[int, Sequence[tuple[time, time]]]) -> _WeekHours:
    week: list[list[tuple[time, time | None]]] = [[] for _ in range(7)]
    for weekday, intervals in hours.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int):
            raise TypeError(f"weekday must be an int 0..6 (0 = Monday), got {weekday!r}")
        if not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be 0..6 (0 = Monday), got {weekday}")
        for interval in intervals:
            week[weekday].append(_normalise_interval(weekday, interval))
    return tuple(_merge_wall(day) for day in week)


def _normalise_interval(weekday: int, interval: tuple[time, time]) -> tuple[time, time | None]:
    try:
        opens, closes = interval
    except (TypeError, ValueError):
        raise TypeError(
            f"weekday {weekday}: an interval must be a pair (opens, closes), got {interval!r}"
        ) from None
    for wall in (opens, closes):
        if not isinstance(wall, time):
            raise TypeError(f"weekday {weekday}: expected datetime.time, got {wall!r}")
        if wall.tzinfo is not None:
            raise ValueError(
                f"weekday {weekday}: opening hours are local wall-clock times and must be "
                f"naive, got {wall!r}"
            )
    opens = opens.replace(fold=0)
    if closes == _MIDNIGHT:
        return opens, None  # midnight ending the day, 24:00
    closes = closes.replace(fold=0)
    if closes <= opens:
        raise ValueError(
            f"weekday {weekday}: interval {opens.isoformat()}-{closes.isoformat()} must close "
            "after it opens (write 00:00 as the closing time for midnight ending the day)"
        )
    return opens, closes


def _merge_wall(intervals: list[tuple[time, time | None]]) -> _DayHours:
    """Sort a day's intervals and merge the ones that overlap or touch."""
    merged: list[tuple[time, time | None]] = []
    for opens, closes in sorted(intervals, key=lambda pair: _time_us(pair[0])):
        if merged:
            last_opens, last_closes = merged[-1]
            if last_closes is None:
                continue
            if opens <= last_closes:
                if closes is None or closes > last_closes:
                    merged[-1] = (last_opens, closes)
                continue
        merged.append((opens, closes))
    return tuple(merged)


def _normalise_holidays(holidays: Iterable[date]) -> frozenset[date]:
    days = frozenset(holidays)
    for day in days:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise TypeError(f"holidays must be datetime.date values, got {day!r}")
    return days
