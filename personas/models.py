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
