"""Goal progress is measured by the hourly task; the goal pages say how old the measurement
is, read from the stored measurement time against the clock."""

import datetime as dt
import re

import pytest
import time_machine

from goals import services
from tests.goals.factories import GoalFactory

pytestmark = pytest.mark.django_db

MEASURED = dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.UTC)


def measured_ago(html: str) -> str:
    text = re.search(r'data-testid="measured-ago">(.*?)</(?:div|span)>', html, re.S).group(1)
    return re.sub(r"<[^>]+>", "", text).replace("\xa0", " ").strip()


@pytest.fixture
def goal():
    goal = GoalFactory(title="More MQLs", start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
    services.goal_progress_measure(now=MEASURED)
    goal.refresh_from_db()
    assert goal.measured_at == MEASURED
    return goal


def test_the_goal_list_says_how_long_ago_each_goal_was_measured(client, marketer, goal):
    client.force_login(marketer)
    with time_machine.travel(MEASURED + dt.timedelta(minutes=12), tick=False):
        html = client.get("/goals/").content.decode()
    assert measured_ago(html) == "measured 12 minutes ago"


def test_the_goal_page_says_how_old_its_measurement_is(client, marketer, goal):
    client.force_login(marketer)
    with time_machine.travel(MEASURED + dt.timedelta(hours=3, minutes=5), tick=False):
        html = client.get(goal.get_absolute_url()).content.decode()
    assert measured_ago(html) == "Measured 3 hours, 5 minutes ago"


def test_a_goal_never_measured_says_so(client, marketer):
    goal = GoalFactory(start=dt.date(2030, 1, 1), end=dt.date(2030, 3, 31))
    client.force_login(marketer)
    html = client.get(goal.get_absolute_url()).content.decode()
    assert measured_ago(html) == "Not measured yet"
