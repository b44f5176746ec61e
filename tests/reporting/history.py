"""A funnel history built through the lifecycle service, and the same rows for funnel.py.

The reference numbers of every SQL funnel test are `reporting.funnel` over the raw lead and
transition rows read back from the database: an independent computation of the same facts.
"""

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from leads.lifecycle import ALLOWED_MOVES, REASON_REQUIRED, Stage
from leads.models import Lead, StageTransition
from leads.services import lead_transition
from reporting import funnel
from reporting.selectors import GROUP_FIELDS, day_start, group_key
from tests.leads.factories import CampaignFactory, LeadFactory, ProductFactory

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def base_day() -> dt.date:
    """The first day of the story: 40 days ago (company time zone), so it is all in the past."""
    return timezone.localdate() - dt.timedelta(days=40)


def at(day: int, hour: int = 9) -> dt.datetime:
    return day_start(base_day() + dt.timedelta(days=day)) + dt.timedelta(hours=hour)


def move(lead: Lead, to_stage: str, when: dt.datetime, **extra):
    reason = "because" if to_stage in REASON_REQUIRED else ""
    return lead_transition(lead=lead, to_stage=to_stage, at=when, reason=reason, **extra)


def story(owner=None, other_owner=None) -> dict[str, Lead]:
    """Named leads exercising the funnel's rules (days from `base_day`, 09:00 unless said)."""
    webinar = CampaignFactory(name="Webinar", source="webinar")
    ads = CampaignFactory(name="Ads", source="ads", product=webinar.product)
    other_product = ProductFactory(name="Other product", code="other")

    def lead(name, created, source, campaign, amount=None, product=None, lead_owner=None):
        return LeadFactory(
            first_name=name,
            email=f"{name}@example.com",
            created_at=created,
            source=source,
            campaign=campaign,
            product=product or webinar.product,
            amount=amount,
            owner=lead_owner,
        )

    leads = {
        "ada": lead("ada", at(1), "webinar", webinar, Decimal("1000"), lead_owner=owner),
        "ben": lead("ben", at(3), "ads", ads, Decimal("500"), lead_owner=other_owner),
        "cleo": lead("cleo", at(5), "webinar", webinar, Decimal("2000"), lead_owner=owner),
        "dan": lead("dan", at(10), "ads", None, Decimal("300"), other_product),
        "eve": lead("eve", at(-5), "ads", ads, Decimal("700")),
        "fay": lead("fay", at(12), "webinar", webinar),
        "gus": lead("gus", at(14), "", None, Decimal("800"), lead_owner=owner),
        "hal": lead("hal", at(14, 23), "webinar", webinar),  # created late in the evening
    }
    ada, ben, cleo, dan, eve, fay, gus, hal = leads.values()
    for to_stage, day in (("mql", 2), ("sql", 4), ("opportunity", 8), ("customer", 16)):
        move(ada, to_stage, at(day))
    move(ben, "sql", at(5))  # a manual move past mql
    move(ben, "opportunity", at(10))
    for to_stage, day in (("mql", 6), ("sql", 7), ("recycled", 9), ("mql", 20), ("sql", 22)):
        move(cleo, to_stage, at(day))  # recycled, then qualifies again
    move(eve, "mql", at(-4))
    move(eve, "sql", at(2))
    move(fay, "disqualified", at(13))
    move(fay, "lead", at(15))  # back to marketing's funnel
    move(fay, "mql", at(15, 15))
    for to_stage, day in (("mql", 15), ("sql", 16), ("opportunity", 18), ("lost", 28)):
        move(gus, to_stage, at(day))
    move(hal, "mql", at(15, 1))
    move(dan, "mql", at(11))  # dan's later moves are back-filled by the tests
    return leads


def random_histories(count: int, *, seed: int, first_day: int = 0, days: int = 30) -> None:
    """`count` leads with random walks through the allowed moves, at whole minutes."""
    rng = random.Random(seed)
    sources = ["webinar", "ads", "referral", ""]
    campaigns = [CampaignFactory(name=f"Random {seed} {i}", source=sources[i]) for i in range(3)]
    for index in range(count):
        created = at(first_day + rng.randrange(days), rng.randrange(24)) + dt.timedelta(
            minutes=rng.randrange(60)
        )
        lead = LeadFactory(
            email=f"random-{seed}-{index}@example.com",
            created_at=created,
            source=rng.choice(sources),
            campaign=rng.choice([*campaigns, None]),
            amount=Decimal(rng.randrange(1, 50) * 100) if rng.random() < 0.8 else None,
        )
        stage, when = Stage.LEAD, created
        for _ in range(rng.randrange(7)):
            targets = sorted(ALLOWED_MOVES[stage])
            if not targets:
                break
            when += dt.timedelta(minutes=rng.randrange(1, 6 * 24 * 60))
            if when >= timezone.now() - HOUR:
                break
            stage = rng.choice(targets)
            # A win needs an amount: a lead that had none gets one with the move.
            won = stage == Stage.CUSTOMER and lead.amount is None
            move(lead, stage, when, **({"amount": Decimal(100)} if won else {}))


def reference_rows(group_by: str = "all"):
    """The raw rows as funnel.py takes them, grouped like the SQL (text keys)."""
    field = GROUP_FIELDS.get(group_by)
    leads = [
        funnel.LeadRow(
            lead_id=lead.pk,
            created_at=lead.created_at,
            group=group_key(getattr(lead, field)) if field else None,
            amount=lead.amount,
        )
        for lead in Lead.objects.all()
    ]
    transitions = [
        funnel.TransitionRow(t.lead_id, t.from_stage, t.to_stage, t.at)
        for t in StageTransition.objects.all()
    ]
    return leads, transitions


def reference(mode: str, start, end, group_by: str = "all") -> dict:
    leads, transitions = reference_rows(group_by)
    if mode == "cohort":
        results = funnel.cohort_funnel(leads, transitions, start, end)
    else:
        results = funnel.flow_funnel(leads, transitions, start, end)
    if group_by == "all":
        return {funnel.ALL: results[funnel.ALL]}
    return results
