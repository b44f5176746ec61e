"""Who may do what to goals, OKRs and revenue plans (goals/permissions.py), walked through the
API and the pages alike (tests/policy.py). Everybody signed in reads all of them."""

import pytest

from goals.models import CheckIn, Goal, KeyResult, Objective, RevenuePlan
from sla.models import SLAAgreement
from tests.goals.factories import (
    PLAN,
    PLAN_FORM,
    GoalFactory,
    KeyResultFactory,
    ObjectiveFactory,
    revenue_plan,
)
from tests.leads.factories import ProductFactory
from tests.policy import expect
from tests.sla.factories import SLAAgreementFactory

pytestmark = pytest.mark.django_db

# role: the owner teams whose goals and OKRs it creates, edits, deletes (API) and checks in on
TEAMS = {
    "rep": {"sales"},
    "marketer": {"marketing"},
    "manager": {"marketing", "sales", "shared"},
    "admin": {"marketing", "sales", "shared"},
}
CASES = [(role, team) for role in TEAMS for team in ("marketing", "sales", "shared")]


@pytest.fixture
def people(rep, marketer, manager, admin_user):
    return {"rep": rep, "marketer": marketer, "manager": manager, "admin": admin_user}


def _goal(team: str, **changes) -> dict:
    return {
        "title": f"More SQLs for {team}",
        "description": "Two webinars a month.",
        "metric": "sqls",
        "target_value": "300",
        "baseline_value": "200",
        "rationale": "We made 250 last quarter.",
        "start": "2026-04-01",
        "end": "2026-06-30",
        "owner_team": team,
        **changes,
    }


@pytest.mark.parametrize(("role", "team"), CASES)
def test_the_goals_api_follows_the_table(api_as, people, role, team):
    manages = team in TEAMS[role]
    goal = GoalFactory(owner_team=team)
    client = api_as(people[role])
    url = f"/api/v1/goals/{goal.pk}/"
    expect(client.get("/api/v1/goals/"), True)
    expect(client.get(url), True)
    expect(client.post("/api/v1/goals/", _goal(team), format="json"), manages)
    assert Goal.objects.filter(title=f"More SQLs for {team}").exists() == manages
    expect(client.patch(url, {"title": "Sharper"}, format="json"), manages)
    goal.refresh_from_db()
    assert (goal.title == "Sharper") == manages
    expect(client.delete(url), manages)
    assert Goal.objects.filter(pk=goal.pk).exists() != manages


@pytest.mark.parametrize(("role", "team"), CASES)
def test_the_goal_pages_follow_the_table(client, people, role, team):
    manages = team in TEAMS[role]
    goal = GoalFactory(owner_team=team)
    client.force_login(people[role])
    expect(client.get("/goals/"), True)
    page = client.get(f"/goals/{goal.pk}/")
    expect(page, True)
    assert (f'href="/goals/{goal.pk}/edit/"' in page.content.decode()) == manages
    expect(client.get(f"/goals/{goal.pk}/template/"), True)
    expect(client.get("/goals/new/"), True)  # every role manages some team's goals
    expect(client.post("/goals/new/", _goal(team)), manages, ok=(302,))
    assert Goal.objects.filter(title=f"More SQLs for {team}").exists() == manages
    edit = f"/goals/{goal.pk}/edit/"
    expect(client.get(edit), manages)
    expect(client.post(edit, _goal(team, title="Sharper")), manages, ok=(302,))
    goal.refresh_from_db()
    assert (goal.title == "Sharper") == manages


@pytest.mark.parametrize(("role", "team"), CASES)
def test_the_objectives_api_follows_the_table(api_as, people, role, team):
    manages = team in TEAMS[role]
    kr = KeyResultFactory(objective=ObjectiveFactory(owner_team=team), target_value=4)
    client = api_as(people[role])
    url = f"/api/v1/objectives/{kr.objective_id}/"
    expect(client.get(url), True)
    body = {"title": f"Fill the funnel ({team})", "year": 2026, "quarter": 2, "owner_team": team}
    expect(client.post("/api/v1/objectives/", body, format="json"), manages)
    assert Objective.objects.filter(title=body["title"]).exists() == manages
    expect(client.patch(url, {"title": "Sharper"}, format="json"), manages)
    kr_body = {"title": "Interviews", "kind": "manual", "target_value": "4"}
    added = client.post(f"{url}key-results/", kr_body, format="json")
    expect(added, manages)
    assert KeyResult.objects.filter(title="Interviews").exists() == manages
    checked = client.post(f"{url}key-results/{kr.pk}/check-ins/", {"value": "3"}, format="json")
    expect(checked, manages)
    assert CheckIn.objects.filter(key_result=kr).exists() == manages
    expect(client.delete(url), manages)
    assert Objective.objects.filter(pk=kr.objective_id).exists() != manages


@pytest.mark.parametrize(("role", "team"), CASES)
def test_the_okr_pages_follow_the_table(client, people, role, team):
    manages = team in TEAMS[role]
    kr = KeyResultFactory(objective=ObjectiveFactory(owner_team=team, quarter=2), target_value=4)
    client.force_login(people[role])
    expect(client.get("/goals/okrs/?quarter=2026-Q2"), True)
    expect(client.get("/goals/okrs/new/"), True)
    body = {"title": f"Fill the funnel ({team})", "year": "2026", "quarter": "2"}
    expect(client.post("/goals/okrs/new/", {**body, "owner_team": team}), manages, ok=(302,))
    assert Objective.objects.filter(title=body["title"]).exists() == manages
    new_kr = f"/goals/okrs/{kr.objective_id}/key-results/new/"
    expect(client.get(new_kr), manages)
    form = {"title": "Interviews", "kind": "manual", "start_value": "0", "target_value": "4"}
    expect(client.post(new_kr, form), manages, ok=(302,))
    assert KeyResult.objects.filter(title="Interviews").exists() == manages
    check_in = f"/goals/key-results/{kr.pk}/check-in/"
    expect(client.post(check_in, {"value": "3"}, HTTP_HX_REQUEST="true"), manages, ok=(200,))
    assert CheckIn.objects.filter(key_result=kr).exists() == manages


# role: (reads plans, creates and edits them, sets their goals and an agreement's commitment,
#        re-measures them)
PLANS = {
    "rep": (True, False),
    "marketer": (True, False),
    "manager": (True, True),
    "admin": (True, True),
}


@pytest.fixture
def plan(manager):
    return revenue_plan(manager)


@pytest.fixture
def agreement(db):
    ProductFactory(name="Analytics")  # the product the plan's SQLs are committed for
    return SLAAgreementFactory(name="Sales and marketing SLA", leads_per_product_per_month=75)


def _commitment(agreement) -> int:
    current = SLAAgreement.objects.get(family=agreement.family, superseded_at__isnull=True)
    return current.leads_per_product_per_month


@pytest.mark.parametrize("role", list(PLANS))
def test_the_revenue_plans_api_follows_the_table(api_as, people, plan, agreement, role):
    reads, manages = PLANS[role]
    client = api_as(people[role])
    url = f"/api/v1/revenue-plans/{plan.pk}/"
    expect(client.get("/api/v1/revenue-plans/"), reads)
    expect(client.get(url), reads)
    expect(client.post("/api/v1/revenue-plans/", PLAN, format="json"), manages)
    assert RevenuePlan.objects.filter(name="Seed plan").exists() == manages
    expect(client.patch(url, {"name": "Q2 plan, revised"}, format="json"), manages)
    expect(client.post(f"{url}create-goals/"), manages)
    assert Goal.objects.filter(revenue_plan=plan).exists() == manages
    committed = client.post(f"{url}set-commitment/", {"agreement": agreement.pk}, format="json")
    expect(committed, manages)
    assert (_commitment(agreement) != 75) == manages
    expect(client.post(f"{url}remeasure/"), manages)
    expect(client.delete(url), manages)
    assert RevenuePlan.objects.filter(pk=plan.pk).exists() != manages


@pytest.mark.parametrize("role", list(PLANS))
def test_the_revenue_plan_pages_follow_the_table(client, people, plan, agreement, role):
    reads, manages = PLANS[role]
    client.force_login(people[role])
    url = f"/goals/plans/{plan.pk}/"
    expect(client.get("/goals/plans/"), reads)
    page = client.get(url)
    expect(page, reads)
    assert (f'action="{url}create-goals/"' in page.content.decode()) == manages
    expect(client.get("/goals/plans/new/"), manages)
    expect(client.post("/goals/plans/new/", PLAN_FORM), manages, ok=(302,))
    assert RevenuePlan.objects.filter(name="Seed plan").exists() == manages
    expect(client.get(f"{url}edit/"), manages)
    revised = {**PLAN_FORM, "name": "Q2 plan, revised"}
    expect(client.post(f"{url}edit/", revised), manages, ok=(302,))
    plan.refresh_from_db()
    assert (plan.name == "Q2 plan, revised") == manages
    expect(client.post(f"{url}create-goals/"), manages, ok=(302,))
    assert Goal.objects.filter(revenue_plan=plan).exists() == manages
    committed = client.post(f"{url}set-commitment/", {"agreement": agreement.pk})
    expect(committed, manages, ok=(302,))
    assert (_commitment(agreement) != 75) == manages
    expect(client.post(f"{url}remeasure/"), manages, ok=(302,))
