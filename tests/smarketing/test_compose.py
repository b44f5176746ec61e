"""The shipped compose file: the engines of `make run`, a worker for every queue, HTTPS on
by default, the optional replica. (No container runs here; the file is read as data.)"""

import re

import yaml
from django.conf import settings

from smarketing.settings import BASE_DIR

COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_the_same_engine_majors_as_make_run():
    assert SERVICES["postgres"]["image"] == "postgres:18"
    assert SERVICES["postgres-replica"]["image"] == "postgres:18"
    assert SERVICES["redis"]["image"] == "valkey/valkey:8"


def test_every_queue_has_workers_of_its_own():
    served = set()
    for service in SERVICES.values():
        command = service.get("command") or ""
        if isinstance(command, str) and "worker" in command:
            served |= set(re.search(r"-Q (\S+)", command).group(1).split(","))
    assert served == {*settings.QUEUE_NAMES, "celery"}  # "celery": unrouted tasks


def test_https_and_secure_cookies_are_on_unless_turned_off():
    environment = SERVICES["web"]["environment"]
    assert environment["SECURE_SSL_REDIRECT"] == "${SECURE_SSL_REDIRECT:-true}"
    assert environment["SECURE_COOKIES"] == "${SECURE_COOKIES:-true}"


def test_the_replica_is_optional_and_named_to_the_app():
    assert SERVICES["postgres-replica"]["profiles"] == ["replica"]
    assert "DATABASE_REPLICA_URL" in SERVICES["web"]["environment"]
