"""Realistic data for benchmarks: `python -m bench.data --leads N` (or `generate_leads`).

Two years of leads across products, campaigns, personas and about twenty reps in three
sales teams: engagement events, stage transitions that follow the lifecycle with a
realistic drop-off, routing assignments, contact attempts and sales feedback. A simulator
plays each lead's life with the product's own stage machine (`leads.lifecycle.apply_move`),
and the product writes it: the moves through the one moves service (`moves_plan` /
`moves_record`, which hand leads off), the attempts through the attempts service, and the
SLA app starts and evaluates one clock per hand-off as the durable reaction to them, so a
clock is met, breached, pending, exhausted or closed exactly as the product leaves it.

The reference rows (a few dozen) go through the ORM; leads and everything under them are
generated chunk by chunk and written set-based (`COPY`), so memory stays flat as N grows.
A database that already has leads is refused unless `append` or `reset`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from bench.common import setup_django

setup_django()

from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from leads import lifecycle  # noqa: E402
from leads.lifecycle import Stage  # noqa: E402

CHUNK = 5_000
YEARS = 2
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

PRODUCTS = [
    ("Analytics Cloud", "analytics"),
    ("CRM Suite", "crm"),
    ("Data Connectors", "connectors"),
    ("Support Plus", "support"),
]
PERSONAS = [
    ("Operations Olivia", "Head of Operations", "logistics", "200-1000"),
    ("IT Director Ian", "IT Director", "software", "1000+"),
    ("Founder Fiona", "Founder / CEO", "software", "1-50"),
    ("Marketing Manager Mia", "Marketing Manager", "retail", "50-200"),
    ("Finance Frank", "CFO", "finance", "200-1000"),
]
# (channel, source slug, campaigns per channel, share of leads)
CHANNELS = [
    ("paid_search", "paid-search", 4, 22),
    ("paid_social", "paid-social", 3, 14),
    ("organic", "organic", 2, 18),
    ("webinar", "webinar", 4, 12),
    ("content", "content", 3, 12),
    ("email", "email", 3, 8),
    ("event", "event", 2, 5),
    ("referral", "referral", 1, 5),
    ("partner", "partner", 2, 4),
]
TEAMS = [("Sales East", "America/New_York", 7), ("Sales West", "America/Los_Angeles", 7)]
TEAMS += [("Sales EMEA", "Europe/Berlin", 6)]
TITLES = [
    "IT Director",
    "Head of Operations",
    "Marketing Manager",
    "CFO",
    "Founder",
    "Analyst",
    "Engineer",
    "VP Sales",
    "Student",
    "Consultant",
]
INDUSTRIES = ["software", "retail", "finance", "health", "logistics", "education"]
COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "FR", "NL", "AU", "IN"]
FIRST_NAMES = ["Ada", "Ben", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kim"]
LAST_NAMES = ["Smith", "Okafor", "Müller", "Garcia", "Tanaka", "Novak", "Dubois", "Singh", "Lee"]
EVENT_TYPES = [
    ("email_open", 40),
    ("page_view", 25),
    ("content_download", 10),
    ("pricing_page_view", 8),
    ("webinar_attended", 7),
    ("email_click", 8),
    ("demo_request", 2),
]
LOST_REASONS = ["Chose a competitor", "No budget", "No decision", "Timing"]
ATTEMPT_CHANNELS = ["call", "call", "call", "email", "email", "meeting", "social", "other"]
ATTEMPT_OUTCOMES = ["no_answer", "no_answer", "left_message", "connected", "bounced", "other"]


@dataclass
class Reference:
    """Ids of the reference rows the generated leads point at."""

    products: list[int]
    personas: list[int]
    campaigns: list[tuple[int, str, int]]  # (id, source, product id)
    campaign_weights: list[int]
    teams: list[tuple[int, list[int]]]  # (team id, rep ids)
    team_by_product: dict[int, int]  # product id → index into teams
    rule_by_team: dict[int, int]
    marketer: int
    mql_definitions: list[tuple[int, datetime]]  # (id, effective from), oldest first
    sql_definition: int
    agreement: int
    calendar: int
    engine: object
    terms: object


class GenerationRefused(Exception):
    """The database cannot take the data as asked (it has leads: append or reset)."""


def generate_leads(
    *,
    leads: int,
    seed: int = 20260101,
    workers: int | None = None,
    append: bool = False,
    reset: bool = False,
    stdout=None,
) -> dict:
    """Add `leads` leads with their histories to the configured database; answers the row
    counts per table. Refused (`GenerationRefused`) when the database has leads and neither
    `append` nor `reset` is given."""
    if leads < 1:
        raise GenerationRefused("leads must be a positive number.")
    if append and reset:
        raise GenerationRefused("append or reset, not both.")
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM leads_lead")
        last_id = cursor.fetchone()[0]
    if last_id and not (append or reset):
        raise GenerationRefused(
            "This database already has leads. Pass --append to add to them or --reset to "
            "delete them first."
        )
    if reset:
        _reset()
    began = time.perf_counter()
    now = timezone.now()
    # An append continues with other random draws than the first run.
    seed = seed + (last_id if append else 0)
    reference = _reference(now)
    totals = generate(count=leads, now=now, seed=seed, reference=reference, workers=workers)
    _forget_demo_emails()
    with connection.cursor() as cursor:
        for table in ("leads_lead", "leads_stagetransition", "sla_slaclock", "leads_event"):
            cursor.execute(f"ANALYZE {table}")
    seconds = time.perf_counter() - began
    summary = ", ".join(f"{value:,} {name}" for name, value in totals.items())
    if stdout is not None:
        stdout.write(f"bench_data: {summary} in {seconds:.1f} s\n")
    return totals


def _forget_demo_emails() -> None:
    """Bench people have example addresses: the alerts the history raised stay in their
    bells, and their email copies (reactions for a worker the bench does not run) go."""
    from core.models import OutboxMessage

    OutboxMessage.objects.filter(handler="accounts.notification_emails").delete()


def _use_database(url: str) -> None:
    import dj_database_url

    parsed = dj_database_url.parse(url)
    connection.close()
    for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT"):
        connection.settings_dict[key] = parsed.get(key, "")


def _reset() -> None:
    with connection.cursor() as cursor:
        # Foreign keys are checked at commit: inside a transaction that wrote rows, run the
        # pending checks first (TRUNCATE refuses to run with checks pending), then defer
        # them again for the rows to come.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "TRUNCATE leads_lead, leads_stagetransition, leads_event, leads_contactattempt, "
            "leads_salesfeedback, leads_routingassignment, sla_slaclock, sla_slarecord, "
            "reporting_funnelsnapshot, core_outboxmessage, accounts_notification CASCADE"
        )
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# -- reference rows (a few dozen, through the ORM) ---------------------------------------------


def _reference(now: datetime) -> Reference:
    from django.contrib.auth.models import Group

    from accounts.models import Role, Team, User
    from accounts.roles import sync_role_groups
    from leads.models import Campaign, Product, QualificationDefinition, RoutingRule
    from personas.models import Persona
    from sla.clock_rules import Terms
    from sla.models import BusinessCalendar, SLAAgreement, TeamCalendar
    from sla.services import calendar_engine_for

    start = now - timedelta(days=365 * YEARS)
    sync_role_groups()
    sales, marketing = Group.objects.get(name=Role.SALES), Group.objects.get(name=Role.MARKETING)
    managers = Group.objects.get(name=Role.MANAGER)
    products = [
        Product.objects.get_or_create(code=code, defaults={"name": name})[0].pk
        for name, code in PRODUCTS
    ]
    personas = [
        Persona.objects.get_or_create(
            name=name,
            defaults={
                "role_title": title,
                "industry": industry,
                "company_size": size,
                "status": Persona.Status.ACTIVE,
            },
        )[0].pk
        for name, title, industry, size in PERSONAS
    ]
    campaigns, weights = [], []
    for channel, source, per_channel, share in CHANNELS:
        for number in range(per_channel):
            begins = (start + timedelta(days=730 * number // per_channel)).date()
            campaign, _ = Campaign.objects.get_or_create(
                name=f"{source.replace('-', ' ').title()} {number + 1}",
                defaults={
                    "channel": channel,
                    "source": source,
                    "product_id": products[(number + len(campaigns)) % len(products)],
                    "cost": Decimal(1500 * (number + 1)),
                    "starts_on": begins,
                },
            )
            campaigns.append((campaign.pk, campaign.source, campaign.product_id))
            weights.append(share)
    calendar = BusinessCalendar.objects.filter(is_default=True, superseded_at__isnull=True).first()
    if calendar is None:
        calendar = BusinessCalendar.objects.create(
            name="Bench New York",
            time_zone="America/New_York",
            hours={str(day): [["09:00", "17:00"]] for day in range(5)},
            holiday_country="US",
            is_default=True,
        )
    teams = []
    for number, (name, zone, size) in enumerate(TEAMS):
        manager, _ = User.objects.get_or_create(
            username=f"bench-manager-{number + 1}",
            defaults={"email": f"manager{number + 1}@bench.example", "time_zone": zone},
        )
        manager.groups.add(managers)
        team, _ = Team.objects.get_or_create(
            name=name, defaults={"function": Team.Function.SALES, "manager": manager}
        )
        TeamCalendar.objects.get_or_create(team=team, defaults={"calendar": calendar})
        reps = []
        for index in range(size):
            rep, _ = User.objects.get_or_create(
                username=f"bench-rep-{number + 1}-{index + 1}",
                defaults={
                    "email": f"rep{number + 1}.{index + 1}@bench.example",
                    "first_name": FIRST_NAMES[index % len(FIRST_NAMES)],
                    "last_name": LAST_NAMES[(index + number) % len(LAST_NAMES)],
                    "time_zone": zone,
                    "team": team,
                },
            )
            rep.groups.add(sales)
            reps.append(rep.pk)
        teams.append((team.pk, reps))
    marketer, _ = User.objects.get_or_create(
        username="bench-marketer", defaults={"email": "marketer@bench.example"}
    )
    marketer.groups.add(marketing)
    team_by_product = {product: index % len(teams) for index, product in enumerate(products)}
    rule_by_team = {}
    for product, team_index in team_by_product.items():
        team_id = teams[team_index][0]
        rule, _ = RoutingRule.objects.get_or_create(
            name=f"Bench product {product}", defaults={"product_id": product, "team_id": team_id}
        )
        rule_by_team.setdefault(team_id, rule.pk)

    mql = _definitions("mql", start, now, marketer, QualificationDefinition)
    sql = _definitions("sql", start, now, marketer, QualificationDefinition)
    agreement = (
        SLAAgreement.objects.filter(status=SLAAgreement.Status.ACTIVE, superseded_at__isnull=True)
        .order_by("pk")
        .first()
    )
    if agreement is None:
        agreement = SLAAgreement.objects.create(
            name="Bench SLA", effective_from=start.date(), created_by=marketer
        )
    terms = Terms(
        first_touch_hours=agreement.first_touch_hours,
        max_attempts=agreement.max_attempts,
        attempt_window_days=agreement.attempt_window_days,
        warning_share=agreement.warning_share,
    )
    return Reference(
        products=products,
        personas=personas,
        campaigns=campaigns,
        campaign_weights=weights,
        teams=teams,
        team_by_product=team_by_product,
        rule_by_team=rule_by_team,
        marketer=marketer.pk,
        mql_definitions=mql,
        sql_definition=sql[-1][0],
        agreement=agreement.pk,
        calendar=calendar.pk,
        engine=calendar_engine_for(calendar),
        terms=terms,
    )


def _definitions(stage, start, now, marketer, model) -> list[tuple[int, datetime]]:
    """The stage's versions to cite: a retired first version and the active one (created
    when the database has none), oldest first."""
    active = model.objects.filter(stage=stage, status="active").first()
    if active is not None:
        used = list(model.objects.filter(stage=stage).exclude(status="draft").order_by("version"))
        return [(row.pk, row.effective_at or start) for row in used]
    latest = model.objects.filter(stage=stage).order_by("-version").first()
    version = latest.version if latest else 0
    middle = start + (now - start) / 2
    rules = {"stage": stage, "threshold": 40 if stage == "mql" else 60, "fit": []}
    rules["engagement"] = {"webinar_attended": 15, "pricing_page_view": 10, "email_open": 2}
    rules["hand_raisers"] = ["demo_request"]
    rows = []
    if stage == "mql":
        retired = model.objects.create(
            stage=stage,
            version=version + 1,
            name="MQL: first agreement",
            rules=rules,
            status="retired",
            effective_at=start,
            activated_at=start,
            retired_at=middle,
            created_by=marketer,
        )
        rows.append((retired.pk, start))
        version += 1
    begins = middle if stage == "mql" else start
    current = model.objects.create(
        stage=stage,
        version=version + 1,
        name=f"{stage.upper()}: current agreement",
        rules={**rules, "threshold": rules["threshold"] + 10},
        status="active",
        effective_at=begins,
        activated_at=begins,
        created_by=marketer,
    )
    rows.append((current.pk, begins))
    return rows


# -- the generator --------------------------------------------------------------------------------


@dataclass
class _Chunk:
    """One chunk of simulated leads: the rows to write and the moves and attempts for the
    services."""

    leads: dict[int, dict] = field(default_factory=dict)  # lead rows, in their first state
    moves: list = field(default_factory=list)  # MoveRequest, in order
    attempts: list = field(default_factory=list)  # AttemptRequest
    events: list[dict] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)
    assignments: list[dict] = field(default_factory=list)


def generate(*, count: int, now: datetime, seed: int, reference: Reference, workers: int = 1):
    """Write `count` leads with their histories in chunks; answer row counts per table.

    Chunks are independent: with `workers` > 1 they are simulated and written by that many
    forked processes, each on its own connection (one simulates while another waits for
    PostgreSQL). Chunk `i` draws from its own seeded random stream, so the data does not
    depend on the number of workers (only the ids do).
    """
    chunks = [
        (index, min(CHUNK, count - offset)) for index, offset in enumerate(range(0, count, CHUNK))
    ]
    global _JOB
    _JOB = (now, seed, reference)
    totals: dict[str, int] = {}
    if workers > 1 and len(chunks) > 1 and not connection.in_atomic_block:
        connections.close_all()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for partial in pool.imap_unordered(_chunk, chunks):
                for name, value in partial.items():
                    totals[name] = totals.get(name, 0) + value
    else:
        for chunk in chunks:
            for name, value in _chunk(chunk).items():
                totals[name] = totals.get(name, 0) + value
    from sla.models import SLAClock

    totals["clocks"] = SLAClock.objects.count()
    return totals


_JOB = None  # (now, seed, reference) of the running `generate`, inherited by its workers


def _chunk(chunk: tuple[int, int]) -> dict:
    """Simulate and write one chunk: the leads' first rows, their moves through the moves
    service (which hands them off), their attempts through the attempts service, and the
    rest as history; then the SLA app starts and evaluates their clocks, as the worker does
    for a batch this large (the chunk's outbox rows are drained here)."""
    from core import events, outbox
    from core.bulk import ids_reserve, rows_insert
    from leads.models import Event, Lead, RoutingAssignment, SalesFeedback
    from leads.services.attempts import attempts_record
    from leads.services.moves import moves_plan, moves_record
    from leads.services.records import LEAD_FIELDS

    index, size = chunk
    now, seed, reference = _JOB
    simulator = _Simulator(
        now=now, rng=random.Random(seed * 1_000_003 + index), reference=reference
    )
    out = _Chunk()
    with transaction.atomic(), events.batch():
        for lead_id in ids_reserve(Lead, size):
            simulator.lead(lead_id, out)
        rows = {pk: {**row, "last_move_at": None} for pk, row in out.leads.items()}
        plan = moves_plan(rows, out.moves, now=now)
        # The leads are new: their rows go in once, in the stage their moves left them.
        moves_record(plan, now=now, write_leads=False)
        rows_insert(
            Lead, [{name: row[name] for name in LEAD_FIELDS} for row in rows.values()], now=now
        )
        rows_insert(Event, out.events, now=now)
        rows_insert(RoutingAssignment, out.assignments, now=now)
        rows_insert(SalesFeedback, out.feedback, now=now)
        attempts_record(out.attempts, now=now)
    outbox.drain(seconds=3600)
    return {
        "lead": size,
        "stagetransition": len(plan.transitions),
        "event": len(out.events),
        "contactattempt": len(out.attempts),
        "salesfeedback": len(out.feedback),
        "routingassignment": len(out.assignments),
    }


class _Simulator:
    """Plays one lead's life (events, qualification, hand-offs, attempts, outcome) with the
    product's stage machine, so every move it asks for is one the product takes."""

    def __init__(self, *, now, rng, reference: Reference):
        self.now, self.rng, self.ref = now, rng, reference
        self.start = now - timedelta(days=365 * YEARS)
        self.span = (now - self.start).total_seconds()
        self.event_types = [name for name, _ in EVENT_TYPES]
        self.event_weights = [weight for _, weight in EVENT_TYPES]
        self.round_robin = [0] * len(reference.teams)

    def _at(self, after: datetime, low_hours: float, high_hours: float) -> datetime:
        return after + timedelta(hours=self.rng.uniform(low_hours, high_hours))

    def _mql_definition(self, at: datetime) -> int:
        chosen = self.ref.mql_definitions[0][0]
        for pk, since in self.ref.mql_definitions:
            if since <= at:
                chosen = pk
        return chosen

    def lead(self, lead_id: int, out: _Chunk) -> None:
        from leads.services.moves import MoveRequest

        rng, ref, now = self.rng, self.ref, self.now
        # Volume grows over the two years: a power below one skews creation towards now.
        created = self.start + timedelta(seconds=self.span * rng.random() ** 0.8)
        campaign_id, source, product_id = rng.choices(ref.campaigns, ref.campaign_weights)[0]
        if rng.random() < 0.25:
            product_id = rng.choice(ref.products)
        if product_id is None:
            product_id = ref.products[lead_id % len(ref.products)]
        persona_id = rng.choice(ref.personas) if rng.random() < 0.7 else None
        if rng.random() < 0.1:
            campaign_id = None
        fit = rng.randrange(0, 45)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        domain = "gmail.com" if lead_id % 9 == 0 else f"company{lead_id % 40_000}.example"
        row = {
            "id": lead_id,
            "external_id": f"bench-{lead_id}",
            "email": f"{first.lower()}.{last.lower()}.{lead_id}@{domain}",
            "first_name": first,
            "last_name": last,
            "company": f"Company {lead_id % 40_000}",
            "title": rng.choice(TITLES),
            "phone": "",
            "country": rng.choice(COUNTRIES),
            "source": source,
            "campaign_id": campaign_id,
            "product_id": product_id,
            "persona_id": persona_id,
            "owner_id": None,
            "team_id": None,
            "stage": Stage.LEAD.value,
            "score": fit,
            "fit_score": fit,
            "engagement_score": 0,
            "score_details": {},
            "attributes": {
                "company_size": rng.choice((5, 20, 80, 150, 400, 900, 2500, 10000)),
                "industry": rng.choice(INDUSTRIES),
            },
            "amount": None,
            "created_at": created,
            "updated_at": created,
            "stage_changed_at": None,
            "handed_off_at": None,
            "mql_at": None,
            "sql_at": None,
            "opportunity_at": None,
            "customer_at": None,
            "mql_definition_id": None,
            "sql_definition_id": None,
        }
        out.leads[lead_id] = row
        state = lifecycle.LeadState(stage=Stage.LEAD.value, created_at=created)

        def move(to_stage: str, at: datetime, reason: str = "", definition=None, actor=None):
            nonlocal state
            state, _ = lifecycle.apply_move(
                state,
                lifecycle.Move(to_stage, at, reason, actor, definition),
                now=now,
            )
            out.moves.append(MoveRequest(lead_id, to_stage, at, reason, actor, definition))

        def owner(at: datetime) -> int:
            """Round-robin inside the product's team, once per lead (it keeps its owner)."""
            nonlocal state
            if row["owner_id"] is None:
                team_index = ref.team_by_product[row["product_id"]]
                team_id, reps = ref.teams[team_index]
                rep = reps[self.round_robin[team_index] % len(reps)]
                self.round_robin[team_index] += 1
                row["owner_id"], row["team_id"] = rep, team_id
                state = replace(state, owner_id=rep)
                out.assignments.append(
                    {
                        "lead_id": lead_id,
                        "owner_id": rep,
                        "previous_owner_id": None,
                        "team_id": team_id,
                        "rule_id": ref.rule_by_team.get(team_id),
                        "actor_id": None,
                        "reason": "Routed: round-robin in team",
                        "at": at,
                    }
                )
            return row["owner_id"]

        # Engagement before (and around) qualification.
        engagement = 0
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8))):
            occurred = self._at(created, 0, 24 * 60)
            if occurred > now:
                continue
            kind = rng.choices(self.event_types, self.event_weights)[0]
            engagement += {"webinar_attended": 15, "pricing_page_view": 10}.get(kind, 2)
            out.events.append(
                {
                    "lead_id": lead_id,
                    "type": kind,
                    "occurred_at": occurred,
                    "properties": {},
                    "campaign_id": campaign_id,
                    "recorded_at": occurred,
                }
            )
        row["engagement_score"] = min(engagement, 60)
        row["score"] = fit + row["engagement_score"]

        at = created
        if rng.random() < 0.05:
            at = self._at(at, 2, 24 * 10)
            if at <= now:
                move(Stage.DISQUALIFIED, at, reason="Not a fit: student or job seeker")
        elif rng.random() < 0.36:
            at = self._at(at, 1, 24 * 30)
            cycles = 0
            while at <= now and cycles < 2:
                cycles += 1
                move(Stage.MQL, at, definition=self._mql_definition(at))
                roll = rng.random()
                if roll < 0.45:
                    at = self._at(at, 1, 24 * 14)
                    if at > now:
                        break
                    rep = owner(at)
                    move(Stage.SQL, at, definition=ref.sql_definition)
                    at = self._sales_episode(lead_id, row, at, rep, out, move)
                    if state.stage != Stage.RECYCLED or rng.random() > 0.25:
                        break
                    at = self._at(at, 24 * 20, 24 * 120)
                elif roll < 0.65:
                    at = self._at(at, 24 * 30, 24 * 90)
                    if at > now:
                        break
                    move(Stage.RECYCLED, at, reason="No engagement after nurturing")
                    if rng.random() > 0.2:
                        break
                    at = self._at(at, 24 * 20, 24 * 120)
                else:
                    break

    def _sales_episode(self, lead_id, row, handoff, owner, out: _Chunk, move) -> datetime:
        """A hand-off: attempts, feedback and the outcome. Returns the last instant."""
        from leads.services.attempts import AttemptRequest
        from sla import clock_rules

        rng, ref, now = self.rng, self.ref, self.now
        deadlines = clock_rules.deadlines(ref.engine, handoff, ref.terms)
        due, window_end = deadlines.first_touch_due_at, deadlines.attempt_window_ends_at

        # What happens next, and when (None: nothing yet).
        roll = rng.random()
        if roll < 0.12:
            outcome, ends = Stage.DISQUALIFIED, self._at(handoff, 24, 24 * 5)
        elif roll < 0.32:
            outcome, ends = Stage.RECYCLED, self._at(handoff, 24 * 3, 24 * 15)
        elif roll < 0.75:
            outcome, ends = Stage.OPPORTUNITY, self._at(handoff, 24 * 2, 24 * 20)
        else:
            outcome, ends = None, window_end  # no progress: the window decides
        if ends > now:
            outcome, ends = None, None

        # Attempts: most first touches inside the allowance, some late, some never.
        attempts = []
        touch = rng.random()
        episode_end = min(x for x in (ends, now, window_end + 2 * DAY) if x is not None)
        if touch < 0.7:
            first = handoff + (due - handoff) * rng.uniform(0.05, 1.0)
        elif touch < 0.85:
            first = due + timedelta(hours=rng.uniform(0.2, 72))
        else:
            first = None
        if first is not None and first <= episode_end:
            attempts.append(first)
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
                nxt = attempts[-1] + timedelta(hours=rng.uniform(4, 24 * 4))
                if nxt > episode_end:
                    break
                attempts.append(nxt)
        for number, occurred in enumerate(attempts):
            last = number == len(attempts) - 1
            result = "connected" if last and outcome == Stage.OPPORTUNITY else None
            out.attempts.append(
                AttemptRequest(
                    lead_id=lead_id,
                    actor_id=owner,
                    channel=rng.choice(ATTEMPT_CHANNELS),
                    outcome=result or rng.choice(ATTEMPT_OUTCOMES),
                    occurred_at=occurred,
                )
            )

        if outcome is None and window_end <= now:
            # The window closed without progress: the agreement hands the lead back (as the
            # SLA's exhaustion would have, at the instant the window closed).
            move(Stage.RECYCLED, window_end, reason="sla_exhausted")
            return window_end

        # Feedback (citing the SQL version that qualified the lead) and the outcome.
        def feedback(accepted: bool, rating: int, reason: str) -> None:
            out.feedback.append(
                {
                    "lead_id": lead_id,
                    "author_id": owner,
                    "accepted": accepted,
                    "rating": rating,
                    "reason": reason,
                    "comment": "",
                    "definition_id": ref.sql_definition,
                    "created_at": ends,
                }
            )

        if outcome == Stage.DISQUALIFIED:
            feedback(False, rng.choice((1, 1, 2)), "bad_fit")
            move(Stage.DISQUALIFIED, ends, reason="bad_fit", actor=owner)
        elif outcome == Stage.RECYCLED:
            feedback(False, rng.choice((2, 3)), "not_ready")
            move(Stage.RECYCLED, ends, reason="not_ready", actor=owner)
        elif outcome == Stage.OPPORTUNITY:
            feedback(True, rng.choice((3, 4, 4, 5, 5)), "")
            move(Stage.OPPORTUNITY, ends, actor=owner)
            row["amount"] = Decimal(rng.choice((1, 2, 3, 5, 8, 12, 20)) * 1000)
            close = self._at(ends, 24 * 10, 24 * 90)
            roll = rng.random()
            if close <= now and roll < 0.35:
                move(Stage.CUSTOMER, close, actor=owner)
                ends = close
            elif close <= now and roll < 0.8:
                move(Stage.LOST, close, reason=rng.choice(LOST_REASONS), actor=owner)
                ends = close
        return ends or now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.data", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--leads", type=int, required=True, help="How many leads to add.")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--database-url", help="Work on this PostgreSQL database.")
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="Processes simulating and writing chunks (default: up to two).",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true", help="Add to existing leads.")
    mode.add_argument("--reset", action="store_true", help="Delete existing leads first.")
    arguments = parser.parse_args(argv)
    if arguments.database_url:
        _use_database(arguments.database_url)
    try:
        generate_leads(
            leads=arguments.leads,
            seed=arguments.seed,
            workers=arguments.workers,
            append=arguments.append,
            reset=arguments.reset,
            stdout=sys.stdout,
        )
    except GenerationRefused as exc:
        print(f"bench.data: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
