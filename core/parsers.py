"""The API's JSON parser, bounded as a whole request (its own module: DRF's views import the
parser classes named in the settings, so this must not import them)."""

import json

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.utils.json import strict_constant

from core import bounds


def body_too_large_message() -> str:
    megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    return f"The request body is larger than {megabytes:g} MiB."


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the whole request bounded: a body larger than
    `DATA_UPLOAD_MAX_MEMORY_SIZE` or nested deeper than `bounds.MAX_REQUEST_JSON_DEPTH` is a
    400 before any field sees it (Python's parser would otherwise read any size, and give up
    with a RecursionError, a 500, around a thousand levels)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = b"" if stream is None else stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise exceptions.ParseError(body_too_large_message())
        encoding = parsers.get_encoding(parser_context or {})
        too_deep = exceptions.ParseError(
            f"JSON nested more than {bounds.MAX_REQUEST_JSON_DEPTH} levels deep."
        )
        try:
            parse_constant = strict_constant if self.strict else None
            data = json.loads(raw.decode(encoding), parse_constant=parse_constant)
        except RecursionError:
            raise too_deep from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        if bounds.json_depth_exceeds(data, bounds.MAX_REQUEST_JSON_DEPTH):
            raise too_deep
        return data
