"""SLA pages: the rep's queue, agreements (a readable document for both teams), calendars
and the manager's compliance view with its CSV export. Thin: forms validate, services act."""

import functools
import hashlib
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from core import csv as safe_csv
from core import days
from core.caching import cache_get_many, cache_set_many
from core.errors import DomainError
from core.replicas import replica_view
from leads.selectors import can_log_sales_touches, leads_visible_to
from leads.services import contact_attempt_log
from sla import selectors, services
from sla.api import ROW_FIELDS as COMPLIANCE_ROW_FIELDS
from sla.api import compliance_period
from sla.forms import AgreementForm, AttemptForm, CalendarForm, CompliancePeriodForm
from sla.models import BusinessCalendar, SLAAgreement, SLAClock

QUEUE_PAGE_SIZE = 50


@login_required
def index(request):
    """The signed-in rep's queue by urgency (breached and overdue first), a page at a time
    (the most urgent page costs the same however long the queue is)."""
    page = Paginator(selectors.queue_ids_for(request.user), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = selectors.queue_page(list(page.object_list))
    return render(
        request,
        "sla/index.html",
        {"clocks": rows, "rows": queue_rows_html(request, rows), "page": page, "tab": "queue"},
    )


QUEUE_ROW_TEMPLATE = "sla/_queue_row.html"
QUEUE_ROW_CACHE_SECONDS = 3600
_CSRF_SLOT = mark_safe("<!--csrf-->")  # noqa: S308 (a constant)


@functools.cache
def _row_template_version() -> str:
    """A digest of what every row is rendered with (the template's source, the option
    lists), so a changed template or choice never meets rows rendered from the old one."""
    source = get_template(QUEUE_ROW_TEMPLATE).template.source
    options = AttemptForm.options_html()
    return hashlib.sha256(repr((source, _CSRF_SLOT, sorted(options.items()))).encode()).hexdigest()


def queue_rows_html(request, rows: list[tuple]) -> str:
    """The queue's rows (`selectors.queue_page`), each rendered once per content and time
    zone.

    Rendering 50 rows with their attempt forms was most of the queue page's cost. A row's
    HTML depends only on the values `queue_page` reads, the viewer's time zone and the
    template, so it is cached under a digest of those: a changed clock or lead is a new
    key (never a stale row) and no invalidation is needed. Only the rows not in the cache
    are read as model objects and rendered. The per-request CSRF field is put into the
    rows after they come out of the cache.
    """
    zone = timezone.get_current_timezone_name()
    version = _row_template_version()
    keys = {
        row[0]: "sla:queue-row:" + hashlib.sha256(repr((version, zone, row)).encode()).hexdigest()
        for row in rows
    }
    cached = cache_get_many(list(keys.values()))
    missing = [pk for pk, key in keys.items() if key not in cached]
    clocks = selectors.queue_clocks(missing) if missing else {}
    options = AttemptForm.options_html()
    fresh = {}
    parts = []
    for row in rows:
        key = keys[row[0]]
        html = cached.get(key)
        if html is None:
            clock = clocks.get(row[0])
            if clock is None:  # closed or reassigned since the page of ids was read
                continue
            html = render_to_string(
                QUEUE_ROW_TEMPLATE,
                {"clock": clock, "attempt_options": options, "csrf_field": _CSRF_SLOT},
            )
            fresh[key] = html
        parts.append(html)
    if fresh:
        cache_set_many(fresh, QUEUE_ROW_CACHE_SECONDS)
    csrf_field = format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
    )
    return mark_safe("".join(parts).replace(_CSRF_SLOT, csrf_field))  # noqa: S308 (rendered above)


@login_required
@require_POST
def clock_attempt(request, pk):
    """Log a contact attempt (channel, outcome, note) from the queue; answer the updated row
    with a confirmation (htmx) or redirect.

    A clock of a lead the user may not see is a 404; one whose lead they see but may not
    log touches on (a teammate's lead, marketing) is a 403. Bad input is a 400 row with the
    message on its field and the typed note kept.
    """
    clock = get_object_or_404(
        SLAClock.objects.select_related("lead").filter(lead__in=leads_visible_to(request.user)),
        pk=pk,
    )
    form = AttemptForm(request.POST)
    status, error, confirmation = 200, None, None
    field_errors: dict[str, str] = {}
    if not can_log_sales_touches(request.user, clock.lead):
        status, error = 403, "Only the lead's owner or a manager logs attempts here."
    elif not form.is_valid():
        status = 400
        for name, errors in form.errors.items():
            if name in form.fields:
                field_errors[name] = errors[0]
            else:
                error = errors[0]
    else:
        try:
            attempt = contact_attempt_log(
                lead=clock.lead,
                actor=request.user,
                channel=form.cleaned_data["channel"],
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            status = 400
            if exc.field in form.fields:
                field_errors[exc.field] = exc.message
            else:
                error = exc.message
        else:
            confirmation = attempt_confirmation(attempt)
    if not request.htmx:
        if status == 403:
            raise PermissionDenied(error)
        if status == 400:
            messages.error(request, error or "; ".join(field_errors.values()))
        else:
            messages.success(request, confirmation)
        return redirect("sla:index")
    clock = selectors.queue_for(request.user).filter(pk=pk).first() or (
        SLAClock.objects.select_related("lead", "lead__product", "agreement").get(pk=pk)
    )
    return render(
        request,
        "sla/_queue_row.html",
        {
            "clock": clock,
            "attempt_options": AttemptForm.options_html(),
            "csrf_field": format_html(
                '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
            ),
            "error": error,
            "field_errors": field_errors,
            "note_value": request.POST.get("note", "")[:500] if status == 400 else "",
            "confirmation": confirmation,
        },
        status=status,
    )


def attempt_confirmation(attempt) -> str:
    """What the rep reads in place once an attempt is stored: "Attempt logged: Call,
    connected. Note saved."."""
    text = f"Attempt logged: {attempt.get_channel_display()}, "
    text += f"{attempt.get_outcome_display().lower()}."
    return text + (" Note saved." if attempt.note else "")


# -- agreements ----------------------------------------------------------------------------------


@login_required
def agreement_list(request):
    agreements = SLAAgreement.objects.filter(superseded_at__isnull=True).prefetch_related(
        "products"
    )
    context = {"agreements": agreements, "tab": "agreements"}
    context.update(_uncovered_context(selectors.sees_compliance(request.user)))
    return render(request, "sla/agreement_list.html", context)


def _uncovered_context(shown: bool) -> dict:
    """The hand-offs that started no clock, for the managers' pages."""
    if not shown:
        return {}
    rows, total = selectors.uncovered_handoffs()
    return {"uncovered": rows, "uncovered_total": total}


@login_required
def agreement_detail(request, pk):
    agreement = get_object_or_404(
        SLAAgreement.objects.select_related("commitment_persona", "created_by").prefetch_related(
            "products", "personas"
        ),
        pk=pk,
    )
    versions = SLAAgreement.objects.filter(family=agreement.family).order_by("-version")
    return render(
        request,
        "sla/agreement_detail.html",
        {"agreement": agreement, "versions": versions, "tab": "agreements"},
    )


@permission_required("sla.change_slaagreement", raise_exception=True)
def agreement_edit(request, pk=None):
    agreement = get_object_or_404(SLAAgreement, pk=pk) if pk else None
    if agreement is not None and agreement.superseded_at is not None:
        messages.info(request, "That version was replaced; this is the current one.")
        current = SLAAgreement.objects.filter(
            family=agreement.family, superseded_at__isnull=True
        ).first()
        return (
            redirect("sla:agreement_edit", pk=current.pk) if current else redirect("sla:agreements")
        )
    form = AgreementForm(request.POST or None, instance=agreement or SLAAgreement())
    if request.method == "POST" and form.is_valid():
        data = {key: form.cleaned_data[key] for key in services_fields(form)}
        try:
            if agreement is None:
                saved = services.agreement_create(
                    data=data,
                    products=form.cleaned_data["products"],
                    personas=form.cleaned_data["personas"],
                    actor=request.user,
                )
            else:
                saved = services.agreement_update(
                    agreement=agreement,
                    data=data,
                    products=form.cleaned_data["products"],
                    personas=form.cleaned_data["personas"],
                    actor=request.user,
                )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if agreement is not None and saved.pk != agreement.pk:
                messages.success(
                    request,
                    f"Saved as version {saved.version}: clocks already running keep version "
                    f"{agreement.version}.",
                )
            else:
                messages.success(request, "Agreement saved.")
            return redirect(saved.get_absolute_url())
    return render(
        request,
        "sla/agreement_form.html",
        {"form": form, "agreement": agreement, "tab": "agreements"},
    )


def services_fields(form) -> list[str]:
    return [key for key in services.AGREEMENT_FIELDS if key in form.cleaned_data]


# -- calendars -----------------------------------------------------------------------------------


@login_required
def calendar_list(request):
    """Every team reads the calendars its deadlines are counted in (as `GET sla/calendars/`
    answers everyone signed in); managers get the links to add and edit them."""
    calendars = BusinessCalendar.objects.filter(superseded_at__isnull=True).prefetch_related(
        "team_assignments__team"
    )
    return render(request, "sla/calendar_list.html", {"calendars": calendars, "tab": "calendars"})


@permission_required("sla.change_businesscalendar", raise_exception=True)
def calendar_edit(request, pk=None):
    calendar = get_object_or_404(BusinessCalendar, pk=pk) if pk else None
    if calendar is not None and calendar.superseded_at is not None:
        return redirect("sla:calendars")
    form = CalendarForm(request.POST or None, calendar=calendar)
    if request.method == "POST" and form.is_valid():
        try:
            if calendar is None:
                saved = services.calendar_create(
                    data=form.service_data(), teams=form.cleaned_data["teams"]
                )
            else:
                saved = services.calendar_update(
                    calendar=calendar, data=form.service_data(), teams=form.cleaned_data["teams"]
                )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            if calendar is not None and saved.pk != calendar.pk:
                messages.success(
                    request,
                    f"Saved as version {saved.version}: running clocks keep the old schedule.",
                )
            else:
                messages.success(request, "Calendar saved.")
            return redirect("sla:calendars")
    return render(
        request,
        "sla/calendar_form.html",
        {"form": form, "calendar": calendar, "tab": "calendars"},
    )


# -- compliance ----------------------------------------------------------------------------------


def _compliance_query(request):
    """The period, grouping and lead filters of the compliance page and its CSV files; what
    is refused is shown on its field and left out (defaults instead), never a 500."""
    form = CompliancePeriodForm(request.GET or None)
    today = days.today()
    start, end, group_by, filters = today - timedelta(weeks=12), today, "owner", {}
    if form.is_bound:
        form.is_valid()
        cleaned = form.cleaned_data
        start = cleaned.get("start") or start
        end = cleaned.get("end") or end
        group_by = cleaned.get("group_by") or group_by
        filters = cleaned.get("filters", filters)
    if start > end:
        start, end = end, start
    return form, start, end, group_by, filters


def weekly_trend_chart(weeks: list[dict]) -> dict:
    """The compliance page's weekly met rate (a line on a percent axis) over breaches and
    hand-offs (bars on a count axis), for static/js/charts.js."""
    return {
        "labels": [week["week"].isoformat() for week in weeks],
        "datasets": [
            {
                "type": "line",
                "label": "Met rate (%)",
                "data": [
                    round(week["met_rate"] * 100, 1) if week["met_rate"] is not None else None
                    for week in weeks
                ],
                "yAxisID": "rate",
                "borderColor": "#198754",
                "tension": 0.2,
            },
            {
                "type": "bar",
                "label": "Breaches",
                "data": [week["breached"] for week in weeks],
                "yAxisID": "count",
                "backgroundColor": "rgba(220,53,69,.6)",
            },
            {
                "type": "bar",
                "label": "Hand-offs",
                "data": [week["handoffs"] for week in weeks],
                "yAxisID": "count",
                "backgroundColor": "rgba(59,91,219,.35)",
            },
        ],
        "axes": {
            "rate": {"position": "left", "percent": True, "title": "Met rate (%)"},
            "count": {"position": "right", "beginAtZero": True, "grid": False, "title": "Leads"},
        },
        "animate": True,
    }


@login_required
@replica_view
def compliance(request):
    """Managers see the whole report; marketing sees its own commitments, read only."""
    if not selectors.sees_commitments(request.user):
        raise PermissionDenied("SLA compliance reports are for managers and marketing.")
    full = selectors.sees_compliance(request.user)
    form, start, end, group_by, filters = _compliance_query(request)
    period_start, period_end = compliance_period(start, end)
    now = timezone.now()
    rows = (
        selectors.compliance(start=period_start, end=period_end, group_by=group_by, filters=filters)
        if full
        else []
    )
    weeks = (
        selectors.weekly_trend(start=period_start, end=period_end, filters=filters) if full else []
    )
    commitments = selectors.commitment_pace(
        start=period_start, end=period_end - timedelta(seconds=1), now=now
    )
    return render(
        request,
        "sla/compliance.html",
        {
            "form": form,
            "start": start,
            "end": end,
            "group_by": group_by,
            "rows": rows,
            "weeks": weeks,
            "commitments": commitments,
            "chart": weekly_trend_chart(weeks),
            "query": request.GET.urlencode(),
            "tab": "compliance",
            "full": full,
            # The lead filters are the first-touch figures' (the API's); managers' only.
            "filter_controls": form.filter_controls() if full else [],
            "filtered": bool(filters),
            "company_zone": str(days.company_zone()),
            **_uncovered_context(full),
        },
    )


@login_required
@replica_view
def compliance_csv(request):
    """CSV of one compliance table: `table` = groups (default), weeks or commitments."""
    table = request.GET.get("table", "groups")
    allowed = (
        selectors.sees_commitments(request.user)
        if table == "commitments"
        else selectors.sees_compliance(request.user)
    )
    if not allowed:
        raise PermissionDenied("SLA compliance reports are for managers.")
    _form, start, end, group_by, filters = _compliance_query(request)
    period_start, period_end = compliance_period(start, end)
    if table == "weeks":
        rows = selectors.weekly_trend(start=period_start, end=period_end, filters=filters)
        header = ["week", "handoffs", "met", "breached", "met_rate"]
    elif table == "commitments":
        rows = selectors.commitment_pace(
            start=period_start, end=period_end - timedelta(seconds=1), now=timezone.now()
        )
        header = [
            "agreement",
            "product_name",
            "persona",
            "stage",
            "month",
            "delivered",
            "committed",
            "expected_by_now",
            "status",
        ]
    elif table == "groups":
        rows = selectors.compliance(
            start=period_start, end=period_end, group_by=group_by, filters=filters
        )
        # The API's compliance columns, one list for both; the CSV names groups by label.
        header = [field for field in COMPLIANCE_ROW_FIELDS if field != "group"]
    else:
        return HttpResponse(
            "table must be groups, weeks or commitments.", status=400, content_type="text/plain"
        )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"sla-{table}-{group_by if table == 'groups' else ''}-{start}-{end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name.replace("--", "-")}"'
    writer = safe_csv.writer(response)
    writer.writerow([group_by if key == "label" else key for key in header])
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key in header])
    return response


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return "" if value is None else value
