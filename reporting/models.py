"""Closed-loop reporting: daily funnel snapshots, webhook subscriptions and deliveries, and
the weekly smarketing review with its action items."""

from django.conf import settings
from django.db import models


class FunnelMode(models.TextChoices):
    COHORT = "cohort", "Cohort (leads created in the period)"
    FLOW = "flow", "Flow (transitions in the period)"


class Dimension(models.TextChoices):
    """What a funnel is grouped by. `all` is the ungrouped total."""

    ALL = "all", "Everything"
    SOURCE = "source", "Source"
    CAMPAIGN = "campaign", "Campaign"
    PERSONA = "persona", "Persona"
    PRODUCT = "product", "Product"
    OWNER = "owner", "Owner"
    DEFINITION = "definition", "MQL definition version"
    SQL_DEFINITION = "sql_definition", "SQL definition version"


class FunnelSnapshot(models.Model):
    """Pre-aggregated funnel counts of one day, one group and one stage.

    Cohort rows count the leads created that day that have reached `stage` (as of
    `computed_at`); flow rows count the distinct leads that entered `stage` that day. Days are
    calendar days in the company time zone (settings.TIME_ZONE). `dimension_value` is the
    group's key as text (a source slug, or an id), "" for leads without one.
    """

    mode = models.CharField(max_length=6, choices=FunnelMode.choices)
    day = models.DateField()
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    dimension_value = models.CharField(max_length=80, blank=True)
    stage = models.CharField(max_length=16)
    count = models.PositiveIntegerField()
    won_revenue = models.DecimalField(
        max_digits=16, decimal_places=2, default=0, help_text="Only on `customer` rows."
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["mode", "day", "dimension", "dimension_value", "stage"]
        constraints = [
            models.UniqueConstraint(
                fields=["mode", "dimension", "day", "dimension_value", "stage"],
                name="funnel_snapshot_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.mode} {self.day} {self.dimension}={self.dimension_value} {self.stage}"


class RollupState(models.Model):
    """One row: when the snapshot roll-up last ran (its watermark) and how long it took."""

    name = models.CharField(max_length=40, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_days_recomputed = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class DirtyDay(models.Model):
    """A company day whose cohort snapshot may be stale: a write changed a lead created on
    it (a back-filled move, an edit of its source, a deletion). Marked in the write's own
    transaction; reports compute a marked day live instead of reading its snapshot, and the
    roll-up clears the mark once it has rewritten the day."""

    day = models.DateField(primary_key=True)
    marked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day} (marked {self.marked_at:%Y-%m-%d %H:%M})"


# --------------------------------------------------------------------------- weekly review


class WeeklyReview(models.Model):
    """The weekly smarketing review of one week (Monday to Sunday, company time zone).

    `content` is what the review showed when it was built (funnel, bottleneck, SLA
    compliance, commitments, goal progress, persona changes), so it reads the same later.
    """

    week_start = models.DateField(unique=True, help_text="The Monday of the reviewed week.")
    content = models.JSONField(default=dict)
    built_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week_start"]

    def __str__(self) -> str:
        return f"Week of {self.week_start:%d %b %Y}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("reporting:review_detail", args=[self.pk])


class ReviewActionItem(models.Model):
    """A decision or action item agreed in a weekly review."""

    review = models.ForeignKey(WeeklyReview, on_delete=models.CASCADE, related_name="action_items")
    text = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["review", "created_at", "id"]

    def __str__(self) -> str:
        return self.text
