"""Notifications name the leads they are about and carry the time of the event, not the
time the row was written; the bell, the list page and the email show both."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Notification
from accounts.services import notification_emails_send, notification_send
from leads.services import lead_assign
from sla import services
from sla.models import SLAClock
from sla.services import HandOff
from tests.leads.factories import LeadFactory, ProductFactory
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
HOSTILE = '<img src=x onerror="alert(1)">'


def ny(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture
def office(db):
    """Mon-Fri 09:00-17:00 New York; first touch within 5 business hours."""
    BusinessCalendarFactory(name="New York office")
    return SLAAgreementFactory(name="Sales and marketing SLA")


@pytest.fixture
def hand_off(office):
    def _hand_off(owner, at, **lead_fields):
        lead = LeadFactory(
            owner=owner, stage="sql", created_at=at - dt.timedelta(days=1), **lead_fields
        )
        services.clocks_start(handoffs=[HandOff(lead.pk, owner.pk, at)], now=at)
        return lead

    return _hand_off


def lead_item(lead) -> dict:
    return {"type": "lead", "id": lead.pk, "label": str(lead)}


def only(user, kind) -> Notification:
    return Notification.objects.get(user=user, kind=kind)


def test_a_breach_digest_names_its_leads_and_happened_at_the_earliest_deadline(
    hand_off, rep, manager
):
    first = hand_off(rep, ny(2026, 1, 5, 9), first_name="Ada")  # due Mon 14:00
    second = hand_off(rep, ny(2026, 1, 5, 10), first_name="Grace")  # due Mon 15:00
    # The sweep runs late, the next morning: the breach still happened at the deadline.
    services.clocks_sweep(now=ny(2026, 1, 6, 9, 30))

    for person in (rep, manager):
        digest = only(person, "sla_breached")
        assert digest.title == "First-touch SLA breached on 2 leads"
        assert digest.occurred_at == ny(2026, 1, 5, 14)
        assert digest.occurred_at != digest.created_at
        assert digest.items == [lead_item(first), lead_item(second)]


def test_a_single_breach_names_its_lead(hand_off, rep):
    lead = hand_off(rep, ny(2026, 1, 5, 9))
    services.clocks_sweep(now=ny(2026, 1, 5, 16))
    notification = only(rep, "sla_breached")
    assert (notification.occurred_at, notification.items) == (ny(2026, 1, 5, 14), [lead_item(lead)])


def test_a_warning_happens_when_the_sweep_gives_it(hand_off, rep):
    lead = hand_off(rep, ny(2026, 1, 5, 9))  # 80% of 5 business hours: warned from 13:00
    services.clocks_sweep(now=ny(2026, 1, 5, 13, 20))
    warning = only(rep, "sla_warning")
    assert (warning.occurred_at, warning.items) == (ny(2026, 1, 5, 13, 20), [lead_item(lead)])


def test_an_exhaustion_happened_when_the_attempt_window_closed(hand_off, rep):
    lead = hand_off(rep, ny(2026, 1, 5, 9))
    services.clocks_sweep(now=ny(2026, 1, 30, 12))
    exhausted = only(rep, "sla_exhausted")
    clock = SLAClock.objects.get(lead=lead)
    assert exhausted.occurred_at == clock.exhausted_at < ny(2026, 1, 30, 12)
    assert exhausted.items == [lead_item(lead)]


def test_an_assignment_names_the_lead_and_happened_when_it_was_assigned(rep, manager):
    lead = LeadFactory(first_name="Ada", last_name="Lovelace", created_at=ny(2026, 1, 1, 9))
    lead_assign(lead=lead, owner=rep, actor=manager, now=ny(2026, 1, 5, 9))
    notification = only(rep, "lead_assigned")
    assert notification.occurred_at == ny(2026, 1, 5, 9)
    assert notification.items == [
        {"type": "lead", "id": lead.pk, "label": f"Ada Lovelace <{lead.email}>"}
    ]


def test_a_notification_sent_without_an_event_time_is_about_the_moment_it_is_written(rep):
    (notification,) = notification_send(users=[rep], kind="note", title="Hello")
    notification.refresh_from_db()
    assert notification.occurred_at is not None
    assert abs(notification.occurred_at - notification.created_at) < dt.timedelta(seconds=5)
    assert notification.items == []


def test_the_list_page_shows_the_event_time_and_links_the_leads(client, hand_off, rep):
    first = hand_off(rep, ny(2026, 1, 5, 9), first_name="Ada")
    second = hand_off(rep, ny(2026, 1, 5, 10), first_name="Grace")
    services.clocks_sweep(now=ny(2026, 1, 7, 9))
    client.force_login(rep)

    html = client.get(reverse("accounts:notifications")).content.decode()

    assert '<time datetime="2026-01-05T14:00:00-05:00" data-testid="notification-time">' in html
    for lead in (first, second):
        assert f'<a href="/leads/{lead.pk}/">{lead.full_name} &lt;{lead.email}&gt;</a>' in html


def test_an_old_notification_without_an_event_time_shows_when_it_was_written(client, rep):
    (old,) = notification_send(users=[rep], kind="note", title="From before")
    Notification.objects.filter(pk=old.pk).update(
        occurred_at=None, created_at=ny(2025, 3, 1, 8, 15)
    )
    client.force_login(rep)
    html = client.get(reverse("accounts:notifications")).content.decode()
    assert '<time datetime="2025-03-01T08:15:00-05:00" data-testid="notification-time">' in html
    assert 'data-testid="notification-items"' not in html


def test_the_bell_menu_shows_the_event_time_and_the_first_leads_linked(client, hand_off, rep):
    leads = [hand_off(rep, ny(2026, 1, 5, 9, minute)) for minute in range(5)]
    services.clocks_sweep(now=ny(2026, 1, 7, 9))
    client.force_login(rep)

    html = client.get(reverse("accounts:notifications_menu")).content.decode()

    assert '<time datetime="2026-01-05T14:00:00-05:00" data-testid="notification-time">' in html
    for lead in leads[:3]:
        assert f'href="/leads/{lead.pk}/" data-testid="notification-item">' in html
    assert f'href="/leads/{leads[3].pk}/"' not in html
    assert "and 2 more" in html


def test_hostile_lead_names_are_shown_escaped(client, hand_off, rep):
    lead = hand_off(rep, ny(2026, 1, 5, 9), first_name=HOSTILE, last_name="</a><script>x</script>")
    services.clocks_sweep(now=ny(2026, 1, 7, 9))
    client.force_login(rep)
    for page in ("accounts:notifications", "accounts:notifications_menu"):
        html = client.get(reverse(page)).content.decode()
        assert HOSTILE not in html and "<script>x</script>" not in html
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
        assert f'href="/leads/{lead.pk}/"' in html


def test_items_that_are_not_items_are_skipped_and_ids_that_are_not_ids_not_linked(client, rep):
    (notification,) = notification_send(
        users=[rep],
        kind="note",
        title="Odd items",
        items=[
            "just text",
            {"type": "lead", "label": ""},
            {"type": "lead", "id": "javascript:alert(1)", "label": "Not linked"},
            {"type": "spaceship", "id": 3, "label": "No page"},
            {"type": "lead", "id": 7, "label": "Linked"},
        ],
    )
    assert notification.linked_items() == [
        {"label": "Not linked", "url": None},
        {"label": "No page", "url": None},
        {"label": "Linked", "url": "/leads/7/"},
    ]
    client.force_login(rep)
    html = client.get(reverse("accounts:notifications")).content.decode()
    assert "javascript:" not in html
    assert '<a href="/leads/7/">Linked</a>' in html


def test_the_email_copy_lists_the_leads_with_their_pages(hand_off, rep):
    first = hand_off(rep, ny(2026, 1, 5, 9), first_name="Ada")
    second = hand_off(rep, ny(2026, 1, 5, 10), first_name="Grace")
    services.clocks_sweep(now=ny(2026, 1, 7, 9))
    digest = only(rep, "sla_breached")

    notification_emails_send(notification_ids=[digest.pk])

    (message,) = [m for m in mail.outbox if m.to == ["rep@example.com"]]
    assert message.body == (
        f"{digest.body}\n\n- {first}: /leads/{first.pk}/\n- {second}: /leads/{second.pk}/\n\n/sla/"
    )


def test_the_list_page_query_count_does_not_grow_with_the_items(
    client, rep, django_assert_num_queries
):
    items = [{"type": "lead", "id": pk, "label": f"Lead {pk}"} for pk in range(1, 51)]
    for index in range(30):
        notification_send(users=[rep], kind="note", title=f"Digest {index}", items=items)
    client.force_login(rep)
    client.get(reverse("accounts:notifications"))
    with django_assert_num_queries(6):
        response = client.get(reverse("accounts:notifications"))
    assert response.content.decode().count('href="/leads/50/"') == 30


def test_a_commitment_at_risk_names_its_product_and_happened_when_it_was_found(
    office, marketer, manager
):
    product = ProductFactory(name="Analytics", code="analytics")
    services.commitments_check(now=ny(2026, 1, 20, 12))
    notification = only(marketer, "commitment_at_risk")
    assert notification.occurred_at == ny(2026, 1, 20, 12)
    assert notification.items == [{"type": "product", "id": product.pk, "label": "Analytics"}]
    assert notification.linked_items() == [{"label": "Analytics", "url": None}]
