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


def test_the_dashboard_opens_on_the_quarter_with_quick_choices(client, manager):
    import datetime as dt

    from core import days

    client.force_login(manager)
    html = client.get("/").content.decode()
    today = days.today()
    quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    assert f'value="{quarter.isoformat()}"' in html  # the period form's start
    for label in ("This month", "Last 30 days", "This quarter", "This year"):
        assert label in html
    assert dt.date.fromisoformat(quarter.isoformat()) <= today
