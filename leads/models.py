import pghistory
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.audit import audit_obj, audited
from leads.lifecycle import STAGE_LABELS, Stage


class Product(models.Model):
    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=40, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        PAID_SEARCH = "paid_search", "Paid search"
        PAID_SOCIAL = "paid_social", "Paid social"
        ORGANIC = "organic", "Organic / SEO"
        WEBINAR = "webinar", "Webinar"
        EVENT = "event", "Event"
        CONTENT = "content", "Content / download"
        REFERRAL = "referral", "Referral"
        PARTNER = "partner", "Partner"
        OTHER = "other", "Other"

    name = models.CharField(max_length=160, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    source = models.SlugField(
        max_length=60, help_text="Lead source this campaign reports under (e.g. webinar)."
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    # Archived campaigns keep their leads and history but leave pickers and the active list.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True)
                | Q(starts_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
                violation_error_message="A campaign cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(cost__gte=0),
                name="campaign_cost_not_negative",
                violation_error_message="The cost cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


@pghistory.track(*audited(), obj_field=audit_obj())
class QualificationDefinition(models.Model):
    """One version of the agreed MQL or SQL rule (rules are `leads.scoring` JSON).

    A version that has been active is never edited: a change is a new version.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted for approval"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    stage = models.CharField(max_length=10, choices=[(Stage.MQL, "MQL"), (Stage.SQL, "SQL")])
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    rules = models.JSONField(help_text="Fit rules, event points, threshold, hand-raisers.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    effective_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    # Approval: a marketer submits a draft, a manager activates it or sends it back with a
    # comment (the draft returns to `draft` and keeps the comment until it is submitted again).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["stage", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "version"], name="definition_stage_version"),
            models.UniqueConstraint(
                fields=["stage"],
                condition=Q(status="active"),
                name="one_active_definition_per_stage",
                violation_error_message="Another version of this stage is already active.",
            ),
        ]
        permissions = [("activate_qualificationdefinition", "Can activate a definition version")]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} v{self.version}: {self.name}"


# Ownership: only a change of owner is kept (a conditional trigger; other lead writes cost
# nothing), with the owner before and after.
@pghistory.track(
    pghistory.UpdateEvent("owner.before", condition=pghistory.AnyChange("owner"), row="OLD"),
    pghistory.UpdateEvent("owner.change", condition=pghistory.AnyChange("owner"), row="NEW"),
    fields=["owner"],
    obj_field=audit_obj(),
    model_name="LeadOwnerEvent",
)
class Lead(models.Model):
    external_id = models.CharField(max_length=120, null=True, blank=True)
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code.")
    source = models.SlugField(max_length=60, blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    persona = models.ForeignKey(
        "personas.Persona", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    stage = models.CharField(max_length=16, choices=STAGE_LABELS.items(), default=Stage.LEAD)
    score = models.IntegerField(default=0)
    fit_score = models.IntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    score_details = models.JSONField(
        default=dict, blank=True, help_text="Itemised explanation of the last scoring."
    )
    attributes = models.JSONField(default=dict, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    handed_off_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current sales episode was handed off."
    )
    mql_at = models.DateTimeField(null=True, blank=True)
    sql_at = models.DateTimeField(null=True, blank=True)
    opportunity_at = models.DateTimeField(null=True, blank=True)
    customer_at = models.DateTimeField(null=True, blank=True)
    mql_definition = models.ForeignKey(
        QualificationDefinition, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sql_definition = models.ForeignKey(
        QualificationDefinition, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="lead_external_id_unique",
                violation_error_message="Another lead already has this external id.",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="lead_amount_not_negative",
                violation_error_message="The amount cannot be negative.",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "stage"], name="lead_owner_stage"),
            models.Index(fields=["stage", "created_at"], name="lead_stage_created"),
            models.Index(fields=["email"], name="lead_email"),
            models.Index(fields=["source", "created_at"], name="lead_source_created"),
            models.Index(fields=["sql_at"], name="lead_sql_at"),
            models.Index(fields=["customer_at"], name="lead_customer_at"),
        ]

    def __str__(self) -> str:
        return self.label(self.first_name, self.last_name, self.email)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("leads:detail", args=[self.pk])

    @staticmethod
    def label(first_name: str, last_name: str, email: str) -> str:
        """How a lead reads (pages, notifications): its name and email, or its email."""
        name = f"{first_name} {last_name}".strip()
        return f"{name} <{email}>" if name else email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class StageTransition(models.Model):
    """A change of stage: the funnel's source of truth."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.CharField(max_length=16, choices=STAGE_LABELS.items())
    to_stage = models.CharField(max_length=16, choices=STAGE_LABELS.items())
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=255, blank=True)
    definition = models.ForeignKey(
        QualificationDefinition,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transitions",
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    # The lead's latest entry, at or before `at`, into the stage before the first forward
    # stage this move enters (`lifecycle.velocity_start_stage`): where flow velocity starts.
    # Kept by `leads.services.entries` whenever transitions are written, so a flow report
    # reads only its period's transitions instead of every history.
    previous_stage_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["lead", "at"], name="transition_lead_at"),
            models.Index(fields=["to_stage", "at"], name="transition_to_stage_at"),
            # (at, lead): the leads that moved in a period, read from the index alone.
            models.Index(fields=["at", "lead"], name="transition_at_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_stage} → {self.to_stage} at {self.at:%Y-%m-%d %H:%M}"


class Event(models.Model):
    """An engagement event (email open, webinar, demo request…): feeds scoring."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    type = models.SlugField(max_length=60)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["lead", "occurred_at"], name="event_lead_occurred")]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M}"


class ContactAttempt(models.Model):
    """A human sales touch by the lead's owner (not an automated marketing email)."""

    class Channel(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        SOCIAL = "social", "Social"
        OTHER = "other", "Other"

    class Outcome(models.TextChoices):
        NO_ANSWER = "no_answer", "No answer"
        LEFT_MESSAGE = "left_message", "Left message"
        CONNECTED = "connected", "Connected"
        MEETING_BOOKED = "meeting_booked", "Meeting booked"
        BOUNCED = "bounced", "Bounced"
        OTHER = "other", "Other"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="attempts")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="attempts"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    occurred_at = models.DateTimeField()
    note = models.TextField(blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["lead", "occurred_at"], name="attempt_lead_occurred")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} ({self.get_outcome_display()})"


class SalesFeedback(models.Model):
    class Reason(models.TextChoices):
        BAD_FIT = "bad_fit", "Bad fit"
        NOT_READY = "not_ready", "Not ready"
        BAD_CONTACT_DATA = "bad_contact_data", "Bad contact data"
        DUPLICATE = "duplicate", "Duplicate"
        COMPETITOR = "competitor", "Competitor"
        OTHER = "other", "Other"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted = models.BooleanField()
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    comment = models.TextField(blank=True)
    definition = models.ForeignKey(
        QualificationDefinition,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
        help_text="The SQL definition version that qualified the lead.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5),
                name="feedback_rating_1_to_5",
                violation_error_message="The rating is from 1 to 5.",
            ),
            models.CheckConstraint(
                condition=Q(accepted=True) | ~Q(reason=""),
                name="feedback_reject_has_reason",
                violation_error_message="Say why the lead is rejected.",
            ),
        ]

    def __str__(self) -> str:
        return f"{'Accepted' if self.accepted else 'Rejected'} ({self.rating}/5)"


@pghistory.track(*audited(), obj_field=audit_obj())
class RoutingRule(models.Model):
    """Routes handed-off leads to a sales team by product, territory or persona."""

    name = models.CharField(max_length=120)
    priority = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE)
    countries = models.JSONField(
        default=list, blank=True, help_text="ISO country codes; empty matches any country."
    )
    persona = models.ForeignKey("personas.Persona", null=True, blank=True, on_delete=models.CASCADE)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="routing_rules"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name


class RoutingAssignment(models.Model):
    """Audit of who got which lead and why (routing or manual reassign)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL)
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=255)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "at"], name="assignment_lead_at")]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.owner_id}: {self.reason}"


class LeadImport(models.Model):
    """A CSV file of leads being imported: its column mapping, progress and rejected rows.

    The decoded text is kept on the row (the web and the worker may not share a disk). The
    import runs in batches; `processed_rows` counts the data rows already handled, so a run
    that is interrupted resumes after the last committed batch.
    """

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for the column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    content = models.TextField(help_text="The file's text, decoded from UTF-8.")
    delimiter = models.CharField(max_length=1, default=",")
    header = models.JSONField(default=list, blank=True, help_text="The CSV's column titles.")
    mapping = models.JSONField(
        default=dict, blank=True, help_text="Column position → lead field, or 'attributes'."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    error_report = models.TextField(
        blank=True, help_text="CSV lines of the rejected rows with their messages (no header)."
    )
    message = models.TextField(blank=True, help_text="Why the import failed, if it did.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written with every committed batch: a running job whose heartbeat is older than a
    # minute lost its worker, and the periodic resume job sends it again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("leads:import_detail", args=[self.pk])

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class RescoreRun(models.Model):
    """Bulk rescoring of open leads after a definition version was activated.

    The task processes open leads in primary-key order; `cursor` is the last lead id done, so
    a re-run (retry, second worker) resumes where the last committed batch ended.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        SUPERSEDED = "superseded", "Superseded by a newer version"
        FAILED = "failed", "Failed"

    definition = models.ForeignKey(
        QualificationDefinition, on_delete=models.CASCADE, related_name="rescore_runs"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0, help_text="Open leads when the run started.")
    processed = models.PositiveIntegerField(default=0)
    qualified = models.PositiveIntegerField(default=0, help_text="Leads moved to a stage.")
    cursor = models.BigIntegerField(default=0, help_text="Last lead id processed.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written with every committed batch: a running job whose heartbeat is older than a
    # minute lost its worker, and the periodic resume job sends it again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Rescoring for {self.definition}: {self.get_status_display()}"

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.FINISHED, self.Status.SUPERSEDED, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.FINISHED:
            return 100
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)
