"""Serializer fields that hold input to `core.bounds`, for every API, bulk row and CSV cell.

They are DRF fields (so the schema documents them: types, maxLength, minimum/maximum), with
their whole check in `to_internal_value` instead of a list of validators: a bulk upsert
checks 1,000 rows of a dozen fields, and DRF's per-validator overhead was most of the cost.
"""

import datetime as dt
import json
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from core import bounds


class TextField(serializers.CharField):
    """Text of at most `max_length` characters, trimmed; None reads as "" when blank is
    allowed. Refuses non-text, NUL and lone surrogates."""

    default_error_messages = {
        "invalid": "Must be text.",
        "max_length": "At most {max_length} characters.",
        "unstorable": "{problem}",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", bounds.MAX_TEXT)
        super().__init__(**kwargs)
        self.validators = []

    def validate_empty_values(self, data):
        if data is None and self.allow_blank and not self.allow_null:
            return True, ""
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = data.strip() if self.trim_whitespace else data
        if len(value) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        problem = bounds.unstorable_text(value)
        if problem:
            self.fail("unstorable", problem=problem)
        return value


class LowerSlugField(TextField):
    """A lower-cased slug (letters, digits, - and _), e.g. a lead source."""

    default_error_messages = {"slug": "Use letters, digits, - and _ only, e.g. webinar."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data).lower()
        if value and not (value.isascii() and value.replace("-", "").replace("_", "").isalnum()):
            self.fail("slug")
        return value


class CountryField(TextField):
    """An ISO 3166-1 alpha-2 country code, upper-cased."""

    default_error_messages = {
        "country": "“{value}” is not a two-letter country code (e.g. DE, US)."
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2)
        kwargs.setdefault("help_text", "ISO 3166-1 alpha-2 code, e.g. DE.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and len(data.strip()) > 2:
            self.fail("country", value=data.strip().upper()[:40])
        value = super().to_internal_value(data).upper()
        if value and not (len(value) == 2 and value.isascii() and value.isalpha()):
            self.fail("country", value=value)
        return value


class EmailAddressField(serializers.EmailField):
    """An email address, lower-cased, at most 254 characters."""

    default_error_messages = {
        "invalid": "“{value}” is not a valid email address.",
        "type": "Must be text.",
        "max_length": "At most {max_length} characters.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)
        self.validators = []

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("type")
        value = data.strip().lower()
        if len(value) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        if bounds.unstorable_text(value):
            self.fail("invalid", value=value[:60])
        try:
            validate_email(value)
        except DjangoValidationError:
            self.fail("invalid", value=value[:60])
        return value


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant with its offset (a naive one is refused, not guessed), within
    `core.bounds`. Answers an aware datetime."""

    default_error_messages = {
        "invalid": "Give an ISO 8601 date and time, e.g. 2026-03-01T09:30:00+01:00.",
        "bound": "{problem}",
    }

    def to_internal_value(self, value):
        if isinstance(value, dt.datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except (ValueError, OverflowError):
                parsed = None
            if parsed is None:
                self.fail("invalid")
        else:
            self.fail("invalid")
        problem = bounds.instant_problem(parsed)
        if problem:
            self.fail("bound", problem=problem)
        return parsed


class BoundedDateField(serializers.DateField):
    """A calendar date (YYYY-MM-DD) within `core.bounds`."""

    default_error_messages = {"invalid": "Give a date like 2026-03-01.", "bound": "{problem}"}

    def to_internal_value(self, value):
        if isinstance(value, dt.datetime):
            self.fail("invalid")
        if isinstance(value, dt.date):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = parse_date(value.strip())
            except ValueError:
                parsed = None
            if parsed is None:
                self.fail("invalid")
        else:
            self.fail("invalid")
        problem = bounds.date_problem(parsed)
        if problem:
            self.fail("bound", problem=problem)
        return parsed


class MoneyField(serializers.DecimalField):
    """An amount of money: not negative, at most 999,999,999,999.99, rounded to cents."""

    default_error_messages = {
        "invalid": "Must be a number.",
        "min_value": "Cannot be negative.",
        "max_value": "At most {max_value}.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal(0))
        kwargs.setdefault("max_value", bounds.MAX_MONEY)
        super().__init__(**kwargs)
        self.validators = []

    def validate_empty_values(self, data):
        if data == "" and self.allow_null:
            return True, None
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str | Decimal):
            self.fail("invalid")
        try:
            value = Decimal(str(data).strip())
        except InvalidOperation:
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        if value < self.min_value:
            self.fail("min_value")
        if value > self.max_value:
            self.fail("max_value", max_value=f"{self.max_value:,}")
        return value.quantize(Decimal("0.01"))


class CountField(serializers.IntegerField):
    """A whole number between `min_value` (default 0) and `max_value` (default 1,000,000)."""

    default_error_messages = {
        "invalid": "Must be a whole number.",
        "min_value": "At least {min_value}.",
        "max_value": "At most {max_value}.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", bounds.MAX_COUNT)
        super().__init__(**kwargs)
        self.validators = []

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str) and data.strip().lstrip("-").isdigit():
            data = int(data.strip())
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        if not isinstance(data, int):
            self.fail("invalid")
        if data < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        if data > self.max_value:
            self.fail("max_value", max_value=self.max_value)
        return data


class JSONObjectField(serializers.DictField):
    """A JSON object of bounded depth and size whose text can be stored (no NUL, no lone
    surrogate, finite numbers). None reads as {}."""

    default_error_messages = {
        "not_a_dict": "Must be a JSON object.",
        "bound": "{problem}",
        "size": "At most {size} KiB of JSON.",
    }

    def __init__(self, **kwargs):
        self.max_bytes = kwargs.pop("max_bytes", bounds.MAX_JSON_BYTES)
        self.max_depth = kwargs.pop("max_depth", bounds.MAX_JSON_DEPTH)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data is None and not self.allow_null:
            return True, {}
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_a_dict")
        problem = bounds.json_problem(data, max_depth=self.max_depth)
        if problem:
            self.fail("bound", problem=problem)
        if len(json.dumps(data, default=str)) > self.max_bytes:
            self.fail("size", size=self.max_bytes // 1024)
        return data
