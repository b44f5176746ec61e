"""Forms of the pages that keep campaigns, products and a lead's own fields.

Plain forms, not model forms: a model form's own checks would speak of constraint names;
these say what is wrong in plain words, and the services (`leads.services.catalog`,
`lead_update`) check again and have the last word.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation

from django import forms
from django.db.models import Q

from core import bounds
from leads.models import Campaign, Lead, Product
from leads.selectors import campaigns_for_picker, products_for_picker
from leads.services.catalog import MAX_CAMPAIGN_COST
from personas.models import Persona

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY = 60
MAX_ATTRIBUTE_TEXT = 500
MAX_ATTRIBUTE_NUMBER = 10**15


def _limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


class PlainTextField(forms.CharField):
    """Text that can be stored (no NUL, no lone surrogate), trimmed."""

    def validate(self, value):
        super().validate(value)
        problem = bounds.unstorable_text(value or "")
        if problem:
            raise forms.ValidationError(problem)


class SlugTextField(PlainTextField):
    """A lower-cased slug: letters, digits, - and _."""

    def __init__(self, *, example: str, **kwargs):
        self.example = example
        super().__init__(**kwargs)

    def clean(self, value):
        value = (super().clean(value) or "").lower()
        if value and not (value.isascii() and value.replace("-", "").replace("_", "").isalnum()):
            raise forms.ValidationError(f"Use letters, digits, - and _ only, e.g. {self.example}.")
        return value


def _bounded_day(form: forms.Form, name: str) -> None:
    day = form.cleaned_data.get(name)
    if isinstance(day, dt.date) and bounds.date_problem(day):
        form.add_error(name, bounds.date_problem(day))


class CampaignForm(forms.Form):
    name = PlainTextField(max_length=_limit(Campaign, "name"))
    channel = forms.ChoiceField(choices=Campaign.Channel.choices, initial=Campaign.Channel.OTHER)
    source = SlugTextField(
        max_length=_limit(Campaign, "source"),
        example="webinar",
        help_text="The lead source the campaign reports under, e.g. webinar.",
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), required=False, empty_label="No product"
    )
    cost = forms.DecimalField(
        required=False,
        max_digits=None,  # the maximum says it in plain words
        decimal_places=2,
        min_value=Decimal(0),
        max_value=MAX_CAMPAIGN_COST,
        help_text="What the campaign costs in total; empty means 0.",
        error_messages={
            "min_value": "The cost cannot be negative.",
            "max_value": f"The cost can be at most {MAX_CAMPAIGN_COST:,}.",
            "invalid": "Give the cost as a number, e.g. 1500.00.",
        },
    )
    starts_on = forms.DateField(required=False, label="Starts on", widget=DATE_INPUT)
    ends_on = forms.DateField(required=False, label="Ends on", widget=DATE_INPUT)

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        if campaign is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": campaign.name,
                    "channel": campaign.channel,
                    "source": campaign.source,
                    "product": campaign.product_id,
                    "cost": campaign.cost,
                    "starts_on": campaign.starts_on,
                    "ends_on": campaign.ends_on,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products_for_picker(
            campaign.product_id if campaign else None
        )

    def clean(self):
        cleaned = super().clean()
        _bounded_day(self, "starts_on")
        _bounded_day(self, "ends_on")
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on and "ends_on" not in self.errors:
            self.add_error("ends_on", "The campaign cannot end before it starts.")
        if cleaned.get("cost") is None and "cost" not in self.errors:
            cleaned["cost"] = Decimal(0)
        return cleaned


class ProductForm(forms.Form):
    name = PlainTextField(max_length=_limit(Product, "name"))
    code = SlugTextField(
        max_length=_limit(Product, "code"),
        example="crm-pro",
        help_text="A short code integrations and imports name the product by, e.g. crm.",
    )
    description = PlainTextField(
        required=False, max_length=bounds.MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, product: Product | None = None, **kwargs):
        if product is not None:
            kwargs.setdefault(
                "initial",
                {"name": product.name, "code": product.code, "description": product.description},
            )
        super().__init__(*args, **kwargs)


# -- a lead's own fields ------------------------------------------------------------------------

LEAD_TEXT_FIELDS = ("first_name", "last_name", "company", "title", "phone")


class LeadEditForm(forms.Form):
    """A lead's contact fields, amount, persona, product and campaign (not its stage)."""

    email = forms.EmailField(max_length=_limit(Lead, "email"))
    first_name = PlainTextField(required=False, max_length=_limit(Lead, "first_name"))
    last_name = PlainTextField(required=False, max_length=_limit(Lead, "last_name"))
    company = PlainTextField(required=False, max_length=_limit(Lead, "company"))
    title = PlainTextField(required=False, max_length=_limit(Lead, "title"))
    phone = PlainTextField(required=False, max_length=_limit(Lead, "phone"))
    country = PlainTextField(
        required=False, max_length=2, help_text="Two letters (ISO 3166-1), e.g. DE or US."
    )
    source = SlugTextField(required=False, max_length=_limit(Lead, "source"), example="webinar")
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(), required=False, empty_label="No campaign"
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), required=False, empty_label="No product"
    )
    persona = forms.ModelChoiceField(
        queryset=Persona.objects.none(), required=False, empty_label="No persona"
    )
    amount = forms.DecimalField(
        required=False,
        max_digits=None,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=bounds.MAX_MONEY,
        help_text="The deal's value; a customer's amount is its won revenue.",
        error_messages={
            "min_value": "The amount cannot be negative.",
            "max_value": f"The amount can be at most {bounds.MAX_MONEY:,}.",
            "invalid": "Give the amount as a number, e.g. 1200.00.",
        },
    )

    def __init__(self, *args, lead: Lead, **kwargs):
        kwargs.setdefault("initial", self.initial_of(lead))
        super().__init__(*args, **kwargs)
        self.lead = lead
        self.fields["campaign"].queryset = campaigns_for_picker(lead.campaign_id)
        self.fields["product"].queryset = products_for_picker(lead.product_id)
        self.fields["persona"].queryset = Persona.objects.filter(
            ~Q(status=Persona.Status.RETIRED) | Q(pk=lead.persona_id)
        ).order_by("name")

    @staticmethod
    def initial_of(lead: Lead) -> dict:
        return {
            "email": lead.email,
            **{name: getattr(lead, name) for name in LEAD_TEXT_FIELDS},
            "country": lead.country,
            "source": lead.source,
            "campaign": lead.campaign_id,
            "product": lead.product_id,
            "persona": lead.persona_id,
            "amount": lead.amount,
        }

    def clean_country(self):
        country = (self.cleaned_data.get("country") or "").upper()
        if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise forms.ValidationError("Give a two-letter country code, e.g. DE or US.")
        return country

    def changes(self) -> dict:
        """The fields that differ from the lead's, in the shape `lead_update` takes."""
        changes = {}
        for name in self.changed_data:
            value = self.cleaned_data.get(name)
            if name in ("campaign", "product", "persona"):
                value = value.pk if value is not None else None
            changes[name] = value
        return changes


class AttributeRowForm(forms.Form):
    KINDS = (("text", "Text"), ("number", "Number"))

    key = PlainTextField(
        required=False,
        max_length=MAX_ATTRIBUTE_KEY,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "e.g. industry"}),
    )
    value = PlainTextField(
        required=False,
        max_length=MAX_ATTRIBUTE_TEXT,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "e.g. Software"}),
    )
    kind = forms.ChoiceField(
        choices=KINDS, initial="text", widget=forms.Select(attrs={"class": "form-select"})
    )

    def clean(self):
        cleaned = super().clean()
        key, value, kind = cleaned.get("key"), cleaned.get("value"), cleaned.get("kind")
        if self.errors or cleaned.get("DELETE"):
            return cleaned
        if not key and value:
            self.add_error("key", "Give this value a name.")
        elif key and not value:
            self.add_error("value", "Give a value, or tick “Remove”.")
        elif key and kind == "number":
            number = _number(value)
            if number is None:
                self.add_error("value", "This is not a number (use digits and a dot, e.g. 150).")
            elif abs(number) > MAX_ATTRIBUTE_NUMBER:
                self.add_error("value", "This number is too large.")
            else:
                cleaned["parsed"] = number
        elif key:
            cleaned["parsed"] = value
        return cleaned


def _number(text: str) -> int | float | None:
    try:
        number = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    if number == number.to_integral_value() and "." not in text and "e" not in text.lower():
        return int(number)
    result = float(number)
    return result if math.isfinite(result) else None


class BaseAttributeFormSet(forms.BaseFormSet):
    """Rows of free attributes (text or number); keys are unique, values kept that are not
    text or numbers (set through the API: lists, objects, true/false) are left as they are."""

    def __init__(self, *args, kept: dict | None = None, **kwargs):
        self.kept = kept or {}
        super().__init__(*args, **kwargs)

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs["class"] = "form-check-input"

    def clean(self):
        if any(self.errors):
            return
        seen: dict[str, int] = {}
        for index, form in enumerate(self.forms):
            if self.can_delete and self._should_delete_form(form):
                continue
            key = form.cleaned_data.get("key")
            if not key:
                continue
            if key in self.kept:
                form.add_error("key", f"“{key}” holds a value set through the API; it is kept.")
            elif key in seen:
                form.add_error("key", f"“{key}” is already in row {seen[key] + 1}.")
            else:
                seen[key] = index
        if any(self.errors):
            raise forms.ValidationError("Some attributes need a look.")

    def attributes(self) -> dict:
        """The attributes as they will be saved: the rows, then the kept values."""
        result = {}
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            if "parsed" in form.cleaned_data:
                result[form.cleaned_data["key"]] = form.cleaned_data["parsed"]
        return {**result, **self.kept}


AttributeFormSet = forms.formset_factory(
    AttributeRowForm,
    formset=BaseAttributeFormSet,
    extra=3,
    can_delete=True,
    max_num=MAX_ATTRIBUTES,
    validate_max=True,
    absolute_max=MAX_ATTRIBUTES + 10,
)


def attribute_rows(attributes: object) -> tuple[list[dict], dict]:
    """A lead's attributes as formset rows (text and numbers) and the values kept as they
    are (anything else)."""
    rows, kept = [], {}
    for key, value in (attributes if isinstance(attributes, dict) else {}).items():
        if isinstance(value, str):
            rows.append({"key": key, "value": value, "kind": "text"})
        elif isinstance(value, int | float) and not isinstance(value, bool):
            rows.append({"key": key, "value": str(value), "kind": "number"})
        else:
            kept[key] = value
    return rows, kept
