"""MQL/SQL definition versions: drafting, activation and rescoring progress."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connection, transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from leads import long_jobs, scoring
from leads import preview as definition_previews
from leads import services as lead_services
from leads.forms import DefinitionEditForm, DefinitionForm, DefinitionPreviewForm, SendBackForm
from leads.models import Event, Lead, QualificationDefinition, RescoreRun
from leads.qualification import OPEN_STAGES
from leads.views.common import _add_domain_error, can_activate_definitions, can_draft_definitions

Status = QualificationDefinition.Status
# A preview reads every open lead: one at a time per person, and never longer than this.
PREVIEW_LOCK_SECONDS = 30
PREVIEW_TIMEOUT_MS = 15_000

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


def _definitions_context(request, run=None) -> dict:
    versions = (
        QualificationDefinition.objects.select_related("created_by", "activated_by", "submitted_by")
        .annotate(qualified_count=Count("transitions"))
        .order_by("stage", "-version")
    )
    columns = {"mql": [], "sql": []}
    for version in versions:
        version.summary = describe_rules(version.rules)
        columns[version.stage].append(version)
    if run is None:
        run = RescoreRun.objects.select_related("definition").first()
    pending = [
        version
        for stage in ("mql", "sql")
        for version in columns[stage]
        if version.status == Status.SUBMITTED
    ]
    return {
        "columns": [("mql", "MQL", columns["mql"]), ("sql", "SQL", columns["sql"])],
        "pending": pending,
        "can_draft": can_draft_definitions(request.user),
        "can_activate": can_activate_definitions(request.user),
        "run": run,
        **_run_state(request, run),
    }


def _run_state(request, run) -> dict:
    """Whether the rescoring run has stalled, and whether this user may restart it."""
    if run is None:
        return {"run_stalled_since": None, "can_restart_run": False}
    stalled = long_jobs.stalled_since(run, now=timezone.now())
    restartable = stalled is not None or run.status == RescoreRun.Status.FAILED
    return {
        "run_stalled_since": stalled,
        "can_restart_run": restartable and can_activate_definitions(request.user),
    }


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
        draft = _draft_saved(request, form)
        if draft is not None:
            return redirect("leads:definitions")
    if form is not None:
        # Refused: the builder page shows the draft with its messages on their fields.
        return render(
            request,
            "leads/definition_edit.html",
            {"form": form, "version": None, "vocabulary": _builder_vocabulary(None)},
            status=400,
        )
    return render(request, "leads/definitions.html", _definitions_context(request))


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
    return render(request, "leads/_rescore_progress.html", {"run": run, **_run_state(request, run)})


@login_required
@require_POST
def rescore_restart(request, pk):
    """Send a stalled or failed rescoring run again (managers); it goes on from its cursor."""
    if not can_activate_definitions(request.user):
        raise PermissionDenied("Only managers restart a rescoring.")
    run = get_object_or_404(RescoreRun, pk=pk)
    try:
        long_jobs.rescore_run_restart(run=run, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The rescoring is restarted; it goes on where it stopped.")
    return redirect("leads:definitions")


# -- one version: the builder, the preview, submission and review ------------------------------


def _builder_vocabulary(rules: dict | None) -> dict:
    """What the builder offers: operators, attribute names and event types seen lately (from
    the newest rows only, so the page stays quick however many leads there are)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT k FROM (SELECT attributes FROM {Lead._meta.db_table} "
            "ORDER BY id DESC LIMIT 2000) recent, "
            "LATERAL jsonb_object_keys(CASE WHEN jsonb_typeof(attributes) = 'object' "
            "THEN attributes ELSE '{}'::jsonb END) k ORDER BY k LIMIT 200"
        )
        attributes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"SELECT DISTINCT type FROM (SELECT type FROM {Event._meta.db_table} "
            "ORDER BY id DESC LIMIT 5000) recent ORDER BY type LIMIT 200"
        )
        event_types = [row[0] for row in cursor.fetchall()]
    if isinstance(rules, dict):
        event_types = sorted(
            {
                *event_types,
                *(rules.get("engagement") or {}),
                *(rules.get("hand_raisers") or ()),
            }
            - {""},
            key=str,
        )
    own = ["title", "company", "country", "source", "email_domain", "persona", "product"]
    return {
        "attributes": [*own, "campaign", *(name for name in attributes if name not in own)],
        "event_types": event_types,
        "operators": [
            {"value": "equals", "label": "is"},
            {"value": "in", "label": "is one of"},
            {"value": "contains", "label": "contains"},
            {"value": "gte", "label": "is at least"},
            {"value": "lte", "label": "is at most"},
            {"value": "exists", "label": "is filled in"},
        ],
        "max_depth": scoring.MAX_GROUP_DEPTH,
    }


def _pretty(rules) -> str:
    return json.dumps(rules, indent=2, ensure_ascii=False)


def _version_context(request, version, form=None, send_back_form=None) -> dict:
    editable = version.status == Status.DRAFT and can_draft_definitions(request.user)
    rules = version.rules
    if form is None and editable:
        form = DefinitionEditForm(
            stage=version.stage,
            initial={
                "name": version.name,
                "description": version.description,
                "rules": _pretty(rules),
            },
        )
    return {
        "version": version,
        "summary": describe_rules(rules),
        "form": form if editable else None,
        "rules_text": _pretty(rules),
        "vocabulary": _builder_vocabulary(rules) if editable else None,
        "can_draft": can_draft_definitions(request.user),
        "can_submit": version.status == Status.DRAFT and can_draft_definitions(request.user),
        "can_review": version.status in (Status.DRAFT, Status.SUBMITTED)
        and can_activate_definitions(request.user),
        "send_back_form": send_back_form or SendBackForm(),
    }


def _draft_saved(request, form):
    """The new draft of a valid `form` (with its success message), or None with the
    refusals on the form's fields."""
    if not form.is_valid():
        return None
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
        return None
    messages.success(request, f"Draft {draft} is saved.")
    return draft


@login_required
@require_http_methods(["GET", "POST"])
def definition_new(request):
    """A new draft, built with the builder (from the example, or a copy of a version)."""
    if not can_draft_definitions(request.user):
        raise PermissionDenied("Only marketing and managers draft definitions.")
    stage = request.GET.get("stage") if request.GET.get("stage") in ("mql", "sql") else "mql"
    rules = json.loads(EXAMPLE_RULES)
    copied = None
    source = request.GET.get("from", "")
    if source.isdigit() and len(source) < 12:
        copied = QualificationDefinition.objects.filter(pk=int(source)).first()
        if copied is not None:
            stage, rules = copied.stage, copied.rules
    if request.method == "POST":
        form = DefinitionForm(request.POST)
        draft = _draft_saved(request, form)
        if draft is not None:
            return redirect("leads:definition_detail", pk=draft.pk)
        status = 400
    else:
        name = f"Copy of {copied.name}" if copied is not None else ""
        form = DefinitionForm(initial={"stage": stage, "name": name, "rules": _pretty(rules)})
        status = 200
    return render(
        request,
        "leads/definition_edit.html",
        {
            "form": form,
            "version": None,
            "copied": copied,
            "vocabulary": _builder_vocabulary(rules),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def definition_detail(request, pk):
    version = get_object_or_404(
        QualificationDefinition.objects.select_related(
            "created_by", "activated_by", "submitted_by", "reviewed_by"
        ),
        pk=pk,
    )
    if request.method == "GET":
        return render(request, "leads/definition_detail.html", _version_context(request, version))
    if not can_draft_definitions(request.user):
        raise PermissionDenied("Only marketing and managers edit a draft.")
    form = DefinitionEditForm(request.POST, stage=version.stage)
    if form.is_valid():
        try:
            lead_services.definition_update(
                definition=version,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                rules=form.cleaned_data["rules"],
            )
        except DomainError as exc:
            _add_domain_error(form, exc)
        else:
            messages.success(request, f"Draft {version.stage.upper()} v{version.version} saved.")
            return redirect("leads:definition_detail", pk=version.pk)
    return render(
        request,
        "leads/definition_detail.html",
        _version_context(request, version, form=form),
        status=400,
    )


@login_required
@require_POST
def definition_submit(request, pk):
    if not can_draft_definitions(request.user):
        raise PermissionDenied("Only marketing and managers submit a draft for approval.")
    version = get_object_or_404(QualificationDefinition, pk=pk)
    try:
        lead_services.definition_submit(definition=version, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{version} is submitted; the managers are notified.")
    return redirect("leads:definition_detail", pk=version.pk)


@login_required
@require_POST
def definition_send_back(request, pk):
    if not can_activate_definitions(request.user):
        raise PermissionDenied("Only managers review a submitted definition.")
    version = get_object_or_404(
        QualificationDefinition.objects.select_related("created_by", "submitted_by"), pk=pk
    )
    form = SendBackForm(request.POST)
    if form.is_valid():
        try:
            lead_services.definition_send_back(
                definition=version, actor=request.user, comment=form.cleaned_data["comment"]
            )
        except DomainError as exc:
            _add_domain_error(form, exc)
        else:
            messages.success(request, f"{version} is sent back with your comment.")
            return redirect("leads:definition_detail", pk=version.pk)
    return render(
        request,
        "leads/definition_detail.html",
        _version_context(request, version, send_back_form=form),
        status=400,
    )


@login_required
@require_POST
def definition_preview(request):
    """The preview panel for the rules being edited (an htmx fragment)."""
    if not can_draft_definitions(request.user):
        raise PermissionDenied("Only marketing and managers preview definitions.")
    form = DefinitionPreviewForm(request.POST)
    if not form.is_valid():
        return render(request, "leads/_definition_preview.html", {"form": form}, status=400)
    lock = f"definition-preview:{request.user.pk}"
    if not cache.add(lock, 1, PREVIEW_LOCK_SECONDS):
        return render(
            request,
            "leads/_definition_preview.html",
            {"busy": True},
            status=429,
            headers={"Retry-After": "2"},
        )
    stage = form.cleaned_data["stage"]
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # The preview is a read: it never holds the database longer than this.
                cursor.execute(f"SET LOCAL statement_timeout = {PREVIEW_TIMEOUT_MS}")
            result = definition_previews.definition_preview(
                definition=scoring.Definition.from_dict(form.cleaned_data["rules"]),
                active=definition_previews.active_version(stage),
                now=timezone.now(),
            )
    except OperationalError:
        return render(request, "leads/_definition_preview.html", {"too_slow": True}, status=503)
    finally:
        cache.delete(lock)
    total = result.open_leads
    return render(
        request,
        "leads/_definition_preview.html",
        {
            "preview": result,
            "stage": stage,
            "open_stages": OPEN_STAGES,
            "percent": round(100 * result.qualified / total) if total else None,
            "active_percent": (
                round(100 * result.active_qualified / total)
                if total and result.active_qualified is not None
                else None
            ),
            "chart": result.chart(),
        },
    )
