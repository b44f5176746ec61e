"""The OpenAPI schema's shared part: the one error body (`core.rest`), documented on every
operation with the statuses the API answers, so a client (and the schema fuzz in the tests)
knows every response it can get, not only the successful one."""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import is_list_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView


class ErrorSerializer(serializers.Serializer):
    """`{"detail": "...", "code": "...", "errors": {"field": ["..."]}}`; `errors` for
    validation errors only, a field's messages nested as its serializer is."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.JSONField(), required=False)


ERROR_DESCRIPTIONS = {
    "400": "Invalid input: field messages in `errors`, or a body that cannot be read.",
    "401": "No credentials, or a token that is not valid.",
    "403": "The user's role may not do this.",
    "404": "Not found, or outside what the user may see (also a page past the last).",
    "429": "Too many requests (throttling, or a login locked after wrong passwords).",
}


def _may_be_blank(field) -> bool:
    """Whether a serializer field may hold "": it allows blank, or it reads a model field
    that does (DRF drops `allow_blank` from read-only fields)."""
    if getattr(field, "allow_blank", False):
        return True
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.read_only:
        return False
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:
        return False


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema with the error responses of every operation.

    The `list` of a plain `ViewSet` (`reports/funnel/`, `sla/compliance/`) answers one
    report, not a list of rows: only generic views list (and paginate) objects, and only
    when they are read.
    """

    def _is_list_view(self, serializer=None) -> bool:
        if not isinstance(self.view, GenericAPIView) and not is_list_serializer(serializer):
            return False
        return super()._is_list_view(serializer)

    def _get_paginator(self):
        # Only reads are paginated: an action that creates several objects answers them all.
        if self.method != "GET":
            return None
        return super()._get_paginator()

    def _insert_field_validators(self, field, schema):
        had_pattern = "pattern" in schema
        super()._insert_field_validators(field, schema)
        # A slug (or any pattern from a validator) that may be blank: "" is valid too.
        if not had_pattern and "pattern" in schema and _may_be_blank(field):
            schema["pattern"] = f"^$|{schema['pattern']}"

    def _error_codes(self) -> list[str]:
        codes = ["400", "401", "403"]
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        codes.append("429")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses
