"""Reads for personas: lists, the persona page, and its contributors by team.

What the leads say about a persona (its performance) is measured by the reporting app and
reaches the pages through `personas.insights`.
"""

from __future__ import annotations

from django.db.models import Count, Prefetch

from accounts.models import User
from personas.models import Interview, Persona


def _contributors_prefetch() -> Prefetch:
    return Prefetch("contributors", queryset=User.objects.select_related("team"))


def persona_list(*, status: str | None = None):
    queryset = (
        Persona.objects.annotate(interview_count=Count("interviews"))
        .prefetch_related(_contributors_prefetch())
        .order_by("name")
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def persona_detail(pk: int) -> Persona:
    return (
        Persona.objects.annotate(interview_count=Count("interviews", distinct=True))
        .prefetch_related(
            _contributors_prefetch(),
            Prefetch("interviews", queryset=Interview.objects.select_related("interviewer__team")),
            "journey",
        )
        .get(pk=pk)
    )


def contributors_by_team(persona: Persona) -> dict[str, list[User]]:
    """Contributors split by the function of their team (marketing, sales, other)."""
    groups: dict[str, list[User]] = {"marketing": [], "sales": [], "other": []}
    for user in persona.contributors.all():
        function = user.team.function if user.team else None
        groups[function if function in groups else "other"].append(user)
    return groups
