"""The Definitions page: every role reads it, and every report links to it."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["rep", "marketer", "manager"])
def test_everyone_reads_the_definitions(client, request, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get("/reports/definitions/")
    assert response.status_code == 200
    body = response.content.decode()
    for term in ("A day", "Flow mode", "Velocity", "one sample per lead", "Hand-off", "hand-offs"):
        assert term in body


@pytest.mark.parametrize("page", ["/", "/reports/", "/reports/quality/", "/sla/compliance/"])
def test_every_report_links_to_the_definitions(client, manager, page):
    client.force_login(manager)
    response = client.get(page)
    assert response.status_code == 200
    assert 'href="/reports/definitions/' in response.content.decode()
