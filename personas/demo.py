"""Demo personas with interviews and journey maps. Idempotent."""

import datetime as dt

from accounts.models import User
from personas.models import Interview, JourneyStage, Persona

PERSONAS = [
    {
        "name": "Ops Olivia",
        "summary": "Runs operations at a mid-size logistics company and owns the tooling budget.",
        "role_title": "Head of Operations",
        "industry": "Logistics",
        "company_size": "200–1,000",
        "region": "North America",
        "goals": "On-time delivery above 97%; fewer manual hand-offs.",
        "pain_points": "Spreadsheets break at scale; no single view of orders.",
        "triggers": "A missed delivery to a key account.",
        "expectations": "Live in weeks, not months; measurable time saved.",
        "information_sources": "Peers, industry newsletters, G2 reviews.",
        "objections": "Migration effort; another tool to learn.",
        "preferred_channels": "Email, LinkedIn, webinars.",
        "status": Persona.Status.ACTIVE,
        "interviews": 4,
    },
    {
        "name": "Founder Felix",
        "summary": "Founder-CEO of a 20-person SaaS start-up, buys fast and alone.",
        "role_title": "Founder / CEO",
        "industry": "Software",
        "company_size": "10–50",
        "region": "Europe",
        "goals": "Predictable pipeline before the next round.",
        "pain_points": "No time; marketing and sales are the same two people.",
        "triggers": "Board asks for a revenue forecast.",
        "expectations": "Self-serve trial, transparent pricing.",
        "information_sources": "Podcasts, X, founder communities.",
        "objections": "Price per seat.",
        "preferred_channels": "Product trial, communities.",
        "status": Persona.Status.ACTIVE,
        "interviews": 3,
    },
    {
        "name": "Finance Fiona",
        "summary": "CFO at a manufacturing group; signs off every purchase above $10k.",
        "role_title": "CFO",
        "industry": "Manufacturing",
        "company_size": "1,000+",
        "region": "Europe",
        "goals": "Cost control, audit-ready processes.",
        "pain_points": "Marketing spend she cannot tie to revenue.",
        "triggers": "Budget review season.",
        "expectations": "ROI case, references.",
        "information_sources": "Analyst reports, her network.",
        "objections": "Security review, long contracts.",
        "preferred_channels": "Events, direct sales.",
        "status": Persona.Status.DRAFT,
        "interviews": 1,
    },
]

JOURNEY = {
    JourneyStage.Stage.AWARENESS: (
        "Why do we keep missing targets? Is this normal for our size?",
        "Benchmark report; blog posts on the problem.",
        "LinkedIn, search, newsletters.",
    ),
    JourneyStage.Stage.CONSIDERATION: (
        "What kinds of solutions exist? What do they cost to adopt?",
        "Comparison guide; webinar; case study from a peer.",
        "Webinars, review sites, email nurture.",
    ),
    JourneyStage.Stage.DECISION: (
        "Will it work for us? Who else uses it? What does the contract look like?",
        "Demo, trial, ROI calculator, references.",
        "Sales calls, demo, proposal.",
    ),
}


def seed(stdout) -> None:
    marketer = User.objects.filter(username="marketer").first()
    rep = User.objects.filter(username="rep").first()
    other_rep = User.objects.filter(username="other_rep").first()
    interviewers = [user for user in (rep, marketer, other_rep) if user] or [None]
    for spec in PERSONAS:
        spec = dict(spec)
        count = spec.pop("interviews")
        persona, _ = Persona.objects.update_or_create(name=spec.pop("name"), defaults=spec)
        persona.contributors.add(*[user for user in (marketer, rep) if user])
        for index in range(count):
            Interview.objects.update_or_create(
                persona=persona,
                interviewee=f"Customer {index + 1} for {persona.name}",
                defaults={
                    "interviewed_on": dt.date(2026, 1, 10) + dt.timedelta(days=7 * index),
                    "interviewer": interviewers[index % len(interviewers)],
                    "trigger": persona.triggers,
                    "expectations_met": "Mostly; onboarding took longer than promised.",
                    "information_sources": persona.information_sources,
                    "demographics": f"{persona.role_title}, {persona.company_size} staff, "
                    f"{persona.region}",
                    "notes": "",
                },
            )
        for stage, (questions, content, channels) in JOURNEY.items():
            JourneyStage.objects.update_or_create(
                persona=persona,
                stage=stage,
                defaults={
                    "questions": questions,
                    "content_offers": content,
                    "channels": channels,
                },
            )
    stdout.write(f"Personas: {len(PERSONAS)} with interviews and journey maps.")
