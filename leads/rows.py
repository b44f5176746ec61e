"""The one validator of a lead's input, shared by the API (create, PATCH), bulk upsert and
CSV import: `LeadRowSerializer`. Field limits come from the model (written once there) and
`core.bounds`; the schema documents the same fields.

`rows_validate` checks a list of rows with one serializer per kind (create or update), so
a 1,000-row batch builds its fields twice, not 2,000 times. Values come back by attname
(`product_id`), normalised (email lower-cased, country upper-cased, product by id or code,
campaign and persona by id or name); every problem of a row at once as {field: [messages]}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import fields as bounded
from leads.lifecycle import CLOCK_SKEW
from leads.models import Campaign, Lead, Product
from leads.qualification import Names

# Output-only lead fields: accepted and ignored, so a lead read from the API can be sent back.
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "stage",
        "score",
        "owner",
        "updated_at",
        "mql_at",
        "sql_at",
        "opportunity_at",
        "customer_at",
    }
)


def _limit(name: str) -> int:
    return Lead._meta.get_field(name).max_length


@dataclass
class References:
    """Products, campaigns and personas by id and by code/name, read once per batch, and
    the names fit rules see (`names`)."""

    ids: dict[str, set[int]] = field(default_factory=dict)
    keys: dict[str, dict[str, int]] = field(default_factory=dict)
    names: Names = field(default_factory=Names)
    # Archived campaigns: kept on the leads that have them, refused for new leads.
    archived: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> References:
        """Three small queries, whatever the number of rows."""
        from personas.models import Persona

        campaigns = list(Campaign.objects.values_list("id", "name", "archived_at"))
        names = Names(
            campaigns={pk: name for pk, name, _ in campaigns},
            personas=dict(Persona.objects.values_list("id", "name")),
        )
        products: dict[str, int] = {}
        for pk, code, name in Product.objects.values_list("id", "code", "name"):
            names.products[pk] = code
            products.setdefault(name.casefold(), pk)
        for pk, code in names.products.items():
            products[code.casefold()] = pk
        return cls(
            ids={
                "product": set(names.products),
                "campaign": set(names.campaigns),
                "persona": set(names.personas),
            },
            keys={
                "product": products,
                "campaign": {name.casefold(): pk for pk, name in names.campaigns.items()},
                "persona": {name.casefold(): pk for pk, name in names.personas.items()},
            },
            names=names,
            archived={"campaign": {pk for pk, _, archived_at in campaigns if archived_at}},
        )


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True})
class ReferenceField(serializers.Field):
    """A product, campaign or persona given by id or by its code/name; answers the id."""

    default_error_messages = {
        "invalid": "Give a {label}.",
        "no_id": "There is no {kind} with id {value}.",
        "no_key": "There is no {kind} “{value}”.",
        "archived": "The {kind} “{value}” is archived: new leads go to an active one.",
    }

    def __init__(self, *, kind: str, label: str, **kwargs):
        self.kind, self.label = kind, label
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data == "":
            return True, None
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        refs: References = self.context["refs"]
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid", label=self.label)
        if isinstance(data, int) or data.strip().isdigit():
            try:
                pk = int(data)
            except ValueError:
                self.fail("invalid", label=self.label)
            if pk not in refs.ids[self.kind]:
                self.fail("no_id", kind=self.kind, value=str(pk)[:20])
        else:
            key = data.strip().casefold()
            if key not in refs.keys[self.kind]:
                self.fail("no_key", kind=self.kind, value=data.strip()[:80])
            pk = refs.keys[self.kind][key]
        if self.context.get("creating") and pk in refs.archived.get(self.kind, ()):
            name = getattr(refs.names, f"{self.kind}s", {}).get(pk, pk)
            self.fail("archived", kind=self.kind, value=str(name)[:80])
        return pk

    def to_representation(self, value):
        return value


class ExternalIdField(bounded.TextField):
    """Your system's id for the lead (the upsert key): text, or a number read as text."""

    def validate_empty_values(self, data):
        if data is None or (isinstance(data, str) and not data.strip()):
            return True, None
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool):
            data = str(data)
        return super().to_internal_value(data) or None


class LeadRowSerializer(serializers.Serializer):
    """A lead's writable fields (PRODUCT.md); `stage` and `score` are not among them."""

    external_id = ExternalIdField(
        max_length=_limit("external_id"),
        required=False,
        allow_null=True,
        help_text="Your system's id: the upsert key of `leads/bulk/`.",
    )
    email = bounded.EmailAddressField(
        max_length=_limit("email"), help_text="Required when creating; stored lower-cased."
    )
    first_name = bounded.TextField(
        max_length=_limit("first_name"), required=False, allow_blank=True
    )
    last_name = bounded.TextField(max_length=_limit("last_name"), required=False, allow_blank=True)
    company = bounded.TextField(max_length=_limit("company"), required=False, allow_blank=True)
    title = bounded.TextField(max_length=_limit("title"), required=False, allow_blank=True)
    phone = bounded.TextField(max_length=_limit("phone"), required=False, allow_blank=True)
    country = bounded.CountryField(required=False, allow_blank=True)
    source = bounded.LowerSlugField(
        max_length=_limit("source"),
        required=False,
        allow_blank=True,
        help_text="Letters, digits, - and _ (lower-cased), e.g. webinar; may be empty.",
    )
    campaign = ReferenceField(kind="campaign", label="campaign (id or name)", source="campaign_id")
    product = ReferenceField(kind="product", label="product (id or code)", source="product_id")
    persona = ReferenceField(kind="persona", label="persona (id or name)", source="persona_id")
    attributes = bounded.JSONObjectField(
        required=False, help_text="Free JSON used by fit rules (company_size, industry…)."
    )
    amount = bounded.MoneyField(required=False, allow_null=True)
    created_at = bounded.AwareDateTimeField(
        required=False, help_text="For back-fills when creating (ignored on updates)."
    )

    default_error_messages = {
        "unknown": "Unknown field.",
        "object": "Each lead must be a JSON object.",
    }

    def to_internal_value(self, data):
        """Each field's own check, for the fields the row has (a lean loop over DRF's
        public field API: this runs 1,000 times per bulk request)."""
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": [self.error_messages["object"]]})
        errors: dict[str, list] = {}
        values: dict = {}
        plan = self._plan
        for name in data:
            if name not in plan and name not in READ_ONLY_FIELDS:
                errors[str(name)[:60]] = [self.error_messages["unknown"]]
        for name, (item, validators, required) in plan.items():
            if name not in data:
                if not self.partial and required:
                    errors[name] = [item.error_messages["required"]]
                continue
            try:
                empty, value = item.validate_empty_values(data[name])
                if not empty:
                    value = item.to_internal_value(data[name])
                    if validators:
                        item.run_validators(value)
            except serializers.ValidationError as exc:
                errors[name] = exc.detail if isinstance(exc.detail, list) else [exc.detail]
            except DjangoValidationError as exc:
                errors[name] = list(exc.messages)
            else:
                values[item.source] = value
        if errors:
            raise serializers.ValidationError(errors)
        return values

    @cached_property
    def _plan(self) -> dict:
        """The writable fields with their validators, worked out once per serializer (DRF
        builds `validators` anew on every access)."""
        return {
            name: (item, list(item.validators), item.required)
            for name, item in self.fields.items()
            if not item.read_only
        }

    def validate(self, attrs):
        if self.partial:
            attrs.pop("created_at", None)
        elif "created_at" in attrs and attrs["created_at"] > self.context["now"] + CLOCK_SKEW:
            raise serializers.ValidationError({"created_at": ["This cannot be in the future."]})
        return attrs


def _plain(detail) -> dict[str, list[str]]:
    """DRF error details as {field: [messages]} of plain strings."""
    if not isinstance(detail, dict):
        return {"non_field_errors": [str(item) for item in detail]}
    return {
        str(name): [str(message) for message in messages]
        if isinstance(messages, list)
        else [str(messages)]
        for name, messages in detail.items()
    }


class RowValidator:
    """Validates many rows with one serializer per kind (create, update)."""

    def __init__(self, *, refs: References, now: datetime):
        context = {"refs": refs, "now": now}
        self._create = LeadRowSerializer(context={**context, "creating": True})
        self._update = LeadRowSerializer(context=context, partial=True)

    def __call__(self, row: object, *, creating: bool) -> tuple[dict, dict[str, list[str]]]:
        """(values by attname, errors) for one row."""
        if not isinstance(row, Mapping):
            return {}, {"non_field_errors": ["Each lead must be a JSON object."]}
        serializer = self._create if creating else self._update
        email = row.get("email", "-")
        if email is None or (isinstance(email, str) and not email.strip()):
            return {}, {"email": ["An email address is required."]}
        try:
            # `run_validation` without what this serializer has none of (read-only
            # defaults, serializer-level validators): 1,000 rows per bulk request.
            return dict(serializer.validate(serializer.to_internal_value(row))), {}
        except serializers.ValidationError as exc:
            return {}, _plain(exc.detail)
