"""Benchmark: the SLA sweep over due clocks hidden among many, vs one hand-written UPDATE.

A scratch PostgreSQL database (`smarketing_bench_sla`, created and dropped here) is migrated
and filled with set-based SQL (`INSERT … SELECT generate_series`): 1,000,000 clocks (100,000
at `small`), of which 10,000 (1,000) are pending past their first-touch deadline; the rest
are met, breached, closed or due later. Warnings and attempt windows are not due, so both
contenders do the same work: mark the due clocks breached.

- figure: `sla.services.clocks_sweep(now=…)` — per batch of 5,000, one statement claims the
  due clocks (`FOR UPDATE SKIP LOCKED` on the partial index), marks them breached and
  inserts one breach record each; then one notification digest per person (one insert),
  and after commit one batch of `sla.breached` events (with whatever webhook receivers are
  connected) and one email task;
- baseline: one `UPDATE sla_slaclock SET status = 'breached' … WHERE … RETURNING id` over
  the same rows, nothing else. The notes also give the same UPDATE with the breach records
  inserted (hand-written, one statement): the SQL floor for the work the sweep must do.

The due rows are reset between runs; each contender's best of three runs is reported.

    python -m bench.sla [--scale small]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import timedelta

from bench.common import scratch_database, setup_django

BENCH_DATABASE = os.environ.get("BENCH_DATABASE_NAME", "smarketing_bench") + "_sla"
# `tiny` only checks that the benchmark runs (the test suite uses it).
SCALES = ("tiny", "small", "default")
SIZES = {"tiny": (5_000, 100), "small": (20_000, 1_000)}
DEFAULT_SIZE = (1_000_000, 10_000)
REPEATS = 3
OWNERS = 20


def run(scale: str = "default") -> list[dict]:
    setup_django()
    with scratch_database(BENCH_DATABASE):
        total, due = SIZES.get(scale, DEFAULT_SIZE)
        return _measure(total, due)


def _fill(total: int, due: int, now) -> None:
    """Owners in a team with a manager, one calendar and agreement, `total` leads and clocks."""
    from accounts.models import Team, User
    from sla.models import BusinessCalendar, SLAAgreement

    manager = User.objects.create_user("bench-manager", email="manager@example.com")
    team = Team.objects.create(name="Bench sales", function="sales", manager=manager)
    owners = User.objects.bulk_create(
        [
            User(username=f"bench-rep-{i}", email=f"rep{i}@example.com", team=team)
            for i in range(OWNERS)
        ]
    )
    calendar = BusinessCalendar.objects.create(
        name="Bench",
        time_zone="America/New_York",
        hours={str(d): [["09:00", "17:00"]] for d in range(5)},
        is_default=True,
    )
    agreement = SLAAgreement.objects.create(name="Bench SLA", effective_from=now.date())
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO leads_lead (email, first_name, last_name, company, title, phone,
                country, source, stage, score, fit_score, engagement_score, score_details,
                attributes, created_at, updated_at)
            SELECT 'lead' || i || '@example.com', 'Lead', i::text, '', '', '', 'US', 'bench',
                'sql', 0, 0, 0, '{}', '{}', %(now)s - interval '30 days', %(now)s
            FROM generate_series(1, %(total)s) AS i
            """,
            {"now": now, "total": total},
        )
        # i <= due: pending and past due (the work). Others: a realistic mix of finished
        # clocks and pending ones due later; none has a warning or window due.
        cursor.execute(
            """
            INSERT INTO sla_slaclock (lead_id, owner_id, agreement_id, calendar_id, handoff_at,
                first_touch_due_at, warn_at, attempt_window_ends_at, first_touch_at, status,
                attempts, over_contact, warned_at, breached_at, closed_at)
            SELECT lead.id,
                (%(owner_ids)s::bigint[])[1 + lead.n %% %(owners)s],
                %(agreement)s, %(calendar)s,
                %(now)s - interval '1 day',
                CASE WHEN lead.n <= %(due)s THEN %(now)s - interval '1 minute'
                     WHEN lead.n %% 10 = 0 THEN %(now)s + (lead.n || ' seconds')::interval
                     ELSE %(now)s - interval '20 hours' END,
                CASE WHEN lead.n %% 10 = 0 AND lead.n > %(due)s
                     THEN %(now)s + (lead.n || ' seconds')::interval
                     ELSE %(now)s - interval '21 hours' END,
                %(now)s + interval '15 days',
                CASE WHEN lead.n > %(due)s AND lead.n %% 10 <> 0
                     THEN %(now)s - interval '22 hours' END,
                CASE WHEN lead.n <= %(due)s OR lead.n %% 10 = 0 THEN 'pending'
                     WHEN lead.n %% 10 = 1 THEN 'breached' ELSE 'met' END,
                CASE WHEN lead.n <= %(due)s THEN 0 ELSE 1 END,
                false,
                CASE WHEN lead.n <= %(due)s THEN %(now)s - interval '2 hours' END,
                NULL,
                CASE WHEN lead.n %% 7 = 0 AND lead.n > %(due)s THEN %(now)s END
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM leads_lead) AS lead
            """,
            {
                "now": now,
                "due": due,
                "owners": OWNERS,
                "owner_ids": [owner.pk for owner in owners],
                "agreement": agreement.pk,
                "calendar": calendar.pk,
            },
        )
        cursor.execute("ANALYZE")


WITH_RECORDS = """
    WITH breached AS (
        UPDATE sla_slaclock SET status = 'breached', breached_at = %s
        WHERE status = 'pending' AND closed_at IS NULL AND first_touch_due_at <= %s
        RETURNING id, owner_id
    )
    INSERT INTO sla_slarecord (clock_id, kind, at, owner_id, detail)
    SELECT id, 'breach', %s, owner_id, '' FROM breached
"""


def _reset(due_ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sla_slaclock SET status = 'pending', breached_at = NULL WHERE id = ANY(%s)",
            [due_ids],
        )
        cursor.execute("DELETE FROM sla_slarecord")
        cursor.execute("DELETE FROM accounts_notification")
        cursor.execute("VACUUM ANALYZE sla_slaclock")


def _measure(total: int, due: int) -> list[dict]:
    from django.db import connection
    from django.utils import timezone

    from sla import services

    now = timezone.now()
    started = time.perf_counter()
    _fill(total, due, now)
    fill_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM sla_slaclock WHERE status = 'pending' AND closed_at IS NULL "
            "AND first_touch_due_at <= %s",
            [now],
        )
        due_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "EXPLAIN SELECT id FROM sla_slaclock WHERE status = 'pending' AND closed_at IS NULL "
            "AND first_touch_due_at <= %s ORDER BY first_touch_due_at LIMIT 500",
            [now],
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    if len(due_ids) != due:
        raise RuntimeError(f"set-up made {len(due_ids)} due clocks, expected {due}")
    sweep_times, update_times, floor_times = [], [], []
    for _ in range(REPEATS):
        _reset(due_ids)
        began = time.perf_counter()
        result = services.clocks_sweep(now=now + timedelta(seconds=1))
        sweep_times.append(time.perf_counter() - began)
        breached = len(result.breached)
        _reset(due_ids)
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE sla_slaclock SET status = 'breached', breached_at = %s "
                "WHERE status = 'pending' AND closed_at IS NULL AND first_touch_due_at <= %s "
                "RETURNING id",
                [now, now + timedelta(seconds=1)],
            )
            returned = len(cursor.fetchall())
        update_times.append(time.perf_counter() - began)
        _reset(due_ids)
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(WITH_RECORDS, [now, now + timedelta(seconds=1), now])
        floor_times.append(time.perf_counter() - began)
    sweep, update, floor = min(sweep_times), min(update_times), min(floor_times)
    index_used = "sla_clock_due_pending" in plan
    return [
        {
            "benchmark": f"sla sweep: {due:,} due among {total:,} clocks",
            "figure": round(sweep * 1000, 1),
            "unit": "ms",
            "baseline": round(update * 1000, 1),
            "baseline_label": "one hand-written UPDATE … RETURNING",
            "ratio": round(sweep / update, 2) if update else None,
            "target": "<= 2x baseline",
            "notes": (
                f"breached {breached:,} (baseline {returned:,}); sweep includes breach records, "
                f"notification digests and sla.breached events; best of {REPEATS}; "
                f"hand-written UPDATE plus INSERT of the breach records: {floor * 1000:.0f} ms "
                f"({sweep / floor:.2f}x of that); "
                f"partial index used: {index_used}; data set-up {fill_seconds:.0f} s"
            ),
        },
        {
            "benchmark": "sla sweep throughput",
            "figure": round(due / sweep) if sweep else None,
            "unit": "clocks/s",
            "baseline": round(due / update) if update else None,
            "baseline_label": "one hand-written UPDATE … RETURNING",
            "ratio": round(update / sweep, 3) if sweep else None,
            "target": None,
            "notes": "",
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="default")
    print(json.dumps(run(parser.parse_args().scale), indent=2, default=str))
