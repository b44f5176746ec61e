"""The demo data loads and loading it twice changes nothing."""

import io

import pytest

from goals import demo as goals_demo
from goals.models import Goal, KeyResult, Objective, RevenuePlan
from personas import demo as personas_demo
from personas.models import Interview, JourneyStage, Persona

pytestmark = pytest.mark.django_db


def counts():
    return [
        m.objects.count()
        for m in (Persona, Interview, JourneyStage, RevenuePlan, Goal, Objective, KeyResult)
    ]


def test_the_demo_is_idempotent(manager, marketer, rep):
    for _ in range(2):
        personas_demo.seed(stdout=io.StringIO())
        goals_demo.seed(stdout=io.StringIO())
    first = counts()
    personas_demo.seed(stdout=io.StringIO())
    goals_demo.seed(stdout=io.StringIO())
    assert counts() == first
    assert first[0] == 3 and first[3] == 1 and first[4] == 5
    plan = RevenuePlan.objects.get()
    assert plan.computed["needs"]["customers"] == 15
