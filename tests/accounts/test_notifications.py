import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Notification
from accounts.services import notification_send

pytestmark = pytest.mark.django_db


def notify(user, title="New lead for you: Ada", url="/leads/1/"):
    return notification_send(users=[user], kind="lead_assigned", title=title, url=url)[0]


def test_the_bell_shows_the_number_of_unread_notifications(client, rep):
    notify(rep)
    notify(rep, title="Second")
    Notification.objects.filter(title="Second").update(read_at="2024-01-01T00:00Z")
    client.force_login(rep)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert 'data-testid="notification-bell"' in html
    assert '<span id="notification-count" data-testid="notification-count"' in html
    assert '>1<span class="visually-hidden"> unread notifications' in html


def test_the_bell_costs_one_indexed_count_per_page(client, rep):
    notify(rep)
    client.force_login(rep)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("accounts:profile"))
    bell = [q["sql"] for q in queries.captured_queries if "accounts_notification" in q["sql"]]
    assert len(bell) == 1
    assert bell[0].startswith("SELECT COUNT(*)")


def test_a_rep_sees_only_their_own_notifications_in_the_menu(client, rep, other_rep):
    notify(rep, title="For rep")
    notify(other_rep, title="For other rep")
    client.force_login(rep)
    html = client.get(reverse("accounts:notifications_menu")).content.decode()
    assert "For rep" in html
    assert "For other rep" not in html


def test_opening_a_notification_marks_it_read_and_goes_to_the_lead(client, rep):
    notification = notify(rep, url="/leads/42/")
    client.force_login(rep)
    response = client.get(reverse("accounts:notification_open", args=[notification.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/leads/42/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_a_notification_never_redirects_to_another_site(client, rep):
    notification = notify(rep, url="https://evil.example.com/")
    client.force_login(rep)
    response = client.get(reverse("accounts:notification_open", args=[notification.pk]))
    assert response["Location"] == reverse("accounts:notifications")


def test_a_rep_cannot_open_someone_elses_notification(client, rep, other_rep):
    notification = notify(other_rep)
    client.force_login(rep)
    response = client.get(reverse("accounts:notification_open", args=[notification.pk]))
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_marking_one_read_from_the_list_swaps_its_row_and_the_count(client, rep):
    first, second = notify(rep, title="First"), notify(rep, title="Second")
    client.force_login(rep)
    response = client.post(
        reverse("accounts:notifications_read"),
        {"id": first.pk, "from": "list"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert f'id="notification-{first.pk}"' in html
    assert "Mark as read" not in html
    assert 'hx-swap-oob="true">1<' in html
    first.refresh_from_db(), second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_mark_all_read_leaves_other_peoples_notifications_alone(client, rep, other_rep):
    notify(rep), notify(rep)
    theirs = notify(other_rep)
    client.force_login(rep)
    response = client.post(reverse("accounts:notifications_read"))
    assert response.status_code == 302
    assert not Notification.objects.filter(user=rep, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_bad_notification_id_is_a_400_not_a_500(client, rep):
    client.force_login(rep)
    response = client.post(reverse("accounts:notifications_read"), {"id": "abc"})
    assert response.status_code == 400


def test_mark_all_read_does_not_redirect_off_site(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("accounts:notifications_read"), {"next": "https://evil.example.com/"}
    )
    assert response["Location"] == reverse("accounts:notifications")


def test_the_list_page_filters_unread(client, rep):
    notify(rep, title="Unread one")
    read = notify(rep, title="Already read")
    Notification.objects.filter(pk=read.pk).update(read_at="2024-01-01T00:00Z")
    client.force_login(rep)
    html = client.get(reverse("accounts:notifications") + "?unread=1").content.decode()
    assert "Unread one" in html and "Already read" not in html
    html = client.get(reverse("accounts:notifications")).content.decode()
    assert "Unread one" in html and "Already read" in html


def test_the_list_page_has_a_pinned_query_count(client, rep, django_assert_num_queries):
    for index in range(40):
        notify(rep, title=f"Note {index}")
    client.force_login(rep)
    client.get(reverse("accounts:notifications"))
    with django_assert_num_queries(6):
        # session, user, groups, unread count, page count, page rows
        response = client.get(reverse("accounts:notifications"))
    assert response.content.decode().count('data-testid="notification-row"') == 30
