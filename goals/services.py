"""Writes for goals, revenue plans and OKRs.

Keyword-only, atomic, reading the clock once. Field problems are Django `ValidationError`s
keyed by field (forms show them next to the field, the API as field messages); refused
operations are `DomainError`s.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core import bounds
from core.errors import DomainError
from goals import planning, selectors
from goals.models import (
    RATE_METRICS,
    CheckIn,
    Goal,
    KeyResult,
    Metric,
    Objective,
    OwnerTeam,
    PlanProductShare,
    RevenuePlan,
)

STAGE_ORDER = {stage: rank for rank, stage in enumerate(planning.STAGES)}


# --- shared validation ----------------------------------------------------------------------


def _metric_errors(*, metric: str, from_stage: str, to_stage: str, target) -> dict:
    errors: dict[str, list[str]] = {}
    if metric == Metric.CONVERSION_RATE:
        if not from_stage:
            errors["from_stage"] = ["Choose the stage leads reach first."]
        if not to_stage:
            errors["to_stage"] = ["Choose the stage they should go on to reach."]
        if from_stage and to_stage and STAGE_ORDER[to_stage] <= STAGE_ORDER[from_stage]:
            errors["to_stage"] = ["Must be a later stage than the first one."]
    elif from_stage or to_stage:
        errors["from_stage"] = ["Stages are only used with a conversion rate."]
    if metric in RATE_METRICS and target is not None and target > 1:
        errors["target_value"] = ["A rate is a fraction between 0 and 1 (0.25 is 25%)."]
    if target is not None and target < 0:
        errors["target_value"] = ["Must not be negative."]
    return errors


# --- SMART goals ----------------------------------------------------------------------------

GOAL_FIELDS = (
    "title",
    "description",
    "metric",
    "from_stage",
    "to_stage",
    "target_value",
    "baseline_value",
    "rationale",
    "start",
    "end",
    "owner_team",
)


def goal_realism(
    *,
    metric: str,
    target_value: Decimal,
    start: dt.date,
    end: dt.date,
    from_stage: str = "",
    to_stage: str = "",
) -> tuple[Decimal | None, Decimal | None, str]:
    """The metric over the comparable period before ``start``, the ratio target / that value,
    and the sentence shown with the goal ("needs 2.4× last quarter")."""
    previous = selectors.previous_period(start, end)
    start_at, end_at = selectors.period_bounds(*previous)
    last = selectors.metric_value(
        metric=metric, start_at=start_at, end_at=end_at, from_stage=from_stage, to_stage=to_stage
    )
    label = selectors.period_label(start, end)
    return (
        last,
        planning.realism_ratio(target_value, last),
        planning.realism_sentence(target_value, last, label),
    )


def _goal_validate(goal: Goal) -> None:
    errors: dict[str, list[str]] = {}
    try:
        goal.full_clean(exclude=["revenue_plan", "created_by"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    for name in ("start", "end"):
        day = getattr(goal, name)
        problem = bounds.date_problem(day) if isinstance(day, dt.date) else None
        if problem:  # the measurement and the realism check compute periods around it
            errors.setdefault(name, []).append(problem)
    if goal.start and goal.end and goal.end <= goal.start:
        errors.setdefault("end", []).append("The end must be after the start.")
    for field, messages in _metric_errors(
        metric=goal.metric,
        from_stage=goal.from_stage,
        to_stage=goal.to_stage,
        target=goal.target_value,
    ).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _goal_measure_one(goal: Goal, *, now: dt.datetime) -> None:
    today = timezone.localdate(now)
    if goal.start <= today:
        goal.measured_value = selectors.goal_metric_value(goal, goal.start, goal.end)
        goal.measured_at = now
    goal.last_period_value = goal_realism(
        metric=goal.metric,
        target_value=goal.target_value,
        start=goal.start,
        end=goal.end,
        from_stage=goal.from_stage,
        to_stage=goal.to_stage,
    )[0]


@transaction.atomic
def goal_create(
    *,
    actor: User | None,
    revenue_plan: RevenuePlan | None = None,
    now: dt.datetime | None = None,
    **fields,
) -> Goal:
    """Create a SMART goal; it is measured at once (progress is never typed in)."""
    now = now or timezone.now()
    unknown = set(fields) - set(GOAL_FIELDS)
    if unknown:
        raise TypeError(f"unknown goal fields: {sorted(unknown)}")
    goal = Goal(created_by=actor, revenue_plan=revenue_plan, **fields)
    goal.from_stage = goal.from_stage or ""
    goal.to_stage = goal.to_stage or ""
    _goal_validate(goal)
    _goal_measure_one(goal, now=now)
    goal.save()
    return goal


@transaction.atomic
def goal_update(
    *, goal: Goal, actor: User | None, now: dt.datetime | None = None, **fields
) -> Goal:
    now = now or timezone.now()
    for name, value in fields.items():
        if name not in GOAL_FIELDS:
            raise TypeError(f"unknown goal field: {name}")
        setattr(
            goal, name, value if value is not None or name not in ("from_stage", "to_stage") else ""
        )
    _goal_validate(goal)
    _goal_measure_one(goal, now=now)
    goal.save()
    return goal


def goal_progress_measure(*, now: dt.datetime | None = None) -> int:
    """Measure every goal and measured key result whose period has started and has not been
    over for more than a week; store the values. Idempotent: the same data gives the same
    values. Each distinct (metric, stages, period) is measured once, then one bulk update per
    model. Returns how many rows were measured."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    recent = today - dt.timedelta(days=7)

    goals = list(Goal.objects.filter(start__lte=today, end__gte=recent))
    key_results = list(
        KeyResult.objects.filter(kind=KeyResult.Kind.MEASURED)
        .exclude(metric="")
        .select_related("objective")
    )
    key_results = [
        kr
        for kr in key_results
        if kr.objective.quarter_start <= today and kr.objective.quarter_end >= recent
    ]
    cache: dict[tuple, Decimal | None] = {}

    def value_for(row, start: dt.date, end: dt.date) -> Decimal | None:
        key = (row.metric, row.from_stage, row.to_stage, start, end)
        if key not in cache:
            cache[key] = selectors.goal_metric_value(row, start, end)
        return cache[key]

    for goal in goals:
        goal.measured_value = value_for(goal, goal.start, goal.end)
        goal.measured_at = now
    for kr in key_results:
        kr.current_value = value_for(kr, kr.objective.quarter_start, kr.objective.quarter_end)
        kr.measured_at = now
    with transaction.atomic():
        Goal.objects.bulk_update(goals, ["measured_value", "measured_at"], batch_size=500)
        KeyResult.objects.bulk_update(key_results, ["current_value", "measured_at"], batch_size=500)
    return len(goals) + len(key_results)


# --- revenue plans --------------------------------------------------------------------------

PLAN_FIELDS = (
    "name",
    "period_start",
    "months",
    "revenue_target",
    "average_deal_size",
    "deal_size_source",
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_customer_rate",
    "rates_source",
    "lookback_days",
)


def _needs_dict(needs: planning.PlanNeeds) -> dict:
    return {
        "customers": needs.customers,
        "opportunities": needs.opportunities,
        "sqls": needs.sqls,
        "mqls": needs.mqls,
        "leads": needs.leads,
        "expected_revenue": str(needs.expected_revenue),
    }


def revenue_plan_compute(
    *, plan: RevenuePlan, shares: Mapping[int, Decimal] | None = None, now: dt.datetime
) -> dict:
    """Work the plan backwards into needs, measuring what it says to measure.

    Raises `ValidationError` keyed by plan field for anything that cannot be computed (a rate
    of 0 or above 100%, a target that is not positive, nothing to measure from…): never a
    division error.
    """
    errors: dict[str, list[str]] = {}
    typed = planning.PlanInputs(
        revenue_target=plan.revenue_target,
        average_deal_size=plan.average_deal_size,
        **{field: getattr(plan, field) for field in planning.RATE_FIELDS},
    )
    # Typed values are checked even where a measured one will be used: they are the fallback.
    for field, messages in planning.validate_plan_inputs(typed).items():
        if getattr(typed, field) is not None or field == "revenue_target":
            errors[field] = messages

    lookback_start = now - dt.timedelta(days=plan.lookback_days)
    measuring = "measured" in (plan.deal_size_source, plan.rates_source)
    measurement = (
        selectors.funnel_measure(start_at=lookback_start, end_at=now) if measuring else None
    )

    deal, deal_source = plan.average_deal_size, "typed"
    if plan.deal_size_source == "measured":
        assert measurement is not None
        if measurement.average_deal_size and measurement.average_deal_size > 0:
            deal, deal_source = measurement.average_deal_size, "measured"
        elif deal is None:
            errors.setdefault("average_deal_size", []).append(
                f"No leads won with an amount in the last {plan.lookback_days} days to measure "
                "from: type an average deal size."
            )
    elif deal is None:
        errors.setdefault("average_deal_size", []).append(planning.REQUIRED_MESSAGE)

    inputs = planning.PlanInputs(
        revenue_target=plan.revenue_target,
        average_deal_size=deal,
        **{field: getattr(plan, field) for field in planning.RATE_FIELDS},
    )
    sources = dict.fromkeys(planning.RATE_FIELDS, planning.RateSource.TYPED)
    if plan.rates_source == "measured":
        assert measurement is not None
        inputs, sources = planning.with_measured_rates(inputs, measurement.rates)
    for field in planning.RATE_FIELDS:
        if getattr(inputs, field) is None and field not in errors:
            errors[field] = [
                f"Nothing to measure this rate from in the last {plan.lookback_days} days: "
                "type a rate to fall back on."
                if plan.rates_source == "measured"
                else planning.REQUIRED_MESSAGE
            ]
    if shares:
        errors.update(planning.validate_product_shares(shares))
    if errors:
        raise ValidationError(errors)
    try:
        whole = planning.plan_needs(inputs)
        product_needs = planning.split_by_product(inputs, shares) if shares else {}
        product_monthly = {
            product_id: planning.per_month(product, plan.months)
            for product_id, product in product_needs.items()
        }
        # Split by product, each product is rounded up on its own (its commitment is its own),
        # so the plan's totals are the sums of its products' rows: what the teams sign up for
        # adds up, and can be a few more than the whole target alone would need.
        if product_needs:
            needs = planning.total_needs(product_needs.values())
            monthly = planning.total_needs(product_monthly.values())
        else:
            needs, monthly = whole, planning.per_month(whole, plan.months)
    except planning.PlanningError as exc:  # defensive: validated above
        raise ValidationError(exc.errors) from exc

    return {
        "months": plan.months,
        "lookback": {
            "days": plan.lookback_days,
            "start": lookback_start.isoformat(),
            "end": now.isoformat(),
        }
        if measuring
        else None,
        "average_deal_size": str(deal),
        "deal_size_source": deal_source,
        "measured_average_deal_size": str(measurement.average_deal_size)
        if measurement and measurement.average_deal_size is not None
        else None,
        "rates": {field: str(getattr(inputs, field)) for field in planning.RATE_FIELDS},
        "rate_sources": {field: str(source) for field, source in sources.items()},
        "measured_rates": {
            field: (
                None
                if getattr(measurement.rates, field) is None
                else str(getattr(measurement.rates, field))
            )
            for field in planning.RATE_FIELDS
        }
        if measurement
        else None,
        "needs": _needs_dict(needs),
        "needs_per_month": _needs_dict(monthly),
        "whole_plan_needs": _needs_dict(whole),
        "products": [
            {
                "product": product_id,
                "share": str(shares[product_id]),
                "needs": _needs_dict(product_needs[product_id]),
                "needs_per_month": _needs_dict(product_monthly[product_id]),
            }
            for product_id in product_needs
        ],
    }


@transaction.atomic
def revenue_plan_save(
    *,
    actor: User | None,
    plan: RevenuePlan | None = None,
    product_shares: Mapping[int, Decimal] | None = None,
    now: dt.datetime | None = None,
    **fields,
) -> RevenuePlan:
    """Create or update a revenue plan and store its computed needs.

    ``product_shares`` maps a product id to its share of the target (fractions adding up to
    1); ``None`` keeps the current shares, ``{}`` removes them.
    """
    now = now or timezone.now()
    creating = plan is None
    plan = plan or RevenuePlan(created_by=actor)
    for name, value in fields.items():
        if name not in PLAN_FIELDS:
            raise TypeError(f"unknown plan field: {name}")
        setattr(plan, name, value)
    if plan.period_start:
        plan.period_start = plan.period_start.replace(day=1)
    errors: dict[str, list[str]] = {}
    try:
        plan.full_clean(
            exclude=[
                "computed",
                "created_by",
                "revenue_target",
                *planning.RATE_FIELDS,
                "average_deal_size",
            ],
            validate_constraints=False,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if product_shares is None:
        shares = {} if creating else dict(plan.product_shares.values_list("product_id", "share"))
    else:
        shares = {int(product): Decimal(share) for product, share in product_shares.items()}
    plan.computed = revenue_plan_compute(plan=plan, shares=shares, now=now)
    plan.computed_at = now
    plan.save()
    if product_shares is not None:
        plan.product_shares.all().delete()
        PlanProductShare.objects.bulk_create(
            [
                PlanProductShare(plan=plan, product_id=pid, share=share)
                for pid, share in shares.items()
            ]
        )
    return plan


@transaction.atomic
def revenue_plan_remeasure(*, plan: RevenuePlan, now: dt.datetime | None = None) -> RevenuePlan:
    """Recompute a plan's needs with today's look-back window."""
    return revenue_plan_save(actor=None, plan=plan, now=now)


PLAN_GOALS = (
    # metric, owner team, key of computed needs ("revenue" = the target itself)
    (Metric.LEADS, OwnerTeam.MARKETING, "leads"),
    (Metric.MQLS, OwnerTeam.MARKETING, "mqls"),
    (Metric.CUSTOMERS_WON, OwnerTeam.SALES, "customers"),
    (Metric.REVENUE_WON, OwnerTeam.SALES, "revenue"),
)


@transaction.atomic
def revenue_plan_create_goals(
    *, plan: RevenuePlan, actor: User | None, now: dt.datetime | None = None
) -> list[Goal]:
    """Create (or bring up to date) the goals each team signs up for from the plan: leads and
    MQLs for marketing, customers and revenue for sales. Idempotent: one goal per metric."""
    now = now or timezone.now()
    needs = plan.computed.get("needs")
    if not needs:
        raise DomainError("This plan has no computed needs yet; save it first.")
    rates = plan.computed.get("rates", {})
    rate_text = ", ".join(
        f"{field.removesuffix('_rate').replace('_to_', '→').replace('_', ' ')} "
        f"{Decimal(value) * 100:.2f}%".replace(".00%", "%")
        for field, value in rates.items()
    )
    goals = []
    for metric, team, key in PLAN_GOALS:
        target = plan.revenue_target if key == "revenue" else Decimal(needs[key])
        label = Metric(metric).label
        fields = {
            "title": f"{label}: {target:,.0f} for {plan.name}",
            "description": (
                f"{label} needed to reach the revenue plan “{plan.name}” "
                f"({plan.revenue_target:,.2f} from {plan.period_start:%B %Y}, "
                f"{plan.months} month{'s' if plan.months != 1 else ''})."
            ),
            "metric": metric,
            "from_stage": "",
            "to_stage": "",
            "target_value": target,
            "rationale": (
                f"Worked backwards from the revenue target at an average deal of "
                f"{Decimal(plan.computed['average_deal_size']):,.2f} and rates {rate_text}."
            ),
            "start": plan.period_start,
            "end": plan.period_end,
            "owner_team": team,
        }
        existing = Goal.objects.filter(revenue_plan=plan, metric=metric).first()
        if existing is None:
            last, _ratio, _sentence = goal_realism(
                metric=metric, target_value=target, start=plan.period_start, end=plan.period_end
            )
            goals.append(
                goal_create(
                    actor=actor,
                    revenue_plan=plan,
                    now=now,
                    baseline_value=last or Decimal(0),
                    **fields,
                )
            )
        else:
            goals.append(goal_update(goal=existing, actor=actor, now=now, **fields))
    return goals


NEEDS_KEY_FOR_STAGE = {
    "lead": "leads",
    "mql": "mqls",
    "sql": "sqls",
    "opportunity": "opportunities",
    "customer": "customers",
}


def revenue_plan_commitment_figure(
    *, plan: RevenuePlan, agreement, active_products: int | None = None
) -> tuple[int, str]:
    """The "N per product per month" an SLA agreement's marketing commitment needs to carry
    this plan, for the stage the agreement counts, with a sentence saying how it was found.

    With a per-product split, N is the largest product's monthly need (one N applies to every
    product, and the largest keeps each product's plan covered); without one, the plan's
    monthly need is spread evenly over the products the agreement covers (all active products
    when it names none; pass `active_products` to count them once for many agreements),
    rounded up.
    """
    from leads.models import Product

    stage = agreement.commitment_stage
    key = NEEDS_KEY_FOR_STAGE[stage]
    if not plan.computed.get("needs_per_month"):
        raise DomainError("This plan has no computed needs yet; save it first.")
    covered = {product.pk for product in agreement.products.all()}
    per_product = {
        row["product"]: int(row["needs_per_month"][key])
        for row in plan.computed.get("products", [])
        if not covered or row["product"] in covered
    }
    if per_product:
        figure = max(per_product.values())
        return figure, (
            f"the largest monthly {key} need among the plan's {len(per_product)} products"
        )
    if not covered and active_products is None:
        active_products = Product.objects.filter(is_active=True).count()
    products = len(covered) or active_products
    if products == 0:
        raise DomainError("There are no products to commit leads for.", field="agreement")
    monthly = int(plan.computed["needs_per_month"][key])
    figure = -(-monthly // products)  # ceiling division
    return figure, f"{monthly:,} {key} a month spread over {products} products, rounded up"


def revenue_plan_set_commitment(
    *, plan: RevenuePlan, agreement, actor: User | None, now: dt.datetime | None = None
):
    """Set the SLA agreement's marketing commitment from the plan's needs.

    Goes through the SLA app's own service, so an agreement that clocks already use gets a
    new version and the old clocks keep the terms they started under.
    """
    from sla import services as sla_services

    if agreement.superseded_at is not None:
        raise DomainError(
            "This agreement version was replaced; choose the current version.", field="agreement"
        )
    figure, _how = revenue_plan_commitment_figure(plan=plan, agreement=agreement)
    if figure < 1:
        raise DomainError("The plan needs no leads at the agreement's stage.", field="agreement")
    return sla_services.agreement_update(
        agreement=agreement,
        data={"leads_per_product_per_month": figure},
        actor=actor,
        now=now,
    )


# --- OKRs -----------------------------------------------------------------------------------

KEY_RESULT_FIELDS = (
    "title",
    "kind",
    "metric",
    "from_stage",
    "to_stage",
    "start_value",
    "target_value",
)
TOO_MANY_KEY_RESULTS = (
    "An objective has at most four key results. Remove one, or make this a separate objective."
)


def _key_result_validate(kr: KeyResult) -> None:
    errors: dict[str, list[str]] = {}
    try:
        kr.full_clean(exclude=["objective", "current_value", "measured_at"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if kr.kind == KeyResult.Kind.MEASURED and not kr.metric:
        errors.setdefault("metric", []).append("A measured key result needs a metric.")
    if kr.kind == KeyResult.Kind.MANUAL and kr.metric:
        errors.setdefault("metric", []).append(
            "A manual key result has no metric: its progress comes from check-ins."
        )
    if kr.metric:
        for field, messages in _metric_errors(
            metric=kr.metric,
            from_stage=kr.from_stage,
            to_stage=kr.to_stage,
            target=kr.target_value,
        ).items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _key_result_build(objective: Objective, position: int, fields: Mapping) -> KeyResult:
    unknown = set(fields) - set(KEY_RESULT_FIELDS)
    if unknown:
        raise TypeError(f"unknown key result fields: {sorted(unknown)}")
    kr = KeyResult(objective=objective, position=position, **fields)
    kr.metric = kr.metric or ""
    kr.from_stage = kr.from_stage or ""
    kr.to_stage = kr.to_stage or ""
    _key_result_validate(kr)
    return kr


def _key_result_measure(kr: KeyResult, *, now: dt.datetime) -> None:
    if kr.kind == KeyResult.Kind.MEASURED and kr.objective.quarter_start <= timezone.localdate(now):
        kr.current_value = selectors.goal_metric_value(
            kr, kr.objective.quarter_start, kr.objective.quarter_end
        )
        kr.measured_at = now


@transaction.atomic
def objective_create(
    *,
    actor: User | None,
    title: str,
    year: int,
    quarter: int,
    owner_team: str,
    description: str = "",
    key_results: Iterable[Mapping] = (),
    now: dt.datetime | None = None,
) -> Objective:
    """Create an objective with its key results (at most four)."""
    now = now or timezone.now()
    key_results = list(key_results)
    if len(key_results) > Objective.MAX_KEY_RESULTS:
        raise DomainError(TOO_MANY_KEY_RESULTS, field="key_results")
    objective = Objective(
        title=title,
        description=description,
        year=year,
        quarter=quarter,
        owner_team=owner_team,
        created_by=actor,
    )
    objective.full_clean()
    objective.save()
    for position, fields in enumerate(key_results):
        try:
            kr = _key_result_build(objective, position, fields)
        except ValidationError as exc:
            raise ValidationError(
                {
                    "key_results": [
                        f"Key result {position + 1}: {m}"
                        for ms in exc.message_dict.values()
                        for m in ms
                    ]
                }
            ) from exc
        _key_result_measure(kr, now=now)
        kr.save()
    return objective


@transaction.atomic
def objective_update(*, objective: Objective, **fields) -> Objective:
    for name, value in fields.items():
        if name not in ("title", "description", "year", "quarter", "owner_team"):
            raise TypeError(f"unknown objective field: {name}")
        setattr(objective, name, value)
    objective.full_clean()
    objective.save()
    return objective


@transaction.atomic
def key_result_add(
    *, objective: Objective, actor: User | None, now: dt.datetime | None = None, **fields
) -> KeyResult:
    """Add a key result; a fifth is refused (the objective row is locked while counting)."""
    now = now or timezone.now()
    locked = Objective.objects.select_for_update().get(pk=objective.pk)
    count = locked.key_results.count()
    if count >= Objective.MAX_KEY_RESULTS:
        raise DomainError(TOO_MANY_KEY_RESULTS, field="key_results")
    kr = _key_result_build(locked, count, fields)
    _key_result_measure(kr, now=now)
    kr.save()
    return kr


@transaction.atomic
def check_in_record(
    *,
    key_result: KeyResult,
    actor: User | None,
    value: Decimal,
    note: str = "",
    now: dt.datetime | None = None,
) -> CheckIn:
    """Record a manual check-in; it becomes the key result's current value."""
    now = now or timezone.now()
    if key_result.kind != KeyResult.Kind.MANUAL:
        raise DomainError(
            "This key result is measured from the data; its progress is not typed in.",
            field="value",
        )
    if value is None or not Decimal(value).is_finite():
        raise ValidationError({"value": ["Enter a number."]})
    check_in = CheckIn.objects.create(
        key_result=key_result, value=value, note=note, author=actor, at=now
    )
    KeyResult.objects.filter(pk=key_result.pk).update(current_value=value, measured_at=now)
    key_result.current_value, key_result.measured_at = value, now
    return check_in


def quarter_scores(objectives: Iterable[Objective]) -> dict[int, dict]:
    """Per objective id: its key results' scores and colours and the objective's average."""
    from goals import progress

    result: dict[int, dict] = defaultdict(dict)
    for objective in objectives:
        scores = {}
        for kr in objective.key_results.all():
            score = progress.okr_score(kr.current_value, kr.start_value, kr.target_value)
            scores[kr.pk] = {"score": score, "colour": progress.score_colour(score)}
        average = progress.average_score([s["score"] for s in scores.values()])
        result[objective.pk] = {
            "key_results": scores,
            "score": average,
            "colour": progress.score_colour(average),
        }
    return result
