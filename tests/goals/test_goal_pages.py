"""Goal, plan and OKR pages: who may do what, pinned query counts, forms that keep input."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from goals.models import Goal, RevenuePlan
from tests.goals.factories import PLAN_FORM, GoalFactory, KeyResultFactory, ObjectiveFactory
from tests.personas.factories import InterviewFactory, PersonaFactory

pytestmark = pytest.mark.django_db


def test_a_manager_creates_a_plan_and_its_goals_from_the_pages(client, manager):
    client.force_login(manager)
    response = client.post(reverse("goals:plan_create"), PLAN_FORM)
    plan = RevenuePlan.objects.get()
    assert response.status_code == 302
    assert plan.computed["needs"]["leads"] == 1500
    client.post(reverse("goals:plan_create_goals", args=[plan.pk]))
    page = client.get(plan.get_absolute_url()).content.decode()
    assert Goal.objects.filter(revenue_plan=plan).count() == 4
    assert "Leads: 1,500 for Seed plan" in page


def test_a_bad_rate_is_shown_next_to_its_field_and_the_input_is_kept(client, manager):
    client.force_login(manager)
    response = client.post(reverse("goals:plan_create"), {**PLAN_FORM, "mql_to_sql_percent": "150"})
    assert response.status_code == 200
    assert response.context["form"].errors["mql_to_sql_percent"] == [
        "Must be greater than 0% and at most 100%."
    ]
    assert 'value="Seed plan"' in response.content.decode()
    assert not RevenuePlan.objects.exists()


def test_reps_and_marketers_read_plans_but_cannot_make_them(client, rep, marketer):
    for user in (rep, marketer):
        client.force_login(user)
        assert client.get(reverse("goals:plans")).status_code == 200
        assert client.get(reverse("goals:plan_create")).status_code == 403


def test_a_stretch_goal_must_be_confirmed_as_realistic(client, marketer):
    from tests.leads.factories import LeadFactory

    for _ in range(2):
        LeadFactory(created_at=dt.datetime(2026, 2, 10, tzinfo=dt.UTC))
    client.force_login(marketer)
    data = {
        "title": "Many more leads",
        "description": "Paid search.",
        "metric": "leads",
        "target_value": "10",
        "baseline_value": "2",
        "rationale": "New budget.",
        "start": "2026-03-01",
        "end": "2026-03-28",
        "owner_team": "marketing",
    }
    response = client.post(reverse("goals:goal_create"), data)
    assert response.status_code == 200
    assert "needs 5× last month" in response.context["form"].errors["confirm_stretch"][0]
    response = client.post(reverse("goals:goal_create"), {**data, "confirm_stretch": "on"})
    assert response.status_code == 302
    assert Goal.objects.get().last_period_value == 2


def test_a_rep_cannot_edit_a_marketing_goal(client, rep, marketer):
    goal = GoalFactory(owner_team="marketing")
    client.force_login(rep)
    assert client.get(reverse("goals:goal_edit", args=[goal.pk])).status_code == 403
    assert client.get(goal.get_absolute_url()).status_code == 200
    client.force_login(marketer)
    assert client.get(reverse("goals:goal_edit", args=[goal.pk])).status_code == 200


def test_the_smart_template_prints_every_letter(client, rep):
    goal = GoalFactory(title="Three hundred MQLs")
    client.force_login(rep)
    page = client.get(reverse("goals:goal_print", args=[goal.pk])).content.decode()
    for heading in ("Specific", "Measurable", "Attainable", "Realistic", "Time-bound"):
        assert heading in page
    assert "data-print>Print or save as PDF</button>" in page


def test_goal_list_query_count_is_pinned(client, rep, django_assert_num_queries):
    for _ in range(6):
        GoalFactory()
    client.force_login(rep)
    client.get(reverse("goals:index"))  # warm the session
    # session, user, goals, permission lookups for the buttons, the navbar's bell; the
    # count does not grow with the number of goals.
    with django_assert_num_queries(7):
        response = client.get(reverse("goals:index"))
    assert response.status_code == 200


def test_plan_pages_query_counts_are_pinned(client, manager, django_assert_num_queries):
    from goals import services

    plans = [
        services.revenue_plan_save(
            actor=manager,
            name=f"Plan {i}",
            period_start=dt.date(2026, 4, 1),
            months=1,
            revenue_target=D(15000),
            average_deal_size=D(1000),
            lead_to_mql_rate=D("0.2"),
            mql_to_sql_rate=D("0.4"),
            sql_to_opportunity_rate=D("0.5"),
            opportunity_to_customer_rate=D("0.25"),
        )
        for i in range(4)
    ]
    client.force_login(manager)
    client.get(reverse("goals:plans"))
    with django_assert_num_queries(7):
        client.get(reverse("goals:plans"))
    # +1: the SLA agreements the plan can set a commitment on (none here).
    with django_assert_num_queries(10):
        client.get(plans[0].get_absolute_url())


def test_the_okr_quarter_shows_scores_and_takes_check_ins_in_place(client, marketer):
    objective = ObjectiveFactory(owner_team="marketing", year=2026, quarter=2)
    kr = KeyResultFactory(objective=objective, target_value=D(4))
    client.force_login(marketer)
    page = client.get(reverse("goals:okrs") + "?quarter=2026-Q2").content.decode()
    assert objective.title in page and kr.title in page
    response = client.post(
        reverse("goals:check_in", args=[kr.pk]),
        {"value": "3", "note": "3 of 4 done"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="kr-' in body and "0.75" in body and "3 of 4 done" in body


def test_a_rep_cannot_check_in_on_a_marketing_key_result(client, rep):
    kr = KeyResultFactory(objective=ObjectiveFactory(owner_team="marketing"))
    client.force_login(rep)
    assert client.post(reverse("goals:check_in", args=[kr.pk]), {"value": "1"}).status_code == 403


def test_persona_pages_render_with_pinned_query_counts(client, rep, django_assert_num_queries):
    for index in range(4):
        InterviewFactory(persona=PersonaFactory(name=f"P{index}"))
    persona = PersonaFactory(name="P0")
    client.force_login(rep)
    client.get(reverse("personas:index"))
    with django_assert_num_queries(11):
        response = client.get(reverse("personas:index") + f"?compare={persona.pk}")
    assert "Side by side" in response.content.decode()
    page = client.get(persona.get_absolute_url()).content.decode()
    assert "Rests on <strong>1 interview</strong>" in page
    assert "consider a few more" in page


def test_marketing_edits_personas_and_sales_records_interviews(client, rep, marketer):
    persona = PersonaFactory()
    client.force_login(rep)
    assert client.get(reverse("personas:edit", args=[persona.pk])).status_code == 403
    response = client.post(
        reverse("personas:interview_create", args=[persona.pk]),
        {
            "interviewer": rep.pk,
            "interviewed_on": "2026-02-01",
            "interviewee": "Dana",
            "trigger": "Late deliveries",
        },
    )
    assert response.status_code == 302
    client.force_login(marketer)
    response = client.post(reverse("personas:create"), {"name": "", "status": "draft"})
    assert "name" in response.context["form"].errors
    response = client.post(
        reverse("personas:journey", args=[persona.pk]), {"awareness__questions": "Why late?"}
    )
    assert response.status_code == 302
    assert persona.journey.get(stage="awareness").questions == "Why late?"
