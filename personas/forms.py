from django import forms

from accounts.models import User
from core.forms import PlainLimitsMixin
from personas.models import Interview, JourneyStage, Persona
from personas.services import INTERVIEW_FIELDS, PERSONA_FIELDS


class PersonaForm(PlainLimitsMixin, forms.ModelForm):
    contributors = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).select_related("team"),
        required=False,
        help_text="Who from marketing and sales took part (you are added automatically).",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    class Meta:
        model = Persona
        fields = [*PERSONA_FIELDS, "contributors"]
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in (
                "summary",
                "goals",
                "pain_points",
                "triggers",
                "expectations",
                "information_sources",
                "objections",
                "preferred_channels",
            )
        }


class InterviewForm(PlainLimitsMixin, forms.ModelForm):
    class Meta:
        model = Interview
        fields = ["interviewer", *INTERVIEW_FIELDS]
        widgets = {
            "interviewed_on": forms.DateInput(attrs={"type": "date"}),
            **{
                name: forms.Textarea(attrs={"rows": 3})
                for name in (
                    "trigger",
                    "expectations_met",
                    "information_sources",
                    "demographics",
                    "notes",
                )
            },
        }


class JourneyForm(forms.Form):
    """The three columns of a journey map in one form."""

    def __init__(self, *args, persona: Persona, **kwargs):
        super().__init__(*args, **kwargs)
        existing = {row.stage: row for row in persona.journey.all()}
        for stage, label in JourneyStage.Stage.choices:
            row = existing.get(stage)
            for name, title in (
                ("questions", "Questions they ask"),
                ("content_offers", "Content and offers"),
                ("channels", "Channels"),
            ):
                self.fields[f"{stage}__{name}"] = forms.CharField(
                    label=f"{label}: {title.lower()}",
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 3}),
                    initial=getattr(row, name, ""),
                )

    def stages(self):
        for stage, _label in JourneyStage.Stage.choices:
            yield (
                stage,
                {
                    name: self.cleaned_data[f"{stage}__{name}"]
                    for name in ("questions", "content_offers", "channels")
                },
            )
