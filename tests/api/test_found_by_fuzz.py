"""Inputs the schema fuzz found answered with a 500: each is a 400 on its field now."""

import pytest

from goals.models import Goal, OwnerTeam
from tests.goals.factories import GoalFactory

pytestmark = pytest.mark.django_db


def test_a_goal_starting_in_year_6_is_refused_on_its_start(api_as, manager):
    goal = GoalFactory(owner_team=OwnerTeam.SALES)
    response = api_as(manager).put(
        f"/api/v1/goals/{goal.pk}/",
        {
            "title": "0",
            "description": "0",
            "metric": "mqls",
            "owner_team": "sales",
            "rationale": "0",
            "baseline_value": 0.0,
            "target_value": 0.0,
            "start": "0006-01-07",
            "end": "2000-01-02",
        },
        format="json",
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["errors"]["start"] == ["Give a date between 1900-01-01 and 2199-12-31."]
    assert Goal.objects.get(pk=goal.pk).start == goal.start
