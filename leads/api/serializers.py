"""Serializers of the leads API: output shapes, and input checks for the lead actions.

Lead writes (create, PATCH, bulk) are validated by the service (`lead_row_clean`), which CSV
imports share; `LeadWriteSerializer` documents that input in the schema.
"""

from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from accounts.models import User
from core.fields import MoneyField
from leads.lifecycle import STAGE_LABELS
from leads.models import (
    Campaign,
    ContactAttempt,
    Event,
    Lead,
    Product,
    QualificationDefinition,
    RescoreRun,
    RoutingAssignment,
    SalesFeedback,
    StageTransition,
)
from leads.services.history import MAX_HISTORY_STEPS

LEAD_FIELDS = [
    "id",
    "external_id",
    "email",
    "first_name",
    "last_name",
    "company",
    "title",
    "phone",
    "country",
    "source",
    "campaign",
    "product",
    "persona",
    "owner",
    "stage",
    "score",
    "attributes",
    "amount",
    "created_at",
    "updated_at",
    "mql_at",
    "sql_at",
    "opportunity_at",
    "customer_at",
]


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant that must carry its offset: a naive one is refused, not guessed."""

    default_error_messages = {
        "naive": "Give a date and time with a time zone offset, e.g. 2026-03-01T09:30:00+01:00."
    }

    def to_internal_value(self, value):
        parsed = value if isinstance(value, datetime) else None
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
        if parsed is not None and timezone.is_naive(parsed):
            self.fail("naive")
        return super().to_internal_value(value)


class LeadSerializer(serializers.ModelSerializer):
    """A lead as the API answers it (PRODUCT.md's lead fields)."""

    class Meta:
        model = Lead
        fields = LEAD_FIELDS
        read_only_fields = LEAD_FIELDS


class LeadWriteSerializer(serializers.Serializer):
    """The writable lead fields (documentation of the input; the service validates it)."""

    external_id = serializers.CharField(
        max_length=120, required=False, allow_null=True, help_text="Your system's id: upsert key."
    )
    email = serializers.EmailField(help_text="Required when creating; stored lower-cased.")
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    country = serializers.CharField(
        max_length=2, required=False, allow_blank=True, help_text="ISO 3166-1 alpha-2, e.g. DE."
    )
    source = serializers.SlugField(max_length=60, required=False, allow_blank=True)
    campaign = serializers.CharField(
        required=False, allow_null=True, help_text="Campaign id or name."
    )
    product = serializers.CharField(
        required=False, allow_null=True, help_text="Product id or code."
    )
    persona = serializers.CharField(
        required=False, allow_null=True, help_text="Persona id or name."
    )
    attributes = serializers.DictField(
        required=False, help_text="Free JSON used by fit rules (company_size, industry…)."
    )
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=Decimal(0)
    )
    created_at = AwareDateTimeField(
        required=False, help_text="For back-fills when creating; defaults to now."
    )


class BulkErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the request (from 0).")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name → messages.",
    )


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = BulkErrorSerializer(many=True)
    created_ids = serializers.ListField(child=serializers.IntegerField())
    updated_ids = serializers.ListField(child=serializers.IntegerField())


class TransitionInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=list(STAGE_LABELS.items()))
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    at = AwareDateTimeField(required=False, help_text="For back-fills; defaults to now.")
    amount = MoneyField(
        required=False,
        allow_null=True,
        help_text=(
            "customer only: the won deal's amount (> 0), saved on the lead. Required when "
            "the lead has no amount yet, so won revenue is never silently 0."
        ),
    )


class ReportFiltersSerializer(serializers.Serializer):
    """The lead list's filters that reports take too (leads.selectors.REPORT_FILTERS):
    `reports/funnel/` and `sla/compliance/` extend this."""

    source = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="As in `GET leads/`."
    )
    campaign = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    product = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    persona = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    owner = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    team = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class HistoryStepSerializer(serializers.Serializer):
    """One step of a lead's history: a move, an assignment or a contact attempt."""

    TYPES = ("transition", "assign", "attempt")
    REQUIRED = {"transition": ("to",), "assign": ("owner",), "attempt": ("channel", "outcome")}

    type = serializers.ChoiceField(choices=[(t, t) for t in TYPES])
    at = AwareDateTimeField(help_text="When it happened; steps are in this order.")
    to = serializers.ChoiceField(
        choices=list(STAGE_LABELS.items()), required=False, help_text="transition: the stage."
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="assign: the new owner (null unassigns).",
    )
    channel = serializers.ChoiceField(choices=ContactAttempt.Channel.choices, required=False)
    outcome = serializers.ChoiceField(choices=ContactAttempt.Outcome.choices, required=False)
    actor = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="attempt: the user who made it (default: the lead's owner at that step).",
    )
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    amount = MoneyField(
        required=False,
        allow_null=True,
        help_text="transition to customer: the won deal's amount, when the lead has none.",
    )

    def validate(self, data):
        missing = {
            name: [f"A {data['type']} step needs “{name}”."]
            for name in self.REQUIRED[data["type"]]
            if name not in data
        }
        if missing:
            raise serializers.ValidationError(missing)
        return data


class HistoryInputSerializer(serializers.Serializer):
    steps = serializers.ListField(
        child=HistoryStepSerializer(), min_length=1, max_length=MAX_HISTORY_STEPS
    )


class HistoryResultSerializer(serializers.Serializer):
    transitions = serializers.ListField(child=serializers.IntegerField())
    attempts = serializers.ListField(child=serializers.IntegerField())
    assignments = serializers.ListField(child=serializers.IntegerField())
    lead = serializers.DictField(help_text="The lead after the history and its reactions.")


class StageTransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageTransition
        fields = ["id", "lead", "from_stage", "to_stage", "at", "actor", "reason", "definition"]


class EventInputSerializer(serializers.Serializer):
    type = serializers.SlugField(max_length=60)
    occurred_at = AwareDateTimeField()
    properties = serializers.DictField(required=False, default=dict)
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), required=False, allow_null=True
    )


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "lead", "type", "occurred_at", "properties", "campaign", "recorded_at"]


class AttemptInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ContactAttempt.Channel.choices)
    outcome = serializers.ChoiceField(choices=ContactAttempt.Outcome.choices)
    occurred_at = AwareDateTimeField(required=False, help_text="Defaults to now.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ContactAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactAttempt
        fields = ["id", "lead", "actor", "channel", "outcome", "occurred_at", "note"]


class FeedbackInputSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    rating = serializers.IntegerField(min_value=1, max_value=5)
    reason = serializers.ChoiceField(
        choices=SalesFeedback.Reason.choices, required=False, allow_blank=True, default=""
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    advance = serializers.BooleanField(
        required=False, default=False, help_text="Accepted: move the sql lead to opportunity."
    )

    def validate(self, data):
        if not data["accepted"] and not data["reason"]:
            raise serializers.ValidationError({"reason": ["A rejection needs a reason."]})
        if data["advance"] and not data["accepted"]:
            raise serializers.ValidationError(
                {"advance": ["Only an accepted lead can be moved forward."]}
            )
        return data


class SalesFeedbackSerializer(serializers.ModelSerializer):
    class Meta:
        model = SalesFeedback
        fields = [
            "id",
            "lead",
            "author",
            "accepted",
            "rating",
            "reason",
            "comment",
            "definition",
            "created_at",
        ]


class AssignInputSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), allow_null=True, help_text="A sales user; null unassigns."
    )
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class RoutingAssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoutingAssignment
        fields = ["id", "lead", "owner", "previous_owner", "team", "rule", "actor", "reason", "at"]


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name", "code", "description", "is_active"]


class CampaignSerializer(serializers.ModelSerializer):
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "channel",
            "source",
            "product",
            "cost",
            "starts_on",
            "ends_on",
            "archived_at",
            "created_at",
        ]
        # Archiving is a page action (kept with its instant); the API shows it.
        read_only_fields = ["archived_at", "created_at"]

    def validate(self, data):
        starts_on = data.get("starts_on", getattr(self.instance, "starts_on", None))
        ends_on = data.get("ends_on", getattr(self.instance, "ends_on", None))
        if starts_on and ends_on and ends_on < starts_on:
            raise serializers.ValidationError(
                {"ends_on": ["A campaign cannot end before it starts."]}
            )
        return data


# The stages a definition is for, as the model names them (one enum in the schema).
DEFINITION_STAGES = QualificationDefinition._meta.get_field("stage").choices


class DefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualificationDefinition
        fields = [
            "id",
            "stage",
            "version",
            "name",
            "description",
            "rules",
            "status",
            "effective_at",
            "created_by",
            "activated_by",
            "activated_at",
            "retired_at",
            "submitted_by",
            "submitted_at",
            "reviewed_by",
            "reviewed_at",
            "review_comment",
            "created_at",
        ]
        read_only_fields = fields


class DefinitionSendBackSerializer(serializers.Serializer):
    comment = serializers.CharField(
        max_length=2000, help_text="What should change; shown to the author."
    )


class DefinitionPreviewInputSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=DEFINITION_STAGES)
    rules = serializers.JSONField(help_text="The rules to preview (as for `definitions/`).")


class PreviewLeadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    score = serializers.IntegerField()
    active_qualifies = serializers.BooleanField(allow_null=True)


class PreviewBandSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="Score band, e.g. 30–39, below 0, 200+.")
    draft = serializers.IntegerField(help_text="Open leads of the previewed rules in the band.")
    active = serializers.IntegerField(allow_null=True, help_text="Same for the active version.")


class PreviewActiveSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()


class DefinitionPreviewSerializer(serializers.Serializer):
    open_leads = serializers.IntegerField(help_text="Open leads now (lead, mql, sql, recycled).")
    qualified = serializers.IntegerField(help_text="Open leads the previewed rules qualify.")
    active = PreviewActiveSerializer(allow_null=True)
    active_qualified = serializers.IntegerField(
        allow_null=True, help_text="Open leads the stage's active version qualifies."
    )
    newly_qualified = serializers.IntegerField()
    no_longer_qualified = serializers.IntegerField()
    leads = PreviewLeadSerializer(many=True, help_text="The highest-scoring qualified leads.")
    bands = PreviewBandSerializer(many=True)


class DefinitionInputSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=DEFINITION_STAGES)
    name = serializers.CharField(max_length=160)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    rules = serializers.JSONField(help_text="See leads.scoring: fit, engagement, threshold…")


class DefinitionUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=160, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    rules = serializers.JSONField(required=False)


class RescoreRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RescoreRun
        fields = [
            "id",
            "definition",
            "status",
            "total",
            "processed",
            "qualified",
            "percent",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "error",
        ]
        read_only_fields = fields

    percent = serializers.IntegerField(read_only=True)
