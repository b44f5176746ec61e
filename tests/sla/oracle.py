"""An independent recomputation of SLA clocks and compliance figures from what the API shows.

Everything here starts from the public API's answers (clocks, calendars, agreements, a
lead's transitions and attempts) plus the assignments the test itself made, and works the
figures out again:

- `HandCalendar`: business-hours arithmetic done by hand, one local day at a time (no
  `sla.business_hours`), to check the stored deadlines and response times from first
  principles;
- `handoffs_of`: a lead's hand-offs from its moves and assignments (which clocks must exist,
  with which owner);
- `clock_expected`: a clock's whole state through the pure `sla.clock_rules` functions;
- `compliance_rows`, `weekly_rows`, `commitment_rows`: every figure of `GET sla/compliance/`;
- `tables`: the cells of a page's tables, for the compliance page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import holidays as holiday_data

from sla import clock_rules

UTC = dt.UTC
BEFORE_SALES = {"lead", "mql", "recycled"}
SALES_OR_LATER = {"sql", "opportunity", "customer"}
SALES = {"sql", "opportunity"}


def instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def read_all(client, url: str, params: dict | None = None) -> list[dict]:
    """Every row of a paginated list endpoint."""
    rows: list[dict] = []
    query = {**(params or {}), "page_size": 1000, "page": 1}
    while True:
        response = client.get(url, query)
        assert response.status_code == 200, (url, response.content[:500])
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        query["page"] += 1


# -- business hours by hand ------------------------------------------------------------------


class HandCalendar:
    """Opening hours counted one local day at a time: each open day's intervals become two
    instants in the calendar's zone, and time is summed over them. Written for calendars
    that open and close away from daylight-saving changes (which happen at night)."""

    def __init__(self, definition: dict):
        self.zone = ZoneInfo(definition["time_zone"])
        self.hours = {
            int(day): [
                (dt.time.fromisoformat(opens), dt.time.fromisoformat(closes))
                for opens, closes in intervals
            ]
            for day, intervals in definition["hours"].items()
        }
        closed = {dt.date.fromisoformat(day) for day in definition["custom_holidays"]}
        if definition["holiday_country"]:
            closed |= set(
                holiday_data.country_holidays(
                    definition["holiday_country"],
                    subdiv=definition["holiday_subdivision"] or None,
                    years=range(2025, 2028),
                )
            )
        self.closed = closed

    def _intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        if day in self.closed:
            return []
        spans = []
        for opens, closes in self.hours.get(day.weekday(), []):
            start = dt.datetime.combine(day, opens, tzinfo=self.zone)
            if closes == dt.time(0):
                end = dt.datetime.combine(day + dt.timedelta(days=1), closes, tzinfo=self.zone)
            else:
                end = dt.datetime.combine(day, closes, tzinfo=self.zone)
            spans.append((start.astimezone(UTC), end.astimezone(UTC)))
        return spans

    def _days_from(self, moment: dt.datetime):
        day = moment.astimezone(self.zone).date() - dt.timedelta(days=1)
        while True:
            yield day
            day += dt.timedelta(days=1)

    def add(self, start: dt.datetime, allowance: dt.timedelta) -> dt.datetime:
        left = allowance
        for day in self._days_from(start):
            for opens, closes in self._intervals(day):
                opens = max(opens, start)
                if closes <= opens:
                    continue
                if left <= closes - opens:
                    return opens + left
                left -= closes - opens
        raise AssertionError("unreachable")

    def elapsed(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        total = dt.timedelta(0)
        for day in self._days_from(start):
            if dt.datetime.combine(day, dt.time(0), tzinfo=self.zone) > end:
                return total
            for opens, closes in self._intervals(day):
                opens, closes = max(opens, start), min(closes, end)
                if closes > opens:
                    total += closes - opens
        raise AssertionError("unreachable")

    def window_end(self, handoff: dt.datetime, days: int) -> dt.datetime:
        """`days` calendar days later on the calendar's wall clock."""
        local = handoff.astimezone(self.zone).replace(tzinfo=None) + dt.timedelta(days=days)
        return local.replace(tzinfo=self.zone).astimezone(UTC)


# -- which clocks must exist -------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    at: dt.datetime
    owner_id: int


@dataclass(frozen=True)
class HandOff:
    at: dt.datetime
    owner_id: int


def handoffs_of(transitions: list[dict], assignments: list[Assignment]) -> list[HandOff]:
    """A lead's hand-offs (PRODUCT.md): a move from lead, mql or recycled to sql or further
    with an owner; a lead moved into a sales stage without one is handed off when it gets
    its first owner."""
    timeline = [(instant(t["at"]), 1, t) for t in transitions]
    timeline += [(a.at, 0, a) for a in assignments]
    timeline.sort(key=lambda item: (item[0], item[1]))
    owner = None
    stage = None
    handed = False
    found = []
    for at, kind, item in timeline:
        if kind == 0:
            owner = item.owner_id
            if stage in SALES and not handed:
                found.append(HandOff(at, owner))
                handed = True
            continue
        if item["from_stage"] in BEFORE_SALES and item["to_stage"] in SALES_OR_LATER:
            if owner is not None:
                found.append(HandOff(at, owner))
                handed = True
            else:
                handed = False
        stage = item["to_stage"]
    return found


def owner_of(handoff: HandOff, assignments: list[Assignment], closed_at) -> int:
    """A clock's owner: the owner at its hand-off, then whoever the lead is given to while
    the clock is still open (reassignment does not reset it)."""
    owner = handoff.owner_id
    for assignment in assignments:
        if assignment.at <= handoff.at:
            continue
        if closed_at is not None and assignment.at >= closed_at:
            break
        owner = assignment.owner_id
    return owner


# -- a clock's state, recomputed -----------------------------------------------------------------


def terms(agreement: dict) -> clock_rules.Terms:
    return clock_rules.Terms(
        first_touch_hours=Decimal(agreement["first_touch_hours"]),
        max_attempts=agreement["max_attempts"],
        attempt_window_days=agreement["attempt_window_days"],
        warning_share=Decimal(agreement["warning_share"]),
    )


def engine(calendar: dict):
    return clock_rules.calendar_engine(
        cache_key=None,
        time_zone=calendar["time_zone"],
        hours=calendar["hours"],
        holiday_country=calendar["holiday_country"],
        holiday_subdivision=calendar["holiday_subdivision"],
        custom_holidays=calendar["custom_holidays"],
    )


def counted(attempts: list[dict], allowed: set[int]) -> list[clock_rules.Attempt]:
    rows = sorted(attempts, key=lambda a: (instant(a["occurred_at"]), a["id"]))
    return [
        clock_rules.Attempt(instant(a["occurred_at"]), a["outcome"])
        for a in rows
        if a["actor"] in allowed
    ]


def clock_expected(
    clock: dict,
    *,
    calendar: dict,
    agreement: dict,
    transitions: list[dict],
    attempts: list[dict],
    allowed: set[int],
    stage_now: str,
    next_handoff_at: dt.datetime | None,
    now: dt.datetime,
) -> dict:
    """The stored fields a clock must have, from the pure clock rules over the facts."""
    handoff = instant(clock["handoff_at"])
    business = engine(calendar)
    due = clock_rules.deadlines(business, handoff, terms(agreement))
    moves = [
        (instant(t["at"]), t["from_stage"], t["to_stage"])
        for t in sorted(transitions, key=lambda t: (instant(t["at"]), t["id"]))
    ]
    course = clock_rules.course_after(
        handoff, moves, stage_now=stage_now, next_handoff_at=next_handoff_at
    )
    state = clock_rules.evaluate(
        handoff_at=handoff,
        first_touch_due_at=due.first_touch_due_at,
        attempt_window_ends_at=due.attempt_window_ends_at,
        max_attempts=agreement["max_attempts"],
        attempts=counted(attempts, allowed),
        course=course,
        now=now,
    )
    response = None
    if state.first_touch_at is not None:
        response = clock_rules.response_seconds(business, handoff, state.first_touch_at)
    return {
        "first_touch_due_at": due.first_touch_due_at,
        "warn_at": due.warn_at,
        "attempt_window_ends_at": due.attempt_window_ends_at,
        "status": state.status,
        "first_touch_at": state.first_touch_at,
        "response_business_seconds": response,
        "attempts": state.attempts,
        "over_contact": state.over_contact,
        "breached_at": state.breached_at,
        "exhausted_at": state.exhausted_at,
        "closed_at": state.closed_at,
        "_exhausted_by": state.exhausted_by,
    }


STORED = (
    "first_touch_due_at",
    "warn_at",
    "attempt_window_ends_at",
    "status",
    "first_touch_at",
    "response_business_seconds",
    "attempts",
    "over_contact",
    "breached_at",
    "exhausted_at",
    "closed_at",
)


def stored(clock: dict) -> dict:
    timestamps = {
        "first_touch_due_at",
        "warn_at",
        "attempt_window_ends_at",
        "first_touch_at",
        "breached_at",
        "exhausted_at",
        "closed_at",
    }
    return {key: instant(clock[key]) if key in timestamps else clock[key] for key in STORED}


# -- compliance figures ----------------------------------------------------------------------------


def percentile(values: list[int], fraction: Fraction) -> Fraction | None:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Facts:
    """One clock as the figures need it (all recomputed, none read from the clock but its
    identity, owner and agreement)."""

    clock_id: int
    handoff_at: dt.datetime
    owner_id: int | None
    team_id: int | None
    product_id: int | None
    agreement_id: int
    status: str
    response_seconds: int | None
    attempts: int
    over_contact: bool
    exhausted: bool


def _figures(facts: list[Facts]) -> dict:
    met = sum(f.status == "met" for f in facts)
    breached = sum(f.status == "breached" for f in facts)
    responses = [f.response_seconds for f in facts if f.response_seconds is not None]
    median = percentile(responses, Fraction(1, 2))
    p90 = percentile(responses, Fraction(9, 10))
    return {
        "handoffs": len(facts),
        "met": met,
        "breached": breached,
        "pending": len(facts) - met - breached,
        "met_rate": Fraction(met, met + breached) if met + breached else None,
        "median_hours": median / 3600 if median is not None else None,
        "p90_hours": p90 / 3600 if p90 is not None else None,
        "over_contact": sum(f.over_contact for f in facts),
        "exhausted": sum(f.exhausted for f in facts),
        "attempts_per_lead": Fraction(sum(f.attempts for f in facts), len(facts)),
    }


GROUP_KEYS = {
    "owner": lambda f: f.owner_id,
    "team": lambda f: f.team_id,
    "product": lambda f: f.product_id,
    "agreement": lambda f: f.agreement_id,
}


def in_period(facts: list[Facts], start: dt.datetime, end: dt.datetime) -> list[Facts]:
    return [f for f in facts if start <= f.handoff_at < end]


def compliance_rows(facts: list[Facts], group_by: str) -> dict:
    groups: dict = defaultdict(list)
    for fact in facts:
        groups[GROUP_KEYS[group_by](fact)].append(fact)
    return {key: _figures(rows) for key, rows in groups.items()}


def weekly_rows(facts: list[Facts], zone: ZoneInfo) -> dict:
    """Per week of hand-off, weeks starting on Monday in the company's time zone."""
    weeks: dict = defaultdict(list)
    for fact in facts:
        day = fact.handoff_at.astimezone(zone).date()
        weeks[day - dt.timedelta(days=day.weekday())].append(fact)
    return {week: _figures(rows) for week, rows in weeks.items()}


def company_months(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> list[dt.date]:
    """First days of the company months the instants [start, end] touch."""
    first = start.astimezone(zone).date().replace(day=1)
    last = end.astimezone(zone).date()
    months = []
    while first <= last:
        months.append(first)
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return months


def month_bounds(month: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    after = (month + dt.timedelta(days=32)).replace(day=1)
    return (
        dt.datetime.combine(month, dt.time(0), tzinfo=zone),
        dt.datetime.combine(after, dt.time(0), tzinfo=zone),
    )


def commitment_rows(
    *,
    agreements: list[dict],
    products: dict[int, dict],
    leads: list[dict],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    zone: ZoneInfo,
) -> dict:
    """Delivered vs committed per current active agreement, product and company month that
    the period touches, with the month's pace, worked out by hand (a straight line through
    the month)."""
    rows = {}
    for agreement in agreements:
        if agreement["status"] != "active" or agreement["superseded_at"]:
            continue
        covered = agreement["products"] or [p for p, row in products.items() if row["is_active"]]
        stage_field = f"{agreement['commitment_stage']}_at"
        effective_from = dt.date.fromisoformat(agreement["effective_from"])
        until = agreement["effective_until"]
        effective_until = dt.date.fromisoformat(until) if until else None
        for month in company_months(start, end, zone):
            month_start, month_end = month_bounds(month, zone)
            last_day = (month_end - dt.timedelta(days=1)).date()
            if effective_from > last_day or (effective_until and effective_until < month):
                continue
            for product_id in covered:
                delivered = sum(
                    1
                    for lead in leads
                    if lead["product"] == product_id
                    and (agreement["commitment_persona"] in (None, lead["persona"]))
                    and lead[stage_field]
                    and month_start <= instant(lead[stage_field]) < month_end
                )
                committed = agreement["leads_per_product_per_month"]
                total = (month_end - month_start).total_seconds()
                done = min(max((now - month_start).total_seconds(), 0), total)
                exact = Decimal(committed) * Decimal(done) / Decimal(total)
                # Shown to the cent; the status compares with the figure shown.
                expected = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                if delivered >= committed:
                    status = "met"
                elif now >= month_end:
                    status = "missed"
                elif now < month_start:
                    status = "upcoming"
                else:
                    status = "on_track" if delivered >= expected else "at_risk"
                rows[(agreement["id"], product_id, month)] = {
                    "delivered": delivered,
                    "committed": committed,
                    "expected_by_now": expected,
                    "expected_exact": exact,
                    "status": status,
                    "stage": agreement["commitment_stage"],
                    "agreement": f"{agreement['name']} v{agreement['version']}",
                    "product_name": products[product_id]["name"],
                }
    return rows


# -- how pages show numbers ------------------------------------------------------------------


def half_up(value: Fraction, places: int) -> str:
    """`value` rounded half up to `places` decimals, as text."""
    quantum = Decimal(1).scaleb(-places)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return f"{exact.quantize(quantum, rounding=ROUND_HALF_UP):f}"


def percent_shown(rate: Fraction | None) -> str:
    """A rate on a page: a percentage with at most one decimal ("66.7%", "50%"), "—" for
    none."""
    if rate is None:
        return "—"
    text = half_up(rate * 100, 1)
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"


def one_decimal(value: Fraction | None) -> str:
    return "—" if value is None else half_up(value, 1)


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id"):
            self.current = attributes["id"]
            self.tables[self.current] = []
        elif self.current and tag == "tr":
            self.row = []
        elif self.row is not None and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.current = None
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None and self.current:
            self.tables[self.current].append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    """The rows (header row first) of every table with an id, as cell texts."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables
