"""Shared fixtures: named people, API clients, a real Celery worker and a real browser."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role, Team, User
from accounts.roles import sync_role_groups

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery"


# -- people -------------------------------------------------------------------------------------


def make_user(username: str, role: Role | None, team: Team | None = None, **extra) -> User:
    sync_role_groups()
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        email=f"{username}@example.com",
        first_name=username.replace("_", " ").title(),
        team=team,
        **extra,
    )
    if role is not None:
        user.groups.add(Group.objects.get(name=role.value))
    return user


@pytest.fixture
def sales_team(db):
    return Team.objects.create(name="Sales East", function=Team.Function.SALES)


@pytest.fixture
def other_sales_team(db):
    return Team.objects.create(name="Sales West", function=Team.Function.SALES)


@pytest.fixture
def marketing_team(db):
    return Team.objects.create(name="Marketing", function=Team.Function.MARKETING)


@pytest.fixture
def rep(sales_team):
    return make_user("rep", Role.SALES, sales_team, time_zone="America/New_York")


@pytest.fixture
def other_rep(sales_team):
    return make_user("other_rep", Role.SALES, sales_team, time_zone="America/New_York")


@pytest.fixture
def outsider_rep(other_sales_team):
    return make_user("outsider_rep", Role.SALES, other_sales_team)


@pytest.fixture
def marketer(marketing_team):
    return make_user("marketer", Role.MARKETING, marketing_team, time_zone="Europe/Paris")


@pytest.fixture
def manager(sales_team):
    user = make_user("manager", Role.MANAGER, sales_team, time_zone="America/New_York")
    sales_team.manager = user
    sales_team.save(update_fields=["manager"])
    return user


@pytest.fixture
def admin_user(db):
    return make_user("admin", Role.ADMIN, is_staff=True, is_superuser=True)


# -- API clients --------------------------------------------------------------------------------


@pytest.fixture
def api():
    """An anonymous API client; `api_as(user)` gives one authenticated by token."""
    return APIClient()


@pytest.fixture
def api_as():
    def _client(user: User) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return _client


# -- a real Celery worker -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real `celery worker` process on this run's own queue, using the test database.

    Tests that use it must be `django_db(transaction=True)` so the worker sees their rows.
    """
    from django.db import connection

    from smarketing.celery import app

    # The test database on the server the suite runs on (make test's embedded one: no
    # password, 127.0.0.1, a port of its own).
    settings_dict = connection.settings_dict
    credentials = quote(settings_dict["USER"] or "postgres", safe="")
    if settings_dict.get("PASSWORD"):
        credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
    address = settings_dict["HOST"] or "127.0.0.1"
    if settings_dict["PORT"]:
        address += f":{settings_dict['PORT']}"
    database_url = f"postgres://{credentials}@{address}/{settings_dict['NAME']}"
    queue = app.conf.task_default_queue
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smarketing.test_settings",
        "DATABASE_URL": database_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    env.pop("TEST_DATABASE_NAME", None)
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"celery-worker-{os.getpid()}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "smarketing",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--pool=prefork",
            "-Q",
            queue,
            "-n",
            f"test-{uuid.uuid4().hex[:8]}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        from smarketing.tasks import ping

        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"The Celery worker exited; see {log.name}")
            try:
                ping.apply_async(args=["ready"], queue=queue).get(timeout=5)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# -- a real browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is required for browser tests and is missing at {CHROMIUM}.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page):
    """Log a user in through the real login form."""

    def _login(user: User):
        page.goto("/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    return _login


@pytest.fixture
def artifact_path():
    ARTIFACTS.mkdir(exist_ok=True)

    def _path(name: str) -> Path:
        return ARTIFACTS / name

    return _path


@pytest.fixture
def cache_unreachable(settings):
    """The cache pointed at a local port nothing listens on (a real refused connection),
    with the dashboard's cache on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.DASHBOARD_CACHE_SECONDS = 60
