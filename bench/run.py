"""Run every benchmark and print one table; also write bench/results.json.

Each module `bench/<name>.py` exposes `run(scale: str) -> list[dict]` with rows shaped
`{"benchmark", "figure", "unit", "baseline", "baseline_label", "ratio", "target", "notes"}`.
Benchmarks measure; they never assert. A module that fails is reported as a row with its
error, and the run goes on with the others.

    python -m bench.run --scale small        # a quick look
    python -m bench.run                      # the default scale (one million leads)
    python -m bench.run --only business_hours
    python -m bench.run --scale tiny --output /tmp/results.json   # only checks that they run
"""

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from django.utils import timezone

MODULES = ("business_hours", "leads", "definitions", "sla", "reporting", "scale")
# `tiny` only checks that the benchmarks run (the test suite uses it). A module that does not
# list it in its `SCALES` runs at `small` instead.
TINY = "tiny"
RESULTS = Path(__file__).resolve().parent / "results.json"


def _format(value, unit="") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text} {unit}".strip()


def print_table(rows: list[dict]) -> None:
    headers = ("benchmark", "figure", "baseline", "ratio", "target")
    table = [
        (
            row.get("benchmark", "?"),
            _format(row.get("figure"), row.get("unit", "")),
            _format(row.get("baseline"), row.get("unit", ""))
            + (f" ({row['baseline_label']})" if row.get("baseline_label") else ""),
            _format(row.get("ratio")) + ("×" if row.get("ratio") is not None else ""),
            row.get("target") or "—",
        )
        for row in rows
    ]
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *table, strict=False)
    ]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    print(line.format(*headers))
    print("  ".join("-" * width for width in widths))
    for cells in table:
        print(line.format(*cells))
    for row in rows:
        if row.get("notes"):
            print(f"  · {row['benchmark']}: {row['notes']}")


def module_scale(module, scale: str) -> str:
    if scale == TINY and TINY not in getattr(module, "SCALES", ()):
        return "small"
    return scale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default=os.environ.get("SCALE", "default"))
    parser.add_argument("--only", action="append", help="run only these modules")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.test_settings")
    import django

    django.setup()

    rows: list[dict] = []
    for name in args.only or MODULES:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                continue
            raise
        started = time.perf_counter()
        scale = module_scale(module, args.scale)
        print(f"running bench.{name} (scale {scale})…", file=sys.stderr, flush=True)
        try:
            module_rows = module.run(scale)
        except Exception as exc:  # noqa: BLE001 - one failing benchmark must not hide the others
            traceback.print_exc()
            module_rows = [
                {"benchmark": f"bench.{name}", "figure": None, "notes": f"failed: {exc}"}
            ]
        for row in module_rows:
            row.setdefault("module", name)
        rows.extend(module_rows)
        print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)

    print_table(rows)
    args.output.write_text(
        json.dumps(
            {
                "measured_at": timezone.now().isoformat(),
                "scale": args.scale,
                "machine": {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                },
                "results": rows,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
