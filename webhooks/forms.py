"""The webhook subscription form of the pages (the API has its serializer): it validates;
`webhooks.services` saves, checking the receiver URL again."""

from django import forms
from django.core.validators import URLValidator

from core.errors import DomainError
from webhooks import http
from webhooks.models import WebhookSubscription
from webhooks.services import EVENT_TYPES

DEFAULT_NAME = "Webhook"
_url_shape = URLValidator(schemes=["http", "https"])


class WebhookSubscriptionForm(forms.Form):
    name = forms.CharField(
        required=False,
        max_length=WebhookSubscription._meta.get_field("name").max_length,
        help_text="Who receives it, e.g. “CRM (EU)”.",
        error_messages={"max_length": "At most %(limit_value)d characters."},
    )
    url = forms.CharField(
        label="Receiver URL",
        max_length=WebhookSubscription._meta.get_field("url").max_length,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks"}),
        help_text="A public http:// or https:// address; private and loopback addresses are "
        "refused.",
        error_messages={
            "required": "Give the receiver's address, e.g. https://example.com/hooks.",
            "max_length": "At most %(limit_value)d characters.",
        },
    )
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[(event, event) for event in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one event to send.",
            "invalid_choice": "“%(value)s” is not an event Smarketing sends.",
            "invalid_list": "Choose events from the list.",
        },
    )

    def __init__(self, *args, subscription: WebhookSubscription | None = None, **kwargs):
        if subscription is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": subscription.name,
                    "url": subscription.url,
                    "event_types": list(subscription.event_types),
                },
            )
        super().__init__(*args, **kwargs)

    def clean_name(self):
        return self.cleaned_data["name"].strip() or DEFAULT_NAME

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        try:
            http.webhook_url_check(url)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        try:
            _url_shape(url)
        except forms.ValidationError:
            raise forms.ValidationError(
                "This is not a web address; give one like https://example.com/hooks."
            ) from None
        return url
