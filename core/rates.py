"""One convention for rates: fractions in data, the API and CSV files (0.425), percentages on
pages ("43%"). A rate with nothing to divide by is ``None`` and shows as "—"."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

NO_RATE = "—"


def percent_text(value, places: int = 0) -> str:
    """A fraction shown as a percentage, rounded half up to at most ``places`` decimals
    (trailing zeros dropped): ``0.425`` is ``"43%"``, ``"42.5%"`` with one or two places;
    ``None``, blank or not a number is ``"—"``."""
    if value is None or value == "" or isinstance(value, bool):
        return NO_RATE
    try:
        number = Decimal(str(value)) * 100
    except (InvalidOperation, ValueError, TypeError):
        return NO_RATE
    if not number.is_finite():
        return NO_RATE
    shown = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if shown == 0:
        shown = abs(shown)  # never "-0%"
    text = f"{shown:f}"
    if "." in text:  # "25%", "42.5%": no trailing zeros
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"
