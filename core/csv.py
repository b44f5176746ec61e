"""One CSV writer for every export: cells a spreadsheet would run as formulas are kept text.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (OWASP "CSV injection"): a lead named `=HYPERLINK(…)` would run
in the browser of whoever opens the export. Such text gets a leading apostrophe, which the
spreadsheet shows as text and hides. Numbers stay numbers; instants are written in UTC
(ISO 8601); None is an empty cell.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):  # bool is an int
        return value
    text = str(value)  # a model instance or a lazy string is written as its text
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class SafeWriter:
    """`csv.writer` whose rows go through `safe_cell`; `writerow` answers what it wrote."""

    def __init__(self, stream, **options):
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[object]):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream, **options) -> SafeWriter:
    return SafeWriter(stream, **options)


class _Echo:
    """A file that hands back what is written to it (for streamed responses)."""

    def write(self, value: str) -> str:
        return value


def line_writer(**options) -> SafeWriter:
    """A writer whose `writerow` answers the CSV line, for a streamed response."""
    return SafeWriter(_Echo(), **options)


def text(rows: Iterable[Iterable[object]], **options) -> str:
    buffer = io.StringIO()
    writer(buffer, **options).writerows(rows)
    return buffer.getvalue()


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[object]]):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    out = writer(response)
    out.writerow(header)
    out.writerows(rows)
    return response
