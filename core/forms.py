"""Form helpers shared by every app's views."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator

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


# The widest integer a column holds: a limit people should never read in a message.
_COLUMN_LIMITS = {2**31 - 1, 2**63 - 1, 32767}


class PlainLimitsMixin:
    """Number fields of a model form bounded in the product's terms, not the column's: a
    field limited only by its integer column ("less than or equal to 2147483647") is limited
    to `core.bounds.MAX_COUNT`, and says so in plain words."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from core.bounds import MAX_COUNT

        for field in self.fields.values():
            if not isinstance(field, forms.IntegerField) or isinstance(field, forms.DecimalField):
                continue
            column_bound = [
                validator
                for validator in field.validators
                if isinstance(validator, MaxValueValidator)
                and validator.limit_value in _COLUMN_LIMITS
            ]
            if not column_bound and field.max_value is not None:
                continue
            field.validators = [v for v in field.validators if v not in column_bound]
            field.max_value = MAX_COUNT
            field.validators.append(MaxValueValidator(MAX_COUNT, message=f"At most {MAX_COUNT:,}."))
            field.widget.attrs["max"] = MAX_COUNT
