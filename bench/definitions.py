"""Benchmark: the live preview of a draft definition over the open leads.

`leads.preview.definition_preview` for a draft MQL version next to the active one (counts,
overlap, the leads shown and the score bands), over 100,000 open leads with two events
each, in ms (best of 3). Baseline: one `SELECT count(*)` of the open leads joined to their
counted events, the floor for reading the same rows.

Runs in a database of its own (``smarketing_bench_definitions``), created, migrated and
dropped here:

    DJANGO_SETTINGS_MODULE=smarketing.test_settings .venv/bin/python -m bench.definitions \
        [--scale small]
"""

from __future__ import annotations

import argparse
import json
import os
import random
from datetime import timedelta

from bench.common import best_of, scratch_database, setup_django

BENCH_DATABASE = os.environ.get("BENCH_DATABASE_NAME", "smarketing_bench") + "_definitions"
SCALES = ("tiny", "small", "default")
OPEN_LEADS = {"tiny": 1_000, "small": 10_000}
DEFAULT_OPEN_LEADS = 100_000
SEED = 20_261_203

ACTIVE_RULES = {
    "stage": "mql",
    "threshold": 30,
    "recency_days": 90,
    "fit": [
        {"points": 20, "attribute": "title", "operator": "contains", "value": "director"},
        {
            "points": 10,
            "label": "Target market",
            "all": [
                {"attribute": "country", "operator": "in", "value": ["DE", "AT", "CH"]},
                {
                    "any": [
                        {"attribute": "company_size", "operator": "gte", "value": 50},
                        {"attribute": "industry", "operator": "equals", "value": "software"},
                    ]
                },
            ],
        },
        {"points": -20, "attribute": "email_domain", "operator": "in", "value": ["gmail.com"]},
    ],
    "engagement": {
        "email_open": {"points": 2, "recency_days": 30, "max_points": 10},
        "webinar_attended": 10,
        "pricing_page_view": 5,
    },
    "hand_raisers": ["demo_request"],
}
DRAFT_RULES = {
    **ACTIVE_RULES,
    "threshold": 25,
    "min_fit": 10,
    "fit": [
        *ACTIVE_RULES["fit"],
        {"points": 5, "attribute": "company", "operator": "exists"},
    ],
    "engagement": {**ACTIVE_RULES["engagement"], "newsletter": {"points": 1, "max_points": 3}},
}
TITLES = ("IT Director", "Marketing Manager", "Analyst", "Director of Sales", "Engineer")
COUNTRIES = ("DE", "AT", "CH", "FR", "US", "GB")
INDUSTRIES = ("software", "retail", "finance", "health")
EVENT_TYPES = ("email_open", "webinar_attended", "pricing_page_view", "newsletter", "demo_request")
OPEN = ("lead", "lead", "lead", "lead", "mql", "recycled", "sql")


def run(scale: str = "default") -> list[dict]:
    setup_django()
    with scratch_database(BENCH_DATABASE):
        return [_bench_preview(OPEN_LEADS.get(scale, DEFAULT_OPEN_LEADS))]


def _fill(open_leads: int) -> None:
    """`open_leads` open leads and a tenth as many closed ones, two events each, by COPY."""
    from django.db import connection, transaction
    from django.utils import timezone

    rng = random.Random(SEED)
    now = timezone.now()
    closed = open_leads // 10
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY leads_lead (email, first_name, last_name, company, title, phone, country, "
            "source, stage, attributes, score, fit_score, engagement_score, score_details, "
            "created_at, updated_at) FROM STDIN"
        ) as copy:
            for index in range(open_leads + closed):
                stage = rng.choice(OPEN) if index < open_leads else "customer"
                copy.write_row(
                    [
                        f"person{index}@{'gmail.com' if index % 10 == 0 else 'acme.example'}",
                        "Pat",
                        f"Example {index}",
                        f"Company {index % 5000}" if index % 7 else "",
                        rng.choice(TITLES),
                        "",
                        rng.choice(COUNTRIES),
                        "webinar",
                        stage,
                        json.dumps(
                            {
                                "company_size": rng.randrange(1, 5000),
                                "industry": rng.choice(INDUSTRIES),
                            }
                        ),
                        0,
                        0,
                        0,
                        "{}",
                        now - timedelta(days=60),
                        now,
                    ]
                )
        cursor.execute("SELECT id FROM leads_lead ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        with raw.copy(
            "COPY leads_event (lead_id, type, occurred_at, properties, recorded_at) FROM STDIN"
        ) as copy:
            for lead_id in ids:
                for _ in range(2):
                    occurred = now - timedelta(
                        days=rng.randrange(0, 120), seconds=rng.randrange(86400)
                    )
                    copy.write_row([lead_id, rng.choice(EVENT_TYPES), occurred, "{}", now])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
        cursor.execute("VACUUM ANALYZE leads_event")


def _bench_preview(open_leads: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from leads import scoring
    from leads.models import QualificationDefinition
    from leads.preview import definition_preview
    from leads.qualification import OPEN_STAGES

    _fill(open_leads)
    active = QualificationDefinition.objects.create(
        stage="mql", version=1, name="bench active", rules=ACTIVE_RULES, status="active"
    )
    draft = scoring.Definition.from_dict(DRAFT_RULES)
    now = timezone.now()

    with CaptureQueriesContext(connection) as queries:
        seconds, preview = best_of(
            lambda: definition_preview(definition=draft, active=active, now=now)
        )
    per_call = len(queries) // 3

    def baseline() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM leads_lead l LEFT JOIN ("
                "SELECT lead_id, count(*) AS n FROM leads_event WHERE occurred_at <= %s "
                "GROUP BY lead_id) e ON e.lead_id = l.id WHERE l.stage = ANY(%s)",
                [now, list(OPEN_STAGES)],
            )
            return cursor.fetchone()[0]

    floor, counted = best_of(baseline)
    return {
        "benchmark": f"definition preview over {preview.open_leads:,} open leads",
        "figure": seconds * 1000,
        "unit": "ms",
        "baseline": floor * 1000,
        "baseline_label": "one count of the open leads joined to their events",
        "ratio": seconds / floor,
        "target": "< 2,000 ms",
        "notes": (
            f"draft MQL vs the active version: {preview.qualified:,} would qualify, "
            f"{preview.active_qualified:,} do with the active one, {preview.newly_qualified:,} "
            f"newly and {preview.no_longer_qualified:,} no longer; {len(preview.bands)} score "
            f"bands, {len(preview.leads)} leads shown; {per_call} queries per preview; "
            f"{counted:,} open leads counted by the baseline, {open_leads // 10:,} closed "
            "leads beside them; best of 3, one process."
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default=os.environ.get("SCALE", "default"))
    for row in run(parser.parse_args().scale):
        print(json.dumps(row, indent=2, default=str))
