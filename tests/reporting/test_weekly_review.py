"""The weekly smarketing review: built from the data, emailed once to both teams, a page
where people add decisions and action items."""

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail

from reporting.funnel import ALL
from reporting.models import ReviewActionItem, WeeklyReview
from reporting.selectors import day_start
from reporting.services import weekly_review_build
from tests.reporting.history import base_day, reference, story

pytestmark = pytest.mark.django_db


def week_of_the_story() -> dt.date:
    first = base_day() + dt.timedelta(days=7)
    return first - dt.timedelta(days=first.weekday())


@pytest.fixture
def review(rep, other_rep, marketer, manager, django_capture_on_commit_callbacks):
    story(owner=rep, other_owner=other_rep)
    week = week_of_the_story()
    with django_capture_on_commit_callbacks(execute=True):
        return weekly_review_build(
            now=day_start(week + dt.timedelta(days=7)) + dt.timedelta(hours=7)
        )


def test_the_review_is_last_weeks_flow_funnel(review):
    week = week_of_the_story()
    expected = reference("flow", day_start(week), day_start(week + dt.timedelta(days=7)))

    assert review.week_start == week
    assert review.content["funnel"]["counts"] == expected[ALL].counts
    assert review.content["bottleneck"] is None and review.content["plan"] is None


def test_the_review_is_emailed_once_to_both_teams(review, django_capture_on_commit_callbacks):
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == sorted(
        ["rep@example.com", "other_rep@example.com", "marketer@example.com", "manager@example.com"]
    )
    assert "weekly review" in mail.outbox[0].subject
    assert review.get_absolute_url() in mail.outbox[0].body

    ReviewActionItem.objects.create(review=review, text="Call the webinar leads first")
    with django_capture_on_commit_callbacks(execute=True):
        again = weekly_review_build(week_start=review.week_start)
    assert again.pk == review.pk
    assert len(mail.outbox) == 4  # not sent twice
    assert again.action_items.count() == 1  # kept on rebuild


def test_people_add_and_tick_action_items_in_place(review, client, marketer, rep):
    client.force_login(marketer)
    page = client.get(review.get_absolute_url())
    assert page.status_code == 200
    assert "Decisions and action items" in page.content.decode()

    response = client.post(
        f"/reports/reviews/{review.pk}/items/",
        {"text": "Raise the MQL threshold to 60", "owner": rep.pk, "due_on": "2030-01-31"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Raise the MQL threshold to 60" in response.content.decode()
    item = review.action_items.get()
    assert (item.owner, item.due_on, item.created_by) == (rep, dt.date(2030, 1, 31), marketer)

    client.post(f"/reports/reviews/{review.pk}/items/{item.pk}/toggle/", HTTP_HX_REQUEST="true")
    item.refresh_from_db()
    assert item.done_at is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "  "}, "Write the decision"),
        ({"text": "x", "due_on": "next week"}, "YYYY-MM-DD"),
        ({"text": "x", "owner": "nobody"}, "Choose an owner"),
        ({"text": "x" * 301}, "under 300"),
    ],
)
def test_a_bad_action_item_is_refused_with_a_message(review, client, marketer, data, message):
    client.force_login(marketer)
    response = client.post(f"/reports/reviews/{review.pk}/items/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not review.action_items.exists()


def test_the_review_list_shows_every_week(review, client, rep):
    client.force_login(rep)
    html = client.get("/reports/reviews/").content.decode()
    assert str(review) in html


def test_the_review_is_scheduled_on_monday_mornings():
    schedule = settings.CELERY_BEAT_SCHEDULE["weekly-review"]
    assert schedule["task"] == "reporting.tasks.weekly_review_build"
    assert schedule["schedule"].day_of_week == {1}
    assert schedule["schedule"].hour == {7}


def test_a_review_week_starts_on_a_monday():
    from core.errors import DomainError

    with pytest.raises(DomainError, match="Monday"):
        weekly_review_build(week_start=dt.date(2026, 3, 4))
    assert not WeeklyReview.objects.exists()
