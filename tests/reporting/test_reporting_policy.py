"""Who sees what in the reports, walked through the API and the pages alike (tests/policy.py).

Funnel figures are the company's and the same for everybody (the shared dashboard); the leads
behind them are not: a drill-down, its CSV and the dashboard's leads at risk hold only the
leads their reader may see, as `GET leads/` and `GET sla/clocks/` do."""

import csv
import io
import re

import pytest
import time_machine

from leads.services import lead_transition
from sla.models import SLAClock
from tests.conftest import make_user
from tests.leads.factories import LeadFactory
from tests.policy import expect
from tests.sla.conftest import ny
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = pytest.mark.django_db

NOW = ny(2026, 1, 6, 10)  # a Tuesday morning in New York: first touches are due today
PERIOD = "start=2026-01-01&end=2026-01-31"

# relation to a lead: it is among the leads behind a funnel number (the drill-down page and
# its CSV) and in the dashboard's leads at risk, as it is in GET leads/ and GET sla/clocks/
LEADS_BEHIND = {
    "manager": True,
    "marketer": True,
    "owner": True,
    "teammate": True,
    "other team": False,
}


@pytest.fixture
def cases(
    rep, other_rep, outsider_rep, marketer, manager, settings, django_capture_on_commit_callbacks
):
    settings.DASHBOARD_CACHE_SECONDS = 0
    BusinessCalendarFactory()
    SLAAgreementFactory()
    other_team = make_user("outsider_two", None, outsider_rep.team)
    with time_machine.travel(NOW, tick=False):
        leads = []
        for owner, email in ((rep, "ada@example.com"), (other_team, "zoe@example.com")):
            lead = LeadFactory(owner=owner, team=owner.team, email=email, created_at=NOW)
            with django_capture_on_commit_callbacks(execute=True):
                lead_transition(lead=lead, to_stage="sql", at=NOW, reason="demo request")
            leads.append(lead)
    assert SLAClock.objects.count() == 2
    users = {
        "manager": manager,
        "marketer": marketer,
        "owner": rep,
        "teammate": other_rep,
        "other team": outsider_rep,
    }
    return {relation: (user, leads[0]) for relation, user in users.items()}


def _csv_ids(response) -> set[int]:
    return {int(row["id"]) for row in csv.DictReader(io.StringIO(response.content.decode()))}


@pytest.mark.parametrize("relation", list(LEADS_BEHIND))
def test_a_drill_down_holds_the_leads_the_api_lists(client, api_as, cases, relation):
    user, lead = cases[relation]
    sees = LEADS_BEHIND[relation]
    api = api_as(user)
    funnel = api.get(f"/api/v1/reports/funnel/?{PERIOD}&mode=cohort")
    assert funnel.status_code == 200
    assert funnel.json()["total"]["counts"]["sql"] == 2  # the company's figure, for everybody
    listed = api.get("/api/v1/leads/?created_after=2026-01-01T00:00:00Z&page_size=100")
    api_ids = {row["id"] for row in listed.json()["results"]}
    assert (lead.pk in api_ids) == sees
    client.force_login(user)
    for stage in ("lead", "sql"):
        page = client.get(f"/reports/funnel/leads/?{PERIOD}&mode=cohort&stage={stage}")
        assert page.status_code == 200
        assert {row.pk for row in page.context["page"]} == api_ids
        says_so = "listed here are the leads you may see" in page.content.decode()
        assert says_so == (relation in ("owner", "teammate", "other team"))
        exported = client.get(
            f"/reports/funnel/leads/?{PERIOD}&mode=cohort&stage={stage}&format=csv"
        )
        assert _csv_ids(exported) == api_ids
    grouped = client.get(
        f"/reports/funnel/leads/?{PERIOD}&mode=flow&stage=sql&group_by=owner&group={lead.owner_id}"
    )
    assert (lead.email in grouped.content.decode()) == sees


@pytest.mark.parametrize("relation", list(LEADS_BEHIND))
def test_the_dashboards_leads_at_risk_are_the_clocks_the_api_lists(client, api_as, cases, relation):
    user, lead = cases[relation]
    sees = LEADS_BEHIND[relation]
    with time_machine.travel(NOW, tick=False):
        clocks = api_as(user).get("/api/v1/sla/clocks/?open=true&status=pending").json()
        client.force_login(user)
        page = client.get(f"/?{PERIOD}")
    assert page.status_code == 200
    api_leads = {row["lead"] for row in clocks["results"]}
    assert (lead.pk in api_leads) == sees
    shown = {clock.lead_id for clock in page.context["at_risk"]}
    assert shown == api_leads
    html = page.content.decode()
    assert (lead.email in html) == sees
    # The card says whose leads it lists: a rep's and their team's, or every team's.
    scope = re.search(r'data-testid="leads-at-risk-scope">([^<]*)<', html).group(1)
    team_only = relation in ("owner", "teammate", "other team")
    assert scope == (
        "Your leads and your team's: the ones you may see."
        if team_only
        else "Every team's leads: you see them all."
    )


# role: (reads the reports: dashboard, funnel explorer, lead quality, weekly reviews, what the
#        figures mean; reads and retries the reactions the product owes on the operations page)
REPORTS = {
    "rep": (True, False),
    "marketer": (True, False),
    "manager": (True, True),
}


@pytest.mark.parametrize("role", list(REPORTS))
def test_the_report_pages_and_the_funnel_api_follow_the_table(
    client, api_as, rep, marketer, manager, role
):
    reads, operations = REPORTS[role]
    user = {"rep": rep, "marketer": marketer, "manager": manager}[role]
    expect(api_as(user).get(f"/api/v1/reports/funnel/?{PERIOD}"), reads)
    client.force_login(user)
    for url in (
        "/",
        "/reports/",
        "/reports/quality/",
        "/reports/reviews/",
        "/reports/definitions/",
    ):
        expect(client.get(url), reads)
    expect(client.get("/reports/operations/"), operations)
    expect(client.post("/reports/operations/", {"retry": ["1"]}), operations, ok=(302,))


# The decisions and action items of a weekly review (reporting/permissions.py). relation to
# the item (given to the rep, added by the marketer): (adds items to the review, marks this
# item done or not done again). The review is both teams'; people with no team role (an
# Integrations account) read it.
REVIEW_ITEMS = {
    "manager": (True, True),
    "its owner": (True, True),
    "who added it": (True, True),
    "another rep": (True, False),
    "another marketer": (True, False),
    "no team role": (False, False),
}


@pytest.fixture
def review_cases(rep, other_rep, marketer, manager, marketing_team):
    from accounts.models import Role
    from reporting.models import ReviewActionItem, WeeklyReview

    review = WeeklyReview.objects.create(week_start="2025-12-29", built_at=NOW)
    item = ReviewActionItem.objects.create(
        review=review, text="Call the webinar leads first", owner=rep, created_by=marketer
    )
    users = {
        "manager": manager,
        "its owner": rep,
        "who added it": marketer,
        "another rep": other_rep,
        "another marketer": make_user("other_marketer", Role.MARKETING, marketing_team),
        "no team role": make_user("integrator", Role.INTEGRATIONS),
    }
    return review, item, users


@pytest.mark.parametrize("htmx", [True, False], ids=["in place", "form post"])
@pytest.mark.parametrize("relation", list(REVIEW_ITEMS))
def test_review_action_items_follow_the_table(client, review_cases, relation, htmx):
    review, item, users = review_cases
    adds, toggles = REVIEW_ITEMS[relation]
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    client.force_login(users[relation])
    page = client.get(review.get_absolute_url())
    expect(page, True)
    html = page.content.decode()
    assert ('data-testid="add-action-item"' in html) == adds
    assert ('data-testid="toggle-action-item"' in html) == toggles
    assert "Call the webinar leads first" in html  # everybody reads the items

    added = client.post(
        f"/reports/reviews/{review.pk}/items/", {"text": f"Decided by {relation}"}, **headers
    )
    expect(added, adds, ok=(200,) if htmx else (302,))
    assert review.action_items.filter(text=f"Decided by {relation}").exists() == adds

    toggled = client.post(f"/reports/reviews/{review.pk}/items/{item.pk}/toggle/", **headers)
    expect(toggled, toggles, ok=(200,) if htmx else (302,))
    item.refresh_from_db()
    assert (item.done_at is not None) == toggles
    # An item is found through its own review only.
    elsewhere = type(review).objects.create(week_start="2025-12-22", built_at=NOW)
    expect(client.post(f"/reports/reviews/{elsewhere.pk}/items/{item.pk}/toggle/"), toggles, False)
