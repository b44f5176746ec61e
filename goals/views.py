"""Goal pages: SMART goals, the printable template, revenue plans and the OKR quarter."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.forms import apply_errors
from goals import permissions, planning, progress, selectors, services
from goals.forms import (
    CheckInForm,
    GoalForm,
    KeyResultForm,
    ObjectiveForm,
    RevenuePlanForm,
)
from goals.models import Goal, KeyResult, Objective, OwnerTeam, RevenuePlan

RATE_LABELS = {
    "lead_to_mql_rate": "Lead → MQL",
    "mql_to_sql_rate": "MQL → SQL",
    "sql_to_opportunity_rate": "SQL → opportunity",
    "opportunity_to_customer_rate": "Opportunity → customer",
}


def goal_view_model(goal: Goal, today) -> dict:
    expected = progress.expected_to_date(
        goal.target_value, goal.start, goal.end, today, is_rate=goal.is_rate
    )
    pace = progress.pace(
        goal.measured_value, goal.target_value, goal.start, goal.end, today, is_rate=goal.is_rate
    )
    return {
        "goal": goal,
        "expected": expected,
        "pace": pace,
        "pace_label": progress.PACE_LABELS[pace],
        "share": int(progress.progress_share(goal.measured_value, goal.target_value) * 100),
        "realism": planning.realism_sentence(
            goal.target_value,
            goal.last_period_value,
            selectors.period_label(goal.start, goal.end),
        ),
        "available": selectors.metric_available(goal.metric),
        "definition": selectors.METRIC_DEFINITIONS[goal.metric],
    }


@login_required
def index(request):
    team = request.GET.get("team") or None
    today = timezone.localdate()
    goals = [goal_view_model(goal, today) for goal in selectors.goal_list(owner_team=team)]
    return render(
        request,
        "goals/index.html",
        {
            "goals": goals,
            "team": team,
            "teams": OwnerTeam.choices,
            "can_create": bool(permissions.manageable_teams(request.user)),
            "can_plan": permissions.can_manage_plans(request.user),
        },
    )


def goal_progress_chart(goal: Goal, *, expected) -> dict:
    """The goal page's bars: baseline, measured, expected by today and target
    (static/js/charts.js)."""
    return {
        "labels": ["Baseline", "Measured", "Expected by today", "Target"],
        "datasets": [
            {
                "label": goal.get_metric_display(),
                "data": [
                    float(goal.baseline_value),
                    float(goal.measured_value or 0),
                    float(expected),
                    float(goal.target_value),
                ],
                "colors": ["#adb5bd", "#198754", "#0d6efd", "#6610f2"],
            }
        ],
        "axes": {"y": {"beginAtZero": True}},
        "animate": True,
    }


@login_required
def goal_detail(request, pk: int):
    goal = get_object_or_404(Goal.objects.select_related("revenue_plan", "created_by"), pk=pk)
    view = goal_view_model(goal, timezone.localdate())
    return render(
        request,
        "goals/goal_detail.html",
        {
            **view,
            "can_edit": permissions.can_manage_team(request.user, goal.owner_team),
            "chart": goal_progress_chart(goal, expected=view["expected"]),
        },
    )


@login_required
def goal_print(request, pk: int):
    """The SMART template of a goal, styled for printing or saving as PDF."""
    goal = get_object_or_404(Goal, pk=pk)
    return render(request, "goals/goal_print.html", goal_view_model(goal, timezone.localdate()))


def _refuse_other_teams(request) -> None:
    """A goal or an objective sent for an owner team the user does not manage is refused
    (403), as the API refuses it; the form only offers the user's own teams."""
    team = request.POST.get("owner_team") if request.method == "POST" else None
    if team in OwnerTeam.values and not permissions.can_manage_team(request.user, team):
        raise PermissionDenied("Your team cannot set goals or objectives for this owner team.")


@login_required
def goal_form(request, pk: int | None = None):
    goal = get_object_or_404(Goal, pk=pk) if pk else None
    if goal and not permissions.can_manage_team(request.user, goal.owner_team):
        raise PermissionDenied
    if not permissions.manageable_teams(request.user):
        raise PermissionDenied
    _refuse_other_teams(request)
    form = GoalForm(request.POST or None, instance=goal, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in services.GOAL_FIELDS}
        try:
            if goal:
                saved = services.goal_update(goal=goal, actor=request.user, **data)
            else:
                saved = services.goal_create(actor=request.user, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Goal “{saved}” saved and measured.")
            return redirect(saved)
    return render(request, "goals/goal_form.html", {"form": form, "goal": goal})


# --- revenue plans --------------------------------------------------------------------------


@login_required
def plan_list(request):
    return render(
        request,
        "goals/plan_list.html",
        {
            "plans": selectors.revenue_plan_list(),
            "can_plan": permissions.can_manage_plans(request.user),
        },
    )


def _plan_rows(plan: RevenuePlan) -> list[dict]:
    computed = plan.computed or {}
    rates = computed.get("rates", {})
    sources = computed.get("rate_sources", {})
    measured = computed.get("measured_rates") or {}
    return [
        {
            "label": label,
            "rate": Decimal(rates[field]) if field in rates else None,
            "source": sources.get(field, ""),
            "measured": None if measured.get(field) is None else Decimal(measured[field]),
        }
        for field, label in RATE_LABELS.items()
    ]


def plan_needs_chart(needs: dict) -> dict:
    """The plan page's horizontal bars of what each stage needs (static/js/charts.js)."""
    return {
        "horizontal": True,
        "labels": ["Leads", "MQLs", "SQLs", "Opportunities", "Customers"],
        "datasets": [
            {
                "label": "Needed",
                "data": [
                    needs.get(k, 0) for k in ("leads", "mqls", "sqls", "opportunities", "customers")
                ],
                "colors": "#3b5bdb",
            }
        ],
        "animate": True,
    }


@login_required
def plan_detail(request, pk: int):
    plan = get_object_or_404(
        RevenuePlan.objects.prefetch_related("product_shares__product", "goals"), pk=pk
    )
    products = {share.product_id: share.product for share in plan.product_shares.all()}
    product_rows = [
        {**row, "product_obj": products.get(row["product"])}
        for row in plan.computed.get("products", [])
    ]
    needs = plan.computed.get("needs", {})
    return render(
        request,
        "goals/plan_detail.html",
        {
            "plan": plan,
            "needs": needs,
            "monthly": plan.computed.get("needs_per_month", {}),
            "whole_plan_needs": plan.computed.get("whole_plan_needs"),
            "rates": _plan_rows(plan),
            "product_rows": product_rows,
            "goals": list(plan.goals.all()),
            "can_plan": permissions.can_manage_plans(request.user),
            "agreements": _commitment_choices(plan),
            "chart": plan_needs_chart(needs),
        },
    )


@login_required
def plan_form(request, pk: int | None = None):
    if not permissions.can_manage_plans(request.user):
        raise PermissionDenied
    plan = get_object_or_404(RevenuePlan, pk=pk) if pk else None
    form = RevenuePlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.revenue_plan_save(
                actor=request.user,
                plan=plan,
                product_shares=form.product_shares(),
                **form.plan_fields(),
            )
        except ValidationError as exc:
            form.add_plan_errors(exc)
        else:
            messages.success(request, f"Plan “{saved}” saved: its needs are computed below.")
            return redirect(saved)
    return render(request, "goals/plan_form.html", {"form": form, "plan": plan})


@login_required
@require_POST
def plan_create_goals(request, pk: int):
    if not permissions.can_manage_plans(request.user):
        raise PermissionDenied
    plan = get_object_or_404(RevenuePlan, pk=pk)
    try:
        goals = services.revenue_plan_create_goals(plan=plan, actor=request.user)
    except (DomainError, ValidationError) as exc:
        messages.error(request, str(getattr(exc, "message", exc)))
    else:
        messages.success(request, f"{len(goals)} goals are set from this plan, for both teams.")
    return redirect(plan)


def _commitment_choices(plan: RevenuePlan) -> list[dict]:
    """Current SLA agreements with the figure this plan would set on each."""
    from leads.models import Product
    from sla.models import SLAAgreement

    rows = []
    agreements = list(
        SLAAgreement.objects.filter(superseded_at__isnull=True).prefetch_related("products")
    )
    active_products = (
        Product.objects.filter(is_active=True).count()
        if any(not agreement.products.all() for agreement in agreements)
        else 0
    )
    for agreement in agreements:
        try:
            figure, how = services.revenue_plan_commitment_figure(
                plan=plan, agreement=agreement, active_products=active_products
            )
        except DomainError:
            continue
        rows.append({"agreement": agreement, "figure": figure, "how": how})
    return rows


@login_required
@require_POST
def plan_set_commitment(request, pk: int):
    from sla.models import SLAAgreement

    if not permissions.can_manage_plans(request.user):
        raise PermissionDenied
    plan = get_object_or_404(RevenuePlan, pk=pk)
    chosen = request.POST.get("agreement", "")
    agreement = (
        SLAAgreement.objects.filter(pk=int(chosen)).first()
        if chosen.isdigit() and len(chosen) < 19
        else None
    )
    if agreement is None:
        messages.error(request, "Choose an SLA agreement.")
        return redirect(plan)
    try:
        current = services.revenue_plan_set_commitment(
            plan=plan, agreement=agreement, actor=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"“{current.name}” v{current.version} now commits marketing to "
            f"{current.leads_per_product_per_month:,} leads reaching "
            f"{current.get_commitment_stage_display()} per product per month.",
        )
    return redirect(plan)


@login_required
@require_POST
def plan_remeasure(request, pk: int):
    if not permissions.can_manage_plans(request.user):
        raise PermissionDenied
    plan = get_object_or_404(RevenuePlan, pk=pk)
    try:
        services.revenue_plan_remeasure(plan=plan)
    except ValidationError as exc:
        messages.error(request, "; ".join(m for ms in exc.message_dict.values() for m in ms))
    else:
        messages.success(request, "Plan re-measured over today's look-back window.")
    return redirect(plan)


# --- OKRs -----------------------------------------------------------------------------------


def _parse_quarter(text: str | None) -> tuple[int, int]:
    if text and len(text) == 7 and text[4:6] == "-Q" and text[:4].isdigit() and text[6] in "1234":
        return int(text[:4]), int(text[6])
    return selectors.quarter_of(timezone.localdate())


@login_required
def okr_quarter(request):
    year, quarter = _parse_quarter(request.GET.get("quarter"))
    objectives = list(selectors.objectives_for_quarter(year=year, quarter=quarter))
    scores = services.quarter_scores(objectives)
    previous = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    following = (year, quarter + 1) if quarter < 4 else (year + 1, 1)
    user_teams = permissions.manageable_teams(request.user)
    for objective in objectives:
        for kr in objective.key_results.all():
            kr.score_info = scores[objective.pk]["key_results"][kr.pk]
    by_team = {
        label: [
            {"objective": o, "score": scores[o.pk], "can_edit": o.owner_team in user_teams}
            for o in objectives
            if o.owner_team == value
        ]
        for value, label in OwnerTeam.choices
    }
    return render(
        request,
        "goals/okr_quarter.html",
        {
            "year": year,
            "quarter": quarter,
            "label": f"{year}-Q{quarter}",
            "previous": f"{previous[0]}-Q{previous[1]}",
            "next": f"{following[0]}-Q{following[1]}",
            "by_team": by_team,
            "user_teams": permissions.manageable_teams(request.user),
            "check_in_form": CheckInForm(),
        },
    )


@login_required
def objective_form(request):
    if not permissions.manageable_teams(request.user):
        raise PermissionDenied
    _refuse_other_teams(request)
    year, quarter = _parse_quarter(request.GET.get("quarter"))
    form = ObjectiveForm(
        request.POST or None, user=request.user, initial={"year": year, "quarter": quarter}
    )
    if request.method == "POST" and form.is_valid():
        try:
            objective = services.objective_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Objective created: add up to four key results.")
            return redirect("goals:key_result_create", pk=objective.pk)
    return render(request, "goals/objective_form.html", {"form": form})


@login_required
def key_result_form(request, pk: int):
    objective = get_object_or_404(Objective.objects.prefetch_related("key_results"), pk=pk)
    if not permissions.can_manage_team(request.user, objective.owner_team):
        raise PermissionDenied
    form = KeyResultForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.key_result_add(objective=objective, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Key result added.")
            return redirect(f"{_okr_url()}?quarter={objective.quarter_label}")
    return render(request, "goals/key_result_form.html", {"form": form, "objective": objective})


def _okr_url() -> str:
    from django.urls import reverse

    return reverse("goals:okrs")


@login_required
@require_POST
def check_in(request, pk: int):
    """Record a check-in; htmx swaps the key result's row in place."""
    kr = get_object_or_404(KeyResult.objects.select_related("objective"), pk=pk)
    if not permissions.can_manage_team(request.user, kr.objective.owner_team):
        raise PermissionDenied
    form = CheckInForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.check_in_record(key_result=kr, actor=request.user, **form.cleaned_data)
            form = CheckInForm()
        except DomainError as exc:
            error = exc.message
    score = progress.okr_score(kr.current_value, kr.start_value, kr.target_value)
    context = {
        "kr": kr,
        "score": {"score": score, "colour": progress.score_colour(score)},
        "check_in_form": form,
        "can_check_in": True,
        "error": error,
    }
    if request.htmx:
        return render(request, "goals/_key_result_row.html", context)
    return redirect(f"{_okr_url()}?quarter={kr.objective.quarter_label}")
