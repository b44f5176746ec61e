"""Business calendars: opening hours in one zone plus holidays, versioned once clocks use them.

A calendar some clock counted time in is never edited in place: an edit creates the next
version (same family) and supersedes the old row, which its clocks keep.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from core.errors import DomainError
from sla import clock_rules
from sla.models import BusinessCalendar, SLAClock, TeamCalendar


def calendar_engine_for(calendar: BusinessCalendar):
    """The `business_hours.BusinessCalendar` of a stored calendar version (cached)."""
    return clock_rules.calendar_engine(
        cache_key=("calendar", calendar.pk, calendar.version, calendar.superseded_at is None),
        time_zone=calendar.time_zone,
        hours=calendar.hours,
        holiday_country=calendar.holiday_country,
        holiday_subdivision=calendar.holiday_subdivision,
        custom_holidays=calendar.custom_holidays,
    )


CALENDAR_FIELDS = (
    "name",
    "time_zone",
    "hours",
    "holiday_country",
    "holiday_subdivision",
    "custom_holidays",
    "is_default",
)


def _calendar_validate(values: dict) -> None:
    if not str(values.get("name", "")).strip():
        raise DomainError("Give the calendar a name.", field="name")
    try:
        hours = clock_rules.parse_hours(values.get("hours"))
    except ValueError as exc:
        raise DomainError(str(exc), field="hours") from exc
    if not any(hours.values()):
        raise DomainError("A calendar needs at least one opening interval.", field="hours")
    try:
        clock_rules.parse_dates(values.get("custom_holidays") or [])
    except ValueError as exc:
        raise DomainError(str(exc), field="custom_holidays") from exc
    try:
        clock_rules.holiday_dates(
            values.get("holiday_country", ""), values.get("holiday_subdivision", "")
        )
    except ValueError as exc:
        raise DomainError(str(exc), field="holiday_country") from exc
    try:
        clock_rules.calendar_engine(
            cache_key=None,
            time_zone=values.get("time_zone", ""),
            hours=values.get("hours"),
            custom_holidays=values.get("custom_holidays") or [],
        )
    except ValueError as exc:
        field_name = "time_zone" if "time zone" in str(exc) else "hours"
        raise DomainError(str(exc), field=field_name) from exc


def _normalise_calendar(values: dict) -> dict:
    values = dict(values)
    values["hours"] = clock_rules.format_hours(clock_rules.parse_hours(values["hours"]))
    values["custom_holidays"] = sorted(
        {d.isoformat() for d in clock_rules.parse_dates(values.get("custom_holidays") or [])}
    )
    values["holiday_country"] = (values.get("holiday_country") or "").upper()
    values["holiday_subdivision"] = (values.get("holiday_subdivision") or "").upper()
    return values


def _assign_teams(calendar: BusinessCalendar, teams: Iterable[Team]) -> None:
    teams = list(teams)
    TeamCalendar.objects.filter(calendar=calendar).exclude(team__in=teams).delete()
    for team in teams:
        TeamCalendar.objects.update_or_create(team=team, defaults={"calendar": calendar})


def calendar_create(*, data: dict, teams: Iterable[Team] = ()) -> BusinessCalendar:
    """Create a calendar; `teams` start counting in it (moved from any other calendar)."""
    values = {key: data[key] for key in CALENDAR_FIELDS if key in data}
    _calendar_validate(values)
    values = _normalise_calendar(values)
    with transaction.atomic():
        if values.get("is_default"):
            BusinessCalendar.objects.filter(is_default=True, superseded_at__isnull=True).update(
                is_default=False
            )
        calendar = BusinessCalendar.objects.create(**values)
        _assign_teams(calendar, teams)
    return calendar


def calendar_update(
    *,
    calendar: BusinessCalendar,
    data: dict,
    teams: Iterable[Team] | None = None,
    now: datetime | None = None,
) -> BusinessCalendar:
    """Edit a calendar. Used by a clock already: a new version is created and answered, and
    the old one is kept, superseded, for the clocks that started under it."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        if locked.superseded_at is not None:
            raise DomainError("This calendar version was replaced; edit the current version.")
        values = {key: getattr(locked, key) for key in CALENDAR_FIELDS}
        values.update({key: data[key] for key in CALENDAR_FIELDS if key in data})
        if locked.is_default and not values.get("is_default"):
            raise DomainError(
                "This is the default calendar: hand-offs of teams without a calendar count in "
                "it. Make another calendar the default instead.",
                field="is_default",
            )
        _calendar_validate(values)
        values = _normalise_calendar(values)
        if values.get("is_default"):
            BusinessCalendar.objects.filter(is_default=True, superseded_at__isnull=True).exclude(
                pk=locked.pk
            ).update(is_default=False)
        if SLAClock.objects.filter(calendar=locked).exists():
            locked.superseded_at = now
            locked.save(update_fields=["superseded_at"])
            current = BusinessCalendar.objects.create(
                family=locked.family, version=locked.version + 1, **values
            )
            TeamCalendar.objects.filter(calendar=locked).update(calendar=current)
        else:
            for key, value in values.items():
                setattr(locked, key, value)
            locked.save()
            current = locked
        if teams is not None:
            _assign_teams(current, teams)
    return current


def calendar_delete(*, calendar: BusinessCalendar) -> None:
    if SLAClock.objects.filter(calendar__family=calendar.family).exists():
        raise DomainError(
            "Clocks have counted time in this calendar; it is kept so their history stays "
            "true. Edit it instead (edits apply to new clocks only)."
        )
    if calendar.is_default and calendar.superseded_at is None:
        raise DomainError(
            "This is the default calendar: make another calendar the default before deleting it."
        )
    BusinessCalendar.objects.filter(family=calendar.family).delete()
