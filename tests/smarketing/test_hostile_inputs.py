"""The inputs an attacker or a careless integrator sent when the product was probed: each is
a 4xx with a field message now, never a 500, and the valid rows of the same request are kept."""

import json

import pytest

from leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/leads/?created_after=2026-01-01T00:00:00%2B16:00",
        "/api/v1/leads/?created_before=0001-01-01T00:00:00Z",
        "/api/v1/reports/funnel/?start=2026-01-01T00:00:00%2B16:00",
        "/api/v1/reports/funnel/?end=9999-12-31",
        "/api/v1/reports/funnel/?start=0001-01-01",
        "/api/v1/sla/compliance/?end=9999-12-31",
        "/api/v1/sla/compliance/?start=2026-01-01T00:00:00-16:30",
        "/api/v1/sla/clocks/?handoff_after=2026-01-01T00:00:00%2B16:00",
        "/api/v1/leads/?page=99999999999999999999",
        "/api/v1/leads/?owner=1e400",
    ],
)
def test_hostile_query_strings_are_4xx(api_as, manager, url):
    response = api_as(manager).get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code, response.content[:200])


def test_a_bulk_request_keeps_its_valid_rows_whatever_the_bad_ones_hold(api_as, marketer):
    good = {"external_id": "good-1", "email": "good@example.com"}
    rows = [
        good,
        {"external_id": "bad-year", "email": "y@example.com", "created_at": "0001-01-01T00:00:00Z"},
        {
            "external_id": "bad-offset",
            "email": "o@example.com",
            "created_at": "2026-01-01T00:00+16:00",
        },
        {"external_id": "bad-email", "email": "a" * 250 + "@example.com"},
        {"external_id": "surrogate", "email": "s@example.com", "attributes": {"k": "\ud800"}},
        {"external_id": "nul", "email": "n@example.com", "attributes": {"k": "a\u0000b"}},
        {"external_id": "deep", "email": "d@example.com", "attributes": "DEEP"},
        {"external_id": "amount", "email": "m@example.com", "amount": "1e400"},
        "not an object",
    ]
    body = json.dumps(rows, ensure_ascii=True)  # "\ud800" travels as an escape
    body = body.replace('"DEEP"', '{"k": ' * 5000 + '"x"' + "}" * 5000)  # 5,000 deep
    response = api_as(marketer).post("/api/v1/leads/bulk/", body, content_type="application/json")
    assert response.status_code in (207, 400), response.content[:300]
    if response.status_code == 207:
        refused = {error["index"] for error in response.json()["errors"]}
        assert refused == set(range(1, len(rows)))
        assert Lead.objects.filter(external_id="good-1").exists()


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b"{" * 5000, "application/json"),
        ('{"email": "+AAA-"}'.encode("utf-7"), "application/json; charset=utf-7"),
        (b'{"email": "x\\u0000@example.com"}', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
    ],
)
def test_malformed_bodies_are_400s(api_as, marketer, payload, content_type):
    response = api_as(marketer).post("/api/v1/leads/", payload, content_type=content_type)
    assert response.status_code == 400, response.content[:300]


def test_an_agreement_with_an_absurd_window_is_refused(api_as, manager):
    response = api_as(manager).post(
        "/api/v1/sla/agreements/",
        {"name": "Huge", "effective_from": "2026-01-01", "attempt_window_days": 10**12},
        format="json",
    )
    assert response.status_code == 400
    assert "attempt_window_days" in response.json()["errors"]


def test_an_objective_in_year_32766_is_refused(api_as, manager):
    response = api_as(manager).post(
        "/api/v1/objectives/",
        {"title": "Far", "quarter_start": "32766-01-01", "key_results": []},
        format="json",
    )
    assert response.status_code == 400, response.content[:300]
