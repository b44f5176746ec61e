"""API tokens are issued, rotated and revoked in the browser by the Integrations role."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

from accounts.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def integrator(manager):
    manager.groups.add(Group.objects.get(name=Role.INTEGRATIONS))
    return manager


def test_the_integrations_role_issues_rotates_and_revokes(client, integrator, rep, api_as):
    client.force_login(integrator)
    page = client.post("/accounts/api-tokens/", {"user": rep.pk, "action": "issue"})
    key = Token.objects.get(user=rep).key
    html = page.content.decode()
    assert page.status_code == 200 and key in html  # shown once, on the answer
    listing = client.get("/accounts/api-tokens/").content.decode()
    assert key not in listing and key[:6] in listing
    assert api_as(rep).get("/api/v1/leads/").status_code == 200
    client.post("/accounts/api-tokens/", {"user": rep.pk, "action": "issue"})
    rotated = Token.objects.get(user=rep).key
    assert rotated != key
    client.post("/accounts/api-tokens/", {"user": rep.pk, "action": "revoke"})
    assert not Token.objects.filter(user=rep).exists()


def test_others_get_a_403_and_bad_input_a_field_message(client, integrator, manager, rep):
    client.force_login(rep)
    assert client.get("/accounts/api-tokens/").status_code == 403
    assert client.post("/accounts/api-tokens/", {"user": rep.pk}).status_code == 403
    assert not Token.objects.exists()
    client.force_login(integrator)
    for bad in ("", "abc", "9" * 40, "999999"):
        response = client.post("/accounts/api-tokens/", {"user": bad, "action": "issue"})
        assert response.status_code == 400
        assert "Choose an active person from the list." in response.content.decode()
