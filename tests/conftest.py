"""Shared fixtures: named people, API clients, a real Celery worker and a real browser."""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from playwright.sync_api import Error as PlaywrightError
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


# -- domain events ------------------------------------------------------------------------------


@pytest.fixture
def published():
    """`published(*topics)` starts listening to events of `topics` (in the publisher's
    transaction) and answers the list they arrive in, as `core.events.Event`s."""
    from core import subscriptions

    seen: list = []
    names: list[str] = []

    def _listen(*topics: str) -> list:
        name = f"tests.listener.{len(names)}"
        subscriptions.subscribe(*topics, name=name, handler=seen.extend, in_transaction=True)
        names.append(name)
        return seen

    yield _listen
    for name in names:
        subscriptions.unsubscribe(name)


# -- a real Celery worker -----------------------------------------------------------------------


class Worker:
    """A real `celery worker` process (prefork, two children unless told) serving this run's
    queues on the test database. `kill()` sends SIGKILL to the worker and its children at once (a
    machine losing power); `start()` starts a fresh one. `env` adds to its environment;
    `queues` (names without this run's prefix, e.g. ["sla", "celery"]) makes it a worker of
    those queues only, as in production, and `concurrency` sets its children."""

    def __init__(
        self,
        database_url: str,
        env: dict | None = None,
        *,
        queues: list[str] | None = None,
        concurrency: int = 2,
    ):
        from django.conf import settings

        from smarketing.celery import app

        default = app.conf.task_default_queue
        if queues is None:
            names = list(settings.WORKER_QUEUES)
        else:
            names = [
                default if name == "celery" else settings.CELERY_QUEUE_PREFIX + name
                for name in queues
            ]
        self.queue = default
        # Where it is asked for a sign of life: a queue it serves.
        self.ready_queue = names[0]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "smarketing.test_settings",
            "DATABASE_URL": database_url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_QUEUE_PREFIX": settings.CELERY_QUEUE_PREFIX,
            **(env or {}),
        }
        self.env.pop("TEST_DATABASE_NAME", None)
        self.queues = ",".join(names)
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None
        self.log = None

    def start(self, *, wait: bool = True) -> "Worker":
        """Start the process; with `wait`, return once it answers (see `ready`)."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = open(ARTIFACTS / f"celery-worker-{os.getpid()}.log", "a")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "smarketing",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={self.concurrency}",
                "--pool=prefork",
                "-Q",
                self.queues,
                "-n",
                f"test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.ready() if wait else self

    def ready(self) -> "Worker":
        """Wait (a minute at most) until the worker answers a ping on one of its queues."""
        from smarketing.tasks import ping

        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"The Celery worker exited; see {self.log.name}")
            try:
                ping.apply_async(args=["ready"], queue=self.ready_queue).get(timeout=5)
                return self
            except Exception:
                if time.monotonic() > deadline:
                    raise

    def kill(self) -> None:
        """SIGKILL the worker and its pool children, and wait until they are gone."""
        import signal

        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None
        if self.log:
            self.log.close()


def tests_database_url() -> str:
    """The test database on the server the suite runs on (make test's embedded one: no
    password, 127.0.0.1, a port of its own)."""
    from django.db import connection

    settings_dict = connection.settings_dict
    credentials = quote(settings_dict["USER"] or "postgres", safe="")
    if settings_dict.get("PASSWORD"):
        credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
    address = settings_dict["HOST"] or "127.0.0.1"
    if settings_dict["PORT"]:
        address += f":{settings_dict['PORT']}"
    return f"postgres://{credentials}@{address}/{settings_dict['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker (see `Worker`) for the whole run. Tests that use it must be
    `django_db(transaction=True)` so the worker sees their rows. Claims of webhook
    deliveries expire a second after their request's timeout, so a test of a killed worker
    does not wait half a minute."""
    worker = Worker(tests_database_url(), env={"WEBHOOKS_CLAIM_MARGIN": "1"}).start()
    try:
        yield worker
    finally:
        worker.stop()


def worker_idle(timeout: float = 30.0) -> None:
    """Drop what waits in this run's queues and wait until the worker runs nothing, so a
    test that used the worker ends with it idle (a reaction it was still running would hold
    locks against the next test's database flush)."""
    from smarketing.celery import app

    app.control.purge()
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        active = app.control.inspect(timeout=1).active() or {}
        if not any(active.values()):
            quiet += 1
            if quiet == 2:
                return
        else:
            quiet = 0
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def _worker_idle_after_test(request):
    uses_worker = "celery_worker" in request.fixturenames
    if uses_worker:
        # Set up (or found set up) before this fixture: torn down after the wait below.
        request.getfixturevalue("transactional_db")
    yield
    if uses_worker:
        worker_idle()


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


# What a strict Content-Security-Policy allows: script files from the site, nothing inline,
# no eval (so no inline <script>, no on*= handlers, no javascript: URLs, no hx-on).
STRICT_CSP = settings.CONTENT_SECURITY_POLICY  # the policy the app sends with every page


@pytest.fixture
def strict_csp(page):
    """Serve every response to `page` with STRICT_CSP; returns the list of console errors
    and uncaught page errors (a blocked script shows up there)."""
    errors: list[str] = []

    def with_policy(route):
        # A request still in flight when the test ends (the favicon) meets a closed context.
        try:
            response = route.fetch(max_redirects=0)
            route.fulfill(
                response=response,
                headers={**response.headers, "content-security-policy": STRICT_CSP},
            )
        except PlaywrightError:
            pass

    page.context.route("**/*", with_policy)
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield errors
    page.context.unroute_all(behavior="ignoreErrors")


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


@pytest.fixture
def role_people(rep, marketer, manager, admin_user):
    """One user per role the policy tables name, Integrations alone and beside a manager."""
    integrator = make_user("integrator_manager", Role.MANAGER)
    integrator.groups.add(Group.objects.get(name=Role.INTEGRATIONS.value))
    return {
        "rep": rep,
        "marketer": marketer,
        "manager": manager,
        "manager with Integrations": integrator,
        "Integrations only": make_user("operator", Role.INTEGRATIONS),
        "admin": admin_user,
    }
