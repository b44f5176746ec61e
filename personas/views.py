"""Persona pages: the list with side-by-side comparison, a persona, and its forms."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from core.forms import apply_errors
from personas import insights, permissions, selectors, services
from personas.forms import InterviewForm, JourneyForm, PersonaForm
from personas.models import RECOMMENDED_INTERVIEWS, Interview, JourneyStage, Persona

COMPARED_FIELDS = (
    ("role_title", "Role / title"),
    ("industry", "Industry"),
    ("company_size", "Company size"),
    ("region", "Region"),
    ("goals", "Goals"),
    ("pain_points", "Pain points"),
    ("triggers", "Triggers"),
    ("expectations", "Expectations"),
    ("information_sources", "Information sources"),
    ("objections", "Objections"),
    ("preferred_channels", "Preferred channels"),
)


@login_required
def index(request):
    status = request.GET.get("status") or None
    personas = list(selectors.persona_list(status=status))
    measures = insights.measures()
    performance = measures.performance([p.pk for p in personas]) if measures else {}
    rows = [{"persona": p, "perf": performance.get(p.pk)} for p in personas]
    compare_ids = {int(pk) for pk in request.GET.getlist("compare") if pk.isdigit()}
    compared = [row for row in rows if row["persona"].pk in compare_ids]
    comparison = [
        {"label": label, "values": [getattr(row["persona"], name) for row in compared]}
        for name, label in COMPARED_FIELDS
    ]
    return render(
        request,
        "personas/index.html",
        {
            "rows": rows,
            "compared": compared,
            "comparison": comparison,
            "status": status,
            "statuses": Persona.Status.choices,
            "recommended": RECOMMENDED_INTERVIEWS,
            "can_create": permissions.can_create_persona(request.user),
            "window_days": measures.window_days if measures else None,
            "recent_days": measures.recent_days if measures else None,
        },
    )


def trend_chart(trend: list) -> dict:
    """The persona page's monthly bars of leads and MQLs with the MQL→SQL rate as a line on
    a percent axis (static/js/charts.js); Chart.js's own colours."""
    return {
        "labels": [row.month.strftime("%b %Y") for row in trend],
        "datasets": [
            {"type": "bar", "label": "Leads", "data": [row.leads for row in trend], "yAxisID": "y"},
            {"type": "bar", "label": "MQLs", "data": [row.mqls for row in trend], "yAxisID": "y"},
            {
                "type": "line",
                "label": "MQL→SQL %",
                "data": [
                    None if row.mql_to_sql_rate is None else float(row.mql_to_sql_rate * 100)
                    for row in trend
                ],
                "yAxisID": "rate",
                "spanGaps": True,
            },
        ],
        "axes": {"y": {"beginAtZero": True}, "rate": {"position": "right", "percent": True}},
        "palette": False,
        "animate": True,
    }


@login_required
def detail(request, pk: int):
    try:
        persona = selectors.persona_detail(pk)
    except Persona.DoesNotExist as exc:
        raise Http404 from exc
    measures = insights.measures()
    perf = measures.performance([pk]).get(pk) if measures else None
    trend = measures.monthly_trend(persona) if measures else []
    journey = {row.stage: row for row in persona.journey.all()}
    return render(
        request,
        "personas/detail.html",
        {
            "persona": persona,
            "perf": perf,
            "trend": trend,
            "chart": trend_chart(trend),
            "contributors": selectors.contributors_by_team(persona),
            "journey": [
                (value, label, journey.get(value)) for value, label in JourneyStage.Stage.choices
            ],
            "recommended": RECOMMENDED_INTERVIEWS,
            "window_days": measures.window_days if measures else None,
            "can_edit": permissions.can_edit_persona(request.user),
            "can_interview": permissions.can_record_interview(request.user),
            "can_edit_journey": permissions.can_edit_journey(request.user, persona),
            "changeable_interviews": {
                interview.pk
                for interview in persona.interviews.all()
                if permissions.can_change_interview(request.user, interview, persona)
            },
        },
    )


@login_required
def persona_form(request, pk: int | None = None):
    persona = get_object_or_404(Persona, pk=pk) if pk else None
    allowed = permissions.can_edit_persona if persona else permissions.can_create_persona
    if not allowed(request.user):
        raise PermissionDenied
    form = PersonaForm(request.POST or None, instance=persona)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        contributors = data.pop("contributors")
        try:
            with transaction.atomic():
                saved = services.persona_save(
                    actor=request.user, persona=persona, contributors=contributors, **data
                )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Persona “{saved}” saved.")
            return redirect(saved)
    return render(request, "personas/form.html", {"form": form, "persona": persona})


@login_required
def interview_form(request, pk: int):
    persona = get_object_or_404(Persona, pk=pk)
    if not permissions.can_record_interview(request.user):
        raise PermissionDenied
    form = InterviewForm(request.POST or None, initial={"interviewer": request.user})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.interview_record(
                persona=persona, actor=request.user, interviewer=data.pop("interviewer"), **data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Interview recorded.")
            return redirect(persona)
    return render(request, "personas/interview_form.html", {"form": form, "persona": persona})


def _interview_or_404(pk: int, interview_pk: int):
    return get_object_or_404(
        Interview.objects.select_related("persona", "interviewer"), pk=interview_pk, persona_id=pk
    )


@login_required
def interview_edit(request, pk: int, interview_pk: int):
    interview = _interview_or_404(pk, interview_pk)
    persona = interview.persona
    if not permissions.can_change_interview(request.user, interview):
        raise PermissionDenied("Who recorded it, the persona's contributors or a manager edit it.")
    form = InterviewForm(request.POST or None, instance=interview)
    if request.method == "POST" and form.is_valid():
        try:
            services.interview_update(interview=interview, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Interview saved.")
            return redirect(persona)
    return render(
        request,
        "personas/interview_form.html",
        {"form": form, "persona": persona, "interview": interview},
    )


@login_required
def interview_delete(request, pk: int, interview_pk: int):
    """A confirmation page; the POST deletes."""
    interview = _interview_or_404(pk, interview_pk)
    persona = interview.persona
    if not permissions.can_change_interview(request.user, interview):
        raise PermissionDenied(
            "Who recorded it, the persona's contributors or a manager delete it."
        )
    if request.method == "POST":
        services.interview_delete(interview=interview)
        messages.success(request, f"The interview with {interview.interviewee} is deleted.")
        return redirect(persona)
    return render(
        request,
        "personas/interview_confirm_delete.html",
        {"interview": interview, "persona": persona},
    )


@login_required
def journey_form(request, pk: int):
    persona = get_object_or_404(Persona.objects.prefetch_related("journey", "contributors"), pk=pk)
    if not permissions.can_edit_journey(request.user, persona):
        raise PermissionDenied
    form = JourneyForm(request.POST or None, persona=persona)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            for stage, fields in form.stages():
                services.journey_stage_save(
                    persona=persona, stage=stage, actor=request.user, **fields
                )
        messages.success(request, "Journey map saved.")
        return redirect(persona)
    return render(request, "personas/journey_form.html", {"form": form, "persona": persona})
