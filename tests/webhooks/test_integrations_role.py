"""Webhooks are managed by the Integrations role, which a manager (or anyone) can be given;
no superuser needed, and a plain manager only reads them."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import Role

pytestmark = pytest.mark.django_db

SUBSCRIPTION = {
    "name": "CRM",
    "url": "https://crm.example.com/hooks",
    "event_types": ["lead.created"],
}


@pytest.fixture
def integrator(manager):
    manager.groups.add(Group.objects.get(name=Role.INTEGRATIONS.value))
    return manager


def test_the_integrations_role_manages_webhooks_through_the_api(api_as, integrator):
    client = api_as(integrator)
    created = client.post("/api/v1/webhooks/", SUBSCRIPTION, format="json")
    assert created.status_code == 201, created.json()
    url = f"/api/v1/webhooks/{created.json()['id']}/"
    assert client.patch(url, {"name": "CRM (EU)"}, format="json").status_code == 200
    assert client.delete(url).status_code == 204


def test_a_manager_without_it_reads_but_does_not_manage(api_as, manager):
    client = api_as(manager)
    assert client.get("/api/v1/webhooks/").status_code == 200
    assert client.post("/api/v1/webhooks/", SUBSCRIPTION, format="json").status_code == 403


@pytest.mark.parametrize("role", ["rep", "marketer"])
def test_other_roles_neither_read_nor_manage(api_as, request, role):
    client = api_as(request.getfixturevalue(role))
    assert client.get("/api/v1/webhooks/").status_code == 403
    assert client.post("/api/v1/webhooks/", SUBSCRIPTION, format="json").status_code == 403
