from django import forms

from accounts.models import User, time_zone_choices
from core.forms import PlainLimitsMixin


class ProfileForm(PlainLimitsMixin, forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        help_text="Times are shown to you in this time zone.",
    )

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "time_zone", "is_away")
        labels = {"is_away": "I am away (do not route new leads to me)"}
