"""The leads UI: list and export, the lead page with its in-place actions, definitions, imports.

Views validate with a form, call one service, and render; refusals from a service
(`DomainError`) are shown on the form, never as a 500.
"""

import csv
import io
import re
from itertools import islice

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from core import csv as safe_csv
from core.errors import DomainError
from core.replicas import read_alias, replica_view
from leads import imports, scoring
from leads import services as lead_services
from leads.forms import (
    AssignForm,
    AttemptForm,
    DefinitionForm,
    FeedbackForm,
    ImportMappingForm,
    ImportUploadForm,
    LeadFilterForm,
    TransitionForm,
)
from leads.models import Lead, LeadImport, QualificationDefinition, RescoreRun
from leads.selectors import (
    can_assign,
    can_log_sales_touches,
    can_move,
    leads_visible_to,
    sees_all_leads,
)

LEADS_PER_PAGE = 50
TIMELINE_LIMIT = 200  # per kind of entry; older entries are reachable through the API
EXPORT_CHUNK = 2000
EXPORT_COLUMNS = (
    ("id", "id"),
    ("external_id", "external_id"),
    ("email", "email"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("company", "company"),
    ("title", "title"),
    ("phone", "phone"),
    ("country", "country"),
    ("source", "source"),
    ("campaign", "campaign__name"),
    ("product", "product__code"),
    ("persona", "persona__name"),
    ("owner", "owner__username"),
    ("stage", "stage"),
    ("score", "score"),
    ("fit_score", "fit_score"),
    ("engagement_score", "engagement_score"),
    ("amount", "amount"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    ("mql_at", "mql_at"),
    ("sql_at", "sql_at"),
    ("opportunity_at", "opportunity_at"),
    ("customer_at", "customer_at"),
)


# -- who may do what ----------------------------------------------------------------------------


def can_import(user) -> bool:
    return sees_all_leads(user)


def can_draft_definitions(user) -> bool:
    return sees_all_leads(user)


def can_activate_definitions(user) -> bool:
    return user.has_role(Role.MANAGER)


def _add_domain_error(form, exc: DomainError, fields: dict[str, str] | None = None) -> None:
    field = (fields or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


# -- list and export ----------------------------------------------------------------------------


def _filtered(request):
    form = LeadFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    leads = form.filter(leads_visible_to(request.user))
    return form, leads


@login_required
@require_GET
def index(request):
    form, leads = _filtered(request)
    leads = leads.select_related("owner", "campaign", "product", "persona").order_by(
        "-created_at", "-id"
    )
    page = Paginator(leads, LEADS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "filtered": bool(request.GET.keys() - {"page"}),
        "export_query": request.GET.urlencode(),
        "can_import": can_import(request.user),
    }
    template = "leads/_lead_table.html" if request.htmx else "leads/index.html"
    return render(request, template, context)


@login_required
@require_GET
@replica_view
def export(request):
    """The filtered list as CSV, streamed row by row (flat memory for any number of leads)."""
    _form, leads = _filtered(request)
    rows = (
        leads.using(read_alias())
        .order_by("id")
        .values_list(*(path for _name, path in EXPORT_COLUMNS))
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    writer = safe_csv.line_writer()

    def lines():
        yield writer.writerow([name for name, _path in EXPORT_COLUMNS])
        for row in rows:
            yield writer.writerow(row)

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response


# -- the lead page ------------------------------------------------------------------------------


def _lead(request, pk) -> Lead:
    return get_object_or_404(
        leads_visible_to(request.user).select_related(
            "owner", "team", "campaign", "product", "persona", "mql_definition", "sql_definition"
        ),
        pk=pk,
    )


def timeline(lead: Lead) -> list[dict]:
    """Events, transitions, attempts, feedback and assignments of a lead, newest first."""
    entries = []
    for event in lead.events.select_related("campaign").order_by("-occurred_at", "-id")[
        :TIMELINE_LIMIT
    ]:
        entries.append({"kind": "event", "at": event.occurred_at, "item": event})
    for transition in lead.transitions.select_related("actor", "definition").order_by("-at", "-id")[
        :TIMELINE_LIMIT
    ]:
        entries.append({"kind": "transition", "at": transition.at, "item": transition})
    for attempt in lead.attempts.select_related("actor").order_by("-occurred_at", "-id")[
        :TIMELINE_LIMIT
    ]:
        entries.append({"kind": "attempt", "at": attempt.occurred_at, "item": attempt})
    for feedback in lead.feedback.select_related("author", "definition").order_by(
        "-created_at", "-id"
    )[:TIMELINE_LIMIT]:
        entries.append({"kind": "feedback", "at": feedback.created_at, "item": feedback})
    for assignment in lead.assignments.select_related(
        "owner", "previous_owner", "actor", "rule", "team"
    ).order_by("-at", "-id")[:TIMELINE_LIMIT]:
        entries.append({"kind": "assignment", "at": assignment.at, "item": assignment})
    order = {"transition": 0, "assignment": 1, "feedback": 2, "attempt": 3, "event": 4}
    entries.sort(key=lambda entry: (entry["at"], -order[entry["kind"]]), reverse=True)
    return entries


def score_explanations(lead: Lead) -> list[dict]:
    """One explanation per scored stage, with its items and their sum (which is the score)."""
    details = lead.score_details or {}
    explanations = []
    for stage in ("mql", "sql"):
        result = details.get(stage)
        if not isinstance(result, dict):
            continue
        items = [item for item in result.get("items") or [] if isinstance(item, dict)]
        explanations.append(
            {
                "stage": stage,
                "primary": details.get("primary") == stage,
                "definition": result.get("definition") or {},
                "fit_score": result.get("fit_score", 0),
                "engagement_score": result.get("engagement_score", 0),
                "score": result.get("score", 0),
                "qualified": result.get("qualified"),
                "hand_raised_by": result.get("hand_raised_by"),
                "fit_items": [item for item in items if item.get("kind") == "fit"],
                "event_items": [item for item in items if item.get("kind") == "event"],
                "items_total": sum(int(item.get("points") or 0) for item in items),
            }
        )
    return explanations


def _lead_context(request, lead: Lead, **bound_forms) -> dict:
    user = request.user
    forms = {
        "transition_form": TransitionForm(lead=lead) if can_move(user, lead) else None,
        "attempt_form": AttemptForm(),
        "feedback_form": FeedbackForm(),
        "assign_form": AssignForm(lead=lead) if can_assign(user) else None,
    }
    forms.update(bound_forms)
    bound = [name.removesuffix("_form") for name in bound_forms]
    touches = can_log_sales_touches(user, lead)
    active = bound[0] if bound else ("attempt" if touches else "transition")
    return {
        "active_action": active,
        "lead": lead,
        "timeline": timeline(lead),
        "explanations": score_explanations(lead),
        "can_touch": touches,
        "can_assign": can_assign(user),
        "can_move": can_move(user, lead),
        **forms,
    }


def _render_lead(request, lead: Lead, *, status: int = 200, **bound_forms):
    template = "leads/_lead_live.html" if request.htmx else "leads/detail.html"
    context = _lead_context(request, lead, **bound_forms)
    return render(request, template, context, status=status)


@login_required
@require_GET
def detail(request, pk):
    return _render_lead(request, _lead(request, pk))


def _done(request, lead: Lead, message: str):
    """After a successful action: the refreshed lead area for htmx, else back to the page."""
    messages.success(request, message)
    if request.htmx:
        return _render_lead(request, _lead(request, lead.pk))
    return redirect(lead)


def _invalid(request, lead: Lead, **bound_forms):
    # htmx swaps only 2xx answers, so the form with its messages comes back as a 200 there.
    return _render_lead(request, lead, status=200 if request.htmx else 400, **bound_forms)


@login_required
@require_POST
def transition(request, pk):
    lead = _lead(request, pk)
    if not can_move(request.user, lead):
        raise PermissionDenied("Only the lead's owner, marketing or a manager moves it.")
    form = TransitionForm(request.POST, lead=lead)
    if form.is_valid():
        try:
            lead_services.lead_transition(
                lead=lead,
                to_stage=form.cleaned_data["to_stage"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            _add_domain_error(form, exc, {"to": "to_stage"})
        else:
            stage = dict(form.fields["to_stage"].choices)[form.cleaned_data["to_stage"]]
            return _done(request, lead, f"The lead moved to {stage}.")
    return _invalid(request, lead, transition_form=form)


@login_required
@require_POST
def assign(request, pk):
    lead = _lead(request, pk)
    if not can_assign(request.user):
        raise PermissionDenied("Only marketing and managers reassign leads.")
    form = AssignForm(request.POST, lead=lead)
    if form.is_valid():
        try:
            lead_services.lead_assign(
                lead=lead,
                owner=form.cleaned_data["owner"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            _add_domain_error(form, exc)
        else:
            return _done(request, lead, f"The lead is now {form.cleaned_data['owner']}'s.")
    return _invalid(request, lead, assign_form=form)


@login_required
@require_POST
def attempt(request, pk):
    lead = _lead(request, pk)
    if not can_log_sales_touches(request.user, lead):
        raise PermissionDenied("Only the lead's owner logs contact attempts.")
    form = AttemptForm(request.POST)
    if form.is_valid():
        try:
            lead_services.contact_attempt_log(lead=lead, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _add_domain_error(form, exc)
        else:
            return _done(request, lead, "The contact attempt is logged.")
    return _invalid(request, lead, attempt_form=form)


@login_required
@require_POST
def feedback(request, pk):
    lead = _lead(request, pk)
    if not can_log_sales_touches(request.user, lead):
        raise PermissionDenied("Only the lead's owner gives feedback on it.")
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            lead_services.sales_feedback_give(lead=lead, author=request.user, **form.cleaned_data)
        except DomainError as exc:
            _add_domain_error(form, exc)
        else:
            verdict = "accepted" if form.cleaned_data["accepted"] else "rejected"
            return _done(request, lead, f"You {verdict} the lead.")
    return _invalid(request, lead, feedback_form=form)


# -- definitions --------------------------------------------------------------------------------


def describe_rules(rules: dict) -> dict:
    """A readable summary of a definition's JSON rules (or the reason it cannot be read)."""
    try:
        definition = scoring.Definition.from_dict(rules)
    except (scoring.DefinitionError, TypeError, KeyError, ValueError) as exc:
        return {"error": str(exc)}
    engagement = []
    for rule in definition.engagement:
        text = f"{rule.event_type}: {rule.points} pt{'s' if rule.points != 1 else ''} each"
        window = rule.recency_days or definition.recency_days
        if window:
            text += f", last {window} days"
        if rule.max_points is not None:
            text += f", at most {rule.max_points}"
        engagement.append(text)
    return {
        "threshold": definition.threshold,
        "min_fit": definition.min_fit,
        "recency_days": definition.recency_days,
        "fit": [f"{item.points:+d} {item.describe()}" for item in definition.fit],
        "engagement": engagement,
        "hand_raisers": list(definition.hand_raisers),
        "hand_raisers_require_min_fit": definition.hand_raisers_require_min_fit,
    }


def _definitions_context(request, form=None, run=None) -> dict:
    versions = (
        QualificationDefinition.objects.select_related("created_by", "activated_by")
        .annotate(qualified_count=Count("transitions"))
        .order_by("stage", "-version")
    )
    columns = {"mql": [], "sql": []}
    for version in versions:
        version.summary = describe_rules(version.rules)
        columns[version.stage].append(version)
    if run is None:
        run = RescoreRun.objects.select_related("definition").first()
    return {
        "columns": [("mql", "MQL", columns["mql"]), ("sql", "SQL", columns["sql"])],
        "form": form or _blank_definition_form(request.user),
        "can_activate": can_activate_definitions(request.user),
        "run": run,
    }


def _blank_definition_form(user):
    if not can_draft_definitions(user):
        return None
    return DefinitionForm(initial={"rules": EXAMPLE_RULES})


EXAMPLE_RULES = """{
  "threshold": 40,
  "min_fit": 10,
  "recency_days": 90,
  "fit": [
    {"points": 20, "attribute": "title", "operator": "contains", "value": "director"},
    {"points": 10, "attribute": "company_size", "operator": "gte", "value": 50}
  ],
  "engagement": {
    "email_open": {"points": 1, "recency_days": 30, "max_points": 10},
    "webinar_attended": 10,
    "pricing_page_view": 5
  },
  "hand_raisers": ["demo_request"]
}"""


@login_required
@require_http_methods(["GET", "POST"])
def definitions(request):
    form = None
    if request.method == "POST":
        if not can_draft_definitions(request.user):
            raise PermissionDenied("Only marketing and managers draft definitions.")
        form = DefinitionForm(request.POST)
        if form.is_valid():
            try:
                draft = lead_services.definition_create(
                    stage=form.cleaned_data["stage"],
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    rules=form.cleaned_data["rules"],
                    actor=request.user,
                )
            except DomainError as exc:
                _add_domain_error(form, exc)
            else:
                messages.success(request, f"Draft {draft} is saved.")
                return redirect("leads:definitions")
    status = 400 if form is not None and form.errors else 200
    return render(
        request, "leads/definitions.html", _definitions_context(request, form), status=status
    )


@login_required
@require_POST
def definition_activate(request, pk):
    if not can_activate_definitions(request.user):
        raise PermissionDenied("Only managers activate a definition version.")
    definition = get_object_or_404(QualificationDefinition, pk=pk)
    try:
        lead_services.definition_activate(definition=definition, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{definition} is active; open leads are being rescored.")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("leads:definitions")
        return response
    return redirect("leads:definitions")


@login_required
@require_GET
def rescore_progress(request, pk):
    run = get_object_or_404(RescoreRun.objects.select_related("definition"), pk=pk)
    return render(request, "leads/_rescore_progress.html", {"run": run})


# -- CSV import ---------------------------------------------------------------------------------


def _import_for(request, pk) -> LeadImport:
    if not can_import(request.user):
        raise PermissionDenied("Only marketing and managers import leads.")
    queryset = LeadImport.objects.all()
    if not request.user.has_role(Role.MANAGER):
        queryset = queryset.filter(created_by=request.user)
    return get_object_or_404(queryset, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    if not can_import(request.user):
        raise PermissionDenied("Only marketing and managers import leads.")
    posted = request.method == "POST"
    form = ImportUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            lead_import = imports.lead_import_create(
                file_name=upload.name, raw=upload.read(), actor=request.user
            )
        except DomainError as exc:
            _add_domain_error(form, exc)
        else:
            return redirect("leads:import_mapping", pk=lead_import.pk)
    recent = LeadImport.objects.filter(created_by=request.user).defer("content", "error_report")[
        :10
    ]
    status = 400 if form.errors else 200
    return render(
        request, "leads/import_upload.html", {"form": form, "recent": recent}, status=status
    )


def _samples(lead_import: LeadImport, count: int = 3) -> dict[int, list[str]]:
    reader = csv.reader(io.StringIO(lead_import.content), delimiter=lead_import.delimiter)
    next(reader, None)
    samples: dict[int, list[str]] = {}
    for cells in islice(reader, count):
        for index, value in enumerate(cells):
            samples.setdefault(index, []).append(value.strip())
    return samples


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request, pk):
    lead_import = _import_for(request, pk)
    if lead_import.status != LeadImport.Status.MAPPING:
        return redirect(lead_import)
    form = ImportMappingForm(
        request.POST if request.method == "POST" else None,
        header=lead_import.header,
        mapping=lead_import.mapping,
        samples=_samples(lead_import),
    )
    if request.method == "POST" and form.is_valid():
        try:
            imports.lead_import_start(lead_import=lead_import, mapping=form.mapping())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(lead_import)
    status = 400 if form.errors else 200
    return render(
        request,
        "leads/import_mapping.html",
        {"form": form, "lead_import": lead_import},
        status=status,
    )


@login_required
@require_GET
def import_detail(request, pk):
    lead_import = _import_for(request, pk)
    template = "leads/_import_progress.html" if request.htmx else "leads/import_detail.html"
    return render(request, template, {"lead_import": lead_import})


@login_required
@require_GET
def import_errors(request, pk):
    """The rejected rows as CSV: the row number, the original cells, then the messages."""
    lead_import = _import_for(request, pk)
    response = StreamingHttpResponse(
        imports.error_report_lines(lead_import), content_type="text/csv; charset=utf-8"
    )
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", lead_import.file_name.rsplit(".", 1)[0]) or "import"
    response["Content-Disposition"] = f'attachment; filename="{name}-rejected-rows.csv"'
    return response
