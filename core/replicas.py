"""Reads that may be served by a PostgreSQL replica, and the writes that keep them honest.

With `DATABASE_REPLICA_URL` set, the settings add a `replica` database. Nothing reads from it
unless the code asks: reports, exports and replays run inside `replica_reads()` (or the
`replica_view` decorator), and everything else — every write, every read in a transaction,
every page a person edits from — stays on the primary.

Read-your-writes: a replica lags its primary by a moment, so a person who just changed
something must not read a report that does not show it yet. A request that writes (any
method but GET, HEAD and OPTIONS) reads from the primary throughout, and marks its user as
"wrote at"; that user's reads stay on the primary for `DATABASE_REPLICA_LAG_SECONDS` (5 by
default). The mark lives in the cache; when the cache cannot be read, reads go to the
primary (slower, never stale).
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections

from core.caching import cache_get_many, cache_set_many

REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_reading: ContextVar[bool] = ContextVar("replica_reading", default=False)
_request: ContextVar[object | None] = ContextVar("replica_request", default=None)


def configured() -> bool:
    return REPLICA in settings.DATABASES


def lag_seconds() -> float:
    return float(getattr(settings, "DATABASE_REPLICA_LAG_SECONDS", 5))


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside may go to the replica (when one is configured and nothing pins the
    primary)."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def replica_view(view: Callable) -> Callable:
    """A view (function or DRF action) whose reads may go to the replica."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped


def _wrote_key(user_id: int) -> str:
    return f"replica:wrote:{user_id}"


def _pinned_by_request(request) -> bool:
    """Whether this request must read from the primary: it writes, or its user wrote less
    than the lag ago (asked once per request)."""
    cached = getattr(request, "_primary_pinned", None)
    if cached is not None:
        return cached
    pinned = request.method not in SAFE_METHODS
    user = getattr(request, "user", None)
    if not pinned and user is not None and user.is_authenticated:
        key = _wrote_key(user.pk)
        found = cache_get_many([key])
        if not found and not _cache_answers():
            pinned = True  # the mark cannot be read: stay on the primary
        else:
            pinned = float(found.get(key, 0)) > time.time()
    request._primary_pinned = pinned
    return pinned


def _cache_answers() -> bool:
    try:
        cache.get("replica:probe")
    except Exception:  # noqa: BLE001 - any backend failure means "cannot tell"
        return False
    return True


def reads_database() -> str | None:
    """The alias reads go to now, or None for the default."""
    if not _reading.get() or not configured():
        return None
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return None  # a transaction reads what it wrote
    request = _request.get()
    if request is not None and _pinned_by_request(request):
        return None
    return REPLICA


def read_alias() -> str:
    """The alias to pin a lazy read to (a streamed export is read after its view returns)."""
    return reads_database() or DEFAULT_DB_ALIAS


class ReplicaRouter:
    """Writes and migrations go to the primary; reads go to the replica only as above."""

    def db_for_read(self, model, **hints):
        return reads_database()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


class ReadYourWritesMiddleware:
    """Makes the request known to the router, and marks a user who wrote."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        if request.method not in SAFE_METHODS and configured():
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                until = time.time() + lag_seconds()
                cache_set_many({_wrote_key(user.pk): until}, timeout=int(lag_seconds()) + 1)
        return response
