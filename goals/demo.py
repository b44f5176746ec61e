"""Demo revenue plan (the seed example), its goals, a SMART goal and an OKR quarter."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from goals import services
from goals.models import KeyResult, Metric, Objective, OwnerTeam, RevenuePlan


def seed(stdout) -> None:
    manager = User.objects.filter(username="manager").first()
    marketer = User.objects.filter(username="marketer").first()
    today = timezone.localdate()
    month_start = today.replace(day=1)

    plan = RevenuePlan.objects.filter(name="Seed plan: $15,000 a month").first()
    plan = services.revenue_plan_save(
        actor=manager,
        plan=plan,
        name="Seed plan: $15,000 a month",
        period_start=month_start,
        months=1,
        revenue_target=Decimal(15000),
        average_deal_size=Decimal(1000),
        deal_size_source="typed",
        lead_to_mql_rate=Decimal("0.2"),
        mql_to_sql_rate=Decimal("0.4"),
        sql_to_opportunity_rate=Decimal("0.5"),
        opportunity_to_customer_rate=Decimal("0.25"),
        rates_source="typed",
    )
    services.revenue_plan_create_goals(plan=plan, actor=manager)

    quarter = (today.month - 1) // 3 + 1
    quarter_start = dt.date(today.year, 3 * (quarter - 1) + 1, 1)
    conversion = services.Goal.objects.filter(title="Lift MQL → SQL conversion").first()
    fields = {
        "title": "Lift MQL → SQL conversion",
        "description": "Tighter MQL definition and faster follow-up on webinar leads.",
        "metric": Metric.CONVERSION_RATE,
        "from_stage": "mql",
        "to_stage": "sql",
        "target_value": Decimal("0.45"),
        "baseline_value": Decimal("0.35"),
        "rationale": "Sales accepted 40% of MQLs in the best month last quarter.",
        "start": quarter_start,
        "end": Objective(year=today.year, quarter=quarter).quarter_end,
        "owner_team": OwnerTeam.SHARED,
    }
    if conversion is None:
        services.goal_create(actor=manager, **fields)
    else:
        services.goal_update(goal=conversion, actor=manager, **fields)

    objective = Objective.objects.filter(
        title="Marketing and sales run one funnel", year=today.year, quarter=quarter
    ).first()
    if objective is None:
        services.objective_create(
            actor=manager,
            title="Marketing and sales run one funnel",
            year=today.year,
            quarter=quarter,
            owner_team=OwnerTeam.SHARED,
            key_results=[
                {
                    "title": "300 MQLs this quarter",
                    "kind": KeyResult.Kind.MEASURED,
                    "metric": Metric.MQLS,
                    "target_value": Decimal(300),
                },
                {
                    "title": "45 customers won",
                    "kind": KeyResult.Kind.MEASURED,
                    "metric": Metric.CUSTOMERS_WON,
                    "target_value": Decimal(45),
                },
                {
                    "title": "Every persona rests on 3+ interviews",
                    "kind": KeyResult.Kind.MANUAL,
                    "target_value": Decimal(3),
                },
            ],
        )
    marketing = Objective.objects.filter(
        title="Feed sales with leads it accepts", year=today.year, quarter=quarter
    ).first()
    if marketing is None:
        marketing = services.objective_create(
            actor=marketer or manager,
            title="Feed sales with leads it accepts",
            year=today.year,
            quarter=quarter,
            owner_team=OwnerTeam.MARKETING,
            key_results=[
                {
                    "title": "1,500 leads",
                    "kind": KeyResult.Kind.MEASURED,
                    "metric": Metric.LEADS,
                    "target_value": Decimal(1500),
                },
                {
                    "title": "Publish 4 persona case studies",
                    "kind": KeyResult.Kind.MANUAL,
                    "target_value": Decimal(4),
                },
            ],
        )
        manual = marketing.key_results.get(kind=KeyResult.Kind.MANUAL)
        services.check_in_record(
            key_result=manual,
            actor=marketer or manager,
            value=Decimal(2),
            note="Ops Olivia and Founder Felix are out.",
        )
    services.goal_progress_measure()
    stdout.write("Goals: the seed revenue plan and its goals, a shared goal, an OKR quarter.")
