import os
import subprocess
import sys

import pytest
from django.core.management import call_command

from accounts.models import User
from smarketing.settings import BASE_DIR

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "cache": "ok"},
    }


CACHE_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def test_with_the_cache_down_healthz_says_degraded_and_the_api_still_answers(
    client, settings, api_as, marketer
):
    settings.CACHES = CACHE_DOWN
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["checks"]["cache"].startswith("error")
    # Throttling reads the cache on every API call: it lets the call through instead.
    api = api_as(marketer)
    assert api.get("/api/v1/leads/").status_code == 200
    created = api.post("/api/v1/leads/", {"email": "cache-down@example.com"}, format="json")
    assert created.status_code == 201, created.json()
    client.force_login(marketer)
    assert client.get("/").status_code == 200  # the dashboard computes instead of caching


def test_healthz_is_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error")


def test_pages_need_a_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_dashboard_shell_has_the_navigation(client, rep):
    client.force_login(rep)
    html = client.get("/").content.decode()
    for label in ("Dashboard", "Leads", "Personas", "Goals", "SLA", "Reports"):
        assert f"</i> {label}</a>" in html
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html
    assert "/static/vendor/htmx/htmx.min.js" in html
    assert "/static/vendor/chart.js/chart.umd.min.js" in html


def test_front_end_assets_are_served_locally(client):
    for path in (
        "/static/vendor/bootstrap/css/bootstrap.min.css",
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/chart.js/chart.umd.min.js",
        "/static/vendor/bootstrap-icons/bootstrap-icons.min.css",
    ):
        assert client.get(path).status_code == 200, path


def test_seed_demo_is_idempotent():
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    users = User.objects.count()
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert User.objects.count() == users == 5
    manager = User.objects.get(username="manager")
    assert manager.has_role("Manager")
    assert manager.check_password("smarketing-demo")


def test_deploy_checks_are_clean_with_production_settings():
    test_only = {"DJANGO_ALLOW_ASYNC_UNSAFE", "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "DEBUG"}
    env = {
        **{key: value for key, value in os.environ.items() if key not in test_only},
        "DJANGO_SETTINGS_MODULE": "smarketing.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 30 + "production-like-secret-key-" + "y" * 30,
        "ALLOWED_HOSTS": "smarketing.example.com",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_healthz_answers_a_probe_that_addresses_the_server_by_its_ip(client, settings):
    """Container and load-balancer probes ask `http://127.0.0.1:8000/healthz`: the Host is
    the address, not a site name in ALLOWED_HOSTS, and over plain HTTP. The health check
    answers it; every other page still refuses a Host that is not the site's."""
    settings.ALLOWED_HOSTS = ["crm.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
    assert client.get("/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    assert client.get("/healthz/", HTTP_HOST="127.0.0.1:8000").status_code == 400
