"""Compliance figures equal a recomputation from clocks and attempts.

Random histories (recycles, re-qualification, skips, exits, re-opens, reassignments,
attempts before, at and after deadlines, by owners, managers and people who do not count)
are written through the public API three ways: back-filled in one call, back-filled in
chunks as time passes, and live, each step at its own instant with the sweep task running
now and then. Three calendars in three zones (New York with a custom holiday and its
daylight-saving change inside the period, Tokyo with a lunch break and a public holiday,
Berlin open on Saturdays with Good Friday and its own clock change), agreements with
different terms (one edited mid-way: a new version), and the company's days in Los Angeles.

Then, from what the API shows:
- every clock is recomputed with the pure `sla.clock_rules` functions (and its deadlines and
  response time by hand, one local day at a time) and must equal the stored one; which
  clocks exist, and with which owner, calendar and agreement, follows from the moves and
  assignments;
- every figure of `GET sla/compliance/` (per owner, team, product and agreement version,
  per week, and marketing's commitments) is worked out from the recomputed clocks and the
  leads, and the compliance page and its CSV exports show the same numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import io
import itertools
import random
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Role, Team
from sla import tasks
from sla.models import SLARecord
from tests.conftest import make_user
from tests.sla import oracle
from tests.sla.oracle import Assignment, instant

pytestmark = pytest.mark.django_db

UTC = dt.UTC
COMPANY_ZONE = "America/Los_Angeles"
LA = ZoneInfo(COMPANY_ZONE)
START = dt.datetime(2026, 2, 23, 8, tzinfo=UTC)  # Monday 23 February, 00:00 in Los Angeles
END = dt.datetime(2026, 4, 3, 18, tzinfo=UTC)  # Good Friday, 11:00 in Los Angeles: "now"
EDIT_AT = dt.datetime(2026, 3, 13, 0, tzinfo=UTC)  # the standard agreement gets version 2
SWEEPS = [START + dt.timedelta(days=3 * n, hours=5 * n) for n in range(1, 13)]

OUTCOMES = ["no_answer"] * 7 + ["left_message"] * 5 + ["connected"] * 4 + ["meeting_booked"] * 2
OUTCOMES += ["bounced", "other"]
CHANNELS = ["call", "email", "meeting", "social", "other"]
REASONS = {"recycled": "not ready yet", "disqualified": "bad fit", "lost": "went elsewhere"}


def ny(*args):
    return dt.datetime(*args, tzinfo=ZoneInfo("America/New_York"))


def tokyo(*args):
    return dt.datetime(*args, tzinfo=ZoneInfo("Asia/Tokyo"))


def berlin(*args):
    return dt.datetime(*args, tzinfo=ZoneInfo("Europe/Berlin"))


def la(*args):
    return dt.datetime(*args, tzinfo=LA)


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


class World:
    """The people, calendars, agreements and products, made through the API (people and
    teams through the accounts code, as the other tests do), and a log of every assignment
    the test makes (the API has no list of them)."""

    def __init__(self, api_as, capture, manager, outsider):
        self.capture = capture
        self.manager = manager
        self.api = api_as(manager)
        self.api_as = api_as
        east = manager.team
        tokyo_team = Team.objects.create(name="Sales Tokyo", function=Team.Function.SALES)
        self.rep = make_user("rep", Role.SALES, east)
        self.other_rep = make_user("other_rep", Role.SALES, east)
        self.tokyo_rep = make_user("tokyo_rep", Role.SALES, tokyo_team)
        self.solo_rep = make_user("solo_rep", Role.SALES)  # no team: the default calendar
        self.outsider = outsider  # a rep of a team without a calendar
        self.owners = [self.rep, self.other_rep, self.tokyo_rep, self.solo_rep]
        self.users = {u.pk: u for u in [*self.owners, outsider, manager]}
        self.managers = {manager.pk}
        self.assignments: dict[int, list[Assignment]] = {}
        with time_machine.travel(START - dt.timedelta(days=2), tick=False):
            self.calendars = {
                "new_york": self.post(
                    "/api/v1/sla/calendars/",
                    name="New York office",
                    time_zone="America/New_York",
                    hours={str(d): [["09:00", "17:00"]] for d in range(5)},
                    holiday_country="US",
                    custom_holidays=["2026-03-17"],
                    teams=[east.pk],
                ),
                "tokyo": self.post(
                    "/api/v1/sla/calendars/",
                    name="Tokyo office",
                    time_zone="Asia/Tokyo",
                    hours={str(d): [["09:00", "12:00"], ["13:00", "18:00"]] for d in range(5)},
                    holiday_country="JP",
                    teams=[tokyo_team.pk],
                ),
                "berlin": self.post(
                    "/api/v1/sla/calendars/",
                    name="Berlin office",
                    time_zone="Europe/Berlin",
                    hours={
                        **{str(d): [["08:00", "16:00"]] for d in range(5)},
                        "5": [["10:00", "14:00"]],
                    },
                    holiday_country="DE",
                    is_default=True,
                ),
            }
            self.analytics = self.post("/api/v1/products/", name="Analytics", code="analytics")
            self.enterprise = self.post("/api/v1/products/", name="Enterprise", code="enterprise")
            base = {"effective_from": "2026-01-01", "goals": "Pipeline together."}
            self.standard = self.post(
                "/api/v1/sla/agreements/",
                **base,
                name="Standard",
                first_touch_hours="5",
                max_attempts=4,
                attempt_window_days=16,
                warning_share="0.80",
                exhaustion_action="recycle",
                leads_per_product_per_month=6,
            )
            self.post(
                "/api/v1/sla/agreements/",
                **base,
                name="Enterprise",
                products=[self.enterprise["id"]],
                effective_until="2026-03-20",
                first_touch_hours="2.5",
                max_attempts=2,
                attempt_window_days=5,
                warning_share="0.50",
                exhaustion_action="notify",
                leads_per_product_per_month=3,
                commitment_stage="opportunity",
            )
            self.post(
                "/api/v1/sla/agreements/",
                **{**base, "effective_from": "2026-03-21"},
                name="Enterprise 2",
                products=[self.enterprise["id"]],
                first_touch_hours="8",
                max_attempts=3,
                attempt_window_days=7,
                warning_share="0.75",
                exhaustion_action="recycle",
                leads_per_product_per_month=2,
            )

    def post(self, url: str, **body) -> dict:
        with self.capture(execute=True):
            response = self.api.post(url, body, format="json")
        assert response.status_code in (200, 201), (url, response.json())
        return response.json()

    def lead(self, name: str, product: dict) -> int:
        with time_machine.travel(START - dt.timedelta(days=1), tick=False):
            return self.post(
                "/api/v1/leads/",
                email=f"{name}@example.com",
                first_name=name,
                product=str(product["id"]),
                created_at=(START - dt.timedelta(days=1)).isoformat(),
            )["id"]

    def history(self, lead_id: int, steps: list[dict], now: dt.datetime) -> None:
        with time_machine.travel(now, tick=False):
            body = {"steps": [{**step, "at": step["at"].isoformat()} for step in steps]}
            with self.capture(execute=True):
                response = self.api.post(f"/api/v1/leads/{lead_id}/history/", body, format="json")
        assert response.status_code == 201, (steps, response.json())
        for step in steps:
            if step["type"] == "assign":
                self.assigned(lead_id, step["at"], step["owner"])

    def assigned(self, lead_id: int, at: dt.datetime, owner_id: int) -> None:
        self.assignments.setdefault(lead_id, []).append(Assignment(at, owner_id))

    def state(self, lead_id: int) -> dict:
        lead = self.api.get(f"/api/v1/leads/{lead_id}/").json()
        moves = self.api.get(f"/api/v1/leads/{lead_id}/transitions/", {"page_size": 1000})
        last = max((instant(t["at"]) for t in moves.json()["results"]), default=None)
        return {"stage": lead["stage"], "owner": lead["owner"], "last_move": last}

    def sweep(self, now: dt.datetime) -> None:
        with time_machine.travel(now, tick=False), self.capture(execute=True):
            tasks.clocks_sweep()


# -- random histories --------------------------------------------------------------------------


class Walk:
    """A lead's random history, one step at a time, from its stage and owner."""

    def __init__(self, rng: random.Random, world: World):
        self.rng = rng
        self.world = world

    def gap(self, kind: str) -> dt.timedelta:
        rng = self.rng
        if kind == "attempt":
            minutes = rng.choice(
                [
                    rng.randint(5, 120),
                    rng.randint(120, 720),
                    rng.randint(720, 4320),
                    rng.randint(4320, 20000),
                ]
            )
        elif kind == "assign":
            minutes = rng.randint(5, 1440)
        else:
            minutes = rng.randint(30, 5 * 1440)
        return dt.timedelta(minutes=minutes)

    def choose(self, stage: str, owner: int | None, previous: list[int]) -> dict | None:
        """The next step's kind and details (no instant yet)."""
        rng = self.rng
        others = [u.pk for u in self.world.owners if u.pk != owner]
        r = rng.random()
        if stage == "customer":
            return None
        if stage in ("lead", "mql", "recycled"):
            if owner is None and r < 0.7:
                return {"type": "assign", "owner": rng.choice(others)}
            if owner is not None and r < 0.06:
                return {"type": "assign", "owner": rng.choice(others)}
            if stage == "recycled" and owner is not None and r < 0.12:
                return self.attempt(owner, previous)  # a touch after the hand-back
            targets = {
                "lead": ["mql"] * 4 + ["sql"] * 4 + ["opportunity", "customer", "disqualified"],
                "mql": ["sql"] * 6 + ["opportunity", "customer", "recycled", "disqualified"],
                "recycled": ["sql"] * 4 + ["mql"] * 2 + ["opportunity", "disqualified"],
            }[stage]
            return self.move(rng.choice(targets))
        if stage == "disqualified":
            return self.move("lead")
        if stage == "lost":
            return self.move(rng.choice(["opportunity", "recycled"]))  # re-open or nurture
        if owner is None:
            return {"type": "assign", "owner": rng.choice(others)}  # handed off now
        if stage == "sql":
            if r < 0.6:
                return self.attempt(owner, previous)
            if r < 0.67:
                return {"type": "assign", "owner": rng.choice(others)}
            if r < 0.8:
                return self.move("opportunity")
            if r < 0.9:
                return self.move("recycled")
            if r < 0.96:
                return self.move("disqualified")
            return self.move("customer")
        # opportunity
        if r < 0.3:
            return self.attempt(owner, previous)
        if r < 0.35:
            return {"type": "assign", "owner": rng.choice(others)}
        if r < 0.6:
            return self.move("customer")
        if r < 0.85:
            return self.move("lost")
        return self.move("recycled")

    def move(self, to: str) -> dict:
        step = {"type": "transition", "to": to, "reason": REASONS.get(to, "")}
        if to == "customer":
            step["amount"] = "1200.00"
        return step

    def attempt(self, owner: int, previous: list[int]) -> dict:
        rng = self.rng
        r = rng.random()
        if r < 0.1:
            actor = self.world.manager.pk
        elif r < 0.2:
            actor = self.world.outsider.pk  # not an owner: does not count (unless later)
        elif r < 0.25 and previous:
            actor = rng.choice(previous)
        else:
            actor = owner
        return {
            "type": "attempt",
            "channel": rng.choice(CHANNELS),
            "outcome": rng.choice(OUTCOMES),
            "actor": actor,
        }

    def steps(
        self, stage: str, owner: int | None, after: dt.datetime, until: dt.datetime
    ) -> list[dict]:
        """Steps strictly after `after` up to `until`, walked from `stage` and `owner`."""
        steps = []
        previous: list[int] = []
        at = after
        while True:
            step = self.choose(stage, owner, previous)
            if step is None:
                return steps
            at = at + self.gap(step["type"])
            if at > until:
                return steps
            step["at"] = at
            steps.append(step)
            if step["type"] == "assign":
                if owner is not None:
                    previous.append(owner)
                owner = step["owner"]
            elif step["type"] == "transition":
                stage = step["to"]


def minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


# -- the named cases, worked out by hand ---------------------------------------------------------

# Each: (product, steps, when the history is posted, expected clock fields in UTC).
# Deadlines counted by hand: the hours of open time after the hand-off, in the calendar's
# zone; windows in calendar days on its wall clock.


def named_cases(world: World) -> dict:
    rep, other, tokyo_rep, solo = (u.pk for u in world.owners)
    analytics, enterprise = world.analytics, world.enterprise
    attempt = {"type": "attempt", "channel": "call"}
    return {
        # Standard v1, 5 hours, New York. Friday 16:00 EST: one hour on Friday, four on
        # Monday, which is in daylight time since Sunday: due 13:00 EDT, 17:00 UTC (18:00 if
        # the change were missed). Touched at 12:30: met after 4.5 business hours. Never
        # touched again: the 16-day window closes with the lead in sql, it goes back.
        "dst_monday": (
            analytics,
            [
                {"type": "assign", "at": ny(2026, 3, 6, 15), "owner": rep},
                {"type": "transition", "at": ny(2026, 3, 6, 16), "to": "sql"},
                {**attempt, "at": ny(2026, 3, 9, 12, 30), "outcome": "connected", "actor": rep},
            ],
            utc(2026, 3, 10),
            {
                "first_touch_due_at": utc(2026, 3, 9, 17),
                "warn_at": utc(2026, 3, 9, 16),
                "attempt_window_ends_at": utc(2026, 3, 22, 20),
                "status": "met",
                "response_business_seconds": 16200,
                "exhausted_at": utc(2026, 3, 22, 20),
                "closed_at": utc(2026, 3, 22, 20),
            },
        ),
        # Sunday, no owner: it waits; given to the rep Monday 14:00 EST, which hands it off.
        # Three hours Monday, two Tuesday: due 11:00 EST. Disqualified at noon, before any
        # sweep ran: breached at the deadline all the same.
        "handed_off_on_assignment": (
            analytics,
            [
                {"type": "transition", "at": utc(2026, 3, 1, 10), "to": "sql"},
                {"type": "assign", "at": ny(2026, 3, 2, 14), "owner": rep},
                {
                    "type": "transition",
                    "at": ny(2026, 3, 3, 12),
                    "to": "disqualified",
                    "reason": "bad fit",
                },
            ],
            utc(2026, 3, 4),
            {
                "handoff_at": utc(2026, 3, 2, 19),
                "first_touch_due_at": utc(2026, 3, 3, 16),
                "status": "breached",
                "breached_at": utc(2026, 3, 3, 16),
                "closed_at": utc(2026, 3, 3, 17),
                "exhausted_at": None,
            },
        ),
        # Standard v2, 4 hours. Monday 16 March 15:00 EDT: two hours, Tuesday is the
        # office's own holiday, two more on Wednesday: due Wednesday 11:00 EDT, and the
        # first attempt at that very minute is in time. The outsider's call does not count.
        "custom_holiday": (
            analytics,
            [
                {"type": "assign", "at": ny(2026, 3, 16, 14), "owner": other},
                {"type": "transition", "at": ny(2026, 3, 16, 15), "to": "sql"},
                {**attempt, "at": ny(2026, 3, 18, 10), "outcome": "no_answer", "actor": 0},
                {**attempt, "at": ny(2026, 3, 18, 11), "outcome": "no_answer", "actor": other},
                {"type": "transition", "at": ny(2026, 3, 19, 9), "to": "opportunity"},
                {"type": "transition", "at": ny(2026, 3, 20, 9), "to": "lost", "reason": "no"},
            ],
            utc(2026, 3, 21),
            {
                "first_touch_due_at": utc(2026, 3, 18, 15),
                "warn_at": utc(2026, 3, 18, 14, 12),
                "attempt_window_ends_at": utc(2026, 4, 1, 19),
                "status": "met",
                "attempts": 1,
                "response_business_seconds": 14400,
                "closed_at": utc(2026, 3, 20, 13),
            },
        ),
        # Tokyo, v2. Thursday 19 March 16:30 JST: 1.5 hours, Friday is a public holiday
        # (Vernal Equinox Day), then Monday 09:00–11:30: due 02:30 UTC. The sweeps breach it;
        # a late touch at 13:30 (after the lunch break) is 5 business hours.
        "tokyo_equinox": (
            analytics,
            [
                {"type": "assign", "at": tokyo(2026, 3, 19, 16), "owner": tokyo_rep},
                {"type": "transition", "at": tokyo(2026, 3, 19, 16, 30), "to": "sql"},
                {**attempt, "at": tokyo(2026, 3, 23, 13, 30), "outcome": "left_message"},
            ],
            None,  # posted up to the hand-off, the attempt logged live
            {
                "first_touch_due_at": utc(2026, 3, 23, 2, 30),
                "warn_at": utc(2026, 3, 23, 1, 42),
                "status": "breached",
                "breached_at": utc(2026, 3, 23, 2, 30),
                "first_touch_at": utc(2026, 3, 23, 4, 30),
                "response_business_seconds": 18000,
            },
        ),
        # The Enterprise agreement ends on 20 March, a company day (Los Angeles): a hand-off
        # at 18:00 that evening (21 March in UTC) is still under it: 2.5 hours, due Monday
        # 11:30 EDT. Its second unanswered attempt uses the allowance (notify: the lead stays
        # in sql, the clock stays open); the third, inside the five days, is over-contact.
        "agreement_ends_that_evening": (
            enterprise,
            [
                {"type": "assign", "at": la(2026, 3, 20, 17), "owner": rep},
                {"type": "transition", "at": la(2026, 3, 20, 18), "to": "sql"},
                {**attempt, "at": ny(2026, 3, 23, 10), "outcome": "no_answer", "actor": rep},
                {**attempt, "at": ny(2026, 3, 24, 10), "outcome": "no_answer", "actor": rep},
                {**attempt, "at": ny(2026, 3, 25, 10), "outcome": "no_answer", "actor": rep},
            ],
            utc(2026, 3, 26),
            {
                "_agreement": "Enterprise",
                "first_touch_due_at": utc(2026, 3, 23, 15, 30),
                "warn_at": utc(2026, 3, 23, 14, 15),
                "attempt_window_ends_at": utc(2026, 3, 26, 1),
                "status": "met",
                "attempts": 3,
                "over_contact": True,
                "exhausted_at": utc(2026, 3, 24, 14),
                "closed_at": None,
            },
        ),
        # Berlin (the default calendar: the rep has no team), v2. Saturday 28 March 13:00
        # CET: one hour; clocks go forward that night; Monday 08:00–11:00 CEST: due 09:00
        # UTC. Touched at noon: breached, 5 business hours.
        "berlin_clock_change": (
            analytics,
            [
                {"type": "assign", "at": berlin(2026, 3, 28, 12), "owner": solo},
                {"type": "transition", "at": berlin(2026, 3, 28, 13), "to": "sql"},
                {**attempt, "at": berlin(2026, 3, 30, 12), "outcome": "connected", "actor": solo},
            ],
            utc(2026, 3, 31),
            {
                "first_touch_due_at": utc(2026, 3, 30, 9),
                "status": "breached",
                "response_business_seconds": 18000,
            },
        ),
        # Thursday 2 April 14:00 CEST: two hours, Good Friday is a holiday, Saturday opens
        # at 10:00: due Saturday 12:00 CEST, after "now": pending.
        "good_friday": (
            analytics,
            [
                {"type": "assign", "at": berlin(2026, 4, 2, 13), "owner": solo},
                {"type": "transition", "at": berlin(2026, 4, 2, 14), "to": "sql"},
            ],
            END,
            {
                "first_touch_due_at": utc(2026, 4, 4, 10),
                "warn_at": utc(2026, 4, 4, 9, 12),
                "status": "pending",
                "breached_at": None,
            },
        ),
    }


# -- writing the histories ---------------------------------------------------------------------


def write_histories(world: World, seed: int, leads_per_way: int) -> dict[str, int]:
    """Named cases and random histories through the API, in time order, with sweeps."""
    rng = random.Random(seed)
    walk = Walk(rng, world)
    queue: list = []
    order = itertools.count()

    def at(moment, kind, *payload):
        heapq.heappush(queue, (moment, next(order), kind, payload))

    named = {}
    for name, (product, steps, posted, _) in named_cases(world).items():
        lead_id = world.lead(name, product)
        named[name] = lead_id
        for step in steps:
            if step.get("actor") == 0:
                step["actor"] = world.outsider.pk
        if posted is None:  # the last step live
            at(steps[-2]["at"] + dt.timedelta(minutes=5), "history", lead_id, steps[:-1])
            at(steps[-1]["at"], "attempt", lead_id, steps[-1])
        else:
            at(posted, "history", lead_id, steps)
    for index in range(3 * leads_per_way):
        way = ("backfill", "chunks", "live")[index % 3]
        product = world.enterprise if rng.random() < 0.35 else world.analytics
        lead_id = world.lead(f"seed{seed}-{way}-{index}", product)
        begins = minute(START + (END - START - dt.timedelta(days=4)) * rng.random())
        ends = min(begins + dt.timedelta(days=rng.randint(8, 24)), END - dt.timedelta(hours=1))
        if way == "backfill":
            steps = walk.steps("lead", None, begins, ends)
            if steps:
                at(END - dt.timedelta(minutes=30), "history", lead_id, steps)
        elif way == "chunks":
            for sweep in SWEEPS:
                if begins < sweep:
                    at(sweep - dt.timedelta(minutes=10), "chunk", lead_id, begins, ends)
        else:
            at(begins, "live", lead_id, ends)
    for sweep in [*SWEEPS, END]:
        at(sweep, "sweep")
    at(EDIT_AT, "edit")

    while queue:
        now, _, kind, payload = heapq.heappop(queue)
        if kind == "sweep":
            world.sweep(now)
        elif kind == "edit":
            with time_machine.travel(now, tick=False):
                response = world.api.patch(
                    f"/api/v1/sla/agreements/{world.standard['id']}/",
                    {"first_touch_hours": "4"},
                    format="json",
                )
            assert response.status_code == 200 and response.json()["version"] == 2
        elif kind == "history":
            lead_id, steps = payload
            world.history(lead_id, steps, now)
        elif kind == "chunk":
            lead_id, begins, ends = payload
            with time_machine.travel(now, tick=False):
                state = world.state(lead_id)
            after = max(begins, now - dt.timedelta(days=3, hours=5))
            if state["last_move"] is not None:
                after = max(after, state["last_move"])
            steps = walk.steps(state["stage"], state["owner"], after, min(ends, now))
            if steps:
                world.history(lead_id, steps, now)
        elif kind == "attempt":
            lead_id, step = payload
            live_attempt(world, lead_id, now, step["outcome"], step.get("actor"))
        else:  # a live step, its follow-up scheduled
            lead_id, ends = payload
            if now > ends:
                continue
            if rng.random() < 0.3:
                world.sweep(now)
            done = live_step(world, walk, lead_id, now)
            if done is None:
                continue
            if done.get("handed_off") and rng.random() < 0.6:
                clock = latest_clock(world, lead_id, now)
                due = instant(clock["first_touch_due_at"])
                touch = due + dt.timedelta(minutes=rng.choice([0, 0, 1]))  # at or just after
                if touch < ends:
                    at(touch, "attempt", lead_id, {"outcome": "no_answer", "actor": None})
            at(now + walk.gap(done["next"]), "live", lead_id, ends)
    return named


def live_attempt(world, lead_id, now, outcome, actor_id) -> None:
    with time_machine.travel(now, tick=False):
        owner = world.state(lead_id)["owner"]
        actor = world.users.get(actor_id or owner, world.manager)
        with world.capture(execute=True):
            response = world.api_as(actor).post(
                f"/api/v1/leads/{lead_id}/attempts/",
                {"channel": "call", "outcome": outcome},
                format="json",
            )
    assert response.status_code == 201, response.json()


def latest_clock(world, lead_id, now) -> dict:
    with time_machine.travel(now, tick=False):
        clocks = world.api.get("/api/v1/sla/clocks/", {"lead": lead_id}).json()["results"]
    return max(clocks, key=lambda c: c["handoff_at"])


def live_step(world: World, walk: Walk, lead_id: int, now: dt.datetime) -> dict | None:
    """One step lived at `now` through the single endpoints; answers what happened."""
    with time_machine.travel(now, tick=False):
        state = world.state(lead_id)
        step = walk.choose(state["stage"], state["owner"], [])
        if step is None:
            return None
        if state["last_move"] is not None and state["last_move"] >= now:
            return {"next": "transition"}  # the product moved it at this instant: wait
        base = f"/api/v1/leads/{lead_id}"
        with world.capture(execute=True):
            if step["type"] == "transition":
                body = {k: v for k, v in step.items() if k in ("to", "reason", "amount")}
                response = world.api.post(f"{base}/transition/", body, format="json")
                handed = (
                    state["stage"] in oracle.BEFORE_SALES
                    and step["to"] in oracle.SALES_OR_LATER
                    and state["owner"] is not None
                )
            elif step["type"] == "assign":
                response = world.api.post(
                    f"{base}/assign/", {"owner": step["owner"]}, format="json"
                )
                handed = state["stage"] in oracle.SALES and state["owner"] is None
            elif step["actor"] in (state["owner"], world.manager.pk):
                actor = world.users[step["actor"]]
                body = {"channel": step["channel"], "outcome": step["outcome"]}
                response = world.api_as(actor).post(f"{base}/attempts/", body, format="json")
                handed = False
            else:  # someone the single endpoint refuses: written as a one-step history
                body = {"steps": [{**step, "at": now.isoformat()}]}
                response = world.api.post(f"{base}/history/", body, format="json")
                handed = False
    assert response.status_code == 201, (step, response.json())
    if step["type"] == "assign":
        world.assigned(lead_id, now, step["owner"])
    return {"next": step["type"], "handed_off": handed}


# -- the oracle ----------------------------------------------------------------------------------


def covering_agreement(agreements: list[dict], product_id: int, day: dt.date) -> str:
    """The family of the agreement covering a product on a company day (most specific)."""
    best = None
    for agreement in agreements:
        until = agreement["effective_until"]
        if dt.date.fromisoformat(agreement["effective_from"]) > day:
            continue
        if until and dt.date.fromisoformat(until) < day:
            continue
        if agreement["products"] and product_id not in agreement["products"]:
            continue
        key = (bool(agreement["products"]), agreement["effective_from"])
        if best is None or key > best[0]:
            best = (key, agreement["family"])
    assert best is not None, (product_id, day)
    return best[1]


def recompute(world: World) -> tuple[dict, list[oracle.Facts], dict, dict]:
    """Read everything back through the API at `END` and check every clock against its
    recomputation; answers the API's clocks by id and the recomputed facts."""
    api = world.api
    clocks = oracle.read_all(api, "/api/v1/sla/clocks/")
    calendars = {
        c["id"]: c for c in oracle.read_all(api, "/api/v1/sla/calendars/", {"versions": "all"})
    }
    agreements = {
        a["id"]: a for a in oracle.read_all(api, "/api/v1/sla/agreements/", {"versions": "all"})
    }
    leads = {lead["id"]: lead for lead in oracle.read_all(api, "/api/v1/leads/")}
    by_lead: dict[int, list[dict]] = {}
    for clock in clocks:
        by_lead.setdefault(clock["lead"], []).append(clock)
    owners_ever = {
        lead_id: {a.owner_id for a in rows} for lead_id, rows in world.assignments.items()
    }
    team_calendar = {
        world.rep.team_id: "New York office",
        world.tokyo_rep.team_id: "Tokyo office",
    }
    current_agreements = [a for a in agreements.values() if not a["superseded_at"]]
    records = {
        (clock_id, kind): at
        for clock_id, kind, at in SLARecord.objects.values_list("clock_id", "kind", "at")
    }
    hand = {pk: oracle.HandCalendar(c) for pk, c in calendars.items()}
    facts = []
    problems = []
    for lead_id, lead in leads.items():
        transitions = oracle.read_all(api, f"/api/v1/leads/{lead_id}/transitions/")
        attempts = oracle.read_all(api, f"/api/v1/leads/{lead_id}/attempts/")
        assignments = world.assignments.get(lead_id, [])
        handoffs = oracle.handoffs_of(transitions, assignments)
        mine = sorted(by_lead.get(lead_id, []), key=lambda c: c["handoff_at"])
        assert [instant(c["handoff_at"]) for c in mine] == [h.at for h in handoffs], lead
        for index, (clock, handoff) in enumerate(zip(mine, handoffs, strict=True)):
            following = handoffs[index + 1].at if index + 1 < len(handoffs) else None
            agreement = agreements[clock["agreement"]]
            calendar = calendars[clock["calendar"]]
            owner_at_handoff = world.users[handoff.owner_id]
            expected = oracle.clock_expected(
                clock,
                calendar=calendar,
                agreement=agreement,
                transitions=transitions,
                attempts=attempts,
                allowed=world.managers | owners_ever.get(lead_id, set()) | {clock["owner"]},
                stage_now=lead["stage"],
                next_handoff_at=following,
                now=END,
            )
            got = oracle.stored(clock)
            wrong = {
                key: (got[key], expected[key]) for key in oracle.STORED if got[key] != expected[key]
            }
            # Which calendar and agreement, and who owns it, from the facts too.
            calendar_name = team_calendar.get(owner_at_handoff.team_id, "Berlin office")
            if calendar["name"] != calendar_name:
                wrong["calendar"] = (calendar["name"], calendar_name)
            day = handoff.at.astimezone(LA).date()
            family = covering_agreement(current_agreements, lead["product"], day)
            if agreement["family"] != family:
                wrong["agreement"] = (agreement["name"], family)
            owner = oracle.owner_of(handoff, assignments, expected["closed_at"])
            if clock["owner"] != owner:
                wrong["owner"] = (clock["owner"], owner)
            # Deadlines and response time by hand, one local day at a time.
            by_hand = hand[calendar["id"]]
            hours = Decimal(agreement["first_touch_hours"])
            share = Decimal(agreement["warning_share"])
            allowance = dt.timedelta(seconds=int(hours * 3600))
            warning = dt.timedelta(seconds=int(hours * share * 3600))
            hand_due = by_hand.add(handoff.at, allowance)
            hand_warn = by_hand.add(handoff.at, warning)
            hand_window = by_hand.window_end(handoff.at, agreement["attempt_window_days"])
            for key, value in (
                ("first_touch_due_at", hand_due),
                ("warn_at", hand_warn),
                ("attempt_window_ends_at", hand_window),
            ):
                if got[key] != value:
                    wrong[f"{key} (by hand)"] = (got[key], value)
            if expected["first_touch_at"] is not None:
                spent = by_hand.elapsed(handoff.at, expected["first_touch_at"])
                seconds = int(spent.total_seconds())
                if got["response_business_seconds"] != seconds:
                    wrong["response (by hand)"] = (got["response_business_seconds"], seconds)
            # Each breach and exhaustion recorded once, at its instant.
            breach = records.get((clock["id"], SLARecord.Kind.BREACH))
            if breach != expected["breached_at"]:
                wrong["breach record"] = (breach, expected["breached_at"])
            exhaustion = records.get((clock["id"], SLARecord.Kind.EXHAUSTION))
            if exhaustion != expected["exhausted_at"]:
                wrong["exhaustion record"] = (exhaustion, expected["exhausted_at"])
            if clock["warned_at"] is not None and instant(clock["warned_at"]) < got["warn_at"]:
                wrong["warned_at"] = (clock["warned_at"], got["warn_at"])
            # An exhausted clock under a recycling agreement sent its lead back, unless the
            # lead had already moved on.
            if expected["exhausted_at"] is not None:
                back = [
                    t
                    for t in transitions
                    if t["reason"] == "sla_exhausted"
                    and instant(t["at"]) == expected["exhausted_at"]
                ]
                moved_on = any(
                    t["from_stage"] == "sql" and instant(t["at"]) >= expected["exhausted_at"]
                    for t in transitions
                    if t["reason"] != "sla_exhausted"
                )
                if agreement["exhaustion_action"] == "recycle":
                    if not back and not moved_on:
                        wrong["hand-back"] = ("none", expected["exhausted_at"])
                elif back:
                    wrong["hand-back"] = (back, "none: the agreement only notifies")
            if wrong:
                problems.append((lead["first_name"], clock["id"], wrong))
            owner_user = world.users.get(clock["owner"])
            facts.append(
                oracle.Facts(
                    clock_id=clock["id"],
                    handoff_at=handoff.at,
                    owner_id=clock["owner"],
                    team_id=owner_user.team_id if owner_user else None,
                    product_id=lead["product"],
                    agreement_id=clock["agreement"],
                    status=expected["status"],
                    response_seconds=expected["response_business_seconds"],
                    attempts=expected["attempts"],
                    over_contact=expected["over_contact"],
                    exhausted=expected["exhausted_at"] is not None,
                )
            )
    assert not problems, "\n".join(map(repr, problems))
    return {c["id"]: c for c in clocks}, facts, agreements, leads


def check_named(world, named: dict, clocks: dict, agreements: dict) -> None:
    cases = named_cases(world)
    for name, lead_id in named.items():
        (clock,) = [c for c in clocks.values() if c["lead"] == lead_id]
        for key, want in cases[name][3].items():
            if key == "_agreement":
                assert agreements[clock["agreement"]]["name"] == want, name
                continue
            got = clock[key]
            got = instant(got) if isinstance(want, dt.datetime) or key.endswith("_at") else got
            assert got == want, (name, key, got, want)


# -- the figures -------------------------------------------------------------------------------


def labels(world: World, agreements: dict, products: dict) -> dict:
    return {
        "owner": {pk: user.get_full_name() or user.username for pk, user in world.users.items()},
        "team": {None: "No team", **{t.pk: t.name for t in Team.objects.all()}},
        "product": {pk: p["name"] for pk, p in products.items()},
        "agreement": {pk: f"{a['name']} v{a['version']}" for pk, a in agreements.items()},
    }


def check_api_row(row: dict, want: dict, where) -> None:
    for key in ("handoffs", "met", "breached", "over_contact", "exhausted"):
        assert row[key] == want[key], (where, key, row[key], want[key])
    for key in ("met_rate", "median_hours", "p90_hours", "attempts_per_lead"):
        if want[key] is None:
            assert row[key] is None, (where, key, row[key])
        else:
            assert row[key] == pytest.approx(float(want[key]), abs=1e-9), (where, key)


def check_csv_row(row: dict, want: dict, where) -> None:
    for key in ("handoffs", "met", "breached", "over_contact", "exhausted"):
        assert int(row[key]) == want[key], (where, key)
    for key in ("met_rate", "median_hours", "p90_hours", "attempts_per_lead"):
        if want[key] is None:
            assert row[key] == "", (where, key, row[key])
        else:
            assert float(row[key]) == pytest.approx(float(want[key]), abs=5e-5), (where, key)


def page_tables(client, query: dict) -> dict:
    response = client.get("/sla/compliance/", query)
    assert response.status_code == 200, query
    return oracle.tables(response.content.decode())


def csv_rows(client, query: dict) -> list[dict]:
    response = client.get("/sla/compliance.csv", query)
    assert response.status_code == 200, query
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def check_figures(world, client, facts, agreements, leads, first, last) -> None:
    """`GET sla/compliance/`, the page and the CSVs for the company days first..last."""
    start, end = la(first.year, first.month, first.day), la(last.year, last.month, last.day)
    end += dt.timedelta(days=1)
    chosen = oracle.in_period(facts, start, end)
    assert chosen, "the period holds hand-offs"
    products = {p["id"]: p for p in oracle.read_all(world.api, "/api/v1/products/")}
    names = labels(world, agreements, products)
    period = {"start": first.isoformat(), "end": last.isoformat()}
    for group_by in oracle.GROUP_KEYS:
        want = oracle.compliance_rows(chosen, group_by)
        body = world.api.get("/api/v1/sla/compliance/", {**period, "group_by": group_by}).json()
        assert instant(body["start"]) == start and instant(body["end"]) == end
        assert instant(body["as_of"]) == END
        rows = {row["group"]: row for row in body["rows"]}
        assert set(rows) == set(want), group_by
        for key, expected in want.items():
            assert rows[key]["label"] == names[group_by][key], (group_by, key)
            check_api_row(rows[key], expected, (group_by, key))

        page = page_tables(client, {**period, "group_by": group_by})
        shown = {cells[0]: cells for cells in page["compliance-groups"][1:]}
        assert set(shown) == {names[group_by][key] for key in want}, group_by
        for key, expected in want.items():
            cells = shown[names[group_by][key]]
            assert cells[1:] == [
                str(expected["handoffs"]),
                oracle.percent_shown(expected["met_rate"]),
                oracle.one_decimal(expected["median_hours"]),
                oracle.one_decimal(expected["p90_hours"]),
                str(expected["breached"]),
                str(expected["over_contact"]),
                str(expected["exhausted"]),
                oracle.one_decimal(expected["attempts_per_lead"]),
            ], (group_by, key)

        exported = csv_rows(client, {**period, "group_by": group_by, "table": "groups"})
        assert {row[group_by] for row in exported} == set(shown), group_by
        for row in exported:
            key = next(k for k in want if names[group_by][k] == row[group_by])
            check_csv_row(row, want[key], (group_by, key))

    # Per week of hand-off, weeks starting on Monday in the company's zone.
    weeks = oracle.weekly_rows(chosen, LA)
    body = world.api.get("/api/v1/sla/compliance/", period).json()
    got = {dt.date.fromisoformat(w["week"]): w for w in body["weeks"]}
    assert set(got) == set(weeks)
    for week, expected in weeks.items():
        for key in ("handoffs", "met", "breached"):
            assert got[week][key] == expected[key], (week, key)
        rate = expected["met_rate"]
        assert got[week]["met_rate"] == (None if rate is None else pytest.approx(float(rate)))
    page = page_tables(client, period)
    shown = page["compliance-weeks"][1:]
    assert [cells[0] for cells in shown] == [f"{w.day} {w:%b %Y}" for w in sorted(weeks)]
    for cells, week in zip(shown, sorted(weeks), strict=True):
        expected = weeks[week]
        assert cells[1:] == [
            str(expected["handoffs"]),
            str(expected["met"]),
            str(expected["breached"]),
            oracle.percent_shown(expected["met_rate"]),
        ], week
    exported = csv_rows(client, {**period, "table": "weeks"})
    assert [dt.date.fromisoformat(row["week"]) for row in exported] == sorted(weeks)
    for row in exported:
        expected = weeks[dt.date.fromisoformat(row["week"])]
        for key in ("handoffs", "met", "breached"):
            assert int(row[key]) == expected[key]
        rate = expected["met_rate"]
        assert (row["met_rate"] == "") == (rate is None)

    # Marketing's commitments: per company month that the period touches.
    commitments = oracle.commitment_rows(
        agreements=list(agreements.values()),
        products=products,
        leads=list(leads.values()),
        start=start,
        end=end - dt.timedelta(seconds=1),
        now=END,
        zone=LA,
    )
    got = {
        (row["agreement_id"], row["product_id"], dt.date.fromisoformat(row["month"])): row
        for row in body["commitments"]
    }
    assert set(got) == set(commitments)
    for key, expected in commitments.items():
        row = got[key]
        for field in ("delivered", "committed", "status", "stage"):
            assert row[field] == expected[field], (key, field, row[field], expected[field])
        exact = expected["expected_exact"]
        assert abs(Decimal(str(row["expected_by_now"])) - exact) <= Decimal("0.01"), (key, exact)
    exported = csv_rows(client, {**period, "table": "commitments"})
    assert len(exported) == len(commitments)
    by_label = {(row["agreement"], row["product_name"], row["month"]): row for row in exported}
    for (_, _, month), expected in commitments.items():
        row = by_label[(expected["agreement"], expected["product_name"], month.isoformat())]
        assert int(row["delivered"]) == expected["delivered"]
        assert int(row["committed"]) == expected["committed"]
        assert row["status"] == expected["status"]
    shown = page["compliance-commitments"][1:]
    assert sorted((cells[0], cells[1], cells[3], cells[4]) for cells in shown) == sorted(
        (
            f"{month:%B %Y}",
            expected["product_name"],
            str(expected["delivered"]),
            str(expected["committed"]),
        )
        for (_, _, month), expected in commitments.items()
    )


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_compliance_figures_equal_a_recomputation_from_clocks_and_attempts(
    seed, settings, api_as, client, manager, outsider_rep, django_capture_on_commit_callbacks
):
    settings.TIME_ZONE = COMPANY_ZONE
    world = World(api_as, django_capture_on_commit_callbacks, manager, outsider_rep)
    named = write_histories(world, seed, leads_per_way=8)

    with time_machine.travel(END, tick=False):
        clocks, facts, agreements, leads = recompute(world)
        check_named(world, named, clocks, agreements)
        statuses = {f.status for f in facts}
        assert statuses == {"met", "breached", "pending"}, statuses
        assert any(f.exhausted for f in facts) and any(f.over_contact for f in facts)
        client.force_login(manager)
        # The whole story, then a stretch whose edges are company midnights inside it.
        whole = (dt.date(2026, 2, 23), dt.date(2026, 4, 3))
        check_figures(world, client, facts, agreements, leads, *whole)
        check_figures(world, client, facts, agreements, leads, dt.date(2026, 3, 8), END.date())


def test_the_fraction_shown_for_a_rate_is_its_percentage_with_one_decimal():
    assert oracle.percent_shown(Fraction(2, 3)) == "66.7%"
    assert oracle.percent_shown(Fraction(1, 2)) == "50%"
    assert oracle.percent_shown(Fraction(1, 16)) == "6.3%"
    assert oracle.percent_shown(None) == "—"
    assert oracle.percentile([10, 20, 30, 40], Fraction(9, 10)) == 37
