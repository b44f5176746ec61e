"""The small behaviours that templates declare with data attributes (static/js/app.js) work
under a strict Content-Security-Policy: no inline handler is left to do them."""

import datetime as dt

import pytest
from django.urls import reverse

from personas.models import Persona
from reporting.selectors import day_start
from reporting.services import weekly_review_build
from tests.goals.factories import GoalFactory
from tests.personas.factories import PersonaFactory
from tests.reporting.history import story
from tests.reporting.test_weekly_review import week_of_the_story

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def review(rep, other_rep):
    story(owner=rep, other_owner=other_rep)
    week = week_of_the_story()
    return weekly_review_build(now=day_start(week + dt.timedelta(days=7)) + dt.timedelta(hours=7))


def test_choosing_a_team_or_a_status_filters_the_list_at_once(page, login, strict_csp, marketer):
    GoalFactory(title="Three hundred MQLs", owner_team="marketing")
    GoalFactory(title="Forty opportunities", owner_team="sales")
    PersonaFactory(name="Ops Olivia", status=Persona.Status.ACTIVE)
    PersonaFactory(name="Finance Frank", status=Persona.Status.DRAFT)
    login(marketer)

    page.goto("/goals/")
    page.get_by_label("Owner team").select_option("sales")
    page.wait_for_url("**/goals/?team=sales")
    goals = page.get_by_test_id("goal-list").inner_text()
    assert "Forty opportunities" in goals
    assert "Three hundred MQLs" not in goals

    page.goto("/personas/")
    page.get_by_label("Status", exact=True).select_option("draft")
    page.wait_for_url("**/personas/?status=draft")
    personas = page.get_by_test_id("persona-list").inner_text()
    assert "Finance Frank" in personas
    assert "Ops Olivia" not in personas
    assert strict_csp == []


def test_the_print_button_opens_the_print_dialog(page, login, strict_csp, rep):
    goal = GoalFactory(title="Three hundred MQLs")
    login(rep)
    page.add_init_script("window.print = () => { window.printed = true; };")

    page.goto(reverse("goals:goal_print", args=[goal.pk]))
    page.get_by_role("button", name="Print or save as PDF").click()
    assert page.evaluate("() => window.printed") is True
    assert strict_csp == []


def test_an_action_item_clears_the_form_and_a_refused_one_keeps_it_with_the_message(
    page,
    login,
    strict_csp,
    review,
    marketer,
):
    login(marketer)
    page.goto(review.get_absolute_url())
    text = page.get_by_label("Decision or action")

    text.fill("Raise the MQL threshold to 60")
    page.get_by_role("button", name="Add", exact=True).click()
    items = page.get_by_test_id("action-items")
    items.get_by_text("Raise the MQL threshold to 60").wait_for()
    assert text.input_value() == ""

    text.fill("   ")  # passes `required`, refused by the server
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_role("alert").get_by_text("Write the decision").wait_for()
    assert text.input_value() == "   "
    assert items.get_by_text("Raise the MQL threshold to 60").is_visible()
    # Chromium logs the refusal's 400 itself; nothing else may be logged.
    assert [error for error in strict_csp if "status of 400" not in error] == []
