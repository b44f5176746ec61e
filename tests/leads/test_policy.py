"""One policy for leads (leads/selectors.py), walked through the API and the pages alike:
every relation of a user to a lead × every action, the same answer on both faces."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Role
from leads.models import Lead
from leads.selectors import HISTORY_WRITERS
from tests.conftest import make_user
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

# relation: (view, move, assign, attempt, history); history (`POST leads/{id}/history/`, a
# back-fill) is the API's only. Integrations adds writing histories, not seeing leads.
TABLE = {
    "manager": (True, True, True, True, True),
    "marketer": (True, True, True, False, False),
    "marketer, Integrations": (True, True, True, False, True),
    "owner": (True, True, False, True, False),
    "team, unowned": (True, True, False, False, False),
    "teammate": (True, False, False, False, False),
    "other team": (False, False, False, False, False),
    "other team, Integrations": (False, False, False, False, False),
}


def _with_integrations(user):
    user.groups.add(Group.objects.get(name=Role.INTEGRATIONS))
    return user


@pytest.fixture
def cases(rep, other_rep, outsider_rep, marketer, manager, sales_team, marketing_team):
    owned = LeadFactory(owner=rep, team=sales_team, stage="mql")
    unowned = LeadFactory(owner=None, team=sales_team, stage="mql")
    crm_sync = _with_integrations(make_user("crm_sync", Role.MARKETING, marketing_team))
    other_sync = _with_integrations(make_user("other_sync", Role.SALES, outsider_rep.team))
    return {
        "manager": (manager, owned),
        "marketer": (marketer, owned),
        "marketer, Integrations": (crm_sync, owned),
        "owner": (rep, owned),
        "team, unowned": (other_rep, unowned),
        "teammate": (other_rep, owned),
        "other team": (outsider_rep, owned),
        "other team, Integrations": (other_sync, owned),
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
    view, move, assign, attempt, history = TABLE[relation]
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
    Lead.objects.filter(pk=lead.pk).update(stage="mql")
    step = {"type": "transition", "to": "disqualified", "reason": "bad fit"}
    written = client.post(
        f"/api/v1/leads/{lead.pk}/history/",
        {"steps": [{**step, "at": timezone.now().isoformat()}]},
        format="json",
    )
    _expect(written, history, view, ok=(201,))
    if view and not history:  # the refusal says the rule
        assert written.json()["detail"] == HISTORY_WRITERS


@pytest.mark.parametrize("relation", list(TABLE))
def test_the_pages_follow_the_table(client, cases, relation):
    user, lead = cases[relation]
    view, move, assign, attempt, _history = TABLE[relation]
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
