"""A hand-off no agreement or calendar covers is shown to the managers, not only logged; the
default calendar cannot be unset or deleted while it is the only one hand-offs fall back on."""

import datetime as dt

import pytest

from core.errors import DomainError
from sla.models import BusinessCalendar, SLAClock, UncoveredHandoff
from sla.services import calendar_create, calendar_delete, calendar_update, clocks_backfill
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = pytest.mark.django_db

NY = dt.timezone(dt.timedelta(hours=-5))
HOSTILE = "<img src=x onerror=alert(1)>"


def test_a_hand_off_without_an_agreement_is_kept_once_and_shown_to_managers(
    client, office_calendar, hand_off, rep, manager, marketer
):
    lead = hand_off(rep, dt.datetime(2026, 3, 2, 10, tzinfo=NY), first_name=HOSTILE)
    assert not SLAClock.objects.exists()
    gap = UncoveredHandoff.objects.get()
    assert (gap.lead, gap.owner, gap.missing) == (lead, rep, "agreement")
    clocks_backfill()  # tried again: still uncovered, still one row
    assert UncoveredHandoff.objects.count() == 1

    client.force_login(manager)
    for url in ("/sla/compliance/", "/sla/agreements/"):
        html = client.get(url).content.decode()
        assert 'data-testid="uncovered-handoffs"' in html, url
        assert "1 hand-off started no SLA clock" in html
        assert f"/leads/{lead.pk}/" in html
        assert HOSTILE not in html
    client.force_login(marketer)
    assert 'data-testid="uncovered-handoffs"' not in client.get("/sla/compliance/").content.decode()
    assert 'data-testid="uncovered-handoffs"' not in client.get("/sla/agreements/").content.decode()

    # An agreement arrives; the periodic back-fill starts the clock and the problem is gone.
    SLAAgreementFactory(name="Late agreement")
    clocks_backfill()
    assert SLAClock.objects.filter(lead=lead).count() == 1
    client.force_login(manager)
    assert 'data-testid="uncovered-handoffs"' not in client.get("/sla/agreements/").content.decode()


def test_a_hand_off_without_any_calendar_names_the_calendar(agreement, hand_off, rep):
    hand_off(rep, dt.datetime(2026, 3, 2, 10, tzinfo=NY))
    assert UncoveredHandoff.objects.get().missing == "calendar"


def test_the_default_calendar_cannot_be_unset_or_deleted_but_can_be_replaced():
    default = BusinessCalendarFactory(name="Head office", is_default=True)
    with pytest.raises(DomainError, match="Make another calendar the default") as refused:
        calendar_update(calendar=default, data={"is_default": False})
    assert refused.value.field == "is_default"
    with pytest.raises(DomainError, match="make another calendar the default"):
        calendar_delete(calendar=default)
    other = calendar_create(
        data={
            "name": "Branch",
            "time_zone": "Europe/Paris",
            "hours": {"0": [["09:00", "17:00"]]},
            "is_default": True,
        }
    )
    default.refresh_from_db()
    assert (other.is_default, default.is_default) == (True, False)
    calendar_delete(calendar=default)
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Branch"]


def test_the_calendar_page_shows_the_refusal_on_the_default_box(client, manager):
    default = BusinessCalendarFactory(name="Head office", is_default=True)
    client.force_login(manager)
    page = client.get(f"/sla/calendars/{default.pk}/edit/")
    data = {
        key: value
        for key, value in page.context["form"].initial.items()
        if value not in (None, True) and not isinstance(value, list | dict)
    }
    response = client.post(f"/sla/calendars/{default.pk}/edit/", data)
    assert "Make another calendar the default" in response.content.decode()
    default.refresh_from_db()
    assert default.is_default
