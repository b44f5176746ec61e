"""Who may read the audit log and manage API tokens (accounts/permissions.py), walked through
the API and the pages alike (tests/policy.py), and whose notifications a user sees: their
own only, on every page the bell leads to."""

import pytest
from rest_framework.authtoken.models import Token

from accounts.models import Notification
from tests.conftest import PASSWORD
from tests.policy import expect

pytestmark = pytest.mark.django_db

# role: (reads the audit log, manages API tokens: sees who holds one, issues, revokes)
ACCOUNTS = {
    "rep": (False, False),
    "marketer": (False, False),
    "manager": (True, False),
    "manager with Integrations": (True, True),
    "Integrations only": (False, True),
    "admin": (True, True),
}


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_the_audit_log_follows_the_table_on_both_faces(client, api_as, role_people, role):
    reads, _tokens = ACCOUNTS[role]
    user = role_people[role]
    listed = api_as(user).get("/api/v1/audit/?subject=userrole")
    expect(listed, reads)
    client.force_login(user)
    page = client.get("/accounts/audit/?subject=userrole")
    expect(page, reads)
    if reads:  # the roles role_people (tests/conftest.py) were given
        assert listed.json()["count"] > 0
        assert len(page.context["entries"]) == min(listed.json()["count"], 50)
    menu = client.get("/accounts/profile/").content.decode()
    assert ('href="/accounts/audit/"' in menu) == reads


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_api_tokens_follow_the_table(client, role_people, rep, role):
    _audit, manages = ACCOUNTS[role]
    held = Token.objects.create(user=role_people["marketer"])
    client.force_login(role_people[role])
    page = client.get("/accounts/api-tokens/")
    expect(page, manages)
    assert (
        'href="/accounts/api-tokens/"' in client.get("/accounts/profile/").content.decode()
    ) == (manages)
    issued = client.post("/accounts/api-tokens/", {"user": rep.pk})
    expect(issued, manages, ok=(200,))
    assert Token.objects.filter(user=rep).exists() == manages
    if manages:
        key = Token.objects.get(user=rep).key
        assert key in issued.content.decode()  # shown once, to who issued it
    revoked = client.post("/accounts/api-tokens/", {"user": held.user_id, "action": "revoke"})
    expect(revoked, manages, ok=(302,))
    assert Token.objects.filter(pk=held.pk).exists() != manages


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_everyone_gets_only_their_own_token_from_the_api(api, role_people, role):
    """`POST auth/token/` answers the caller's own token for their password, whatever the
    role: issuing one for somebody else is the Integrations role's, on the tokens page."""
    user = role_people[role]
    response = api.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=user).key


# -- notifications: a user sees, opens and marks read their own only ------------------------------


@pytest.fixture
def notifications(rep, other_rep):
    def make(user, title):
        return Notification.objects.create(user=user, kind="lead_assigned", title=title, url="/")

    return make(rep, "Yours: Ada is assigned to you"), make(other_rep, "Theirs: Bob is assigned")


def test_a_user_sees_only_their_own_notifications(client, rep, notifications):
    mine, theirs = notifications
    client.force_login(rep)
    for url in ("/accounts/notifications/", "/accounts/notifications/menu/"):
        page = client.get(url).content.decode()
        assert mine.title in page and theirs.title not in page, url


def test_a_user_opens_and_marks_read_only_their_own_notifications(client, rep, notifications):
    mine, theirs = notifications
    client.force_login(rep)
    assert client.get(f"/accounts/notifications/{theirs.pk}/open/").status_code == 404
    in_place = client.post(
        "/accounts/notifications/read/", {"id": theirs.pk, "from": "list"}, HTTP_HX_REQUEST="true"
    )
    assert in_place.status_code == 404
    assert client.post("/accounts/notifications/read/", {"id": theirs.pk}).status_code == 302
    client.post("/accounts/notifications/read/")  # all of mine
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.get(f"/accounts/notifications/{mine.pk}/open/").status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None


# -- anonymous visitors: the pages send them to the login page, the API answers 401 ---------------

PAGES = (
    "/",
    "/leads/",
    "/leads/export.csv",
    "/leads/campaigns/",
    "/leads/definitions/",
    "/leads/routing/",
    "/personas/",
    "/goals/",
    "/goals/plans/",
    "/sla/",
    "/sla/agreements/",
    "/sla/calendars/",
    "/sla/compliance/",
    "/sla/compliance.csv",
    "/reports/",
    "/reports/funnel/leads/",
    "/reports/webhooks/",
    "/accounts/audit/",
    "/accounts/api-tokens/",
    "/accounts/notifications/",
)
API = (
    "/api/v1/leads/",
    "/api/v1/campaigns/",
    "/api/v1/definitions/",
    "/api/v1/personas/",
    "/api/v1/interviews/",
    "/api/v1/goals/",
    "/api/v1/revenue-plans/",
    "/api/v1/objectives/",
    "/api/v1/sla/calendars/",
    "/api/v1/sla/agreements/",
    "/api/v1/sla/clocks/",
    "/api/v1/sla/compliance/",
    "/api/v1/reports/funnel/",
    "/api/v1/webhooks/",
    "/api/v1/audit/",
)


@pytest.mark.parametrize("url", PAGES)
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", API)
def test_the_api_asks_an_anonymous_caller_to_authenticate(api, url):
    assert api.get(url).status_code == 401
