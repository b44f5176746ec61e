"""The goals, revenue-plans and objectives API: permissions, computed needs, and bad input
answered with field messages (never a 500)."""

import datetime as dt

import pytest

from goals.models import Goal, Metric
from tests.goals.factories import PLAN, GoalFactory, KeyResultFactory, ObjectiveFactory

pytestmark = pytest.mark.django_db

GOAL = {
    "title": "More MQLs",
    "description": "Two webinars a month.",
    "metric": "mqls",
    "target_value": "300",
    "baseline_value": "200",
    "rationale": "We made 250 last quarter.",
    "start": "2026-04-01",
    "end": "2026-06-30",
    "owner_team": "marketing",
}


def test_a_manager_creates_a_plan_and_gets_its_computed_needs(api_as, manager):
    response = api_as(manager).post("/api/v1/revenue-plans/", PLAN, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["computed"]["needs"]["customers"] == 15
    assert body["computed"]["needs"]["leads"] == 1500
    assert body["computed"]["rate_sources"]["mql_to_sql_rate"] == "typed"
    assert body["period_end"] == "2026-04-30"

    goals = api_as(manager).post(f"/api/v1/revenue-plans/{body['id']}/create-goals/")
    assert goals.status_code == 201
    assert {g["metric"]: g["target_value"] for g in goals.json()} == {
        "leads": 1500.0,
        "mqls": 300.0,
        "customers_won": 15.0,
        "revenue_won": 15000.0,
    }


@pytest.mark.parametrize(
    "field, value",
    [
        ("mql_to_sql_rate", "0"),
        ("mql_to_sql_rate", "1.5"),
        ("lead_to_mql_rate", "-1"),
        ("revenue_target", "-15000"),
        ("revenue_target", "abc"),
        ("average_deal_size", "NaN"),
        ("average_deal_size", "1e999"),
        ("months", "0"),
        ("opportunity_to_customer_rate", None),
    ],
)
def test_bad_plan_inputs_are_400s_naming_the_field(api_as, manager, field, value):
    response = api_as(manager).post("/api/v1/revenue-plans/", {**PLAN, field: value}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_product_shares_that_do_not_add_up_are_a_400(api_as, manager):
    from tests.leads.factories import ProductFactory

    product = ProductFactory()
    response = api_as(manager).post(
        "/api/v1/revenue-plans/",
        {**PLAN, "product_shares": [{"product": product.pk, "share": "0.5"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "product_shares" in response.json()["errors"]


def test_only_managers_change_plans(api_as, marketer, rep):
    for user in (marketer, rep):
        assert api_as(user).post("/api/v1/revenue-plans/", PLAN, format="json").status_code == 403
    assert api_as(rep).get("/api/v1/revenue-plans/").status_code == 200


def test_a_goal_answers_its_pace_and_realism(api_as, marketer):
    response = api_as(marketer).post("/api/v1/goals/", GOAL, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["measured_value"] is None or body["measured_value"] >= 0
    assert body["realism"] == "no last quarter figure to compare with"
    assert "pace" in body and "expected_to_date" in body


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"end": "2026-03-01"}, "end"),
        ({"target_value": "-5"}, "target_value"),
        ({"target_value": "lots"}, "target_value"),
        ({"metric": "happiness"}, "metric"),
        (
            {
                "metric": "conversion_rate",
                "from_stage": "mql",
                "to_stage": "sql",
                "target_value": "1.5",
            },
            "target_value",
        ),
        ({"rationale": ""}, "rationale"),
    ],
)
def test_bad_goal_inputs_are_400s_naming_the_field(api_as, manager, changes, field):
    response = api_as(manager).post("/api/v1/goals/", {**GOAL, **changes}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_marketing_writes_marketing_goals_and_sales_writes_sales_goals(api_as, marketer, rep):
    assert api_as(rep).post("/api/v1/goals/", GOAL, format="json").status_code == 403
    sales_goal = {**GOAL, "owner_team": "sales", "metric": "customers_won", "target_value": "15"}
    assert api_as(marketer).post("/api/v1/goals/", sales_goal, format="json").status_code == 403
    assert api_as(rep).post("/api/v1/goals/", sales_goal, format="json").status_code == 201
    shared = {**GOAL, "owner_team": "shared"}
    assert api_as(marketer).post("/api/v1/goals/", shared, format="json").status_code == 403

    marketing_goal = GoalFactory(owner_team="marketing")
    url = f"/api/v1/goals/{marketing_goal.pk}/"
    assert api_as(rep).patch(url, {"title": "Mine now"}, format="json").status_code == 403
    assert api_as(marketer).patch(url, {"title": "Sharper"}, format="json").status_code == 200
    assert api_as(rep).get(url).status_code == 200


def test_progress_cannot_be_typed_in(api_as, marketer):
    goal = GoalFactory(owner_team="marketing")
    api_as(marketer).patch(f"/api/v1/goals/{goal.pk}/", {"measured_value": 999}, format="json")
    goal.refresh_from_db()
    assert goal.measured_value != 999


def test_goal_list_query_count_is_pinned(api_as, rep, django_assert_num_queries):
    for _ in range(5):
        GoalFactory()
    client = api_as(rep)
    # auth token + user groups/permissions lookups are constant; goals are one query + count.
    with django_assert_num_queries(3):
        response = client.get("/api/v1/goals/")
    assert response.json()["count"] == 5


def test_an_objective_with_key_results_and_a_fifth_refused(api_as, manager):
    client = api_as(manager)
    body = {
        "title": "Fill the funnel",
        "year": 2026,
        "quarter": 2,
        "owner_team": "shared",
        "key_results": [
            {"title": "MQLs", "kind": "measured", "metric": "mqls", "target_value": "300"},
            {"title": "Persona interviews", "kind": "manual", "target_value": "4"},
        ],
    }
    response = client.post("/api/v1/objectives/", body, format="json")
    assert response.status_code == 201, response.json()
    objective = response.json()
    assert len(objective["key_results"]) == 2
    url = f"/api/v1/objectives/{objective['id']}/key-results/"
    for index in range(2):
        kr = {"title": f"More {index}", "kind": "manual", "target_value": "1"}
        assert client.post(url, kr, format="json").status_code == 201
    fifth = client.post(
        url, {"title": "Fifth", "kind": "manual", "target_value": "1"}, format="json"
    )
    assert fifth.status_code == 400
    assert fifth.json()["errors"]["key_results"] == [
        "An objective has at most four key results. Remove one, or make this a separate objective."
    ]


def test_creating_an_objective_with_five_key_results_is_a_400(api_as, manager):
    krs = [{"title": f"KR {i}", "kind": "manual", "target_value": "1"} for i in range(5)]
    body = {
        "title": "Too much",
        "year": 2026,
        "quarter": 2,
        "owner_team": "shared",
        "key_results": krs,
    }
    response = api_as(manager).post("/api/v1/objectives/", body, format="json")
    assert response.status_code == 400
    assert "at most four" in response.json()["errors"]["key_results"][0]


def test_a_check_in_scores_a_manual_key_result(api_as, marketer, rep):
    kr = KeyResultFactory(objective=ObjectiveFactory(owner_team="marketing"), target_value=4)
    url = f"/api/v1/objectives/{kr.objective_id}/key-results/{kr.pk}/check-ins/"
    assert api_as(rep).post(url, {"value": "3"}, format="json").status_code == 403
    response = api_as(marketer).post(url, {"value": "3", "note": "3 done"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["key_result"]["score"] == 0.75
    assert api_as(marketer).post(url, {"value": "x"}, format="json").status_code == 400


def test_bad_quarter_is_a_400(api_as, manager):
    body = {"title": "Q5", "year": 2026, "quarter": 5, "owner_team": "shared"}
    response = api_as(manager).post("/api/v1/objectives/", body, format="json")
    assert response.status_code == 400
    assert "quarter" in response.json()["errors"]


def test_metric_choices_are_the_fixed_list():
    assert {m.value for m in Metric} >= {
        "revenue_won",
        "conversion_rate",
        "first_touch_sla_met_rate",
    }
    assert Goal._meta.get_field("metric").choices


def test_dates_are_iso(api_as, rep):
    goal = GoalFactory(start=dt.date(2026, 1, 1))
    assert api_as(rep).get(f"/api/v1/goals/{goal.pk}/").json()["start"] == "2026-01-01"
