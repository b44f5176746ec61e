"""Writes for personas: the persona itself, its interviews and its journey map.

A persona is co-created: whoever writes it or interviews a customer for it is recorded as a
contributor, so the page shows who from marketing and who from sales took part.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from personas.models import Interview, JourneyStage, Persona

PERSONA_FIELDS = (
    "name",
    "summary",
    "role_title",
    "industry",
    "company_size",
    "region",
    "goals",
    "pain_points",
    "triggers",
    "expectations",
    "information_sources",
    "objections",
    "preferred_channels",
    "status",
)
INTERVIEW_FIELDS = (
    "interviewed_on",
    "interviewee",
    "trigger",
    "expectations_met",
    "information_sources",
    "demographics",
    "notes",
)


@transaction.atomic
def persona_save(
    *,
    actor: User | None,
    persona: Persona | None = None,
    contributors: Iterable[User] | None = None,
    **fields,
) -> Persona:
    """Create or update a persona. ``contributors`` replaces the list when given; the actor is
    always added."""
    persona = persona or Persona()
    for name, value in fields.items():
        if name not in PERSONA_FIELDS:
            raise TypeError(f"unknown persona field: {name}")
        setattr(persona, name, value)
    persona.full_clean()
    persona.save()
    if contributors is not None:
        persona.contributors.set(list(contributors))
    if actor is not None:
        persona.contributors.add(actor)
    return persona


@transaction.atomic
def interview_record(
    *, persona: Persona, actor: User | None, interviewer: User | None = None, **fields
) -> Interview:
    """Record a customer interview; the interviewer becomes a contributor of the persona."""
    unknown = set(fields) - set(INTERVIEW_FIELDS)
    if unknown:
        raise TypeError(f"unknown interview fields: {sorted(unknown)}")
    interview = Interview(persona=persona, interviewer=interviewer or actor, **fields)
    interview.full_clean()
    interview.save()
    if interview.interviewer is not None:
        persona.contributors.add(interview.interviewer)
    return interview


@transaction.atomic
def interview_update(*, interview: Interview, **fields) -> Interview:
    for name, value in fields.items():
        if name not in (*INTERVIEW_FIELDS, "interviewer"):
            raise TypeError(f"unknown interview field: {name}")
        setattr(interview, name, value)
    interview.full_clean()
    interview.save()
    return interview


@transaction.atomic
def interview_delete(*, interview: Interview) -> None:
    """Delete an interview (callers check `permissions.can_change_interview`)."""
    interview.delete()


@transaction.atomic
def journey_stage_save(
    *,
    persona: Persona,
    stage: str,
    actor: User | None = None,
    questions: str = "",
    content_offers: str = "",
    channels: str = "",
) -> JourneyStage:
    """Write one column (awareness, consideration or decision) of a persona's journey map."""
    if stage not in JourneyStage.Stage.values:
        raise ValidationError({"stage": ["Choose awareness, consideration or decision."]})
    row, _ = JourneyStage.objects.update_or_create(
        persona=persona,
        stage=stage,
        defaults={"questions": questions, "content_offers": content_offers, "channels": channels},
    )
    if actor is not None:
        persona.contributors.add(actor)
    return row
