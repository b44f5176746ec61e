"""Settings for the test suite, on the servers that `make test` starts.

`make test` runs pytest with `DATABASE_URL` and `CELERY_BROKER_URL` pointing at throw-away
embedded PostgreSQL and Valkey servers, or at the servers named by `TEST_DATABASE_URL` and
`TEST_REDIS_URL` (scripts/services.py). The broker is database 14 of the Redis-protocol
server and the cache database 15.
"""

import os

from django.core.exceptions import ImproperlyConfigured

if not (os.environ.get("DATABASE_URL") and os.environ.get("CELERY_BROKER_URL")):
    raise ImproperlyConfigured(
        "The tests run on the servers that `make test` starts: use `make test "
        'PYTEST_ARGS="..."`, or set DATABASE_URL and CELERY_BROKER_URL (redis://host:port/14).'
    )
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("CELERY_RESULT_BACKEND", os.environ["CELERY_BROKER_URL"])
# A queue of this test run's own, so parallel runs and leftovers never cross.
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", f"smarketing-test-{os.getpid()}")
os.environ.setdefault("CELERY_QUEUE_PREFIX", os.environ["CELERY_TASK_DEFAULT_QUEUE"] + "-")
# The cache on the next Redis database: tests that clear the cache (FLUSHDB) must not
# drop the broker's queued messages.
os.environ.setdefault("REDIS_URL", os.environ["CELERY_BROKER_URL"].rsplit("/", 1)[0] + "/15")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# alongside it are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Tests read the dashboard's figures fresh (the cache has a test of its own); a benchmark of
# the served product sets this to the production value.
os.environ.setdefault("DASHBOARD_CACHE_SECONDS", "0")

from smarketing.settings import *  # noqa: E402,F403
from smarketing.settings import STORAGES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK}  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"user": "100000/min", "anon": "100000/min"}
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
