"""Benchmarks of scale: how cost grows with the number of leads, peak memory, and pages
under concurrent clients.

One scratch database (`bench.common.scratch_database`) is filled with
`bench.data` in three steps (default 100k → 300k → 1M leads; small 5k → 10k →
20k; tiny 300 → 600, only to check that it runs), and at each size:

- the SLA sweep over a fixed backlog of due clocks (10,000; small 1,000; tiny 50) against
  one hand-written `UPDATE … RETURNING` over the same rows: the sweep must stay flat when
  only the number of leads grows. The backlog is made from clocks that were closed (as
  after a sweep outage: pending, warned, first touch overdue by a minute, window open) and
  put back afterwards;
- the live cohort funnel of the last quarter by source against the hand-written aggregate
  of `bench.reporting`;
- peak resident memory of `bench_data`, the sweep, the snapshot roll-up and the CSV export
  of all leads, each in a child process of its own (the export is consumed as a stream
  through Django's test client).

At the largest size, the shared dashboard and a rep's queue are driven through gunicorn
(started here on a free local port) by 20 concurrent clients, against a static file
through the same server as the baseline.

    python -m bench.scale [--scale small|tiny]
    python -m bench.scale child <task> …   (used by the parent; prints one JSON line)
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

from bench.common import (
    ROOT,
    best_of,
    child_env,
    peak_memory_kib,
    percentile,
    run_child,
    scratch_database,
    setup_django,
)

SCALES = ("tiny", "small", "default")
SIZES = {"tiny": (300, 600), "small": (5_000, 10_000, 20_000)}
DEFAULT_SIZES = (100_000, 300_000, 1_000_000)
DUE = {"tiny": 50, "small": 1_000}
DEFAULT_DUE = 10_000
CLIENTS = 20
REQUESTS_PER_CLIENT = {"tiny": 2, "small": 1}
SOLO_REQUESTS = {"tiny": 3, "small": 3}
DEFAULT_SOLO_REQUESTS = 10
# Which sizes (positions in SIZES) measure the roll-up's and the export's memory.
ROLL_UP_AT = {"tiny": (-1,), "small": (0,)}
EXPORT_AT = {"tiny": (-1,), "small": (-1,)}
DEFAULT_REQUESTS_PER_CLIENT = 15
LOAD_SECONDS = 60  # a page phase stops after this long, whatever is left
GUNICORN_WORKERS = 4
MIB = 1024


def run(scale: str = "default") -> list[dict]:
    setup_django()
    sizes = SIZES.get(scale, DEFAULT_SIZES)
    due = DUE.get(scale, DEFAULT_DUE)
    curve: list[dict] = []
    with scratch_database() as url:
        loaded = 0
        for size in sizes:
            point = {"leads": size}
            arguments = ["-m", "bench.scale", "child", "bench_data", "--leads", str(size - loaded)]
            if loaded:
                arguments.append("--append")
            point["bench_data"] = run_child(arguments, url)
            loaded = size
            point["sweep"] = run_child(
                ["-m", "bench.scale", "child", "sweep", "--due", str(due)], url
            )
            point["funnel"] = _funnel_live()
            # Memory of the roll-up and the export at two sizes (fewer where only speed of
            # the whole run matters: the full roll-up takes about a minute per 100k leads).
            position = sizes.index(size)
            if position in [p % len(sizes) for p in ROLL_UP_AT.get(scale, (-2, -1))]:
                point["roll_up"] = run_child(["-m", "bench.scale", "child", "roll_up"], url)
            if position in [p % len(sizes) for p in EXPORT_AT.get(scale, (-2, -1))]:
                point["export"] = run_child(["-m", "bench.scale", "child", "export"], url)
            curve.append(point)
            print(f"  scale: {size:,} leads measured", file=sys.stderr, flush=True)
        idle = run_child(["-m", "bench.scale", "child", "idle"], url)
        pages = _pages_under_load(url, scale, settled=_settle())
    return _rows(curve, pages, idle, due)


# -- measurements in this process ---------------------------------------------------------------


def _funnel_live() -> dict:
    from bench.reporting import hand_written, last_quarter, live_cohort_by_source

    start, end = last_quarter()
    live_seconds, report = best_of(lambda: live_cohort_by_source(start, end))
    sql_seconds, rows = best_of(lambda: hand_written(start, end))
    return {
        "live_ms": live_seconds * 1000,
        "sql_ms": sql_seconds * 1000,
        "cohort": report.total.counts["lead"],
        "agree": report.total.counts["lead"] == sum(row[1] for row in rows),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _session_cookie(user) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _settle() -> float:
    """Vacuum and analyze the database before the pages are measured, as a server that has
    been up a while is: the loads, sweeps and roll-ups before leave dead rows and stale
    statistics, and autovacuum working through them on one of the two cores while 20
    clients are served measures the vacuum, not the pages. Answers the seconds it took."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - began


def _pages_under_load(url: str, scale: str, *, settled: float | None = None) -> dict:
    """p50/p95 of the dashboard, a rep's queue and a static file, 20 clients through gunicorn."""
    from django.db.models import Count, Q

    from accounts.models import User

    manager = User.objects.get(username="bench-manager-1")
    rep = (
        User.objects.filter(username__startswith="bench-rep-")
        .annotate(
            open_clocks=Count(
                "sla_clocks",
                filter=Q(sla_clocks__closed_at__isnull=True, sla_clocks__exhausted_at__isnull=True),
            )
        )
        .order_by("-open_clocks")
        .first()
    )
    open_clocks = rep.open_clocks
    cookies = {"manager": _session_cookie(manager), "rep": _session_cookie(rep)}
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "smarketing.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(GUNICORN_WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        # The served pages run with the production dashboard cache (the test settings,
        # loaded by this process too, turn it off).
        env={**child_env(url), "DASHBOARD_CACHE_SECONDS": "60"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_serving(port, server)
        requests = REQUESTS_PER_CLIENT.get(scale, DEFAULT_REQUESTS_PER_CLIENT)
        phases = {
            "static": ("/static/css/app.css", cookies["rep"]),
            "dashboard": ("/", cookies["manager"]),
            "queue": ("/sla/", cookies["rep"]),
        }
        results = {}
        for name, (path, cookie) in phases.items():
            # Warm every worker (templates compiled, connections open, as in a server that
            # has been up a while): concurrent requests, since one client at a time is
            # mostly answered by the same idle worker.
            _load(port, path, cookie, 3, clients=GUNICORN_WORKERS * 2)
            results[name] = _load(port, path, cookie, requests)
            # The same page for one client alone: its service time, without queueing.
            results[name]["alone"] = _load(
                port, path, cookie, SOLO_REQUESTS.get(scale, DEFAULT_SOLO_REQUESTS), clients=1
            )
        results["queue_rows"] = open_clocks
        results["settled_seconds"] = settled
        return results
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_serving(port: int, server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {server.stderr.read().decode()[-2000:]}")
        try:
            status, _ = _get(port, "/healthz", "")
            if status in (200, 503):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def _get(port: int, path: str, cookie: str) -> tuple[int, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Host": "localhost", "Cookie": cookie} if cookie else {"Host": "localhost"}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, len(response.read())
    finally:
        connection.close()


def _load(port: int, path: str, cookie: str, requests: int, clients: int = CLIENTS) -> dict:
    timings: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + LOAD_SECONDS

    def client() -> None:
        for _ in range(requests):
            if time.monotonic() > stop_at:
                return
            began = time.perf_counter()
            try:
                status, _size = _get(port, path, cookie)
            except OSError:
                status = 0
            elapsed = time.perf_counter() - began
            with lock:
                timings.append(elapsed)
                if status != 200:
                    failures.append(status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {
        "p50_ms": percentile(timings, 0.50) * 1000,
        "p95_ms": percentile(timings, 0.95) * 1000,
        "requests": len(timings),
        "per_second": len(timings) / wall if wall else None,
        "failures": len(failures),
        "statuses": sorted(set(failures))[:5],
    }


# -- result rows --------------------------------------------------------------------------------


def _mib(kib) -> float | None:
    return round(kib / MIB, 1) if kib else None


def _rows(curve: list[dict], pages: dict, idle: dict, due: int) -> list[dict]:
    largest, smallest = curve[-1], curve[0]
    sizes = " → ".join(f"{point['leads']:,}" for point in curve)
    sweep_curve = "; ".join(
        f"{p['leads']:,} leads: {p['sweep']['sweep_ms']:,.0f} ms "
        f"(UPDATE {p['sweep']['update_ms']:,.0f} ms, {p['sweep']['clocks']:,} clocks)"
        for p in curve
    )
    funnel_curve = "; ".join(
        f"{p['leads']:,} leads: {p['funnel']['live_ms']:,.0f} ms "
        f"(SQL {p['funnel']['sql_ms']:,.0f} ms)"
        for p in curve
    )
    generated = sum(p["bench_data"]["leads"] for p in curve)
    generate_seconds = sum(p["bench_data"]["elapsed"] for p in curve)
    rows = [
        {
            "benchmark": f"bench_data: {largest['leads']:,} leads over two years",
            "figure": generated / generate_seconds,
            "unit": "leads/s",
            "baseline": None,
            "baseline_label": "",
            "ratio": None,
            "target": "1,000,000 leads in a few minutes",
            "notes": (
                f"in steps {sizes}: "
                + "; ".join(
                    f"+{p['bench_data']['leads']:,} in {p['bench_data']['elapsed']:.0f} s"
                    for p in curve
                )
                + f". At {largest['leads']:,} leads: {largest['bench_data']['rows']}."
            ),
        },
        {
            "benchmark": f"sla sweep: {due:,} due among {largest['leads']:,} leads (growth)",
            "figure": largest["sweep"]["sweep_ms"],
            "unit": "ms",
            "baseline": largest["sweep"]["update_ms"],
            "baseline_label": "one hand-written UPDATE … RETURNING",
            "ratio": largest["sweep"]["sweep_ms"] / largest["sweep"]["update_ms"],
            "target": "≤ 2× baseline; flat as leads grow",
            "notes": (
                f"curve: {sweep_curve}; {largest['sweep']['clocks_total']:,} clocks in all at "
                f"the largest size; growth of the sweep from the smallest to the largest size: "
                f"{largest['sweep']['sweep_ms'] / smallest['sweep']['sweep_ms']:.2f}×."
            ),
        },
        {
            "benchmark": f"funnel live, cohort by source, one quarter, {largest['leads']:,} leads",
            "figure": largest["funnel"]["live_ms"],
            "unit": "ms",
            "baseline": largest["funnel"]["sql_ms"],
            "baseline_label": "one hand-written SQL aggregate",
            "ratio": largest["funnel"]["live_ms"] / largest["funnel"]["sql_ms"],
            "target": "≤ 2× baseline",
            "notes": (
                f"curve: {funnel_curve}; {largest['funnel']['cohort']:,} leads in the cohort; "
                f"counts agree with the hand-written SQL: {largest['funnel']['agree']}; best of 3."
            ),
        },
    ]
    with_export = [p for p in curve if "export" in p]
    for key, label in (
        ("bench_data", "bench_data"),
        ("sweep", "the SLA sweep"),
        ("roll_up", "the snapshot roll-up (full)"),
        ("export", "the CSV export of all leads"),
    ):
        points = [p for p in curve if key in p]
        first, last = points[0], points[-1]
        rows.append(
            {
                "benchmark": f"peak memory of {label}, {last['leads']:,} leads",
                "figure": _mib(last[key]["peak_kib"]),
                "unit": "MiB",
                "baseline": _mib(first[key]["peak_kib"]),
                "baseline_label": f"same at {first['leads']:,} leads",
                "ratio": last[key]["peak_kib"] / first[key]["peak_kib"],
                "target": "≤ 1 GiB; flat as N grows",
                "notes": (
                    "child process, peak resident set (VmHWM); "
                    + "; ".join(
                        f"{p['leads']:,}: {_mib(p[key]['peak_kib'])} MiB "
                        f"in {p[key]['seconds']:.1f} s"
                        for p in points
                    )
                    + f"; an idle Django process peaks at {_mib(idle['peak_kib'])} MiB."
                    + (
                        f" Export: {with_export[-1]['export']['rows']:,} rows, "
                        f"{with_export[-1]['export']['bytes'] / 2**20:,.0f} MiB of CSV, "
                        f"streamed in {with_export[-1]['export']['elapsed']:.1f} s."
                        if key == "export"
                        else ""
                    )
                ),
            }
        )
    static = pages["static"]
    for key, label in (("dashboard", "shared dashboard"), ("queue", "rep queue")):
        page = pages[key]
        extra = f" the rep has {pages['queue_rows']:,} open clocks;" if key == "queue" else ""
        rows.append(
            {
                "benchmark": f"{label} page, {CLIENTS} concurrent clients (gunicorn)",
                "figure": page["p95_ms"],
                "unit": "ms p95",
                "baseline": static["p95_ms"],
                "baseline_label": "a static file through the same server, p95",
                "ratio": page["p95_ms"] / static["p95_ms"] if static["p95_ms"] else None,
                "target": "p95 ≤ 250 ms",
                "notes": (
                    f"p50 {page['p50_ms']:.0f} ms, {page['requests']} requests, "
                    f"one client alone p50 {page['alone']['p50_ms']:.0f} ms, "
                    f"{page['per_second']:.1f}/s, {page['failures']} failed "
                    f"{page['statuses'] or ''};{extra} gunicorn {GUNICORN_WORKERS} sync workers "
                    f"on 127.0.0.1, session cookie, {largest['leads']:,} leads; static p50 "
                    f"{static['p50_ms']:.0f} ms; measured after a VACUUM (ANALYZE) of "
                    f"{pages.get('settled_seconds') or 0:.0f} s."
                ),
            }
        )
    return rows


# -- child tasks (each in a process of its own, so its peak memory is its own) --------------------


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.scale child")
    parser.add_argument("task", choices=["bench_data", "sweep", "roll_up", "export", "idle"])
    parser.add_argument("--leads", type=int, default=0)
    parser.add_argument("--append", action="store_true")
    parser.add_argument("--due", type=int, default=0)
    arguments = parser.parse_args(argv)
    setup_django()
    result = globals()[f"_child_{arguments.task}"](arguments)
    result["peak_kib"] = peak_memory_kib()
    print(json.dumps(result, default=str))


def _child_idle(arguments) -> dict:
    from django.db import connection

    connection.ensure_connection()
    return {}


def _child_bench_data(arguments) -> dict:
    from bench.data import generate_leads

    began = time.perf_counter()
    totals = generate_leads(leads=arguments.leads, append=arguments.append)
    elapsed = time.perf_counter() - began
    return {
        "leads": arguments.leads,
        "elapsed": elapsed,
        "rows": ", ".join(f"{value:,} {name}" for name, value in totals.items()),
    }


# Clocks that were closed become a due backlog: pending, warned, first touch due a minute
# ago, window open, so the sweep's only work is the breaches (as the baseline's).
_MAKE_DUE = """
    UPDATE sla_slaclock SET status = 'pending', first_touch_at = NULL,
        response_business_seconds = NULL, breached_at = NULL, exhausted_at = NULL,
        closed_at = NULL, first_touch_due_at = %(now)s - interval '1 minute',
        warn_at = %(now)s - interval '1 hour', warned_at = %(now)s - interval '1 hour',
        attempt_window_ends_at = %(now)s + interval '15 days'
    WHERE id = ANY(%(ids)s)
"""


def _child_sweep(arguments) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from sla import services

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM sla_slaclock WHERE closed_at IS NOT NULL ORDER BY id LIMIT %s",
            [arguments.due],
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT COUNT(*) FROM sla_slaclock")
        clocks_total = cursor.fetchone()[0]
        cursor.execute(
            "CREATE TEMP TABLE saved_clocks AS SELECT * FROM sla_slaclock WHERE id = ANY(%s)", [ids]
        )
        cursor.execute(
            "CREATE TEMP TABLE saved_records AS "
            "SELECT * FROM sla_slarecord WHERE clock_id = ANY(%s)",
            [ids],
        )
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM accounts_notification")
        last_notification = cursor.fetchone()[0]

    def make_due() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM sla_slarecord WHERE clock_id = ANY(%s)", [ids])
            cursor.execute(_MAKE_DUE, {"now": now, "ids": ids})
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE sla_slaclock")

    sweep_times, update_times = [], []
    breached = returned = 0
    for _ in range(3):
        make_due()
        began = time.perf_counter()
        breached = len(services.clocks_sweep(now=now + dt.timedelta(seconds=1)).breached)
        sweep_times.append(time.perf_counter() - began)
        make_due()
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE sla_slaclock SET status = 'breached', breached_at = %s "
                "WHERE status = 'pending' AND closed_at IS NULL AND first_touch_due_at <= %s "
                "RETURNING id",
                [now, now + dt.timedelta(seconds=1)],
            )
            returned = len(cursor.fetchall())
        update_times.append(time.perf_counter() - began)

    # Put the borrowed clocks back as they were.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM sla_slarecord WHERE clock_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM sla_slaclock WHERE id = ANY(%s)", [ids])
        cursor.execute("INSERT INTO sla_slaclock SELECT * FROM saved_clocks")
        cursor.execute("INSERT INTO sla_slarecord SELECT * FROM saved_records")
        cursor.execute("DELETE FROM accounts_notification WHERE id > %s", [last_notification])
    # `make_due` analysed the table while the borrowed clocks were open: without fresh
    # statistics the planner of the pages measured next believed in 10,000 open clocks.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE sla_slaclock")
    return {
        "clocks": len(ids),
        "clocks_total": clocks_total,
        "breached": breached,
        "returned": returned,
        "sweep_ms": min(sweep_times) * 1000,
        "update_ms": min(update_times) * 1000,
    }


def _child_roll_up(arguments) -> dict:
    from reporting.services import funnel_snapshots_roll_up

    began = time.perf_counter()
    days = funnel_snapshots_roll_up(full=True)
    return {"days": days, "elapsed": time.perf_counter() - began}


def _child_export(arguments) -> dict:
    from django.test import Client

    from accounts.models import User

    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(admin)
    began = time.perf_counter()
    response = client.get("/leads/export.csv", HTTP_HOST="localhost")
    if response.status_code != 200 or not response.streaming:
        raise RuntimeError(
            f"export answered {response.status_code}, streaming={response.streaming}"
        )
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    return {"rows": lines - 1, "bytes": size, "elapsed": time.perf_counter() - began}


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.test_settings")
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        _child(sys.argv[2:])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--scale", default=os.environ.get("SCALE", "default"))
        for row in run(parser.parse_args().scale):
            print(json.dumps(row, indent=2, default=str))
