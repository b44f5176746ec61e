"""Benchmarks: bulk upsert of leads through the API, and bulk rescoring of open leads.

1. ``POST /api/v1/leads/bulk/`` with 1,000 leads per call (validation, scoring against an
   active MQL and SQL definition, qualification and hand-off with routing included), through
   Django's test client with token authentication, in leads/s. Baseline: PostgreSQL ``COPY``
   of the same rows into a scratch table (the floor for getting the rows into the database).
2. Bulk rescoring of open leads after a new MQL version (the task's service, batch by batch,
   with two events per lead), in leads/s, and the number of queries per batch. Baseline: one
   ``UPDATE`` statement touching the same rows without scoring.

Both run in a database of their own (``smarketing_bench_leads``), created, migrated and
dropped here, so a development or test database is never touched:

    DJANGO_SETTINGS_MODULE=smarketing.test_settings .venv/bin/python -m bench.leads [--scale small]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
from datetime import timedelta

from bench.common import scratch_database, setup_django

BENCH_DATABASE = os.environ.get("BENCH_DATABASE_NAME", "smarketing_bench") + "_leads"
# `tiny` only checks that the benchmark runs (the test suite uses it).
SCALES = ("tiny", "small", "default")
ROWS_PER_CALL = 1000
CALLS = {"tiny": 1, "small": 2}
DEFAULT_CALLS = 20
RESCORE_LEADS = {"tiny": 1_000, "small": 3_000}
DEFAULT_RESCORE_LEADS = 100_000
SEED = 20_260_615

MQL_RULES = {
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
SQL_RULES = {
    "stage": "sql",
    "threshold": 50,
    "fit": [
        {"points": 30, "attribute": "title", "operator": "contains", "value": "director"},
        {"points": 20, "attribute": "company_size", "operator": "gte", "value": 1000},
    ],
    "engagement": {"webinar_attended": 20, "pricing_page_view": 15},
    "hand_raisers": ["contact_sales"],
}
TITLES = ("IT Director", "Marketing Manager", "Analyst", "Director of Sales", "Engineer")
COUNTRIES = ("DE", "AT", "CH", "FR", "US", "GB")
INDUSTRIES = ("software", "retail", "finance", "health")
EVENT_TYPES = ("email_open", "webinar_attended", "pricing_page_view", "newsletter", "demo_request")


def run(scale: str = "default") -> list[dict]:
    """Measure both benchmarks in a scratch database; return the result rows."""
    setup_django()
    logging.disable(logging.WARNING)  # receivers log one line per lead without an SLA
    try:
        with scratch_database(BENCH_DATABASE):
            people = _people()
            rows = [_bench_upsert(scale, people)]
            rows.append(_bench_rescoring(scale))
            return rows
    finally:
        logging.disable(logging.NOTSET)


# -- set-up -----------------------------------------------------------------------------------


def _people():
    """A marketer with a token, a sales team of four reps with a routing rule, and the
    default business calendar and an SLA agreement, so every hand-off starts its clock."""
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from accounts.models import Role, Team, User
    from accounts.roles import sync_role_groups
    from leads.models import RoutingRule

    sync_role_groups()
    team = Team.objects.create(name="Sales", function=Team.Function.SALES)
    sales = Group.objects.get(name=Role.SALES.value)
    for index in range(4):
        User.objects.create_user(username=f"rep{index}", team=team).groups.add(sales)
    marketer = User.objects.create_user(username="marketer")
    marketer.groups.add(Group.objects.get(name=Role.MARKETING.value))
    RoutingRule.objects.create(name="Everything", team=team)
    from django.utils import timezone

    from sla.models import BusinessCalendar, SLAAgreement

    BusinessCalendar.objects.create(
        name="Bench office",
        time_zone="Europe/Berlin",
        hours={str(day): [["09:00", "17:00"]] for day in range(5)},
        is_default=True,
    )
    SLAAgreement.objects.create(
        name="Bench SLA", effective_from=timezone.now().date() - timedelta(days=30)
    )
    return {"marketer": marketer, "token": Token.objects.create(user=marketer).key}


def _activate(stage: str, rules: dict, marketer) -> None:
    """Create and activate a version without enqueueing its rescoring task."""
    from django.utils import timezone

    from leads.models import QualificationDefinition
    from leads.services import definition_create

    definition = definition_create(stage=stage, name=f"{stage} bench", rules=rules, actor=marketer)
    QualificationDefinition.objects.filter(stage=stage, status="active").update(status="retired")
    QualificationDefinition.objects.filter(pk=definition.pk).update(
        status="active", effective_at=timezone.now()
    )
    return definition


def _lead_rows(count: int, prefix: str, rng: random.Random) -> list[dict]:
    return [
        {
            "external_id": f"{prefix}-{index}",
            "email": f"person{index}@{'gmail.com' if index % 10 == 0 else 'acme.example'}",
            "first_name": "Pat",
            "last_name": f"Example {index}",
            "company": f"Company {index % 5000}",
            "title": rng.choice(TITLES),
            "country": rng.choice(COUNTRIES),
            "source": "webinar",
            "attributes": {
                "company_size": rng.randrange(1, 5000),
                "industry": rng.choice(INDUSTRIES),
            },
        }
        for index in range(count)
    ]


# -- 1. bulk upsert through the API ------------------------------------------------------------


def _bench_upsert(scale: str, people: dict) -> dict:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from leads.models import Lead, StageTransition
    from sla.models import SLAClock

    calls = CALLS.get(scale, DEFAULT_CALLS)
    rng = random.Random(SEED)
    _activate("mql", MQL_RULES, people["marketer"])
    _activate("sql", SQL_RULES, people["marketer"])
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {people['token']}")
    payloads = [_lead_rows(ROWS_PER_CALL, f"api{call}", rng) for call in range(calls)]
    bodies = [json.dumps(payload) for payload in payloads]

    # A warm-up call (imports, caches), then the measured calls.
    warm = client.post("/api/v1/leads/bulk/", data=bodies[0], content_type="application/json")
    assert warm.status_code == 200, warm.content[:500]
    Lead.objects.all().delete()

    elapsed = 0.0
    own_queries = after_commit = 0
    for index, body in enumerate(bodies):
        began = time.perf_counter()
        if index == 0:
            # Counted apart: the leads code, and the receivers that run after commit.
            with (
                CaptureQueriesContext(connection) as everything,
                transaction.atomic(),
                CaptureQueriesContext(connection) as own,
            ):
                response = client.post(
                    "/api/v1/leads/bulk/", data=body, content_type="application/json"
                )
            own_queries, after_commit = len(own), len(everything) - len(own)
        else:
            response = client.post(
                "/api/v1/leads/bulk/", data=body, content_type="application/json"
            )
        elapsed += time.perf_counter() - began
        assert response.status_code == 200, response.content[:500]
    total = calls * ROWS_PER_CALL
    rate = total / elapsed

    # A bulk call hands its reactions (SLA clocks, webhook deliveries, notifications) to the
    # worker; one worker pass drains them here, measured apart.
    from core import outbox

    began = time.perf_counter()
    outbox.drain(seconds=600)
    drain_seconds = time.perf_counter() - began

    # Idempotence check: the same payload again updates, creates nothing.
    began = time.perf_counter()
    again = client.post("/api/v1/leads/bulk/", data=bodies[0], content_type="application/json")
    update_seconds = time.perf_counter() - began
    assert again.json()["created"] == 0

    qualified = StageTransition.objects.filter(to_stage="mql").count()
    handed_off = SLAClock.objects.count()
    baseline = _copy_rate(payloads)
    return {
        "benchmark": "bulk upsert POST /api/v1/leads/bulk/",
        "figure": rate,
        "unit": "leads/s",
        "baseline": baseline,
        "baseline_label": "PostgreSQL COPY into a scratch table",
        "ratio": rate / baseline,
        "target": ">= 5,000 leads/s",
        "notes": (
            f"{calls} calls of {ROWS_PER_CALL:,} new leads each ({total:,}), token auth, "
            "Django test client; validation, scoring against active MQL and SQL versions, "
            f"{qualified:,} qualified to mql, {handed_off:,} handed off (routed, SLA clocks "
            "started) included; "
            f"{own_queries} queries per 1,000-lead call in the leads code (independent of the "
            f"row count) plus {after_commit} in other apps' receivers after commit (webhooks, "
            "SLA clocks); "
            f"re-sending a call (1,000 updates) took {update_seconds:.2f} s; the calls' "
            f"reactions, handed to the worker, drained in {drain_seconds:.2f} s in one "
            "process."
        ),
    }


def _copy_rate(payloads: list[list[dict]]) -> float:
    from django.db import connection, transaction

    columns = (
        "external_id",
        "email",
        "first_name",
        "last_name",
        "company",
        "title",
        "country",
        "source",
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_leads_copy (external_id text, email text, "
            "first_name text, last_name text, company text, title text, country text, "
            "source text, attributes jsonb) ON COMMIT DROP"
        )
        began = time.perf_counter()
        raw = cursor.cursor
        for payload in payloads:
            with raw.copy(
                "COPY bench_leads_copy (external_id, email, first_name, last_name, company, "
                "title, country, source, attributes) FROM STDIN"
            ) as copy:
                for row in payload:
                    copy.write_row(
                        [*(row[name] for name in columns), json.dumps(row["attributes"])]
                    )
        elapsed = time.perf_counter() - began
    return sum(len(payload) for payload in payloads) / elapsed


# -- 2. bulk rescoring --------------------------------------------------------------------------


def _bench_rescoring(scale: str) -> dict:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import User
    from leads.models import Event, Lead, RescoreRun, StageTransition
    from leads.qualification import OPEN_STAGES
    from leads.services import rescore_run_batch
    from leads.services.definitions import RESCORE_BATCH_SIZE

    count = RESCORE_LEADS.get(scale, DEFAULT_RESCORE_LEADS)
    rng = random.Random(SEED + 1)
    marketer = User.objects.get(username="marketer")
    Lead.objects.all().delete()
    now = timezone.now()
    stages = ("lead",) * 7 + ("mql", "recycled", "sql", "customer")
    leads = []
    for _index, row in enumerate(_lead_rows(count, "rescore", rng)):
        row.pop("external_id")
        leads.append(Lead(**row, stage=rng.choice(stages), created_at=now - timedelta(days=60)))
        if len(leads) == 5000:
            _insert(leads, rng, now)
            leads = []
    if leads:
        _insert(leads, rng, now)
    open_leads = Lead.objects.filter(stage__in=OPEN_STAGES).count()

    looser = {**MQL_RULES, "threshold": 20}
    definition = _activate("mql", looser, marketer)
    run = RescoreRun.objects.create(definition=definition, total=open_leads)
    batch_queries = []
    receiver_queries = []
    began = time.perf_counter()
    while True:
        with (
            CaptureQueriesContext(connection) as everything,
            transaction.atomic(),
            CaptureQueriesContext(connection) as own,
        ):
            run = rescore_run_batch(run_id=run.pk)
        if run.is_done:
            break
        batch_queries.append(len(own))
        receiver_queries.append(len(everything) - len(own))
    elapsed = time.perf_counter() - began
    rate = run.processed / elapsed
    qualified = StageTransition.objects.filter(definition=definition).count()

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leads_lead SET score = score + 0 WHERE stage = ANY(%s)", [list(OPEN_STAGES)]
        )
    baseline = open_leads / (time.perf_counter() - began)
    events = Event.objects.count()
    return {
        "benchmark": "bulk rescoring of open leads after a definition change",
        "figure": rate,
        "unit": "leads/s",
        "baseline": baseline,
        "baseline_label": "one UPDATE of the same rows, no scoring",
        "ratio": rate / baseline,
        "target": f">= 1,700 leads/s ({DEFAULT_RESCORE_LEADS:,} open leads within a minute)",
        "notes": (
            f"{count:,} leads ({run.processed:,} open) with {events:,} events; batches of "
            f"{RESCORE_BATCH_SIZE:,} by primary key; {min(batch_queries)}–{max(batch_queries)} "
            f"queries per batch in the leads code whatever its size, plus "
            f"{min(receiver_queries)}–{max(receiver_queries)} in other apps' receivers after "
            f"commit; {qualified:,} leads qualified with the new version recorded; routing of "
            "new sql leads included. One process, one core."
        ),
    }


def _insert(leads, rng: random.Random, now) -> None:
    from leads.models import Event, Lead

    Lead.objects.bulk_create(leads)
    events = []
    for lead in leads:
        for _ in range(2):
            events.append(
                Event(
                    lead=lead,
                    type=rng.choice(EVENT_TYPES[:-1]),
                    occurred_at=now
                    - timedelta(days=rng.randrange(0, 60), seconds=rng.randrange(86400)),
                )
            )
    Event.objects.bulk_create(events)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default=os.environ.get("SCALE", "default"))
    arguments = parser.parse_args()
    for result in run(arguments.scale):
        print(json.dumps(result, indent=2, default=str))
