"""The one set of bounds every input is held to: instants, dates, durations, counts, money,
text and JSON. Forms, API fields, bulk rows, CSV cells and task arguments check against
these, and the models' constraints repeat the ones the database can enforce.

Why these numbers: PostgreSQL stores offsets up to ±15:59 and years from 4713 BC, Python
from year 1; the product has no business before 1900 or after 2199, and a value outside
what both sides can represent must be refused at the edge, not fail deep inside a query.
"""

import datetime as dt
import math
import re
from decimal import Decimal

MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)
MIN_INSTANT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
MAX_INSTANT = dt.datetime(2200, 1, 1, tzinfo=dt.UTC) - dt.timedelta(microseconds=1)
MAX_OFFSET = dt.timedelta(hours=15, minutes=59)

MAX_MONEY = Decimal("999999999999.99")  # 14 digits, 2 decimal places
MAX_COUNT = 1_000_000  # counts people type (leads per month, attempts, a target)
MAX_DAYS = 3_660  # durations in days (ten years)
MAX_HOURS = 8_784  # durations in hours (a leap year)

MAX_JSON_DEPTH = 20
MAX_JSON_BYTES = 64 * 1024
# A whole API request body nests at most this deep (room for a bulk of leads whose JSON
# fields sit a few levels down); its size is bounded by DATA_UPLOAD_MAX_MEMORY_SIZE.
MAX_REQUEST_JSON_DEPTH = 2 * MAX_JSON_DEPTH
MAX_TEXT = 10_000  # a free-text note or comment

# A NUL (PostgreSQL cannot store it) or a lone surrogate (not encodable as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    match = _UNSTORABLE.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "Text cannot contain the NUL character (\\x00)."
    return "Text cannot contain a lone surrogate character (it is not valid Unicode)."


def instant_problem(value: dt.datetime) -> str | None:
    """Why an instant is refused (no offset, offset beyond ±15:59, out of range), or None."""
    offset = value.utcoffset()
    if offset is None:
        return "Give a date and time with a time zone offset, e.g. 2026-03-01T09:30:00+01:00."
    if abs(offset) > MAX_OFFSET:
        return "The time zone offset must be between -15:59 and +15:59."
    try:
        in_utc = value.astimezone(dt.UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not MIN_INSTANT <= in_utc <= MAX_INSTANT:
        return f"Give an instant between {MIN_DATE.year} and {MAX_DATE.year}."
    return None


def date_problem(value: dt.date) -> str | None:
    if not MIN_DATE <= value <= MAX_DATE:
        return f"Give a date between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}."
    return None


def json_problem(value: object, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why a JSON value is refused (too deep, or text that cannot be stored), or None.

    Iterative, so a 5,000-deep value costs nothing but the walk.
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return f"Nested more than {max_depth} levels deep."
        if isinstance(item, str):
            problem = unstorable_text(item)
            if problem:
                return problem
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return "Object keys must be text."
                problem = unstorable_text(key)
                if problem:
                    return problem
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float) and not math.isfinite(item):
            return "Numbers must be finite."
    return None


def json_depth_exceeds(value: object, max_depth: int) -> bool:
    """Whether `value` nests more than `max_depth` levels of arrays and objects (iterative)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False
