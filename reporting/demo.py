"""Demo data of the reporting app (called by `manage.py seed_demo`); idempotent."""

import datetime as dt

from django.utils import timezone

from reporting.models import ReviewActionItem
from reporting.services import funnel_snapshots_roll_up, weekly_review_build

ACTION_ITEMS = (
    "Sales calls every webinar SQL within the first business hour this week.",
    "Marketing reviews the MQL threshold with the rejection reasons of the last two weeks.",
)


def seed(stdout) -> None:
    days = funnel_snapshots_roll_up()
    today = timezone.localdate()
    last_week = today - dt.timedelta(days=today.weekday() + 7)
    review = weekly_review_build(week_start=last_week)
    for text in ACTION_ITEMS:
        if not review.action_items.filter(text=text).exists():
            ReviewActionItem.objects.create(review=review, text=text)
    stdout.write(f"Reports: snapshots of {days} day(s) rolled up, and a weekly review.")
