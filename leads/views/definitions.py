"""MQL/SQL definition versions: drafting, activation and rescoring progress."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from leads import scoring
from leads import services as lead_services
from leads.forms import (
    DefinitionForm,
)
from leads.models import QualificationDefinition, RescoreRun
from leads.views.common import _add_domain_error, can_activate_definitions, can_draft_definitions

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
