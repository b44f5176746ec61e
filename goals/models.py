"""SMART goals, revenue plans ("sign up for a number") and OKRs.

Progress is never typed in: `measured_value` fields are written by the measuring service
(`goals.services.goal_progress_measure`) from leads and stage transitions. The only typed
progress is a manual key result's check-ins.
"""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q


class Metric(models.TextChoices):
    """The fixed list of measurable things a goal or key result can track."""

    REVENUE_WON = "revenue_won", "Revenue won"
    CUSTOMERS_WON = "customers_won", "Customers won"
    OPPORTUNITIES = "opportunities", "Opportunities"
    SQLS = "sqls", "SQLs"
    MQLS = "mqls", "MQLs"
    LEADS = "leads", "Leads"
    FIRST_TOUCH_SLA_MET_RATE = "first_touch_sla_met_rate", "First-touch SLA met rate"
    CONVERSION_RATE = "conversion_rate", "Stage-to-stage conversion rate"


RATE_METRICS = frozenset({Metric.FIRST_TOUCH_SLA_MET_RATE, Metric.CONVERSION_RATE})


class FunnelStage(models.TextChoices):
    LEAD = "lead", "Lead"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"


class OwnerTeam(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    SHARED = "shared", "Shared"


class Goal(models.Model):
    """A SMART goal: Specific, Measurable, Attainable, Realistic, Time-bound."""

    # Specific
    title = models.CharField(max_length=160)
    description = models.TextField()
    # Measurable
    metric = models.CharField(max_length=32, choices=Metric.choices)
    from_stage = models.CharField(
        max_length=16,
        choices=FunnelStage.choices,
        blank=True,
        help_text="For a conversion rate: the stage leads reached first.",
    )
    to_stage = models.CharField(
        max_length=16,
        choices=FunnelStage.choices,
        blank=True,
        help_text="For a conversion rate: the stage they should go on to reach.",
    )
    target_value = models.DecimalField(
        max_digits=14, decimal_places=4, help_text="Rates are fractions: 0.25 is 25%."
    )
    # Attainable / realistic
    baseline_value = models.DecimalField(
        max_digits=14, decimal_places=4, help_text="Where we stand today (or last period)."
    )
    rationale = models.TextField(help_text="Why this target is attainable and realistic.")
    last_period_value = models.DecimalField(
        max_digits=16,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="The metric measured over the comparable period just before the start.",
    )
    # Time-bound
    start = models.DateField()
    end = models.DateField()
    owner_team = models.CharField(max_length=10, choices=OwnerTeam.choices)
    revenue_plan = models.ForeignKey(
        "goals.RevenuePlan",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="goals",
    )
    # Written by the measuring service only.
    measured_value = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    measured_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-end", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="goal_ends_after_start",
                violation_error_message="A goal ends after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(target_value__gte=0),
                name="goal_target_not_negative",
                violation_error_message="The target cannot be negative.",
            ),
            models.UniqueConstraint(
                fields=["revenue_plan", "metric"],
                condition=Q(revenue_plan__isnull=False),
                name="one_goal_per_plan_metric",
                violation_error_message="This plan already has a goal for that metric.",
            ),
        ]
        indexes = [models.Index(fields=["end"], name="goal_end")]
        permissions = [
            ("manage_marketing_goals", "Can create and edit marketing goals"),
            ("manage_sales_goals", "Can create and edit sales goals"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("goals:goal_detail", args=[self.pk])

    @property
    def is_rate(self) -> bool:
        return self.metric in RATE_METRICS


class RevenuePlan(models.Model):
    """A revenue target worked backwards into the leads each team signs up for."""

    class Source(models.TextChoices):
        TYPED = "typed", "Typed in"
        MEASURED = "measured", "Measured"

    name = models.CharField(max_length=160)
    period_start = models.DateField(help_text="First month of the plan (its first day).")
    months = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(36)]
    )
    revenue_target = models.DecimalField(max_digits=14, decimal_places=2)
    average_deal_size = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Typed in; used when the deal size source is typed, or as the fallback.",
    )
    deal_size_source = models.CharField(max_length=10, choices=Source.choices, default="typed")
    lead_to_mql_rate = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    mql_to_sql_rate = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    sql_to_opportunity_rate = models.DecimalField(
        max_digits=6, decimal_places=4, null=True, blank=True
    )
    opportunity_to_customer_rate = models.DecimalField(
        max_digits=6, decimal_places=4, null=True, blank=True
    )
    rates_source = models.CharField(max_length=10, choices=Source.choices, default="typed")
    lookback_days = models.PositiveSmallIntegerField(
        default=180,
        validators=[MinValueValidator(7), MaxValueValidator(730)],
        help_text="Window measured rates and deal size are taken from.",
    )
    # What the plan computed with and its results, stored when it is saved or re-measured, so
    # a plan always shows exactly the numbers it was signed up for.
    computed = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(revenue_target__gt=0),
                name="plan_revenue_target_positive",
                violation_error_message="The revenue target must be more than zero.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("goals:plan_detail", args=[self.pk])

    @property
    def period_end(self) -> dt.date:
        """The last day of the plan's last month."""
        year = self.period_start.year + (self.period_start.month - 1 + self.months) // 12
        month = (self.period_start.month - 1 + self.months) % 12 + 1
        return dt.date(year, month, 1) - dt.timedelta(days=1)


class PlanProductShare(models.Model):
    """The share of a plan's revenue target one product carries (shares add up to 100%)."""

    plan = models.ForeignKey(RevenuePlan, on_delete=models.CASCADE, related_name="product_shares")
    product = models.ForeignKey("leads.Product", on_delete=models.CASCADE, related_name="+")
    share = models.DecimalField(max_digits=5, decimal_places=4)

    class Meta:
        ordering = ["plan", "product__name"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "product"], name="plan_product_once"),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.share:%}"


class Objective(models.Model):
    """An OKR objective for one quarter, with up to four key results."""

    MAX_KEY_RESULTS = 4

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    year = models.PositiveSmallIntegerField(validators=[MinValueValidator(2000)])
    quarter = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    owner_team = models.CharField(max_length=10, choices=OwnerTeam.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "-quarter", "owner_team", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quarter__gte=1) & Q(quarter__lte=4),
                name="objective_quarter_1_to_4",
                violation_error_message="The quarter is 1, 2, 3 or 4.",
            ),
        ]
        indexes = [models.Index(fields=["year", "quarter"], name="objective_quarter")]

    def __str__(self) -> str:
        return f"{self.quarter_label}: {self.title}"

    @property
    def quarter_label(self) -> str:
        return f"{self.year}-Q{self.quarter}"

    @property
    def quarter_start(self) -> dt.date:
        return dt.date(self.year, 3 * (self.quarter - 1) + 1, 1)

    @property
    def quarter_end(self) -> dt.date:
        if self.quarter == 4:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, 3 * self.quarter + 1, 1) - dt.timedelta(days=1)


class KeyResult(models.Model):
    """A key result: measured from the data like a goal metric, or by manual check-ins."""

    class Kind(models.TextChoices):
        MEASURED = "measured", "Measured from the data"
        MANUAL = "manual", "Manual check-ins"

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="key_results")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MEASURED)
    metric = models.CharField(max_length=32, choices=Metric.choices, blank=True)
    from_stage = models.CharField(max_length=16, choices=FunnelStage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=FunnelStage.choices, blank=True)
    start_value = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    target_value = models.DecimalField(max_digits=14, decimal_places=4)
    # Measured key results: written by the measuring service. Manual: the last check-in.
    current_value = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    measured_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["objective", "position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_rate(self) -> bool:
        return self.metric in RATE_METRICS


class CheckIn(models.Model):
    """A manual progress report on a key result, with a note."""

    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="check_ins")
    value = models.DecimalField(max_digits=14, decimal_places=4)
    note = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.value} at {self.at:%Y-%m-%d}"
