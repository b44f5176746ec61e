"""`manage.py bench_data --leads N`: realistic data for benchmarks, written with COPY.

Two years of leads across products, campaigns, personas and about twenty reps in three
sales teams: engagement events, stage transitions that follow the lifecycle with a
realistic drop-off (and the lead's `*_at` first-reached fields kept as the lifecycle
service keeps them), routing assignments, contact attempts, sales feedback, and one SLA
clock per hand-off with its deadlines computed by `sla.clock_rules` (so a clock is met,
breached, pending, exhausted or closed exactly as the product would have left it).

The reference rows (a few dozen) go through the ORM; leads and everything under them are
generated chunk by chunk and streamed with PostgreSQL `COPY`, so memory stays flat as N
grows. A database that already has leads is refused unless `--append` or `--reset`.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction
from django.utils import timezone

from leads import lifecycle
from leads.lifecycle import Stage

CHUNK = 10_000
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


class Command(BaseCommand):
    help = "Generate realistic benchmark data (leads over two years and all below them) fast."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, required=True, help="How many leads to add.")
        parser.add_argument("--seed", type=int, default=20260101)
        parser.add_argument(
            "--database-url", help="Work on this PostgreSQL database instead of the configured."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=min(2, os.cpu_count() or 1),
            help="Processes generating and copying chunks (default: up to two).",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--append", action="store_true", help="Add to existing leads.")
        mode.add_argument("--reset", action="store_true", help="Delete existing leads first.")

    def handle(self, *args, **options):
        count = options["leads"]
        if count < 1:
            raise CommandError("--leads must be a positive number.")
        if options["database_url"]:
            _use_database(options["database_url"])
        if connection.vendor != "postgresql":
            raise CommandError("bench_data writes with PostgreSQL COPY: use a PostgreSQL database.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM leads_lead")
            last_id = cursor.fetchone()[0]
        if last_id and not (options["append"] or options["reset"]):
            raise CommandError(
                "This database already has leads. Pass --append to add to them or --reset to "
                "delete them first."
            )
        if options["reset"]:
            _reset()
        began = time.perf_counter()
        now = timezone.now()
        # An append continues with other random draws than the first run.
        seed = options["seed"] + (last_id if options["append"] else 0)
        reference = _reference(now)
        totals = generate(
            count=count, now=now, seed=seed, reference=reference, workers=options["workers"]
        )
        with connection.cursor() as cursor:
            for table in ("leads_lead", "leads_stagetransition", "sla_slaclock", "leads_event"):
                cursor.execute(f"ANALYZE {table}")
        seconds = time.perf_counter() - began
        summary = ", ".join(f"{value:,} {name}" for name, value in totals.items())
        self.stdout.write(f"bench_data: {summary} in {seconds:.1f} s")


def _use_database(url: str) -> None:
    import dj_database_url

    parsed = dj_database_url.parse(url)
    connection.close()
    for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT"):
        connection.settings_dict[key] = parsed.get(key, "")


def _reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_lead, leads_stagetransition, leads_event, leads_contactattempt, "
            "leads_salesfeedback, leads_routingassignment, sla_slaclock, sla_slarecord, "
            "reporting_funnelsnapshot CASCADE"
        )


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


class _Tables:
    """Rows of one chunk per table, and the COPY that writes them."""

    LEAD = [
        "id",
        "external_id",
        "email",
        "first_name",
        "last_name",
        "company",
        "title",
        "phone",
        "country",
        "source",
        "campaign_id",
        "product_id",
        "persona_id",
        "owner_id",
        "team_id",
        "stage",
        "score",
        "fit_score",
        "engagement_score",
        "score_details",
        "attributes",
        "amount",
        "created_at",
        "updated_at",
        "stage_changed_at",
        "handed_off_at",
        "mql_at",
        "sql_at",
        "opportunity_at",
        "customer_at",
        "mql_definition_id",
        "sql_definition_id",
    ]
    TRANSITION = [
        "lead_id",
        "from_stage",
        "to_stage",
        "at",
        "actor_id",
        "reason",
        "definition_id",
        "recorded_at",
    ]
    EVENT = ["lead_id", "type", "occurred_at", "properties", "campaign_id", "recorded_at"]
    ATTEMPT = ["lead_id", "actor_id", "channel", "outcome", "occurred_at", "note", "recorded_at"]
    FEEDBACK = [
        "lead_id",
        "author_id",
        "accepted",
        "rating",
        "reason",
        "comment",
        "definition_id",
        "created_at",
    ]
    ASSIGNMENT = [
        "lead_id",
        "owner_id",
        "previous_owner_id",
        "team_id",
        "rule_id",
        "actor_id",
        "reason",
        "at",
    ]
    CLOCK = [
        "id",
        "lead_id",
        "owner_id",
        "agreement_id",
        "calendar_id",
        "handoff_at",
        "first_touch_due_at",
        "warn_at",
        "attempt_window_ends_at",
        "first_touch_at",
        "response_business_seconds",
        "status",
        "attempts",
        "over_contact",
        "warned_at",
        "breached_at",
        "exhausted_at",
        "closed_at",
    ]
    RECORD = ["clock_id", "kind", "at", "owner_id", "detail"]

    def __init__(self):
        self.rows = {name: [] for name in self.names()}

    @staticmethod
    def names():
        return {
            "leads_lead": _Tables.LEAD,
            "leads_stagetransition": _Tables.TRANSITION,
            "leads_event": _Tables.EVENT,
            "leads_contactattempt": _Tables.ATTEMPT,
            "leads_salesfeedback": _Tables.FEEDBACK,
            "leads_routingassignment": _Tables.ASSIGNMENT,
            "sla_slaclock": _Tables.CLOCK,
            "sla_slarecord": _Tables.RECORD,
        }

    def write(self, cursor, totals: dict, now: datetime) -> None:
        for table, columns in self.names().items():
            rows = self.rows[table]
            if not rows:
                continue
            extra_columns, extra_values = _defaults_of_other_columns(table, columns, now)
            statement = f"COPY {table} ({', '.join(columns + extra_columns)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row((*row, *extra_values) if extra_values else row)
            totals[table.split("_", 1)[1]] = totals.get(table.split("_", 1)[1], 0) + len(rows)
            rows.clear()


def _defaults_of_other_columns(table: str, columns: list[str], now: datetime):
    """Columns this generator does not fill (added since it was written) get the model's
    default, so a new column with a default never breaks the COPY."""
    from django.apps import apps

    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.column in columns or field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        else:
            value = field.get_db_prep_save(field.get_default(), connection)
            if hasattr(value, "dumps"):
                value = value.dumps(value.obj)
        names.append(field.column)
        values.append(value)
    return names, values


def _skip_foreign_key_triggers(cursor) -> None:
    """Bulk loads skip the per-row foreign-key triggers when the role may (a superuser):
    every id written here comes from rows just created or reserved, and the consistency
    test checks them. Other roles load with the checks on, only slower."""
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except Exception:  # noqa: BLE001 - not permitted: keep the checks
        pass


def _reserve_ids(cursor, table: str, count: int) -> int:
    """Reserve `count` consecutive ids of `table`'s sequence; return the first."""
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
        "GREATEST(nextval(pg_get_serial_sequence(%s, 'id')), "
        "(SELECT COALESCE(MAX(id), 0) + 1 FROM " + table + ")) + %s - 1)",
        [table, table, count],
    )
    return cursor.fetchone()[0] - count + 1


def generate(
    *, count: int, now: datetime, seed: int, reference: Reference, workers: int = 1
) -> dict:
    """Write `count` leads with their histories in chunks; return row counts per table.

    Ids are reserved up front, so chunks are independent: with `workers` > 1 they are
    generated and copied by that many forked processes, each on its own connection (one
    builds rows while another waits for PostgreSQL). Chunk `i` draws from its own seeded
    random stream, so the data does not depend on the number of workers.
    """
    chunks = []
    with transaction.atomic(), connection.cursor() as cursor:
        first_lead = _reserve_ids(cursor.cursor, "leads_lead", count)
        first_clock = _reserve_ids(cursor.cursor, "sla_slaclock", count * 2)
    for index, offset in enumerate(range(0, count, CHUNK)):
        size = min(CHUNK, count - offset)
        chunks.append((index, first_lead + offset, size, first_clock + 2 * offset))
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
    return {"leads": totals.get("lead", 0), **{k: v for k, v in totals.items() if k != "lead"}}


_JOB = None  # (now, seed, reference) of the running `generate`, inherited by its workers


def _chunk(chunk: tuple[int, int, int, int]) -> dict:
    index, first_lead, size, first_clock = chunk
    now, seed, reference = _JOB
    simulator = _Simulator(
        now=now, rng=random.Random(seed * 1_000_003 + index), reference=reference
    )
    tables, totals = _Tables(), {}
    clock_ids = iter(range(first_clock, first_clock + 2 * size))
    for lead_id in range(first_lead, first_lead + size):
        simulator.lead(lead_id, tables, clock_ids)
    with transaction.atomic(), connection.cursor() as cursor:
        _skip_foreign_key_triggers(cursor.cursor)
        tables.write(cursor.cursor, totals, now)
    return totals


class _Simulator:
    """Plays one lead's life: events, qualification, hand-offs, attempts, outcome."""

    def __init__(self, *, now, rng, reference: Reference):
        self.now, self.rng, self.ref = now, rng, reference
        self.start = now - timedelta(days=365 * YEARS)
        self.span = (now - self.start).total_seconds()
        self.event_types = [name for name, _ in EVENT_TYPES]
        self.event_weights = [weight for _, weight in EVENT_TYPES]
        self.round_robin = [0] * len(reference.teams)
        self.json_empty = "{}"

    def _at(self, after: datetime, low_hours: float, high_hours: float) -> datetime:
        return after + timedelta(hours=self.rng.uniform(low_hours, high_hours))

    def _mql_definition(self, at: datetime) -> int:
        chosen = self.ref.mql_definitions[0][0]
        for pk, since in self.ref.mql_definitions:
            if since <= at:
                chosen = pk
        return chosen

    def lead(self, lead_id: int, tables: _Tables, clock_ids) -> None:
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
        lead = {
            "stage": Stage.LEAD.value,
            "owner": None,
            "team": None,
            "amount": None,
            "handed_off_at": None,
            "stage_changed_at": None,
            "reached": {},
            "mql_definition": None,
            "sql_definition": None,
            "product": product_id,
        }
        transitions = tables.rows["leads_stagetransition"]

        def move(to_stage: str, at: datetime, reason: str = "", definition=None, actor=None):
            to_stage = Stage(to_stage).value
            lifecycle.check_move(lead["stage"], to_stage, reason=reason)
            transitions.append(
                (lead_id, lead["stage"], to_stage, at, actor, reason, definition, at)
            )
            for stage in lifecycle.stages_reached(to_stage):
                lead["reached"].setdefault(stage.value, at)
            if definition is not None:
                lead[f"{to_stage}_definition"] = definition
            lead["stage"], lead["stage_changed_at"] = to_stage, at
            if to_stage == Stage.SQL:
                lead["handed_off_at"] = at

        # Engagement before (and around) qualification.
        engagement = 0
        events = tables.rows["leads_event"]
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8))):
            occurred = self._at(created, 0, 24 * 60)
            if occurred > now:
                continue
            kind = rng.choices(self.event_types, self.event_weights)[0]
            engagement += {"webinar_attended": 15, "pricing_page_view": 10}.get(kind, 2)
            events.append((lead_id, kind, occurred, self.json_empty, campaign_id, occurred))

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
                    move(Stage.SQL, at, definition=ref.sql_definition)
                    at = self._sales_episode(lead_id, lead, at, tables, clock_ids, move)
                    if lead["stage"] != Stage.RECYCLED or rng.random() > 0.25:
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

        fit = rng.randrange(0, 45)
        reached = lead["reached"]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        domain = "gmail.com" if lead_id % 9 == 0 else f"company{lead_id % 40_000}.example"
        tables.rows["leads_lead"].append(
            (
                lead_id,
                f"bench-{lead_id}",
                f"{first.lower()}.{last.lower()}.{lead_id}@{domain}",
                first,
                last,
                f"Company {lead_id % 40_000}",
                rng.choice(TITLES),
                "",
                rng.choice(COUNTRIES),
                source,
                campaign_id,
                product_id,
                persona_id,
                lead["owner"],
                lead["team"],
                lead["stage"],
                fit + min(engagement, 60),
                fit,
                min(engagement, 60),
                self.json_empty,
                json.dumps(
                    {
                        "company_size": rng.choice((5, 20, 80, 150, 400, 900, 2500, 10000)),
                        "industry": rng.choice(INDUSTRIES),
                    }
                ),
                lead["amount"],
                created,
                lead["stage_changed_at"] or created,
                lead["stage_changed_at"],
                lead["handed_off_at"],
                reached.get("mql"),
                reached.get("sql"),
                reached.get("opportunity"),
                reached.get("customer"),
                lead["mql_definition"],
                lead["sql_definition"],
            )
        )

    def _owner(self, lead_id, lead, at, tables) -> int:
        """Round-robin inside the product's team, once per lead (reassignment keeps it)."""
        if lead["owner"] is None:
            team_index = self.ref.team_by_product[lead["product"]]
            team_id, reps = self.ref.teams[team_index]
            rep = reps[self.round_robin[team_index] % len(reps)]
            self.round_robin[team_index] += 1
            lead["owner"], lead["team"] = rep, team_id
            tables.rows["leads_routingassignment"].append(
                (
                    lead_id,
                    rep,
                    None,
                    team_id,
                    self.ref.rule_by_team.get(team_id),
                    None,
                    "Routed: round-robin in team",
                    at,
                )
            )
        return lead["owner"]

    def _sales_episode(self, lead_id, lead, handoff, tables, clock_ids, move) -> datetime:
        """A hand-off: clock, attempts, feedback and the outcome. Returns the last instant."""
        from sla import clock_rules

        rng, ref, now = self.rng, self.ref, self.now
        owner = self._owner(lead_id, lead, handoff, tables)
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
            extra = rng.choice((0, 0, 1, 1, 2, 3, 4))
            for _ in range(extra):
                nxt = attempts[-1] + timedelta(hours=rng.uniform(4, 24 * 4))
                if nxt > episode_end:
                    break
                attempts.append(nxt)
        for number, occurred in enumerate(attempts):
            last = number == len(attempts) - 1
            result = "connected" if last and outcome == Stage.OPPORTUNITY else None
            tables.rows["leads_contactattempt"].append(
                (
                    lead_id,
                    owner,
                    rng.choice(ATTEMPT_CHANNELS),
                    result or rng.choice(ATTEMPT_OUTCOMES),
                    occurred,
                    "",
                    occurred,
                )
            )

        # The clock, as the sweep would have left it.
        clock_id = next(clock_ids)
        first_touch = attempts[0] if attempts else None
        in_window = sum(1 for a in attempts if a <= window_end)
        response = (
            clock_rules.response_seconds(ref.engine, handoff, first_touch) if first_touch else None
        )
        if first_touch is not None and first_touch <= due:
            status = "met"
        elif first_touch is not None or due < now - timedelta(minutes=2):
            status = "breached"
        else:
            status = "pending"  # includes the few that came due since the last sweep
        warn_at = deadlines.warn_at
        warned = (
            warn_at if warn_at <= now and (first_touch is None or first_touch > warn_at) else None
        )
        breached = min(due + timedelta(seconds=30), now) if status == "breached" else None
        exhausted = closed = None
        if outcome is None and window_end <= now:
            # The window closed without progress: the agreement hands the lead back.
            exhausted = closed = window_end
            move(Stage.RECYCLED, window_end, reason="sla_exhausted")
            ends = window_end
        elif outcome is not None and outcome != Stage.OPPORTUNITY:
            closed = ends
        records = tables.rows["sla_slarecord"]
        if warned:
            records.append((clock_id, "warning", warned, owner, ""))
        if breached:
            records.append((clock_id, "breach", breached, owner, ""))
        if exhausted:
            records.append((clock_id, "exhaustion", exhausted, owner, "Attempt window closed"))

        # Feedback (citing the SQL version that qualified the lead) and the outcome.
        feedback, sql = tables.rows["leads_salesfeedback"], ref.sql_definition
        if outcome == Stage.DISQUALIFIED:
            feedback.append(
                (lead_id, owner, False, rng.choice((1, 1, 2)), "bad_fit", "", sql, ends)
            )
            move(Stage.DISQUALIFIED, ends, reason="bad_fit", actor=owner)
        elif outcome == Stage.RECYCLED:
            feedback.append((lead_id, owner, False, rng.choice((2, 3)), "not_ready", "", sql, ends))
            move(Stage.RECYCLED, ends, reason="not_ready", actor=owner)
        elif outcome == Stage.OPPORTUNITY:
            feedback.append((lead_id, owner, True, rng.choice((3, 4, 4, 5, 5)), "", "", sql, ends))
            move(Stage.OPPORTUNITY, ends, actor=owner)
            lead["amount"] = Decimal(rng.choice((1, 2, 3, 5, 8, 12, 20)) * 1000)
            close = self._at(ends, 24 * 10, 24 * 90)
            roll = rng.random()
            if close <= now and roll < 0.35:
                move(Stage.CUSTOMER, close, actor=owner)
                closed = close
                ends = close
            elif close <= now and roll < 0.8:
                move(Stage.LOST, close, reason=rng.choice(LOST_REASONS), actor=owner)
                closed = close
                ends = close
            elif window_end <= now:
                closed = window_end  # moved forward: the window closes the clock quietly
        if closed is not None and closed > now:
            closed = None
        tables.rows["sla_slaclock"].append(
            (
                clock_id,
                lead_id,
                owner,
                ref.agreement,
                ref.calendar,
                handoff,
                due,
                warn_at,
                window_end,
                first_touch,
                response,
                status,
                in_window,
                in_window > ref.terms.max_attempts,
                warned,
                breached,
                exhausted,
                closed,
            )
        )
        return ends or now
