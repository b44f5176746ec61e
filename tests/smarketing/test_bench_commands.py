"""`make bench` runs: the benchmark commands at a tiny scale write one result row each.

Benchmarks measure and never assert their figures; this only checks that they run and
report. Modules that do not know the tiny scale and are slow at `small` are left out here.
"""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import MODULES, TINY

ROOT = Path(__file__).resolve().parents[2]
QUICK_AT_SMALL = {"business_hours"}


def _runnable_at_tiny() -> list[str]:
    return [
        name
        for name in MODULES
        if name in QUICK_AT_SMALL
        or TINY in getattr(importlib.import_module(f"bench.{name}"), "SCALES", ())
    ]


@pytest.mark.timeout(240)
def test_the_benchmarks_run_at_a_tiny_scale_and_write_one_row_each(tmp_path):
    modules = _runnable_at_tiny()
    assert "scale" in modules
    output = tmp_path / "results.json"
    arguments = [sys.executable, "-m", "bench.run", "--scale", TINY, "--output", str(output)]
    for name in modules:
        arguments += ["--only", name]
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smarketing.test_settings",
        "BENCH_DATABASE_NAME": f"smarketing_bench_test_{os.getpid()}",
    }
    completed = subprocess.run(
        arguments, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=230
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    report = json.loads(output.read_text())
    assert report["scale"] == TINY
    rows = report["results"]
    assert {row["module"] for row in rows} == set(modules)
    failed = [row for row in rows if row.get("figure") is None]
    assert not failed, failed
    names = [row["benchmark"] for row in rows]
    assert len(names) == len(set(names)), "one row per benchmark"
    for row in rows:
        assert row["unit"]
        assert "target" in row and "baseline" in row
    scale_rows = " | ".join(row["benchmark"] for row in rows if row["module"] == "scale")
    for measured in ("bench_data", "sla sweep", "funnel live", "peak memory of the CSV export"):
        assert measured in scale_rows
    assert "rep queue page, 20 concurrent clients" in scale_rows
    # The table is printed too.
    assert "benchmark" in completed.stdout and "target" in completed.stdout


@pytest.mark.timeout(240)
def test_the_load_test_runs_and_no_request_fails_while_cache_and_broker_are_down(tmp_path):
    """`make load` at a tiny size: gunicorn with production settings, a few API clients, the
    Valkey server (cache and broker) killed and started again in the middle: no 5xx, no
    dropped connection, and requests were answered while it was down."""
    output = tmp_path / "load.json"
    arguments = [
        sys.executable, "-m", "bench.load", "--leads", "300", "--clients", "4",
        "--seconds", "14", "--kill-at", "4", "--restart-at", "9", "--output", str(output),
    ]  # fmt: skip
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smarketing.test_settings",
        "BENCH_DATABASE_NAME": f"smarketing_bench_test_{os.getpid()}",
    }
    completed = subprocess.run(
        arguments, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=230
    )
    result = json.loads(output.read_text())
    assert completed.returncode == 0, (result, completed.stderr[-3000:])
    assert result["failures"] == 0
    assert result["cache_and_broker"] == "killed at 4 s, back at 9 s"
    for phase in ("before", "down", "after"):
        answered = result["statuses_by_phase"][phase]
        assert sum(answered.values()) > 0, phase
        assert set(answered) <= {"200", "201"}, (phase, answered)
