"""Goal and OKR progress arithmetic: pace, expected-by-today, OKR score and colour.

Pure core (no Django): dates and values in, numbers out. Values are ``Decimal`` or ``int``.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

AT_RISK_SHARE = Decimal("0.8")
"""At or above this share of the expected-by-today value, a goal is "at risk", not "behind"."""


class Pace(StrEnum):
    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BEHIND = "behind"
    NOT_STARTED = "not_started"
    NOT_MEASURED = "not_measured"


PACE_LABELS = {
    Pace.ACHIEVED: "Achieved",
    Pace.ON_TRACK: "On track",
    Pace.AT_RISK: "At risk",
    Pace.BEHIND: "Behind",
    Pace.NOT_STARTED: "Not started",
    Pace.NOT_MEASURED: "Not measured yet",
}


def elapsed_share(start: dt.date, end: dt.date, today: dt.date) -> Decimal:
    """Share of the period ``start``..``end`` (both days included) that has passed by the end
    of ``today``: 0 before the start, 1 from the end day on."""
    if end < start:
        raise ValueError("end is before start")
    if today < start:
        return Decimal(0)
    if today >= end:
        return Decimal(1)
    total = (end - start).days + 1
    return Decimal((today - start).days + 1) / Decimal(total)


def expected_to_date(
    target: Decimal, start: dt.date, end: dt.date, today: dt.date, *, is_rate: bool
) -> Decimal:
    """What a goal should have reached by ``today`` to be on pace.

    Counts and money accumulate over the period, so the expectation grows linearly from 0 to
    the target; a rate is not cumulative, so it is expected at the target throughout.
    """
    if is_rate:
        return Decimal(target)
    return Decimal(target) * elapsed_share(start, end, today)


def pace(
    measured: Decimal | None,
    target: Decimal,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    *,
    is_rate: bool,
) -> Pace:
    """Where a goal stands against its expected-by-today value."""
    if today < start:
        return Pace.NOT_STARTED
    if measured is None:
        return Pace.NOT_MEASURED
    if measured >= target:
        return Pace.ACHIEVED
    expected = expected_to_date(target, start, end, today, is_rate=is_rate)
    if measured >= expected:
        return Pace.ON_TRACK
    if measured >= expected * AT_RISK_SHARE:
        return Pace.AT_RISK
    return Pace.BEHIND


def progress_share(measured: Decimal | None, target: Decimal) -> Decimal:
    """``measured / target`` clamped to 0..1 (0 when unmeasured or the target is 0)."""
    if measured is None or not target > 0:
        return Decimal(0)
    return max(Decimal(0), min(Decimal(1), Decimal(measured) / Decimal(target)))


def okr_score(current: Decimal | None, start: Decimal, target: Decimal) -> Decimal:
    """A key result's score 0–1, to two decimals: how far ``current`` went from ``start`` to
    ``target`` (works for a target below the start, e.g. reducing a cycle time)."""
    if current is None or target == start:
        return Decimal("1.00") if current is not None and current == target else Decimal("0.00")
    raw = (Decimal(current) - Decimal(start)) / (Decimal(target) - Decimal(start))
    raw = max(Decimal(0), min(Decimal(1), raw))
    return raw.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def score_colour(score: Decimal | None) -> str:
    """The usual OKR traffic light: red below 0.4, yellow below 0.7, green from 0.7."""
    if score is None or score < Decimal("0.4"):
        return "red"
    if score < Decimal("0.7"):
        return "yellow"
    return "green"


def average_score(scores: list[Decimal]) -> Decimal | None:
    """An objective's score: the mean of its key results' scores, to two decimals."""
    if not scores:
        return None
    return (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
