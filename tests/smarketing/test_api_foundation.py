import pytest
import yaml
from openapi_spec_validator import validate

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_token_is_issued_for_the_right_password(api, rep):
    response = api.post(
        "/api/v1/auth/token/", {"username": "rep", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_a_wrong_password_is_a_clear_400(api, rep):
    response = api.post(
        "/api/v1/auth/token/", {"username": "rep", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "Unable to log in" in body["errors"]["non_field_errors"][0]


def test_a_missing_field_names_the_field(api):
    response = api.post("/api/v1/auth/token/", {"username": "rep"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["password"] == ["This field is required."]


def test_a_bad_token_is_a_401(api):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/v1/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "code": "authentication_failed"}


def test_no_credentials_is_a_401(api):
    response = api.get("/api/v1/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_token_authenticates_as_its_user(api_as, rep):
    response = api_as(rep).get("/api/v1/")
    assert response.status_code == 200


def test_an_unknown_api_url_is_a_json_404(api_as, rep):
    response = api_as(rep).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_an_unknown_page_is_a_product_404(client, rep):
    client.force_login(rep)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_a_malformed_json_body_is_a_400(api):
    response = api.post(
        "/api/v1/auth/token/", data='{"username": "rep", ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "JSON parse error" in response.json()["detail"]


def test_the_schema_is_valid_openapi_3(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    spec = yaml.safe_load(response.content)
    assert spec["openapi"].startswith("3.")
    validate(spec)
    assert "/api/v1/auth/token/" in spec["paths"]


def test_the_api_docs_use_local_assets_only(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200
