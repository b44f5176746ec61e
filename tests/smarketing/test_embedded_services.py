"""`make test` runs on its own embedded servers, never on the machine's PostgreSQL or Redis.

Only a run given TEST_DATABASE_URL / TEST_REDIS_URL (existing servers) skips these, and CI
must not be given them: there a skip would hide that the suite ran elsewhere.
"""

import os
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from smarketing.celery import app

pytestmark = pytest.mark.django_db


def _unless_given(variable: str) -> None:
    if os.environ.get(variable):
        if os.environ.get("CI"):
            pytest.fail(f"CI runs on embedded servers, and {variable} is set.")
        pytest.skip(f"{variable} names an existing server")


def _services_dir() -> Path:
    directory = os.environ.get("SMARKETING_SERVICES_DIR")
    assert directory, "pytest was not started by `make test` (scripts/services.py scratch)"
    return Path(directory).resolve()


def _show(setting: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {setting}")
        return cursor.fetchone()[0]


def test_the_test_database_is_on_the_embedded_postgresql_18_of_this_run():
    _unless_given("TEST_DATABASE_URL")
    assert int(_show("port")) != 5432
    assert _show("server_version").startswith("18.")
    assert Path(_show("data_directory")).resolve() == _services_dir() / "postgres"
    assert connection.settings_dict["HOST"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("role", "url", "database"),
    [
        ("broker", settings.CELERY_BROKER_URL, 14),
        ("cache", settings.CACHES["default"]["LOCATION"], 15),
    ],
)
def test_the_broker_and_the_cache_are_the_embedded_valkey_of_this_run(role, url, database):
    _unless_given("TEST_REDIS_URL")
    client = redis.Redis.from_url(url)
    try:
        server = client.info("server")
        assert server.get("server_name") == "valkey", role
        assert str(server["valkey_version"]).startswith("8."), role
        assert int(server["tcp_port"]) != 6379, role
        assert Path(client.config_get("dir")["dir"]).resolve() == _services_dir() / "valkey"
        assert client.connection_pool.connection_kwargs["db"] == database
    finally:
        client.close()
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
