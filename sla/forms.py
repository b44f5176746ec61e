"""Forms of the SLA pages: they validate input and hand it to one service each."""

import functools

from django import forms
from django.utils.html import format_html_join

from accounts.models import Role, Team, User, time_zone_choices
from core.forms import PlainLimitsMixin
from leads.api.serializers import ReportFiltersSerializer
from leads.models import Campaign, ContactAttempt, Product
from leads.selectors import report_filter_values
from personas.models import Persona
from sla import clock_rules, services
from sla.models import BusinessCalendar, SLAAgreement


class AttemptForm(forms.Form):
    channel = forms.ChoiceField(choices=ContactAttempt.Channel.choices)
    outcome = forms.ChoiceField(choices=ContactAttempt.Outcome.choices)
    note = forms.CharField(required=False, max_length=500)

    @classmethod
    @functools.cache
    def options_html(cls) -> dict[str, str]:
        """`<option>` lists of the choice fields, built once per process: the queue repeats
        them in every row, and looping over the choices in the template for 50 rows was
        most of the page's rendering time."""
        return {
            name: format_html_join("", '<option value="{}">{}</option>', field.choices)
            for name, field in cls.base_fields.items()
            if isinstance(field, forms.ChoiceField)
        }


class AgreementForm(PlainLimitsMixin, forms.ModelForm):
    products = forms.ModelMultipleChoiceField(
        Product.objects.filter(is_active=True), required=False, help_text="Empty: every product."
    )
    personas = forms.ModelMultipleChoiceField(
        Persona.objects.all(), required=False, help_text="Targeted personas. Empty: every persona."
    )

    class Meta:
        model = SLAAgreement
        fields = [*services.AGREEMENT_FIELDS]
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}),
            "effective_until": forms.DateInput(attrs={"type": "date"}),
            **{
                name: forms.Textarea(attrs={"rows": 3})
                for name in (
                    "goals",
                    "roles",
                    "obligations",
                    "lead_management_protocol",
                    "handoff_process",
                    "compensation_basis",
                )
            },
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            choice
            for choice in SLAAgreement.Status.choices
            if choice[0] != SLAAgreement.Status.SUPERSEDED
        ]
        if self.instance.pk:
            self.initial["products"] = list(self.instance.products.all())
            self.initial["personas"] = list(self.instance.personas.all())

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("effective_from"), cleaned.get("effective_until")
        if starts and ends and ends < starts:
            self.add_error("effective_until", "The agreement cannot end before it starts.")
        return cleaned


def _interval_text(intervals) -> str:
    return ", ".join(f"{opens}-{closes}" for opens, closes in intervals)


class CalendarForm(forms.Form):
    """Opening hours typed per weekday as "09:00-12:00, 13:00-17:00" (empty: closed)."""

    name = forms.CharField(max_length=120)
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        help_text="Business hours count in this time zone (daylight saving included).",
        error_messages={"invalid_choice": "Choose a time zone from the list."},
    )
    holiday_country = forms.CharField(
        max_length=3, required=False, help_text="Country code for public holidays, e.g. US."
    )
    holiday_subdivision = forms.CharField(max_length=10, required=False, help_text="e.g. NY.")
    custom_holidays = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Extra closed dates, one YYYY-MM-DD per line.",
    )
    is_default = forms.BooleanField(
        required=False, help_text="Used for owners whose team has no calendar."
    )
    teams = forms.ModelMultipleChoiceField(
        Team.objects.filter(function=Team.Function.SALES), required=False
    )

    def __init__(self, *args, calendar: BusinessCalendar | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for day, label in enumerate(clock_rules.WEEKDAYS):
            self.fields[f"day_{day}"] = forms.CharField(
                label=label, required=False, help_text="e.g. 09:00-12:00, 13:00-17:00"
            )
        if calendar is not None:
            self.initial.update(
                {
                    "name": calendar.name,
                    "time_zone": calendar.time_zone,
                    "holiday_country": calendar.holiday_country,
                    "holiday_subdivision": calendar.holiday_subdivision,
                    "custom_holidays": "\n".join(calendar.custom_holidays),
                    "is_default": calendar.is_default,
                    "teams": [row.team_id for row in calendar.team_assignments.all()],
                }
            )
            for day, intervals in (calendar.hours or {}).items():
                self.initial[f"day_{day}"] = _interval_text(intervals)

    def clean(self):
        data = super().clean()
        hours = {}
        for day in range(7):
            text = (data.get(f"day_{day}") or "").strip()
            if not text:
                continue
            intervals = []
            for piece in text.split(","):
                parts = [part.strip() for part in piece.split("-")]
                if len(parts) != 2:
                    self.add_error(f"day_{day}", f"“{piece.strip()}” is not like 09:00-17:00.")
                    break
                intervals.append(parts)
            hours[str(day)] = intervals
        data["hours"] = hours
        data["custom_holidays"] = [
            line.strip()
            for line in (data.get("custom_holidays") or "").splitlines()
            if line.strip()
        ]
        return data

    def service_data(self) -> dict:
        keys = ("name", "time_zone", "holiday_country", "holiday_subdivision", "is_default")
        data = {key: self.cleaned_data.get(key) or "" for key in keys}
        data["is_default"] = bool(self.cleaned_data.get("is_default"))
        data["hours"] = self.cleaned_data["hours"]
        data["custom_holidays"] = self.cleaned_data["custom_holidays"]
        return data

    def add_domain_error(self, error) -> None:
        field = error.field
        if field == "hours":
            field = None
        self.add_error(field if field in self.fields else None, error.message)


class CompliancePeriodForm(forms.Form):
    """The compliance page's period, grouping and lead filters (GET parameters).

    The lead filters are the API's (`GET sla/compliance/`): they are checked by its own
    serializer, so the page takes exactly what the API takes. A bad value is a message on its
    field and is left out of the figures, never a 500; what is valid is used either way
    (`cleaned_data["filters"]`, Lead columns as `leads.selectors.report_filter_values`)."""

    FILTER_LABELS = {
        "source": "Source",
        "campaign": "Campaign",
        "product": "Product",
        "persona": "Persona",
        "owner": "Owner",
        "team": "Team",
    }

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    group_by = forms.ChoiceField(
        choices=[
            ("owner", "Rep"),
            ("team", "Team"),
            ("product", "Product"),
            ("agreement", "Agreement"),
        ],
        required=False,
    )
    source = forms.CharField(required=False)
    campaign = forms.CharField(required=False)
    product = forms.CharField(required=False)
    persona = forms.CharField(required=False)
    owner = forms.CharField(required=False)
    team = forms.CharField(required=False)

    def clean(self):
        cleaned = super().clean()
        query = ReportFiltersSerializer(data=self.data)
        if not query.is_valid():
            for name, errors in query.errors.items():
                self.add_error(name if name in self.fields else None, [str(e) for e in errors])
            # Fields are checked one by one: without the refused ones the rest is valid.
            rest = self.data.copy()
            for name in query.errors:
                rest.pop(name, None)
            query = ReportFiltersSerializer(data=rest)
            if not query.is_valid():  # a refusal no single field carries: no filter then
                self.filter_values = {}
                cleaned["filters"] = {}
                return cleaned
        self.filter_values = dict(query.validated_data)
        cleaned["filters"] = report_filter_values(self.filter_values)
        return cleaned

    def filter_controls(self) -> list[dict]:
        """The filters' controls, each `name`, `label`, `value` (as understood, or as sent
        when refused), `errors` and, for
        a picker, `options` as `(value, label)` (one query per picker). A valid id that
        names nothing (a deleted campaign) stays selected and filters to no hand-offs, as in
        the API."""
        people = (
            User.objects.filter(groups__name__in=[Role.SALES, Role.MANAGER])
            .distinct()
            .order_by("first_name", "last_name", "username")
        )
        pickers = {
            "campaign": Campaign.objects.order_by("name"),
            "product": Product.objects.order_by("name"),
            "persona": Persona.objects.order_by("name"),
            "owner": people,
            "team": Team.objects.order_by("name"),
        }
        controls = []
        for name, label in self.FILTER_LABELS.items():
            errors = self.errors.get(name, []) if self.is_bound else []
            if errors:  # shown as sent, with its message
                value = self.data.get(name) or ""
            else:
                value = str(getattr(self, "filter_values", {}).get(name, ""))
            control = {
                "name": name,
                "label": label,
                "value": value,
                "errors": errors,
                "options": None,  # a text box
            }
            if name in pickers:
                options = [(str(row.pk), str(row)) for row in pickers[name]]
                if value and not errors and value not in dict(options):
                    options.append((value, f"Unknown {label.lower()} (id {value})"))
                control["options"] = options
            controls.append(control)
        return controls
