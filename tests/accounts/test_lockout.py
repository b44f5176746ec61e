"""Guessing passwords locks the account for that address: the login page, the admin's and
the API token endpoint answer 429 with when to try again; the right password before the
limit still works, and a success clears the count."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def person(marketer):
    marketer.set_password(PASSWORD)
    marketer.save()
    return marketer


def _login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_the_login_page_locks_after_the_limit_and_says_so(client, person):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, person.username, "wrong").status_code == 200
    assert _login(client, person.username, "wrong").status_code == 429
    locked = _login(client, person.username, PASSWORD)  # even the right one, for now
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()


def test_a_success_before_the_limit_clears_the_count(client, person):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, person.username, "wrong")
    assert _login(client, person.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, person.username, "wrong").status_code == 200


def test_the_api_token_endpoint_locks_with_a_json_429(api, person):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = api.post(
            "/api/v1/auth/token/", {"username": person.username, "password": "wrong"}
        )
        assert response.status_code == 400
    response = api.post("/api/v1/auth/token/", {"username": person.username, "password": "x"})
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    response = api.post("/api/v1/auth/token/", {"username": person.username, "password": PASSWORD})
    assert response.status_code == 429


def test_the_admin_login_locks_too(client, admin_user):
    admin_user.set_password(PASSWORD)
    admin_user.save()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            "/admin/login/", {"username": admin_user.username, "password": "wrong"}
        )
    assert response.status_code == 429


def test_another_account_from_the_same_address_is_not_locked(client, person, rep):
    rep.set_password(PASSWORD)
    rep.save()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, person.username, "wrong")
    assert _login(client, rep.username, PASSWORD).status_code == 302
