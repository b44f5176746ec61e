import zoneinfo

from django import forms

from accounts.models import User


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=[(name, name) for name in sorted(zoneinfo.available_timezones())],
        help_text="Times are shown to you in this time zone.",
    )

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "time_zone", "is_away")
        labels = {"is_away": "I am away (do not route new leads to me)"}
