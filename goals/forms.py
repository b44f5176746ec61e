"""Forms for goals, plans and OKRs. Each SMART letter is a field or a check enforced here."""

from decimal import Decimal

from django import forms

from core.forms import PlainLimitsMixin
from goals import permissions, planning, services
from goals.models import Goal, KeyResult, Objective, OwnerTeam, RevenuePlan
from leads.models import Product

STRETCH_LIMIT = Decimal(3)
"""A target above this many times last period's figure must be confirmed as realistic."""


class GoalForm(PlainLimitsMixin, forms.ModelForm):
    confirm_stretch = forms.BooleanField(
        required=False,
        label="I have checked this target is realistic",
        help_text="Needed when the target is more than 3× the last comparable period.",
    )

    class Meta:
        model = Goal
        fields = [*services.GOAL_FIELDS]
        labels = {
            "title": "Specific: title",
            "description": "Specific: what exactly, for whom, how",
            "metric": "Measurable: metric",
            "target_value": "Target",
            "baseline_value": "Attainable: baseline (where we stand)",
            "rationale": "Realistic: why this is attainable",
            "start": "Time-bound: start",
            "end": "Time-bound: end",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "rationale": forms.Textarea(attrs={"rows": 3}),
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        teams = permissions.manageable_teams(user)
        self.fields["owner_team"].choices = [
            (value, label) for value, label in OwnerTeam.choices if value in teams
        ]
        self.realism_sentence = ""

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if len(title) < 5:
            raise forms.ValidationError("Be specific: a title of 5 characters or more.")
        return title

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end <= start:
            self.add_error("end", "The end must be after the start.")
            return data
        needed = ("metric", "target_value", "start", "end")
        if all(data.get(name) is not None for name in needed) and not self.errors:
            try:
                _last, ratio, sentence = services.goal_realism(
                    metric=data["metric"],
                    target_value=data["target_value"],
                    start=start,
                    end=end,
                    from_stage=data.get("from_stage") or "",
                    to_stage=data.get("to_stage") or "",
                )
            except (KeyError, ValueError):
                return data
            self.realism_sentence = sentence
            if ratio is not None and ratio > STRETCH_LIMIT and not data.get("confirm_stretch"):
                self.add_error(
                    "confirm_stretch",
                    f"This target {sentence}. Tick the box to confirm it is realistic, or "
                    "lower the target.",
                )
        return data


PERCENT_HELP = "A percentage, e.g. 25 for 25%."


def _percent_field(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=False, max_digits=7, decimal_places=2, help_text=PERCENT_HELP
    )


class RevenuePlanForm(PlainLimitsMixin, forms.ModelForm):
    """Rates are typed as percentages here; the plan stores fractions."""

    lead_to_mql_percent = _percent_field("Lead → MQL rate (%)")
    mql_to_sql_percent = _percent_field("MQL → SQL rate (%)")
    sql_to_opportunity_percent = _percent_field("SQL → opportunity rate (%)")
    opportunity_to_customer_percent = _percent_field("Opportunity → customer rate (%)")

    class Meta:
        model = RevenuePlan
        fields = [
            "name",
            "period_start",
            "months",
            "revenue_target",
            "deal_size_source",
            "average_deal_size",
            "rates_source",
            "lookback_days",
        ]
        widgets = {"period_start": forms.DateInput(attrs={"type": "date"})}
        labels = {
            "deal_size_source": "Average deal size from",
            "rates_source": "Conversion rates from",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["revenue_target"].min_value = None
        self.fields[
            "average_deal_size"
        ].help_text = "Typed in, or the fallback when nothing was won in the look-back window."
        self.fields["rates_source"].help_text = (
            "Measured: of the leads reaching a stage in the look-back window, the share that "
            "reached the next; a typed rate is used where nothing can be measured."
        )
        plan = self.instance
        for field in planning.RATE_FIELDS:
            value = getattr(plan, field, None)
            if value is not None:
                self.fields[field.replace("_rate", "_percent")].initial = value * 100
        self.products = list(Product.objects.filter(is_active=True))
        shares = dict(plan.product_shares.values_list("product_id", "share")) if plan.pk else {}
        for product in self.products:
            self.fields[f"share_{product.pk}"] = forms.DecimalField(
                label=f"{product.name}: share of revenue (%)",
                required=False,
                max_digits=6,
                decimal_places=2,
                initial=shares[product.pk] * 100 if product.pk in shares else None,
            )

    def plan_fields(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in self.Meta.fields}
        for field in planning.RATE_FIELDS:
            percent = self.cleaned_data.get(field.replace("_rate", "_percent"))
            data[field] = None if percent is None else percent / 100
        return data

    def product_shares(self) -> dict[int, Decimal]:
        return {
            product.pk: self.cleaned_data[f"share_{product.pk}"] / 100
            for product in self.products
            if self.cleaned_data.get(f"share_{product.pk}") is not None
        }

    def add_plan_errors(self, exc) -> None:
        for field, messages in exc.message_dict.items():
            target = field.replace("_rate", "_percent") if field in planning.RATE_FIELDS else field
            for message in messages:
                self.add_error(target if target in self.fields else None, message)


class ObjectiveForm(PlainLimitsMixin, forms.ModelForm):
    class Meta:
        model = Objective
        fields = ["title", "description", "year", "quarter", "owner_team"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        teams = permissions.manageable_teams(user)
        self.fields["owner_team"].choices = [
            (value, label) for value, label in OwnerTeam.choices if value in teams
        ]


class KeyResultForm(PlainLimitsMixin, forms.ModelForm):
    class Meta:
        model = KeyResult
        fields = list(services.KEY_RESULT_FIELDS)


class CheckInForm(forms.Form):
    value = forms.DecimalField(max_digits=14, decimal_places=4)
    note = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "Note"}))
