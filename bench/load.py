"""Load test: 50 concurrent API clients for 60 s against gunicorn, with the cache and the
broker killed in the middle and brought back.

The served product runs with its production settings (DEBUG off, real throttling, the cache
and the broker on a Valkey server of this test's own) on a scratch database of 20,000 leads
with their histories. Each client is a manager of its own (a token each, so the per-user
throttle is the product's, not shared) and loops over a mix of reads and writes: the lead
list, a lead, its timeline, the funnel report, the SLA clocks, and an engagement event
recorded (a write whose reactions go through the outbox). At 25 s the Valkey server is
killed (SIGKILL); at 40 s it is started again on the same port. Everything is on 127.0.0.1.

It measures and prints requests per second and the p50/p95/p99 latency, and counts every
answer that is not 2xx: 5xx and connection errors are failures (the target is zero), 4xx
are listed apart. The figures go to bench/load-results.json.

    make load                                    # on throw-away embedded servers
    python -m bench.load --seconds 20 --clients 10   # a quick look
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bench.common import ROOT, percentile, scratch_database, setup_django

RESULTS = Path(__file__).resolve().parent / "load-results.json"
LEADS = 20_000
GUNICORN_WORKERS = 4
KILL_AT, RESTART_AT = 25.0, 40.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--leads", type=int, default=LEADS)
    parser.add_argument("--kill-at", type=float, default=KILL_AT)
    parser.add_argument("--restart-at", type=float, default=RESTART_AT)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    setup_django()
    name = os.environ.get("BENCH_DATABASE_NAME", "smarketing_bench") + "_load"
    with scratch_database(name) as url:
        tokens, lead_ids = _fill(args.clients, args.leads)
        result = _run(
            url,
            tokens,
            lead_ids,
            seconds=args.seconds,
            clients=args.clients,
            outage=(args.kill_at, args.restart_at),
        )
    print(json.dumps(result, indent=2))
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["failures"] == 0 else 1


def _fill(clients: int, leads: int) -> tuple[list[str], list[int]]:
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from accounts.models import Role, User
    from bench import reporting
    from leads.models import Lead

    reporting._generate(leads, 120)
    managers = Group.objects.get(name=Role.MANAGER)
    tokens = []
    for index in range(clients):
        user = User.objects.create_user(f"load-manager-{index}", password=None)
        user.groups.add(managers)
        tokens.append(Token.objects.create(user=user).key)
    lead_ids = list(Lead.objects.order_by("?").values_list("id", flat=True)[:2000])
    return tokens, lead_ids


def _valkey(port: int, data_dir: Path) -> subprocess.Popen:
    sys.path.insert(0, str(ROOT / "scripts"))
    from services import valkey_server_path

    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            str(valkey_server_path()),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            import socket

            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("valkey did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(url, tokens, lead_ids, *, seconds: float, clients: int, outage: tuple[float, float]):
    valkey_port, web_port = _free_port(), _free_port()
    data_dir = ROOT / "var" / f"load-valkey-{os.getpid()}"
    valkey = _valkey(valkey_port, data_dir)
    redis = f"redis://127.0.0.1:{valkey_port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smarketing.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "REDIS_URL": f"{redis}/1",
        "CELERY_BROKER_URL": f"{redis}/0",
        "DEBUG": "false",
        "SECRET_KEY": "load-test-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        # A worker stopped by gunicorn's timeout says where it was.
        "PYTHONFAULTHANDLER": "1",
    }
    log = ROOT / "var" / "load-gunicorn.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "smarketing.wsgi",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--workers",
            str(GUNICORN_WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        _wait_serving(web_port, server, log)
        return _drive(
            web_port, tokens, lead_ids, seconds, clients, valkey_port, data_dir, valkey, outage
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        for process in _valkeys:
            if process.poll() is None:
                process.kill()


_valkeys: list[subprocess.Popen] = []


def _wait_serving(port: int, server, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz", headers={"Host": "localhost"})
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def _requests(rng: random.Random, lead_ids: list[int]) -> tuple[str, str, bytes | None]:
    lead = rng.choice(lead_ids)
    choice = rng.random()
    if choice < 0.25:
        pages = max(1, min(20, len(lead_ids) // 25))  # pages that exist
        return "GET", f"/api/v1/leads/?page_size=25&page={rng.randint(1, pages)}", None
    if choice < 0.45:
        return "GET", f"/api/v1/leads/{lead}/", None
    if choice < 0.60:
        return "GET", f"/api/v1/leads/{lead}/transitions/", None
    if choice < 0.70:
        return "GET", "/api/v1/reports/funnel/?mode=cohort&group_by=source", None
    if choice < 0.80:
        return "GET", "/api/v1/sla/clocks/?page_size=25", None
    occurred = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    body = json.dumps(
        {"type": "pricing_page_view", "occurred_at": occurred, "properties": {"path": "/pricing"}}
    )
    return "POST", f"/api/v1/leads/{lead}/events/", body.encode()


def _drive(port, tokens, lead_ids, seconds, clients, valkey_port, data_dir, valkey, outage):
    kill_at, restart_at = outage
    _valkeys.append(valkey)
    timings: list[float] = []
    statuses: Counter = Counter()
    phases: dict[str, Counter] = {"before": Counter(), "down": Counter(), "after": Counter()}
    lock = threading.Lock()
    began = time.monotonic()
    stop_at = began + seconds

    def phase() -> str:
        elapsed = time.monotonic() - began
        return "before" if elapsed < kill_at else "down" if elapsed < restart_at else "after"

    def client(token: str, seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            method, path, body = _requests(rng, lead_ids)
            headers = {"Host": "localhost", "Authorization": f"Token {token}"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = time.perf_counter() - started
            with lock:
                timings.append(elapsed)
                statuses[status] += 1
                phases[phase()][status] += 1
        connection.close()

    threads = [
        threading.Thread(target=client, args=(token, index), daemon=True)
        for index, token in enumerate(tokens[:clients])
    ]
    for thread in threads:
        thread.start()
    killed = restarted = False
    while any(thread.is_alive() for thread in threads):
        elapsed = time.monotonic() - began
        if not killed and elapsed >= kill_at and seconds > restart_at:
            valkey.send_signal(signal.SIGKILL)
            valkey.wait()
            killed = True
        if killed and not restarted and elapsed >= restart_at:
            _valkeys.append(_valkey(valkey_port, data_dir))
            restarted = True
        time.sleep(0.1)
    wall = time.monotonic() - began
    failures = sum(count for status, count in statuses.items() if status == 0 or status >= 500)
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": len(timings),
        "per_second": round(len(timings) / wall, 1),
        "p50_ms": round(percentile(timings, 0.50) * 1000, 1),
        "p95_ms": round(percentile(timings, 0.95) * 1000, 1),
        "p99_ms": round(percentile(timings, 0.99) * 1000, 1),
        "failures": failures,
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "cache_and_broker": (
            f"killed at {kill_at:.0f} s, back at {restart_at:.0f} s" if killed else "not killed"
        ),
        "statuses_by_phase": {
            name: {str(status): count for status, count in sorted(counts.items())}
            for name, counts in phases.items()
        },
        "gunicorn_workers": GUNICORN_WORKERS,
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    sys.exit(main())
