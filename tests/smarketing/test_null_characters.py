"""A NUL character anywhere in the input is a clear 400, never a 500 from the database."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_query_parameter_is_a_400_page(client, rep):
    client.force_login(rep)
    response = client.get("/personas/?q=%00")
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_in_a_form_field_is_a_400(client, rep):
    client.force_login(rep)
    response = client.post("/accounts/profile/", {"first_name": "Ra\x00vi", "time_zone": "UTC"})
    assert response.status_code == 400


def test_a_nul_in_a_json_body_is_a_json_400(api_as, marketer):
    response = api_as(marketer).post(
        "/api/v1/leads/",
        data='{"email": "a@example.com", "attributes": {"note": "\\u0000"}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "NUL" in response.json()["detail"]


def test_ordinary_input_passes(client, rep):
    client.force_login(rep)
    assert client.get("/personas/?q=Ops").status_code == 200
