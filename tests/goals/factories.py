"""Factories for goals, revenue plans and OKRs."""

import datetime as dt
from decimal import Decimal

import factory

from goals.models import Goal, KeyResult, Metric, Objective, OwnerTeam, RevenuePlan


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Goal

    title = factory.Sequence(lambda n: f"Goal {n}")
    description = "Grow the pipeline."
    metric = Metric.MQLS
    target_value = Decimal(100)
    baseline_value = Decimal(60)
    rationale = "Last quarter we made 80 with half the budget."
    start = dt.date(2026, 1, 1)
    end = dt.date(2026, 3, 31)
    owner_team = OwnerTeam.MARKETING


class RevenuePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RevenuePlan

    name = factory.Sequence(lambda n: f"Plan {n}")
    period_start = dt.date(2026, 1, 1)
    months = 1
    revenue_target = Decimal(15000)
    average_deal_size = Decimal(1000)
    lead_to_mql_rate = Decimal("0.2")
    mql_to_sql_rate = Decimal("0.4")
    sql_to_opportunity_rate = Decimal("0.5")
    opportunity_to_customer_rate = Decimal("0.25")


class ObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objective

    title = factory.Sequence(lambda n: f"Objective {n}")
    year = 2026
    quarter = 1
    owner_team = OwnerTeam.SHARED


class KeyResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KeyResult

    objective = factory.SubFactory(ObjectiveFactory)
    title = factory.Sequence(lambda n: f"Key result {n}")
    kind = KeyResult.Kind.MANUAL
    start_value = Decimal(0)
    target_value = Decimal(10)
    position = factory.Sequence(lambda n: n)


# One revenue plan, as the API takes it and as the plan form takes it (the same figures).
PLAN = {
    "name": "Seed plan",
    "period_start": "2026-04-01",
    "months": 1,
    "revenue_target": "15000",
    "average_deal_size": "1000",
    "lead_to_mql_rate": "0.2",
    "mql_to_sql_rate": "0.4",
    "sql_to_opportunity_rate": "0.5",
    "opportunity_to_customer_rate": "0.25",
}
PLAN_FORM = {
    "name": "Seed plan",
    "period_start": "2026-04-01",
    "months": "1",
    "revenue_target": "15000",
    "deal_size_source": "typed",
    "average_deal_size": "1000",
    "rates_source": "typed",
    "lookback_days": "180",
    "lead_to_mql_percent": "20",
    "mql_to_sql_percent": "40",
    "sql_to_opportunity_percent": "50",
    "opportunity_to_customer_percent": "25",
}


def revenue_plan(actor, **values) -> RevenuePlan:
    """The plan above saved through the service (Q2 2026, one month), `values` overriding."""
    from goals.services import revenue_plan_save

    fields = {
        "name": "Q2 plan",
        "period_start": dt.date(2026, 4, 1),
        "months": 1,
        "revenue_target": Decimal(15000),
        "average_deal_size": Decimal(1000),
        "lead_to_mql_rate": Decimal("0.2"),
        "mql_to_sql_rate": Decimal("0.4"),
        "sql_to_opportunity_rate": Decimal("0.5"),
        "opportunity_to_customer_rate": Decimal("0.25"),
    }
    return revenue_plan_save(actor=actor, **{**fields, **values})
