"""A JSON body is bounded as a whole request (core.bounds): one nested too deep or too large
is a 400 that says so before any field looks at it, on every JSON endpoint."""

import json

import pytest

from core import bounds
from leads.models import Lead

pytestmark = pytest.mark.django_db


def nested(depth: int) -> str:
    """`{"email": ..., "attributes": {"k": {"k": ... "x"}}}` with `depth` levels in all."""
    inner = '{"k": ' * (depth - 2) + '"x"' + "}" * (depth - 2)
    return '{"email": "deep@example.com", "attributes": ' + inner + "}"


@pytest.mark.parametrize("depth", [bounds.MAX_REQUEST_JSON_DEPTH + 1, 1_000, 100_000])
def test_a_body_nested_too_deep_is_a_400_that_says_so(api_as, marketer, depth):
    response = api_as(marketer).post(
        "/api/v1/leads/", nested(depth), content_type="application/json"
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json() == {
        "detail": f"JSON nested more than {bounds.MAX_REQUEST_JSON_DEPTH} levels deep.",
        "code": "parse_error",
    }
    assert not Lead.objects.exists()


def test_a_list_nested_too_deep_is_refused_on_the_bulk_endpoint_too(api_as, marketer):
    body = "[" * 5_000 + "]" * 5_000
    response = api_as(marketer).post("/api/v1/leads/bulk/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_body_larger_than_the_bound_is_a_400_that_says_so(api_as, marketer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default, kept by the product
    body = json.dumps({"email": "big@example.com", "company": "x" * 2_621_440})
    response = api_as(marketer).post("/api/v1/leads/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request body is larger than 2.5 MiB.",
        "code": "too_large",
    }
    assert not Lead.objects.exists()


def test_the_parser_bounds_the_size_of_the_body_it_reads(settings):
    """The size is checked again where the JSON is read, for a body no middleware read."""
    import io

    from rest_framework.exceptions import ParseError

    from core.parsers import JSONParser

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    with pytest.raises(ParseError, match="The request body is larger than"):
        JSONParser().parse(io.BytesIO(b'["' + b"x" * 2000 + b'"]'))
    assert JSONParser().parse(io.BytesIO(b'["x"]')) == ["x"]


def test_nesting_within_the_bound_reaches_the_field_check(api_as, marketer):
    """Deeper than a JSON field allows but within the request's bound: the field's own
    message, on the field."""
    response = api_as(marketer).post(
        "/api/v1/leads/", nested(bounds.MAX_JSON_DEPTH + 5), content_type="application/json"
    )
    assert response.status_code == 400
    assert "attributes" in response.json()["errors"]


def test_a_body_within_the_bounds_is_saved(api_as, marketer):
    response = api_as(marketer).post(
        "/api/v1/leads/", nested(bounds.MAX_JSON_DEPTH), content_type="application/json"
    )
    assert response.status_code == 201, response.content[:300]
    assert Lead.objects.get().attributes["k"]["k"]


def test_non_finite_numbers_and_bad_encodings_stay_parse_errors(api_as, marketer):
    client = api_as(marketer)
    for body in (b'{"email": "n@example.com", "amount": NaN}', b'{"email": "\xff\xfe"}'):
        response = client.post("/api/v1/leads/", body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"
