"""One policy for leads (leads/selectors.py), walked through the API and the pages alike:
every relation of a user to a lead × every action, the same answer on both faces."""

import pytest

from leads.models import Lead
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

# relation: (view, move, assign, attempt)
TABLE = {
    "manager": (True, True, True, True),
    "marketer": (True, True, True, False),
    "owner": (True, True, False, True),
    "team, unowned": (True, True, False, False),
    "teammate": (True, False, False, False),
    "other team": (False, False, False, False),
}


@pytest.fixture
def cases(rep, other_rep, outsider_rep, marketer, manager, sales_team):
    owned = LeadFactory(owner=rep, team=sales_team, stage="mql")
    unowned = LeadFactory(owner=None, team=sales_team, stage="mql")
    return {
        "manager": (manager, owned),
        "marketer": (marketer, owned),
        "owner": (rep, owned),
        "team, unowned": (other_rep, unowned),
        "teammate": (other_rep, owned),
        "other team": (outsider_rep, owned),
    }


def _expect(response, allowed: bool, visible: bool, ok=(200, 201)):
    if not visible:
        assert response.status_code == 404, response.content[:200]
    elif allowed:
        assert response.status_code in ok, response.content[:300]
    else:
        assert response.status_code == 403, response.content[:200]


@pytest.mark.parametrize("relation", list(TABLE))
def test_the_api_follows_the_table(api_as, cases, relation, manager):
    user, lead = cases[relation]
    view, move, assign, attempt = TABLE[relation]
    client = api_as(user)
    _expect(client.get(f"/api/v1/leads/{lead.pk}/"), view, view)
    _expect(
        client.post(
            f"/api/v1/leads/{lead.pk}/transition/",
            {"to": "disqualified", "reason": "bad fit"},
            format="json",
        ),
        move,
        view,
    )
    Lead.objects.filter(pk=lead.pk).update(stage="mql")
    _expect(
        client.post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": user.pk}, format="json"),
        assign,
        view,
        ok=(201, 400),  # 400: a marketer is not a sales owner; allowed to try
    )
    _expect(
        client.post(
            f"/api/v1/leads/{lead.pk}/attempts/",
            {"channel": "call", "outcome": "no_answer"},
            format="json",
        ),
        attempt,
        view,
    )


@pytest.mark.parametrize("relation", list(TABLE))
def test_the_pages_follow_the_table(client, cases, relation):
    user, lead = cases[relation]
    view, move, assign, attempt = TABLE[relation]
    client.force_login(user)
    page = client.get(f"/leads/{lead.pk}/")
    _expect(page, view, view)
    if view:
        html = page.content.decode()
        assert ('data-testid="transition-form"' in html) == move
        assert ('data-testid="assign-form"' in html) == assign
        assert ('data-testid="attempt-form"' in html) == attempt
    moved = client.post(
        f"/leads/{lead.pk}/transition/", {"to_stage": "disqualified", "reason": "bad fit"}
    )
    _expect(moved, move, view, ok=(200, 302))
    Lead.objects.filter(pk=lead.pk).update(stage="mql")
    assigned = client.post(f"/leads/{lead.pk}/assign/", {"owner": "", "reason": ""})
    _expect(assigned, assign, view, ok=(200, 302, 400))
