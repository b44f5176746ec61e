"""Demo leads for `manage.py seed_demo`: eight weeks of a believable funnel.

Two products, campaigns across channels, an active MQL and SQL definition, routing to the
demo Sales team, and about 150 leads whose histories are played forward in time through the
services (events rescore and qualify, hand-offs route, reps log attempts and give feedback),
so every transition, assignment and score is what the product itself would have recorded.
Idempotent: leads are only created when no demo lead exists yet.
"""

import datetime as dt
import random
import time
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Team, User
from leads import services
from leads.lifecycle import ALLOWED_MOVES, Stage
from leads.models import Campaign, Lead, Product, QualificationDefinition, RoutingRule

DEMO_PREFIX = "demo-"
LEAD_COUNT = 150
WEEKS = 8

PRODUCTS = (
    ("Smarketing Cloud", "cloud", "The hosted alignment workspace."),
    ("Smarketing Analytics", "analytics", "Closed-loop funnel and SLA reporting."),
)
# name, channel, source, product code, cost, weeks ago it started
CAMPAIGNS = (
    ("Spring webinar: one funnel, two teams", "webinar", "webinar", "cloud", 4000, 8),
    ("Search: sales and marketing alignment", "paid_search", "paid-search", "cloud", 9000, 8),
    ("LinkedIn: SLA template", "paid_social", "paid-social", "analytics", 6000, 6),
    ("Guide: the revenue plan worksheet", "content", "content", "analytics", 1500, 7),
    ("Newsletter", "email", "email", None, 300, 8),
    ("SaaS Summit booth", "event", "event", "cloud", 12000, 4),
    ("Customer referrals", "referral", "referral", None, 0, 8),
)

SENIOR = {
    "any": [
        {"attribute": "title", "operator": "contains", "value": word}
        for word in ("director", "head", "vp", "chief")
    ]
}
MQL_RULES = {
    "threshold": 40,
    "min_fit": 10,
    "recency_days": 90,
    "fit": [
        {"points": 20, "label": "Senior title", **SENIOR},
        {"points": 10, "attribute": "company_size", "operator": "gte", "value": 50},
        {
            "points": 5,
            "attribute": "country",
            "operator": "in",
            "value": ["US", "GB", "DE", "FR", "NL"],
        },
        {"points": -30, "attribute": "industry", "operator": "equals", "value": "education"},
    ],
    "engagement": {
        "email_open": {"points": 2, "recency_days": 30, "max_points": 10},
        "content_download": 8,
        "webinar_attended": 15,
        "pricing_page_view": 10,
    },
    "hand_raisers": ["demo_request"],
    "hand_raisers_require_min_fit": True,
}
SQL_RULES = {
    "threshold": 75,
    "min_fit": 20,
    "recency_days": 60,
    "fit": [
        {"points": 20, "label": "Senior title", **SENIOR},
        {"points": 15, "attribute": "company_size", "operator": "gte", "value": 200},
    ],
    "engagement": {"webinar_attended": 15, "pricing_page_view": 15, "demo_request": 30},
    "hand_raisers": ["contact_sales"],
    "hand_raisers_require_min_fit": True,
}

FIRST_NAMES = (
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Barbara",
    "Ken",
    "Radia",
    "Edsger",
    "Frances",
    "Tim",
    "Hedy",
    "Donald",
    "Katherine",
    "Dennis",
    "Annie",
    "John",
    "Mary",
    "Claude",
    "Jean",
    "Sophie",
    "Lukas",
    "Emma",
    "Noah",
    "Mila",
    "Omar",
    "Priya",
    "Kenji",
    "Aisha",
    "Leo",
)
LAST_NAMES = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Liskov",
    "Thompson",
    "Perlman",
    "Dijkstra",
    "Allen",
    "Berners",
    "Lamarr",
    "Knuth",
    "Johnson",
    "Ritchie",
    "Easley",
    "Backus",
    "Shaw",
    "Shannon",
    "Sammet",
    "Martin",
    "Becker",
    "Schmidt",
    "Dubois",
    "Jansen",
    "Haddad",
    "Sharma",
    "Tanaka",
    "Okafor",
    "Rossi",
)
COMPANIES = (
    ("Northwind Traders", "retail", 420),
    ("Contoso", "software", 1800),
    ("Fabrikam", "manufacturing", 260),
    ("Tailspin Toys", "retail", 85),
    ("Wide World Importers", "logistics", 640),
    ("Adventure Works", "manufacturing", 1200),
    ("Litware", "software", 45),
    ("Proseware", "software", 130),
    ("Lucerne Publishing", "media", 70),
    ("Woodgrove Bank", "finance", 5200),
    ("Alpine Ski House", "hospitality", 30),
    ("Coho Winery", "hospitality", 18),
    ("Trey Research", "education", 400),
    ("Blue Yonder Airlines", "travel", 2100),
)
TITLES = (
    ("Director of Marketing", 3),
    ("Head of Sales", 3),
    ("VP Revenue", 2),
    ("Chief Marketing Officer", 1),
    ("Marketing Manager", 4),
    ("Sales Development Rep", 3),
    ("Demand Generation Specialist", 3),
    ("Student", 1),
)
COUNTRIES = (("US", 5), ("GB", 2), ("DE", 2), ("FR", 1), ("NL", 1), ("CA", 1), ("IN", 1))
LOST_REASONS = ("Chose a competitor", "No budget this year", "Project cancelled")


def seed(stdout) -> None:
    if Lead.objects.filter(external_id__startswith=DEMO_PREFIX).exists():
        stdout.write("Leads: demo leads already exist.")
        return
    team = Team.objects.filter(name="Sales").first()
    marketer = User.objects.filter(username="marketer").first()
    manager = User.objects.filter(username="manager").first()
    if team is None or marketer is None or manager is None:
        stdout.write("Leads: the demo users and teams are missing; run seed_demo.")
        return
    started = time.monotonic()
    rng = random.Random(20260301)
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - dt.timedelta(weeks=WEEKS)

    with transaction.atomic():
        products = _products()
        campaigns = _campaigns(products, now)
        _routing(products, team)
        _definitions(marketer, manager)
        leads = _leads(rng, campaigns, products, marketer, start, now)
        stats = {"events": 0, "transitions": 0, "attempts": 0, "feedback": 0}
        for lead in leads:
            _play(rng, lead, marketer, now, stats)
    stdout.write(
        f"Leads: {len(leads)} demo leads with {stats['events']} events, "
        f"{stats['transitions']} manual transitions, {stats['attempts']} attempts and "
        f"{stats['feedback']} feedback ({time.monotonic() - started:.1f} s)."
    )


def _products() -> dict[str, Product]:
    return {
        code: Product.objects.get_or_create(
            code=code, defaults={"name": name, "description": description}
        )[0]
        for name, code, description in PRODUCTS
    }


def _campaigns(products, now) -> list[Campaign]:
    campaigns = []
    for name, channel, source, product, cost, weeks_ago in CAMPAIGNS:
        starts_on = (now - dt.timedelta(weeks=weeks_ago)).date()
        campaign, _ = Campaign.objects.get_or_create(
            name=name,
            defaults={
                "channel": channel,
                "source": source,
                "product": products.get(product),
                "cost": Decimal(cost),
                "starts_on": starts_on,
            },
        )
        campaigns.append(campaign)
    return campaigns


def _routing(products, team) -> None:
    for product in products.values():
        RoutingRule.objects.get_or_create(
            name=f"{product.name} leads to {team.name}",
            defaults={"product": product, "team": team, "priority": 10},
        )
    RoutingRule.objects.get_or_create(
        name=f"Everything else to {team.name}", defaults={"team": team, "priority": 100}
    )


def _definitions(marketer, manager) -> None:
    for stage, rules, name in (
        (Stage.MQL, MQL_RULES, "Senior buyers who engage"),
        (Stage.SQL, SQL_RULES, "Ready for a sales conversation"),
    ):
        if QualificationDefinition.objects.filter(stage=stage, status="active").exists():
            continue
        draft = services.definition_create(
            stage=stage,
            name=name,
            rules=rules,
            description="Agreed by marketing and sales at the quarterly review.",
            actor=marketer,
        )
        services.definition_activate(definition=draft, actor=manager)


def _weighted(rng, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def _leads(rng, campaigns, products, marketer, start, now) -> list[Lead]:
    from personas.models import Persona

    # Most demo leads match a persona (seeded first), so persona performance has data.
    personas = list(Persona.objects.order_by("pk").values_list("pk", flat=True))
    rows = []
    span = (now - start - dt.timedelta(days=2)).total_seconds()
    for index in range(LEAD_COUNT):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company, industry, size = rng.choice(COMPANIES)
        campaign = rng.choice(campaigns)
        product = campaign.product or products[rng.choice(list(products))]
        created_at = start + dt.timedelta(seconds=rng.uniform(0, span))
        domain = company.lower().replace(" ", "") + ".example.com"
        title = _weighted(rng, TITLES)
        rows.append(
            {
                "external_id": f"{DEMO_PREFIX}{index + 1:04d}",
                "email": f"{first}.{last}.{index}@{domain}".lower(),
                "first_name": first,
                "last_name": last,
                "company": company,
                "title": title,
                "country": _weighted(rng, COUNTRIES),
                "source": campaign.source,
                "campaign": campaign.pk,
                "product": product.pk,
                "attributes": {
                    "company_size": size,
                    "industry": "education" if title == "Student" else industry,
                },
                "created_at": created_at,
            }
        )
        persona = rng.choice([*personas, None]) if personas else None
        if persona is not None:
            rows[-1]["persona"] = persona
    result = services.leads_upsert(rows=rows, actor=marketer, now=now)
    if result.errors:
        raise RuntimeError(f"Demo leads were refused: {result.errors[:3]}")
    return list(Lead.objects.filter(pk__in=result.created).order_by("created_at"))


def _play(rng, lead: Lead, marketer, now, stats) -> None:
    """Play a lead's story forward: engagement, qualification, sales touches, outcome."""
    t = lead.created_at
    end = now - dt.timedelta(hours=1)

    def later(low_hours: float, high_hours: float) -> dt.datetime | None:
        nonlocal t
        step = dt.timedelta(hours=rng.uniform(low_hours, high_hours))
        if t + step >= end:
            return None
        t = t + step
        return t

    engaged = rng.random()
    events = ["email_open"] * rng.randint(1, 2)
    if engaged > 0.3:
        events.append(rng.choice(["content_download", "pricing_page_view", "webinar_attended"]))
    if engaged > 0.55:
        events += ["pricing_page_view", "webinar_attended"]
    if engaged > 0.8:
        events.append(rng.choice(["demo_request", "contact_sales"]))
    for event_type in events:
        at = later(2, 60)
        if at is None:
            return
        services.lead_event_record(lead=lead, type=event_type, occurred_at=at, now=at)
        stats["events"] += 1
    lead.refresh_from_db()

    if lead.stage == Stage.LEAD and lead.attributes.get("industry") == "education":
        at = later(1, 24)
        if at is not None:
            _move(lead, Stage.DISQUALIFIED, marketer, "Student: not a buyer", at, stats)
        return
    if lead.stage == Stage.MQL and rng.random() < 0.35:
        # A marketer hands over a promising MQL the definition has not caught yet.
        at = later(4, 48)
        if at is None:
            return
        _move(lead, Stage.SQL, marketer, "Asked for a call at the booth", at, stats)
    lead.refresh_from_db()
    if lead.stage != Stage.SQL or lead.owner is None:
        return

    owner = lead.owner
    for _ in range(rng.randint(1, 4)):
        at = later(1, 30)
        if at is None:
            return
        outcome = rng.choice(["no_answer", "left_message", "connected", "meeting_booked"])
        services.contact_attempt_log(
            lead=lead,
            actor=owner,
            channel=rng.choice(["call", "call", "email", "social"]),
            outcome=outcome,
            occurred_at=at,
            note="" if outcome == "no_answer" else "Talked about their reporting gaps.",
            now=now,
        )
        stats["attempts"] += 1
        if outcome in ("connected", "meeting_booked"):
            break

    if rng.random() < 0.3:
        return  # still being worked: no verdict yet
    at = later(2, 48)
    if at is None:
        return
    verdict = rng.random()
    if verdict < 0.2:
        reason, accepted, rating = "not_ready", False, rng.randint(2, 3)
    elif verdict < 0.3:
        reason, accepted, rating = "bad_fit", False, rng.randint(1, 2)
    else:
        reason, accepted, rating = "", True, rng.randint(3, 5)
    advance = accepted and rng.random() < 0.7
    services.sales_feedback_give(
        lead=lead,
        author=owner,
        accepted=accepted,
        rating=rating,
        reason=reason,
        comment="Good timing, clear pain." if accepted else "Not the right moment.",
        advance=advance,
        now=at,
    )
    stats["feedback"] += 1
    if not advance:
        return
    at = later(48, 24 * 14)
    if at is None or rng.random() < 0.3:
        return  # an open opportunity
    if rng.random() < 0.6:
        amount = Decimal(rng.choice([800, 1000, 1200, 1500, 2400, 5000]))
        services.lead_update(lead=lead, data={"amount": str(amount)}, actor=owner, now=at)
        _move(lead, Stage.CUSTOMER, owner, "Contract signed", at, stats)
    else:
        _move(lead, Stage.LOST, owner, rng.choice(LOST_REASONS), at, stats)


def _move(lead: Lead, stage: str, actor, reason: str, at, stats) -> None:
    lead.refresh_from_db(fields=["stage"])
    if stage not in ALLOWED_MOVES[Stage(lead.stage)]:
        return
    services.lead_transition(lead=lead, to_stage=stage, actor=actor, reason=reason, at=at)
    stats["transitions"] += 1
