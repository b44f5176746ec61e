"""Factories for the SLA app: a New York office calendar and the seed agreement's terms."""

import datetime as dt

import factory

from sla.models import BusinessCalendar, SLAAgreement, TeamCalendar

OFFICE_HOURS = {str(day): [["09:00", "17:00"]] for day in range(5)}


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Office hours {n}")
    time_zone = "America/New_York"
    hours = factory.LazyFunction(lambda: dict(OFFICE_HOURS))
    holiday_country = "US"
    is_default = True


class TeamCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamCalendar

    calendar = factory.SubFactory(BusinessCalendarFactory, is_default=False)


class SLAAgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SLAAgreement

    name = factory.Sequence(lambda n: f"Sales and marketing SLA {n}")
    status = SLAAgreement.Status.ACTIVE
    effective_from = dt.date(2020, 1, 1)
    goals = "Grow qualified pipeline together."
    leads_per_product_per_month = 75
    first_touch_hours = 5
    max_attempts = 4
    attempt_window_days = 16
    warning_share = "0.80"
