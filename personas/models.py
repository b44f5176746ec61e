from django.conf import settings
from django.db import models


class Persona(models.Model):
    """A buyer persona, co-created by marketing and sales from customer interviews."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    name = models.CharField(max_length=120, unique=True)
    summary = models.TextField(blank=True)
    role_title = models.CharField("role / title", max_length=160, blank=True)
    industry = models.CharField(max_length=120, blank=True)
    company_size = models.CharField(max_length=60, blank=True)
    region = models.CharField(max_length=120, blank=True)
    goals = models.TextField(blank=True)
    pain_points = models.TextField(blank=True)
    triggers = models.TextField(blank=True, help_text="What made them look for a solution.")
    expectations = models.TextField(blank=True)
    information_sources = models.TextField(blank=True)
    objections = models.TextField(blank=True)
    preferred_channels = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    contributors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="personas"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("personas:detail", args=[self.pk])


RECOMMENDED_INTERVIEWS = 3
"""The articles advise three or four interviews before a persona is trusted."""


class Interview(models.Model):
    """An interview with a current customer who fits the persona, with the standard questions."""

    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="interviews")
    interviewed_on = models.DateField("date")
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    interviewee = models.CharField(
        max_length=200, help_text="Who was interviewed (name, role, company)."
    )
    trigger = models.TextField(
        "what triggered the search",
        blank=True,
        help_text="What conditions made them look for a solution like ours?",
    )
    expectations_met = models.TextField(
        "were expectations met", blank=True, help_text="Have we lived up to their expectations?"
    )
    information_sources = models.TextField(
        "where they get information",
        blank=True,
        help_text="Which sources do they use when making decisions?",
    )
    demographics = models.TextField(
        blank=True, help_text="Role, seniority, company size, industry, region…"
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-interviewed_on", "-id"]
        indexes = [models.Index(fields=["persona", "interviewed_on"], name="interview_persona_on")]

    def __str__(self) -> str:
        return f"{self.interviewee} ({self.interviewed_on:%Y-%m-%d})"


class JourneyStage(models.Model):
    """One column of a persona's journey map: what they ask, what we offer, where they are."""

    class Stage(models.TextChoices):
        AWARENESS = "awareness", "Awareness"
        CONSIDERATION = "consideration", "Consideration"
        DECISION = "decision", "Decision"

    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="journey")
    stage = models.CharField(max_length=16, choices=Stage.choices)
    questions = models.TextField("questions they ask", blank=True)
    content_offers = models.TextField("content and offers", blank=True)
    channels = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["persona", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["persona", "stage"], name="journey_stage_per_persona")
        ]

    def __str__(self) -> str:
        return f"{self.persona}: {self.get_stage_display()}"
