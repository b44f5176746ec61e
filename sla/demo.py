"""Demo SLA data (called by `seed_demo` after leads and personas); safe to run repeatedly.

A default New York calendar, the seed agreement from the articles (75 leads reaching `sql`
per product per month; first attempt within 5 business hours; at most 4 attempts in 16
days; warning at 80%; exhaustion hands the lead back to marketing) with its written
contract, and clocks for demo leads already with sales.
"""

import datetime as dt

from django.db import transaction

from accounts.models import Team
from sla import services
from sla.models import BusinessCalendar, SLAAgreement, SLAClock

CALENDAR_NAME = "New York office"
AGREEMENT_NAME = "Sales and marketing SLA"

CONTRACT = {
    "goals": (
        "Grow revenue together. Marketing delivers enough qualified leads for the revenue "
        "plan; sales follows up every one of them fast and reports back what happened, so "
        "both teams can see which sources and campaigns turn into customers."
    ),
    "roles": (
        "Marketing: attracts and nurtures leads, maintains the MQL definition, scores leads "
        "and hands over sales-qualified leads.\n"
        "Sales: accepts or rejects each lead with a reason and a rating, contacts it within "
        "the agreed time, and moves it through the funnel.\n"
        "Sales manager: owns routing, business calendars and this agreement's compliance."
    ),
    "obligations": (
        "Marketing delivers 75 leads reaching SQL per product per month, matching the "
        "targeted personas.\n"
        "Sales makes the first attempt within 5 business hours of the hand-off and at most "
        "4 attempts within 16 days; every attempt is logged with its channel and outcome."
    ),
    "lead_management_protocol": (
        "Every lead has one owner. Attempts are logged the day they happen. A lead that is "
        "not ready goes back to marketing for nurturing with a reason; a lead that is not a "
        "fit is disqualified with a reason. When the attempts or the window are used up "
        "without progress, the lead is handed back to marketing as recycled (sla_exhausted)."
    ),
    "handoff_process": (
        "A lead becomes SQL when it meets the active SQL definition (or a hand-raiser such as "
        "a demo request). Routing picks the sales team by product, territory and persona, "
        "then the next available rep; the SLA clock starts at that moment and the rep is "
        "notified in the app and by email."
    ),
    "compensation_basis": (
        "Marketing is measured on SQLs delivered against this commitment and on the share "
        "that sales accepts; sales on first-touch compliance and on revenue won from "
        "marketing-sourced leads. Both teams share the revenue target."
    ),
}


def seed(stdout) -> None:
    with transaction.atomic():
        calendar = BusinessCalendar.objects.filter(
            name=CALENDAR_NAME, superseded_at__isnull=True
        ).first()
        if calendar is None:
            calendar = services.calendar_create(
                data={
                    "name": CALENDAR_NAME,
                    "time_zone": "America/New_York",
                    "hours": {str(day): [["09:00", "17:00"]] for day in range(5)},
                    "holiday_country": "US",
                    "is_default": not BusinessCalendar.objects.filter(is_default=True).exists(),
                },
                teams=Team.objects.filter(function=Team.Function.SALES),
            )
        agreement = SLAAgreement.objects.filter(
            name=AGREEMENT_NAME, superseded_at__isnull=True
        ).first()
        if agreement is None:
            from personas.models import Persona

            # Coverage stays open to every persona; the targeted ones are named in the text.
            targeted = ", ".join(
                Persona.objects.filter(status=Persona.Status.ACTIVE).values_list("name", flat=True)
            )
            contract = dict(CONTRACT)
            if targeted:
                contract["goals"] += f"\n\nTargeted personas: {targeted}."
            agreement = services.agreement_create(
                data={
                    "name": AGREEMENT_NAME,
                    "status": SLAAgreement.Status.ACTIVE,
                    "effective_from": dt.date(2020, 1, 1),
                    "leads_per_product_per_month": 75,
                    "commitment_stage": "sql",
                    "first_touch_hours": 5,
                    "max_attempts": 4,
                    "attempt_window_days": 16,
                    "warning_share": "0.80",
                    "exhaustion_action": SLAAgreement.ExhaustionAction.RECYCLE,
                    **contract,
                },
            )
    # Leads already with sales (the leads demo runs first) get the clock their hand-off
    # would have started had the agreement existed.
    started = services.clocks_backfill()
    stdout.write(
        f"SLA: calendar “{calendar}”, agreement “{agreement}”, {started} clocks started "
        f"({SLAClock.objects.count()} in all)."
    )
