"""Form helpers shared by every app's views."""

from django import forms
from django.core.exceptions import ValidationError

from core.errors import DomainError


def apply_errors(form: forms.BaseForm, exc: ValidationError | DomainError) -> None:
    """Show a service's refusal next to the form's fields (else above the form).

    A `ValidationError` with a message per field lands on each field; a `DomainError` on
    the field it names, or above the form when it names none (or one the form lacks).
    """
    if isinstance(exc, DomainError):
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for field, messages in exc.message_dict.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
