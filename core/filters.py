"""Query-string filters held to core.bounds: an instant beyond ±15:59 or outside 1900–2199
is a 400 naming the parameter, never a database error."""

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from core.bounds import instant_problem


class BoundedIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with its offset (`2026-03-01T09:00:00+01:00`), within the product's bounds."""

    def to_python(self, value):
        try:
            moment = super().to_python(value)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("Give a valid ISO 8601 instant.", code="invalid") from exc
        if moment is not None:
            problem = instant_problem(moment)
            if problem:
                raise forms.ValidationError(problem, code="bounds")
        return moment


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField
