"""The hourly measurement runs through a real Celery worker."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from goals.models import Metric, OwnerTeam
from goals.tasks import goal_progress_measure
from tests.goals.factories import GoalFactory
from tests.leads.factories import LeadFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]


def test_the_worker_measures_goal_progress_idempotently(celery_worker):
    today = timezone.localdate()
    goal = GoalFactory(
        metric=Metric.LEADS,
        target_value=D(10),
        owner_team=OwnerTeam.MARKETING,
        start=today - dt.timedelta(days=5),
        end=today + dt.timedelta(days=5),
    )
    for _ in range(3):
        LeadFactory(created_at=timezone.now() - dt.timedelta(days=1))

    assert goal_progress_measure.delay().get(timeout=30) == 1
    goal.refresh_from_db()
    assert goal.measured_value == 3
    first = goal.measured_at

    assert goal_progress_measure.delay().get(timeout=30) == 1
    goal.refresh_from_db()
    assert goal.measured_value == 3
    assert goal.measured_at >= first
