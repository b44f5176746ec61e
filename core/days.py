"""What a day is, for every report: a calendar day in the company's time zone (`TIME_ZONE`).

Reports count by day (snapshots, compliance weeks, commitment months, periods given as
dates); every surface uses these functions so that a day means the same thing in the API,
the pages, the CSV exports, the snapshots and the weekly review. A period given as dates
`[first, last]` is the half-open span of instants from 00:00 of `first` to 00:00 of the
day after `last`, in that zone (DST days are 23 or 25 hours long).
"""

import datetime as dt

from django.utils import timezone


def company_zone() -> dt.tzinfo:
    return timezone.get_default_timezone()


def day_start(day: dt.date) -> dt.datetime:
    """00:00 of ``day`` in the company time zone (aware)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=company_zone())


def local_day(moment: dt.datetime) -> dt.date:
    """The company day an instant falls on."""
    return timezone.localtime(moment, company_zone()).date()


def today() -> dt.date:
    return local_day(timezone.now())


def days_period(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants of the days ``first`` to ``last`` included: ``[start, end)``."""
    return day_start(first), day_start(last + dt.timedelta(days=1))
