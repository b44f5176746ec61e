"""Forms of the leads UI: they validate input; the services in leads.services do the work."""

import datetime as dt
import json
from decimal import Decimal

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import Role, Team, User
from core.bounds import MAX_MONEY
from leads import scoring
from leads.imports import (
    ATTRIBUTE,
    ATTRIBUTE_KEY_MAX,
    ATTRIBUTE_PREFIX,
    ATTRIBUTES,
    IGNORE,
    IMPORT_FIELDS,
    MAX_FILE_BYTES,
    attribute_key,
    attribute_key_problem,
    attribute_key_suggestion,
)
from leads.lifecycle import REASON_REQUIRED, STAGE_LABELS, Stage, allowed_targets
from leads.models import Campaign, ContactAttempt, Lead, Product, SalesFeedback
from leads.services.routing import countries_parse
from personas.models import Persona

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def sales_owners():
    """Active people leads can be assigned to (sales reps and managers)."""
    return (
        User.objects.filter(is_active=True, groups__name__in=[Role.SALES, Role.MANAGER])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class LeadFilterForm(forms.Form):
    """The lead list's filters; an invalid filter is reported and left out, never a 500."""

    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Name, email or company", "type": "search"}),
    )
    stage = forms.ChoiceField(
        required=False,
        choices=[("", "Any stage"), *[(k.value, v) for k, v in STAGE_LABELS.items()]],
    )
    owner = forms.ChoiceField(required=False)
    source = forms.SlugField(required=False, max_length=60)
    campaign = forms.ModelChoiceField(
        required=False, queryset=Campaign.objects.order_by("name"), empty_label="Any campaign"
    )
    product = forms.ModelChoiceField(
        required=False, queryset=Product.objects.order_by("name"), empty_label="Any product"
    )
    persona = forms.ModelChoiceField(
        required=False, queryset=Persona.objects.order_by("name"), empty_label="Any persona"
    )
    created_after = forms.DateField(
        required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(
        required=False, label="Created until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [
            ("", "Any owner"),
            ("none", "Nobody (unassigned)"),
            *[(str(user.pk), str(user)) for user in sales_owners()],
        ]

    def clean(self):
        cleaned = super().clean()
        after, before = cleaned.get("created_after"), cleaned.get("created_before")
        if after and before and after > before:
            self.add_error("created_before", "This date is before the “created from” date.")
        return cleaned

    def filter(self, queryset):
        """Apply the valid filters to a lead queryset (dates are days in the viewer's zone)."""
        data = getattr(self, "cleaned_data", {})
        if q := (data.get("q") or "").strip():
            for word in q.split()[:5]:
                queryset = queryset.filter(
                    Q(first_name__icontains=word)
                    | Q(last_name__icontains=word)
                    | Q(email__icontains=word)
                    | Q(company__icontains=word)
                )
        if stage := data.get("stage"):
            queryset = queryset.filter(stage=stage)
        owner = data.get("owner")
        if owner == "none":
            queryset = queryset.filter(owner__isnull=True)
        elif owner:
            queryset = queryset.filter(owner_id=int(owner))
        if source := data.get("source"):
            queryset = queryset.filter(source=source)
        for field in ("campaign", "product", "persona"):
            if value := data.get(field):
                queryset = queryset.filter(**{field: value})
        if after := data.get("created_after"):
            queryset = queryset.filter(created_at__gte=start_of_day(after))
        if before := data.get("created_before"):
            queryset = queryset.filter(created_at__lt=start_of_day(before + dt.timedelta(days=1)))
        return queryset


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight of `day` in the active (viewer's) time zone, as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class TransitionForm(forms.Form):
    to_stage = forms.ChoiceField(label="Move to")
    reason = forms.CharField(
        required=False,
        max_length=255,
        help_text="Needed for recycled, disqualified and lost.",
    )
    # Only while the lead has no amount and may become a customer: won revenue needs it.
    amount = forms.DecimalField(
        required=False,
        label="Deal amount",
        max_digits=None,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_MONEY,
        help_text="Needed to move the lead to Customer: the lead has no amount yet.",
        error_messages={
            "min_value": "The amount of a won deal must be more than 0.",
            "max_value": f"The amount can be at most {MAX_MONEY:,}.",
            "invalid": "Give the amount as a number, e.g. 1200.00.",
        },
        # static/js/app.js shows the field only while Customer is chosen.
        widget=forms.NumberInput(attrs={"step": "0.01", "data-shown-with": "to_stage=customer"}),
    )

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        targets = allowed_targets(lead.stage)
        self.fields["to_stage"].choices = [(stage.value, STAGE_LABELS[stage]) for stage in targets]
        self.asks_amount = Stage.CUSTOMER in targets and not lead.amount
        if not self.asks_amount:
            del self.fields["amount"]

    def clean(self):
        cleaned = super().clean()
        stage, reason = cleaned.get("to_stage"), cleaned.get("reason", "")
        if stage in REASON_REQUIRED and not reason.strip():
            self.add_error("reason", f"Say why the lead moves to {STAGE_LABELS[stage]}.")
        if self.asks_amount:
            if stage == Stage.CUSTOMER and cleaned.get("amount") is None:
                if "amount" not in self.errors:
                    self.add_error("amount", "Give the deal's amount: won revenue counts it.")
            elif stage != Stage.CUSTOMER:
                cleaned["amount"] = None  # typed, then another stage chosen: not saved
        return cleaned


class AssignForm(forms.Form):
    owner = OwnerChoiceField(queryset=User.objects.none(), empty_label="Choose an owner")
    reason = forms.CharField(required=False, max_length=200, label="Why (optional)")

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = sales_owners()
        if lead.owner_id:
            self.fields["owner"].queryset = sales_owners().exclude(pk=lead.owner_id)


class AttemptForm(forms.Form):
    channel = forms.ChoiceField(choices=ContactAttempt.Channel.choices)
    outcome = forms.ChoiceField(choices=ContactAttempt.Outcome.choices)
    occurred_at = forms.DateTimeField(
        label="When",
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text="In your time zone.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault(
                "occurred_at", timezone.localtime().replace(second=0, microsecond=0)
            )


class FeedbackForm(forms.Form):
    accepted = forms.TypedChoiceField(
        label="Decision",
        choices=[("yes", "Accept"), ("no", "Reject")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    rating = forms.TypedChoiceField(
        label="Lead quality",
        choices=[(n, f"{n} / 5") for n in range(5, 0, -1)],
        coerce=int,
    )
    reason = forms.ChoiceField(
        required=False,
        choices=[("", "—"), *SalesFeedback.Reason.choices],
        help_text="Needed when you reject: not ready recycles the lead, bad fit disqualifies it.",
    )
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    advance = forms.BooleanField(required=False, label="Accept and move the lead to Opportunity")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("accepted") is False and not cleaned.get("reason"):
            self.add_error("reason", "Choose why you reject the lead.")
        if cleaned.get("accepted") is False:
            cleaned["advance"] = False
        return cleaned


class DefinitionForm(forms.Form):
    """A new draft version: the rules as JSON, checked by `leads.scoring`."""

    stage = forms.ChoiceField(choices=[("mql", "MQL"), ("sql", "SQL")])
    name = forms.CharField(max_length=160)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    rules = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "class": "font-monospace", "spellcheck": "false"}),
        help_text="JSON: threshold, fit rules, engagement points, hand-raisers.",
    )

    def clean_rules(self):
        text = self.cleaned_data["rules"]
        try:
            rules = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
        if not isinstance(rules, dict):
            raise forms.ValidationError("The rules must be a JSON object ({…}).")
        return rules

    def clean(self):
        cleaned = super().clean()
        rules, stage = cleaned.get("rules"), cleaned.get("stage")
        if isinstance(rules, dict) and stage:
            rules = {**rules, "stage": rules.get("stage", stage)}
            if rules["stage"] != stage:
                self.add_error("rules", f"The rules say stage “{rules['stage']}”, not “{stage}”.")
                return cleaned
            errors = scoring.validate_definition(rules)
            for path, messages in errors.items():
                for message in messages:
                    self.add_error("rules", f"{path}: {message}")
            cleaned["rules"] = rules
        return cleaned


class DefinitionEditForm(DefinitionForm):
    """A draft's name, description and rules; its stage is fixed."""

    def __init__(self, *args, stage: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].initial = stage
        self.fields["stage"].disabled = True


class DefinitionPreviewForm(DefinitionForm):
    """The rules being edited, as the builder sends them for a preview."""

    name = None
    description = None


class SendBackForm(forms.Form):
    comment = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What should change",
        error_messages={
            "required": "Say what should change before sending it back.",
            "max_length": "Keep the comment under 2,000 characters.",
        },
    )


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, comma-, semicolon- or tab-separated, with a header row.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it."
            )
        return upload


MAPPING_CHOICES = [
    (IGNORE, "— Ignore this column —"),
    *IMPORT_FIELDS.items(),
    (ATTRIBUTE, "Attribute, under the key below (for fit rules)"),
]


class MappingChoiceField(forms.ChoiceField):
    """A column's choice; the older "attributes" choice is taken as "attribute"."""

    def to_python(self, value):
        value = super().to_python(value)
        return ATTRIBUTE if value == ATTRIBUTES else value


class ImportMappingForm(forms.Form):
    """Per CSV column, pre-filled from the header: the lead field it fills, or an attribute
    with a key (the header as a slug, editable), or nothing."""

    def __init__(self, *args, header: list[str], mapping: dict[str, str], samples, **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        self.keys: dict[int, str] = {}
        for index, title in enumerate(header):
            example = ", ".join(value for value in samples.get(index, []) if value)[:80]
            stored = mapping.get(str(index), IGNORE)
            key = attribute_key(stored)
            self.fields[f"col_{index}"] = MappingChoiceField(
                label=title or f"Column {index + 1}",
                choices=MAPPING_CHOICES,
                required=False,
                initial=ATTRIBUTE if key is not None or stored == ATTRIBUTES else stored,
                # Help texts are not escaped when shown: the file's cells are.
                help_text=format_html("e.g. {}", example) if example else "",
            )
            self.fields[f"key_{index}"] = forms.CharField(
                label="Attribute key",
                required=False,
                strip=True,
                initial=key or attribute_key_suggestion(title, index),
                help_text="Lowercase letters, digits and _, at most 64; fit rules name it.",
                widget=forms.TextInput(
                    attrs={
                        "maxlength": ATTRIBUTE_KEY_MAX,
                        "spellcheck": "false",
                        "autocomplete": "off",
                    }
                ),
            )

    def columns(self):
        """(column field, key field) per CSV column, for the template."""
        return [(self[f"col_{index}"], self[f"key_{index}"]) for index in range(len(self.header))]

    def clean(self):
        cleaned = super().clean()
        taken: dict[str, str] = {}
        for index, title in enumerate(self.header):
            if cleaned.get(f"col_{index}") != ATTRIBUTE:
                continue
            if f"key_{index}" in self.data:
                key = cleaned.get(f"key_{index}") or ""
            else:  # a form without the key (the older one): the header's slug
                key = attribute_key_suggestion(title, index)
            problem = attribute_key_problem(key)
            if problem is None and key in taken:
                problem = f"Column “{taken[key]}” is kept under {key} already; give another key."
            if problem:
                self.add_error(f"key_{index}", problem)
                continue
            taken[key] = title or f"Column {index + 1}"
            self.keys[index] = key
        return cleaned

    def _choice(self, index: int) -> str:
        if self.is_bound:
            return self.cleaned_data.get(f"col_{index}") or IGNORE
        return self[f"col_{index}"].initial or IGNORE

    def mapping(self) -> dict[str, str]:
        """Column position → lead field, `attribute:<key>`, or '' (ignored). For a form
        with errors, the columns whose choice is valid (the preview of what is right)."""
        if not self.is_bound:
            self.keys = {
                index: self[f"key_{index}"].initial
                for index in range(len(self.header))
                if self._choice(index) == ATTRIBUTE
            }
        else:
            self.is_valid()
        chosen = {}
        for index in range(len(self.header)):
            field = self._choice(index)
            if field == ATTRIBUTE:
                key = self.keys.get(index)
                field = f"{ATTRIBUTE_PREFIX}{key}" if key else IGNORE
            chosen[str(index)] = field
        return chosen


class RoutingRuleForm(forms.Form):
    """A routing rule: which handed-off leads (product, persona, countries) go to which
    sales team, and its place in the evaluation order. The service re-checks each field."""

    name = forms.CharField(
        max_length=120,
        error_messages={
            "required": "Give the rule a name, e.g. “DACH enterprise”.",
            "max_length": "At most %(limit_value)d characters (this one has %(show_value)d).",
        },
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        label="Sales team",
        help_text="Its active reps who are not away get the leads in turn (round-robin).",
        error_messages={
            "required": "Choose the sales team that gets the leads.",
            "invalid_choice": "Choose one of the sales teams listed.",
        },
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(),
        required=False,
        empty_label="Any product",
        error_messages={"invalid_choice": "Choose one of the products listed, or any product."},
    )
    persona = forms.ModelChoiceField(
        queryset=Persona.objects.none(),
        required=False,
        empty_label="Any persona",
        error_messages={"invalid_choice": "Choose one of the personas listed, or any persona."},
    )
    countries = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Two-letter codes separated by commas, e.g. DE, AT, CH; empty matches every "
        "country.",
        error_messages={"max_length": "At most %(limit_value)d characters of country codes."},
    )
    priority = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=1_000_000,
        help_text="Lower is tried first. Leave empty to try a new rule after the others.",
        error_messages={
            "invalid": "Give a whole number, e.g. 10.",
            "min_value": "Give a whole number from 0 to 1,000,000.",
            "max_value": "Give a whole number from 0 to 1,000,000.",
        },
    )
    is_active = forms.BooleanField(
        required=False, initial=True, label="Active", help_text="Inactive rules are skipped."
    )

    def __init__(self, *args, rule=None, **kwargs):
        if rule is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": rule.name,
                    "team": rule.team_id,
                    "product": rule.product_id,
                    "persona": rule.persona_id,
                    "countries": ", ".join(rule.countries or []),
                    "priority": rule.priority,
                    "is_active": rule.is_active,
                },
            )
        super().__init__(*args, **kwargs)
        # What may be chosen: sales teams, products on sale, personas not retired, and
        # the product or persona the rule already has (it may stay).
        products = Q(is_active=True)
        personas = ~Q(status=Persona.Status.RETIRED)
        if rule is not None and rule.product_id:
            products |= Q(pk=rule.product_id)
        if rule is not None and rule.persona_id:
            personas |= Q(pk=rule.persona_id)
        self.fields["team"].queryset = Team.objects.filter(function=Team.Function.SALES)
        self.fields["product"].queryset = Product.objects.filter(products)
        self.fields["persona"].queryset = Persona.objects.filter(personas)

    def clean_countries(self):
        try:
            return countries_parse(self.cleaned_data.get("countries") or "")
        except forms.ValidationError as exc:
            raise forms.ValidationError(exc.messages[0]) from None

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields}
