"""The lead list and export, and the lead page with its in-place actions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core import csv as safe_csv
from core.errors import DomainError
from core.replicas import read_alias, replica_view
from leads import services as lead_services
from leads.forms import (
    AssignForm,
    AttemptForm,
    FeedbackForm,
    LeadFilterForm,
    TransitionForm,
)
from leads.models import Lead
from leads.selectors import (
    can_assign,
    can_edit,
    can_log_sales_touches,
    can_move,
    leads_visible_to,
)
from leads.views.common import _add_domain_error, can_import, can_manage_routing

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
        "can_manage_routing": can_manage_routing(request.user),
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
        "can_edit": can_edit(user, lead),
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
                amount=form.cleaned_data.get("amount"),
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
