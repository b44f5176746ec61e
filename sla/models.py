"""The SLA between marketing and sales: calendars, agreements, clocks and their records.

Versioning ("edits apply to new clocks only"): a calendar or an agreement that some clock
has started under is never edited in place. Editing it creates the next version row (same
`family`, `version + 1`) and marks the old row superseded; clocks keep pointing at the row
they started under, so a clock's stored deadlines and its response durations always come
from one schedule. Rows no clock uses yet are edited in place.
"""

import uuid
from decimal import Decimal

import pghistory
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import validate_time_zone
from core.audit import audit_obj, audited
from leads.lifecycle import STAGE_LABELS, Stage


@pghistory.track(*audited(), obj_field=audit_obj())
class BusinessCalendar(models.Model):
    """Opening hours in one IANA zone plus holidays; sales teams count SLA time in it.

    `hours` maps a weekday ("0" = Monday … "6") to a list of ["HH:MM", "HH:MM"] local
    opening intervals ("00:00" as a closing time is midnight ending the day).
    """

    family = models.UUIDField(default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    name = models.CharField(max_length=120)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    hours = models.JSONField(default=dict)
    holiday_country = models.CharField(
        max_length=3, blank=True, help_text="Country code of the `holidays` package, e.g. US."
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="Optional subdivision, e.g. NY."
    )
    custom_holidays = models.JSONField(
        default=list, blank=True, help_text="Extra closed dates, as YYYY-MM-DD strings."
    )
    is_default = models.BooleanField(
        default=False, help_text="Used for owners whose team has no calendar."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="calendar_family_version"),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True, superseded_at__isnull=True),
                name="one_default_calendar",
                violation_error_message="Another calendar is already the default.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}" if self.version > 1 else self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("sla:calendar_edit", args=[self.pk])

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None


@pghistory.track(*audited(), obj_field=audit_obj())
class TeamCalendar(models.Model):
    """Which calendar a sales team counts SLA time in (one per team)."""

    team = models.OneToOneField(
        "accounts.Team", on_delete=models.CASCADE, related_name="sla_calendar"
    )
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="team_assignments"
    )

    def __str__(self) -> str:
        return f"{self.team} → {self.calendar}"


@pghistory.track(*audited(), obj_field=audit_obj())
class SLAAgreement(models.Model):
    """The written contract between the teams and its measurable commitments (one version)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded"

    class ExhaustionAction(models.TextChoices):
        RECYCLE = "recycle", "Hand back to marketing as recycled"
        NOTIFY = "notify", "Notify the owner and manager only"

    family = models.UUIDField(default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    name = models.CharField(max_length=160)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    effective_from = models.DateField()
    effective_until = models.DateField(null=True, blank=True)
    products = models.ManyToManyField(
        "leads.Product", blank=True, related_name="sla_agreements", help_text="Empty: all."
    )
    personas = models.ManyToManyField(
        "personas.Persona",
        blank=True,
        related_name="sla_agreements",
        help_text="Targeted personas. Empty: all.",
    )
    # The written contract.
    goals = models.TextField(blank=True)
    roles = models.TextField(blank=True)
    obligations = models.TextField(blank=True)
    lead_management_protocol = models.TextField(blank=True)
    handoff_process = models.TextField("how the hand-off takes place", blank=True)
    compensation_basis = models.TextField(blank=True)
    # Marketing commitment: N leads reaching stage S per product per month (optional persona).
    leads_per_product_per_month = models.PositiveIntegerField(default=75)
    commitment_stage = models.CharField(
        max_length=16,
        default=Stage.SQL,
        choices=[(s.value, STAGE_LABELS[s]) for s in (Stage.MQL, Stage.SQL, Stage.OPPORTUNITY)],
    )
    commitment_persona = models.ForeignKey(
        "personas.Persona",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Count only leads of this persona.",
    )
    # Sales commitment.
    first_touch_hours = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("5"),
        validators=[MinValueValidator(Decimal("0.25"))],
        help_text="First attempt within this many business hours of hand-off.",
    )
    max_attempts = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1)])
    attempt_window_days = models.PositiveSmallIntegerField(
        default=16, validators=[MinValueValidator(1)], help_text="Calendar days from hand-off."
    )
    warning_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.80"),
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("0.99"))],
        help_text="Warn the owner when this share of the first-touch allowance has elapsed.",
    )
    exhaustion_action = models.CharField(
        max_length=12, choices=ExhaustionAction.choices, default=ExhaustionAction.RECYCLE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-effective_from", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="agreement_family_version"),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True)
                | Q(effective_until__gte=models.F("effective_from")),
                name="agreement_ends_after_start",
                violation_error_message="The agreement cannot end before it starts.",
            ),
        ]
        permissions = [
            ("view_compliance", "Can view SLA compliance reports"),
            ("view_commitments", "Can view marketing's lead commitments (delivered vs committed)"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("sla:agreement_detail", args=[self.pk])


class SLAClock(models.Model):
    """One per hand-off: deadlines computed once, stored and indexed for the sweep."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        MET = "met", "Met"
        BREACHED = "breached", "Breached"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="sla_clocks")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sla_clocks",
    )
    agreement = models.ForeignKey(SLAAgreement, on_delete=models.PROTECT, related_name="clocks")
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="clocks")
    handoff_at = models.DateTimeField()
    first_touch_due_at = models.DateTimeField()
    warn_at = models.DateTimeField()
    attempt_window_ends_at = models.DateTimeField()
    first_touch_at = models.DateTimeField(null=True, blank=True)
    response_business_seconds = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    over_contact = models.BooleanField(default=False)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    exhausted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["first_touch_due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "handoff_at"], name="one_clock_per_handoff"),
        ]
        indexes = [
            # The sweep's range scans: only rows that can still fire are in these indexes.
            models.Index(
                fields=["first_touch_due_at"],
                condition=Q(status="pending", closed_at__isnull=True),
                name="sla_clock_due_pending",
            ),
            models.Index(
                fields=["warn_at"],
                condition=Q(status="pending", warned_at__isnull=True, closed_at__isnull=True),
                name="sla_clock_warn_pending",
            ),
            models.Index(
                fields=["attempt_window_ends_at"],
                condition=Q(exhausted_at__isnull=True, closed_at__isnull=True),
                name="sla_clock_window_open",
            ),
            # A rep's queue: their open clocks only, whatever their history. Over every
            # clock of the owner, the planner preferred a parallel scan of the whole table.
            models.Index(
                fields=["owner", "first_touch_due_at"],
                condition=Q(closed_at__isnull=True, exhausted_at__isnull=True),
                name="sla_clock_owner_open",
            ),
            models.Index(fields=["handoff_at"], name="sla_clock_handoff"),
        ]

    def __str__(self) -> str:
        return f"Clock {self.pk} for lead {self.lead_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None and self.exhausted_at is None


class SLARecord(models.Model):
    """A warning, breach or exhaustion that happened to a clock: at most one of each kind.

    Written by the thousand in a sweep and read only per clock, so the table carries no
    index beyond its key and the unique (clock, kind), which also serves lookups by clock:
    every other index would be paid on each insert for no query. For the same reason its
    foreign keys are not database constraints: each would check and lock the referenced
    row once per inserted record (about a quarter of the cost of the sweep's own update
    of the clocks, each). A record is only ever written for a clock the same transaction
    holds locked, and `on_delete` is carried out by Django: deleting a lead deletes its
    clocks' records, deleting a user clears `owner`.
    """

    class Kind(models.TextChoices):
        WARNING = "warning", "Warning"
        BREACH = "breach", "Breach"
        EXHAUSTION = "exhaustion", "Exhaustion"

    clock = models.ForeignKey(
        SLAClock,
        on_delete=models.CASCADE,
        related_name="records",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()
    # Who owned the clock when it happened (clocks follow reassignment).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "kind"], name="one_record_per_clock_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of clock {self.clock_id}"


class CommitmentRisk(models.Model):
    """A marketing commitment found behind its month pace: raised once per product and month."""

    agreement = models.ForeignKey(SLAAgreement, on_delete=models.CASCADE, related_name="risks")
    product = models.ForeignKey("leads.Product", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="First day of the company month (core.days).")
    delivered = models.PositiveIntegerField()
    committed = models.PositiveIntegerField()
    expected_by_now = models.DecimalField(max_digits=10, decimal_places=2)
    raised_at = models.DateTimeField()

    class Meta:
        ordering = ["-month", "product"]
        constraints = [
            models.UniqueConstraint(fields=["product", "month"], name="one_risk_per_product_month")
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.month:%Y-%m}: {self.delivered}/{self.committed}"


class UncoveredHandoff(models.Model):
    """A hand-off that started no clock because no agreement or no calendar covered it.

    Written with the hand-off's reaction (once per lead and hand-off instant); shown to the
    managers until a clock exists for it (an agreement or calendar added later and the
    hand-off back-filled) or the lead moves on."""

    class Missing(models.TextChoices):
        AGREEMENT = "agreement", "No agreement covers the lead's product and persona"
        CALENDAR = "calendar", "No calendar for the owner's team and no default calendar"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    handoff_at = models.DateTimeField()
    missing = models.CharField(max_length=10, choices=Missing.choices)
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-handoff_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "handoff_at"], name="one_gap_per_handoff")
        ]

    def __str__(self) -> str:
        return f"No clock for lead {self.lead_id} at {self.handoff_at:%Y-%m-%d %H:%M}"
