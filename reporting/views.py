"""Pages: the shared dashboard, the funnel explorer with drill-down, lead quality, and the
weekly reviews. Thin: selectors read, services write, every table can be downloaded as CSV
(``?format=csv``)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from core import days
from core.caching import cache_get_many, cache_set_many
from core.csv import csv_response
from core.errors import DomainError
from core.periods import parse_period, period_inputs
from core.rates import percent_text
from core.replicas import replica_view
from leads.models import Lead
from leads.selectors import sees_all_leads
from reporting import definitions as measure_definitions
from reporting import funnel, selectors, services
from reporting.funnel import EXIT_STAGES, FORWARD_PAIRS, FORWARD_STAGES, STAGES
from reporting.models import Dimension, FunnelMode, ReviewActionItem, WeeklyReview
from reporting.permissions import can_add_review_items, can_toggle_review_item

STAGE_LABELS = {
    "lead": "Leads",
    "mql": "MQLs",
    "sql": "SQLs",
    "opportunity": "Opportunities",
    "customer": "Customers",
    "recycled": "Recycled",
    "disqualified": "Disqualified",
    "lost": "Lost",
}
GROUP_BY_LABELS = {value: label for value, label in Dimension.choices if value != "all"}


def _wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def _quarter_start(day: dt.date) -> dt.date:
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def _period(request, *, default_first: dt.date | None = None):
    """The period asked for, or from `default_first` (the month's first day) to today; a bad
    one falls back to that with a message."""
    try:
        period = parse_period(
            request.GET.get("start"), request.GET.get("end"), default_first=default_first
        )
        return period, None
    except DomainError as exc:
        return parse_period(None, None, default_first=default_first), exc.message


def period_choices(today: dt.date) -> list[dict]:
    """The quick choices above every period form: whole days, the last one today."""
    return [
        {"label": "This month", "start": today.replace(day=1), "end": today},
        {"label": "Last 30 days", "start": today - dt.timedelta(days=29), "end": today},
        {"label": "This quarter", "start": _quarter_start(today), "end": today},
        {"label": "This year", "start": today.replace(month=1, day=1), "end": today},
    ]


def _duration_text(value: dt.timedelta | None) -> str:
    if value is None:
        return "—"
    hours = value.total_seconds() / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


def _rate_text(value) -> str:
    return percent_text(value, 1)


def share_of(part: Decimal, whole: Decimal | None) -> Decimal | None:
    """``part`` as a fraction of ``whole``; ``None`` (shown "—") when there is nothing to
    divide by."""
    return part / whole if whole else None


def bar_width(fraction: Decimal | None) -> float:
    """A fraction as a progress bar's width in percent, one decimal, clamped to 0–100 (a
    bar cannot run past its track); no fraction is an empty bar."""
    if fraction is None:
        return 0.0
    return round(max(0.0, min(100.0, float(fraction) * 100)), 1)


def funnel_table(result: funnel.FunnelResult) -> list[dict]:
    """Rows of the funnel table: each forward stage with its count and the conversion and
    median time from the previous stage."""
    rows = []
    for index, stage in enumerate(FORWARD_STAGES):
        pair = FORWARD_PAIRS[index - 1] if index else None
        rows.append(
            {
                "stage": stage,
                "label": STAGE_LABELS[stage],
                "count": result.counts[stage],
                "conversion": _rate_text(result.conversion[pair]) if pair else "",
                "velocity": _duration_text(result.velocity.get(pair)) if pair else "",
            }
        )
    return rows


# --------------------------------------------------------------------------- dashboard


@login_required
@replica_view
def dashboard(request):
    """The shared dashboard: plan vs actual, funnel, bottleneck, SLA health, commitments."""
    return render(request, "dashboard.html", dashboard_context(request))


def sla_health_chart(sla: dict | None) -> dict | None:
    """The dashboard's doughnut of the period's SLA clocks by status (static/js/charts.js)."""
    if sla is None:
        return None
    return {
        "type": "doughnut",
        "labels": ["Met", "Breached", "Pending"],
        "datasets": [
            {
                "label": "Clocks",
                "data": [sla["met"], sla["breached"], sla["pending"]],
                "colors": ["#198754", "#dc3545", "#adb5bd"],
            }
        ],
    }


def commitment_grid(commitments: list[dict]) -> dict:
    """The dashboard's commitment pace, compact: a line per agreement and product with a
    cell per month of the period (``None`` for a month the agreement did not run)."""
    months = sorted({row["month"] for row in commitments})
    lines: dict[tuple, dict] = {}
    for row in commitments:
        line = lines.setdefault(
            (row["agreement_id"], row["product_id"]),
            {
                "product_name": row["product_name"],
                "persona": row["persona"],
                "cells": dict.fromkeys(months),
            },
        )
        line["cells"][row["month"]] = row
    return {
        "months": months,
        "rows": [{**line, "cells": list(line["cells"].values())} for line in lines.values()],
    }


def dashboard_context(request) -> dict:
    """Everything the shared dashboard shows.

    The figures are the same for everyone, so they are computed once per period and kept in
    the cache for `DASHBOARD_CACHE_SECONDS` (the page says as of when): under many readers
    the dashboard costs a cache read, not the report queries. 0 turns the cache off.
    """
    # The dashboard opens on the quarter to date: a month's first days hold little data.
    today = days.today()
    (start, end), period_error = _period(request, default_first=_quarter_start(today))
    seconds = settings.DASHBOARD_CACHE_SECONDS
    key = f"reporting:dashboard:v4:{start.isoformat()}:{end.isoformat()}"
    data = cache_get_many([key]).get(key) if seconds else None
    if data is None:
        data = _dashboard_data(start, end)
        if seconds:
            cache_set_many({key: data}, seconds)
    return {
        **data,
        "shared_cards": dashboard_cards_html(data, key=key, seconds=seconds),
        "period_error": period_error,
        "cache_seconds": seconds,
        "period_choices": period_choices(today),
        "period_fallback": "the quarter to date",
        # Leads are not everybody's to see: the reader's own, read each time (one query).
        "at_risk": selectors.leads_at_risk(
            now=timezone.now(), handed_off=(start, end), reader=request.user
        ),
        "at_risk_team_only": not sees_all_leads(request.user),
    }


DASHBOARD_CARDS_TEMPLATE = "reporting/_dashboard_cards.html"


@functools.cache
def _cards_template_version() -> str:
    """A digest of the cards' template, so a changed template never meets old HTML."""
    source = get_template(DASHBOARD_CARDS_TEMPLATE).template.source
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def dashboard_cards_html(data: dict, *, key: str, seconds: int) -> str:
    """The dashboard's shared cards (plan vs actual, funnel, SLA health, commitment pace).

    They show only the period's figures, the same for every reader, so their HTML is
    rendered once per figures (`computed_at` is in the key: recomputed figures are new
    HTML, never stale), time zone and template, and kept as long as the figures. Rendering
    them was most of a dashboard request once the figures came from the cache."""
    if not seconds:
        return render_to_string(DASHBOARD_CARDS_TEMPLATE, data)
    html_key = ":".join(
        (
            key,
            "cards",
            data["computed_at"].isoformat(),
            timezone.get_current_timezone_name(),
            _cards_template_version(),
        )
    )
    html = cache_get_many([html_key]).get(html_key)
    if html is None:
        html = render_to_string(DASHBOARD_CARDS_TEMPLATE, data)
        cache_set_many({html_key: html}, seconds)
    return mark_safe(html)  # noqa: S308 (rendered from our template with autoescaping)


def _dashboard_data(start: dt.datetime, end: dt.datetime) -> dict:
    """The dashboard's figures for ``[start, end)``, read with a fixed number of queries.

    Every card reads that one period: the funnel (leads created in it), plan vs actual (the
    plan in force over it, its share of those days against what happened on them), SLA
    health (hand-offs in it), commitment pace (the months it touches). The leads at risk
    are each reader's own (`dashboard_context`).
    """
    now = timezone.now()
    first_day = selectors.local_day(start)
    last_day = selectors.local_day(end - dt.timedelta(microseconds=1))
    report = selectors.funnel_report(start=start, end=end, mode=FunnelMode.COHORT)
    plan = selectors.revenue_plan_in_force(first=first_day, last=last_day)
    neck = funnel.bottleneck(report.total.conversion, plan.rates) if plan else None

    plan_rows = []
    won_in_plan = won_share = None
    if plan is not None:
        plan_start = selectors.day_start(plan.first)
        plan_end = selectors.day_start(plan.last + dt.timedelta(days=1))
        actual = Lead.objects.aggregate(
            leads=Count("id", filter=Q(created_at__gte=plan_start, created_at__lt=plan_end)),
            **{
                f"{stage}s": Count(
                    "id",
                    filter=Q(**{f"{field}__gte": plan_start, f"{field}__lt": plan_end}),
                )
                for stage, field in selectors.REACHED_FIELDS.items()
            },
            won=Sum("amount", filter=Q(customer_at__gte=plan_start, customer_at__lt=plan_end)),
        )
        won_in_plan = actual["won"] or Decimal(0)
        won_share = share_of(won_in_plan, plan.target_in_period)
        for key, label in (
            ("leads", "Leads"),
            ("mqls", "MQLs"),
            ("sqls", "SQLs"),
            ("opportunitys", "Opportunities"),
            ("customers", "Customers"),
        ):
            needed = plan.needs_in_period.get("opportunities" if key == "opportunitys" else key)
            plan_rows.append({"label": label, "needed": needed, "actual": actual[key]})

    first, last = period_inputs(start, end)
    sla = selectors.sla_health(start=start, end=end)
    commitments = selectors.commitment_pace(start=start, end=end, now=now)
    return {
        "computed_at": now,
        "period_start": first,
        "period_end": last,
        "period_first_day": first_day,
        "period_last_day": last_day,
        "report": report,
        "funnel_rows": funnel_table(report.total),
        "exit_rows": [
            {"stage": stage, "label": STAGE_LABELS[stage], "count": report.total.counts[stage]}
            for stage in EXIT_STAGES
        ],
        "plan": plan,
        "plan_rows": plan_rows,
        "won_in_plan": won_in_plan,
        "won_share": won_share,
        "won_bar": bar_width(won_share),
        "bottleneck": neck,
        "bottleneck_label": (
            f"{STAGE_LABELS[neck.from_stage]} → {STAGE_LABELS[neck.to_stage]}" if neck else ""
        ),
        "sla": sla,
        "sla_chart": sla_health_chart(sla),
        "commitments": commitments,
        "commitment_grid": commitment_grid(commitments),
        "chart": {
            "labels": [STAGE_LABELS[stage] for stage in FORWARD_STAGES],
            "datasets": [
                {
                    "label": "Leads",
                    "data": [report.total.counts[stage] for stage in FORWARD_STAGES],
                }
            ],
        },
        "explorer_query": f"start={first}&end={last}&mode=cohort",
    }


# --------------------------------------------------------------------------- funnel explorer


@login_required
@replica_view
def index(request):
    """The funnel explorer: period, mode, group-by; every count links to its leads."""
    (start, end), period_error = _period(request)
    mode = request.GET.get("mode", FunnelMode.COHORT)
    if mode not in FunnelMode.values:
        mode = FunnelMode.COHORT
    group_by = request.GET.get("group_by") or Dimension.ALL
    if group_by not in selectors.GROUP_BY_CHOICES:
        group_by = Dimension.ALL
    report = selectors.funnel_report(start=start, end=end, mode=mode, group_by=group_by)
    groups = report.groups()
    labels = selectors.group_labels(group_by, [key for key, _ in groups])
    rows = [("", "All leads", report.total)] + [
        (key, labels.get(key, key), result) for key, result in groups
    ]
    first, last = period_inputs(start, end)

    if _wants_csv(request):
        header = ["group", *STAGES]
        header += [f"{a}_to_{b}_rate" for a, b in FORWARD_PAIRS]
        header += [f"{a}_to_{b}_median_hours" for a, b in FORWARD_PAIRS]
        header += ["won_revenue"]
        return csv_response(
            f"funnel-{mode}-{first}-{last}.csv",
            header,
            (
                [
                    label,
                    *(result.counts[stage] for stage in STAGES),
                    *(
                        "" if result.conversion[p] is None else f"{result.conversion[p]:.4f}"
                        for p in FORWARD_PAIRS
                    ),
                    *(
                        ""
                        if result.velocity.get(p) is None
                        else f"{result.velocity[p].total_seconds() / 3600:.2f}"
                        for p in FORWARD_PAIRS
                    ),
                    result.won_revenue,
                ]
                for _key, label, result in rows
            ),
        )

    table = [
        {
            "key": key,
            "label": label,
            "cells": [
                {"stage": stage, "count": result.counts[stage]}
                for stage in (*FORWARD_STAGES, *EXIT_STAGES)
            ],
            "rates": [_rate_text(result.conversion[pair]) for pair in FORWARD_PAIRS],
            "velocity": [_duration_text(result.velocity.get(pair)) for pair in FORWARD_PAIRS],
            "won_revenue": result.won_revenue,
        }
        for key, label, result in rows
    ]
    plan = selectors.revenue_plan_in_force(
        first=selectors.local_day(start),
        last=selectors.local_day(end - dt.timedelta(microseconds=1)),
    )
    neck = funnel.bottleneck(report.total.conversion, plan.rates) if plan else None
    attribution = selectors.revenue_attribution(start=start, end=end)
    campaign_labels = selectors.group_labels(
        Dimension.CAMPAIGN,
        [str(key) for key in {*attribution.first_touch, *attribution.last_touch}],
    )
    attribution_rows = [
        {
            "campaign": campaign_labels.get(str(key), str(key)),
            "first_touch": attribution.first_touch.get(key, Decimal(0)),
            "last_touch": attribution.last_touch.get(key, Decimal(0)),
        }
        for key in sorted({*attribution.first_touch, *attribution.last_touch}, key=str)
    ]
    return render(
        request,
        "reporting/index.html",
        {
            "period_start": first,
            "period_choices": period_choices(days.today()),
            "period_end": last,
            "period_error": period_error,
            "mode": mode,
            "modes": FunnelMode.choices,
            "group_by": group_by,
            "group_by_choices": GROUP_BY_LABELS.items(),
            "report": report,
            "table": table,
            "stage_headers": [STAGE_LABELS[s] for s in (*FORWARD_STAGES, *EXIT_STAGES)],
            "pair_headers": [f"{STAGE_LABELS[a]} → {STAGE_LABELS[b]}" for a, b in FORWARD_PAIRS],
            "bottleneck": neck,
            "plan": plan,
            "attribution_rows": attribution_rows,
            "unattributed": attribution.unattributed,
            "chart": {
                "labels": [STAGE_LABELS[stage] for stage in FORWARD_STAGES],
                "datasets": [
                    {"label": label, "data": [result.counts[s] for s in FORWARD_STAGES]}
                    for _key, label, result in rows[:8]
                ],
            },
            "query": f"start={first}&end={last}&mode={mode}&group_by={group_by}",
        },
    )


@login_required
@replica_view
def funnel_leads(request):
    """The leads behind one number of the funnel that the reader may see (the number is
    the company's; a rep's list holds their team's leads)."""
    (start, end), period_error = _period(request)
    mode = request.GET.get("mode", FunnelMode.COHORT)
    stage = request.GET.get("stage", "lead")
    group_by = request.GET.get("group_by") or Dimension.ALL
    if (
        mode not in FunnelMode.values
        or stage not in STAGES
        or (group_by != Dimension.ALL and group_by not in selectors.GROUP_BY_CHOICES)
    ):
        return render(
            request,
            "400.html",
            {"message": "Choose a mode, a stage and a grouping from the report."},
            status=400,
        )
    group = request.GET.get("group") if group_by != Dimension.ALL else None
    leads = selectors.funnel_leads(
        start=start,
        end=end,
        mode=mode,
        stage=stage,
        group_by=group_by,
        group=group,
        reader=request.user,
    )
    first, last = period_inputs(start, end)
    if _wants_csv(request):
        return csv_response(
            f"funnel-leads-{stage}-{first}-{last}.csv",
            ["id", "email", "name", "company", "source", "campaign", "stage", "created_at"],
            (
                [
                    lead.pk,
                    lead.email,
                    lead.full_name,
                    lead.company,
                    lead.source,
                    lead.campaign or "",
                    lead.stage,
                    lead.created_at.isoformat(),
                ]
                for lead in leads.iterator()
            ),
        )
    page = Paginator(leads, 50).get_page(request.GET.get("page"))
    group_label = ""
    if group is not None:
        group_label = selectors.group_labels(group_by, [group]).get(group, group)
    return render(
        request,
        "reporting/funnel_leads.html",
        {
            "page": page,
            "count": page.paginator.count,
            "team_only": not sees_all_leads(request.user),
            "stage_label": STAGE_LABELS[stage],
            "mode": mode,
            "group_label": group_label,
            "group_by_label": GROUP_BY_LABELS.get(group_by, ""),
            "period_start": first,
            "period_choices": period_choices(days.today()),
            "period_end": last,
            "period_error": period_error,
            "query": request.GET.urlencode(),
            "back_query": f"start={first}&end={last}&mode={mode}&group_by={group_by}",
        },
    )


# --------------------------------------------------------------------------- lead quality

QUALITY_GROUPS = {
    Dimension.SOURCE: "Source",
    Dimension.CAMPAIGN: "Campaign",
    Dimension.PERSONA: "Persona",
    Dimension.DEFINITION: "SQL definition version",
}


@login_required
@replica_view
def lead_quality(request):
    """Acceptance rate, ratings and rejection reasons by source, campaign, persona and
    definition version: what sales thinks of the leads marketing sends."""
    (start, end), period_error = _period(request)
    group_by = request.GET.get("group_by", Dimension.SOURCE)
    if group_by not in QUALITY_GROUPS:
        group_by = Dimension.SOURCE
    rows = selectors.lead_quality(start=start, end=end, group_by=group_by)
    lookup = Dimension.SQL_DEFINITION if group_by == Dimension.DEFINITION else group_by
    labels = selectors.group_labels(lookup, [row["group"] for row in rows])
    from leads.models import SalesFeedback

    reasons = SalesFeedback.Reason.choices
    for row in rows:
        row["label"] = labels.get(row["group"], row["group"])
        row["reason_counts"] = [row["reasons"][value] for value, _ in reasons]
    first, last = period_inputs(start, end)
    if _wants_csv(request):
        return csv_response(
            f"lead-quality-{group_by}-{first}-{last}.csv",
            [
                QUALITY_GROUPS[group_by].lower(),
                "feedback",
                "accepted",
                "rejected",
                "acceptance_rate",
                "average_rating",
                *(f"rejected_{value}" for value, _ in reasons),
            ],
            (
                [
                    row["label"],
                    row["feedback"],
                    row["accepted"],
                    row["rejected"],
                    "" if row["acceptance_rate"] is None else f"{row['acceptance_rate']:.4f}",
                    "" if row["average_rating"] is None else f"{row['average_rating']:.2f}",
                    *row["reason_counts"],
                ]
                for row in rows
            ),
        )
    return render(
        request,
        "reporting/quality.html",
        {
            "rows": rows,
            "reasons": reasons,
            "group_by": group_by,
            "group_by_label": QUALITY_GROUPS[group_by],
            "group_by_choices": QUALITY_GROUPS.items(),
            "period_start": first,
            "period_choices": period_choices(days.today()),
            "period_end": last,
            "period_error": period_error,
            "chart": {
                "labels": [row["label"] for row in rows],
                "datasets": [
                    {
                        "label": "Acceptance rate (%)",
                        "data": [
                            None if rate is None else round(rate * 100, 1)
                            for rate in (row["acceptance_rate"] for row in rows)
                        ],
                    }
                ],
                "axes": {"y": {"percent": True}},
            },
            "query": f"start={first}&end={last}&group_by={group_by}",
        },
    )


# --------------------------------------------------------------------------- weekly review


@login_required
def reviews(request):
    page = Paginator(
        WeeklyReview.objects.annotate(items=Count("action_items")).order_by("-week_start"), 20
    ).get_page(request.GET.get("page"))
    return render(request, "reporting/reviews.html", {"page": page})


def _review_items(review, user) -> list[ReviewActionItem]:
    """The review's items, each with `toggleable`: whether `user` may mark it (not) done."""
    items = list(
        review.action_items.select_related("owner", "created_by").order_by("created_at", "id")
    )
    for item in items:
        item.toggleable = can_toggle_review_item(user, item)
    return items


@login_required
def review_detail(request, pk: int):
    review = get_object_or_404(WeeklyReview, pk=pk)
    from accounts.models import User

    return render(
        request,
        "reporting/review_detail.html",
        {
            "review": review,
            "content": review.content,
            "items": _review_items(review, request.user),
            "can_add": can_add_review_items(request.user),
            "people": User.objects.filter(is_active=True).order_by("first_name", "username"),
            "stage_labels": STAGE_LABELS,
        },
    )


@login_required
@require_POST
def review_item_add(request, pk: int):
    review = get_object_or_404(WeeklyReview, pk=pk)
    if not can_add_review_items(request.user):
        raise PermissionDenied(
            "Decisions and action items are added by sales, marketing and managers."
        )
    from accounts.models import User

    error = ""
    owner = None
    owner_id = request.POST.get("owner") or ""
    if owner_id:
        owner = (
            User.objects.filter(pk=owner_id, is_active=True).first() if owner_id.isdigit() else None
        )
        if owner is None:
            error = "Choose an owner from the list."
    due_text = (request.POST.get("due_on") or "").strip()
    due_on = None
    if due_text and not error:
        try:
            due_on = parse_date(due_text)
        except ValueError:
            due_on = None
        if due_on is None:
            error = "Give the due date as YYYY-MM-DD."
    if not error:
        try:
            services.review_action_item_add(
                review=review,
                text=request.POST.get("text", ""),
                owner=owner,
                due_on=due_on,
                created_by=request.user,
            )
        except DomainError as exc:
            error = exc.message
    context = {"review": review, "items": _review_items(review, request.user), "error": error}
    if request.htmx:
        return render(
            request, "reporting/_action_items.html", context, status=400 if error else 200
        )
    if error:
        messages.error(request, error)
    return redirect(reverse("reporting:review_detail", args=[review.pk]))


@login_required
@require_POST
def review_item_toggle(request, pk: int, item_pk: int):
    item = get_object_or_404(ReviewActionItem, pk=item_pk, review_id=pk)
    if not can_toggle_review_item(request.user, item):
        raise PermissionDenied("An item is marked done by its owner, who added it or a manager.")
    services.review_action_item_toggle(item=item)
    context = {
        "review": item.review,
        "items": _review_items(item.review, request.user),
        "error": "",
    }
    if request.htmx:
        return render(request, "reporting/_action_items.html", context)
    return redirect(reverse("reporting:review_detail", args=[pk]))


# --------------------------------------------------------------------------- operations


@login_required
@permission_required("core.view_outboxmessage", raise_exception=True)
def operations(request):
    """What the product owes and has not done yet: reactions waiting or failing, with a
    retry, so a manager sees a problem before a report shows it."""
    from core import outbox

    if request.method == "POST":
        if not request.user.has_perm("core.change_outboxmessage"):
            raise PermissionDenied
        ids = [int(pk) for pk in request.POST.getlist("retry") if pk.isdigit()]
        retried = outbox.retry_now(ids=ids)
        messages.success(request, f"{retried} reaction(s) will be tried again within seconds.")
        return redirect("reporting:operations")
    return render(
        request,
        "reporting/operations.html",
        {
            "backlog": outbox.backlog(),
            "failing": outbox.failing()[:200],
            "failing_after": outbox.FAILING_AFTER,
            "can_retry": request.user.has_perm("core.change_outboxmessage"),
        },
    )


@login_required
def definitions(request):
    """What every figure means: one page, linked from every report, written from the same
    text as the API schema's description (`reporting.definitions`)."""
    return render(
        request,
        "reporting/definitions.html",
        {"sections": measure_definitions.page_sections()},
    )
