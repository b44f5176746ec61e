"""What the benchmarks share: Django set-up, a scratch PostgreSQL database, child processes
whose peak memory is measured, and percentiles.

`make bench` runs them on throw-away embedded PostgreSQL and Valkey servers (with fsync, as
in production), or on the servers named by `TEST_DATABASE_URL` / `TEST_REDIS_URL`
(scripts/services.py). The scratch database (`smarketing_bench`) is created, migrated and
filled with `bench.data` for one run and dropped afterwards, so a development or
test database is never touched. Set `BENCH_KEEP_DATABASE=1` to keep it for a look afterwards,
`BENCH_DATABASE_NAME` to use another name (two runs at once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = os.environ.get("BENCH_DATABASE_NAME", "smarketing_bench")
SETTINGS = "smarketing.test_settings"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def _admin(settings_dict, *statements: str) -> None:
    import psycopg

    with psycopg.connect(
        dbname="postgres",
        user=settings_dict.get("USER") or "postgres",
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or "127.0.0.1",
        port=settings_dict.get("PORT") or None,
        autocommit=True,
    ) as admin:
        for statement in statements:
            admin.execute(statement)


def database_url(settings_dict, name: str) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD")
    credentials = f"{user}:{password}" if password else user
    address = settings_dict.get("HOST") or "127.0.0.1"
    if settings_dict.get("PORT"):
        address += f":{settings_dict['PORT']}"
    return f"postgres://{credentials}@{address}/{name}"


@contextmanager
def scratch_database(name: str | None = None):
    """Create and migrate database `name`, point Django's default connection at it, and
    yield its URL; afterwards point back and drop it."""
    name = name or os.environ.get("BENCH_DATABASE_NAME", BENCH_DATABASE)
    setup_django()
    from django.core.management import call_command
    from django.db import connections

    connection = connections["default"]
    original = connection.settings_dict["NAME"]
    settings_dict = dict(connection.settings_dict)
    connection.close()
    _admin(
        settings_dict,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"',
    )
    connection.settings_dict["NAME"] = name
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield database_url(settings_dict, name)
    finally:
        connections.close_all()
        connection.settings_dict["NAME"] = original
        if not os.environ.get("BENCH_KEEP_DATABASE"):
            _admin(settings_dict, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def child_env(url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
    }


def run_child(arguments: list[str], url: str, *, timeout: float = 3600) -> dict:
    """Run `python <arguments>` against database `url`; answer the JSON object the child
    prints last (children report their own peak resident set, see `peak_memory_kib`) and
    the wall time."""
    began = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=child_env(url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    seconds = time.perf_counter() - began
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed: {completed.stderr.strip()[-2000:]}")
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    return {**json.loads(lines[-1]), "seconds": seconds}


def peak_memory_kib() -> int:
    """This process's peak resident set so far, in KiB.

    Linux's `VmHWM` belongs to the process's own address space, which `exec` replaces; its
    `ru_maxrss` survives `fork` and `exec`, so a child started by a parent that had grown to
    170 MiB reported at least 170 MiB whatever it did itself. `ru_maxrss` (also KiB on
    Linux) only where `/proc` is missing.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def best_of(function, repeats: int = 3):
    """(the fastest of `repeats` calls of `function` in seconds, the last call's result)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        began = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - began)
    return best, result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]
