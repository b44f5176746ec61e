"""Writes of the SLA app: calendars, agreements, clocks, the sweep and commitment checks.

Every function is keyword-only and atomic, reads the clock once, and sends notifications and
integration events only for what it committed (notifications are rows in the same
transaction; emails and webhook events go out after commit). Deadline arithmetic lives in
`sla.clock_rules`; this module only stores and acts on it.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.utils import timezone

from accounts.models import Notification, Role, Team, User
from accounts.services import notification_send
from leads.lifecycle import SALES_STAGES, Stage
from leads.models import ContactAttempt, Lead, Product, RoutingAssignment
from sla import clock_rules
from sla.models import (
    BusinessCalendar,
    CommitmentRisk,
    SLAAgreement,
    SLAClock,
    SLARecord,
    TeamCalendar,
)
from smarketing.api_support import DomainError
from smarketing.events import emit, emit_many

logger = logging.getLogger(__name__)

EXHAUSTED_REASON = "sla_exhausted"
# Clocks claimed per transaction by the sweep: few round trips, short enough locks.
SWEEP_BATCH = 5000


# -- calendars -----------------------------------------------------------------------------------


def calendar_engine_for(calendar: BusinessCalendar):
    """The `business_hours.BusinessCalendar` of a stored calendar version (cached)."""
    return clock_rules.calendar_engine(
        cache_key=("calendar", calendar.pk, calendar.version, calendar.superseded_at is None),
        time_zone=calendar.time_zone,
        hours=calendar.hours,
        holiday_country=calendar.holiday_country,
        holiday_subdivision=calendar.holiday_subdivision,
        custom_holidays=calendar.custom_holidays,
    )


CALENDAR_FIELDS = (
    "name",
    "time_zone",
    "hours",
    "holiday_country",
    "holiday_subdivision",
    "custom_holidays",
    "is_default",
)


def _calendar_validate(values: dict) -> None:
    if not str(values.get("name", "")).strip():
        raise DomainError("Give the calendar a name.", field="name")
    try:
        hours = clock_rules.parse_hours(values.get("hours"))
    except ValueError as exc:
        raise DomainError(str(exc), field="hours") from exc
    if not any(hours.values()):
        raise DomainError("A calendar needs at least one opening interval.", field="hours")
    try:
        clock_rules.parse_dates(values.get("custom_holidays") or [])
    except ValueError as exc:
        raise DomainError(str(exc), field="custom_holidays") from exc
    try:
        clock_rules.holiday_dates(
            values.get("holiday_country", ""), values.get("holiday_subdivision", "")
        )
    except ValueError as exc:
        raise DomainError(str(exc), field="holiday_country") from exc
    try:
        clock_rules.calendar_engine(
            cache_key=None,
            time_zone=values.get("time_zone", ""),
            hours=values.get("hours"),
            custom_holidays=values.get("custom_holidays") or [],
        )
    except ValueError as exc:
        field_name = "time_zone" if "time zone" in str(exc) else "hours"
        raise DomainError(str(exc), field=field_name) from exc


def _normalise_calendar(values: dict) -> dict:
    values = dict(values)
    values["hours"] = clock_rules.format_hours(clock_rules.parse_hours(values["hours"]))
    values["custom_holidays"] = sorted(
        {d.isoformat() for d in clock_rules.parse_dates(values.get("custom_holidays") or [])}
    )
    values["holiday_country"] = (values.get("holiday_country") or "").upper()
    values["holiday_subdivision"] = (values.get("holiday_subdivision") or "").upper()
    return values


def _assign_teams(calendar: BusinessCalendar, teams: Iterable[Team]) -> None:
    teams = list(teams)
    TeamCalendar.objects.filter(calendar=calendar).exclude(team__in=teams).delete()
    for team in teams:
        TeamCalendar.objects.update_or_create(team=team, defaults={"calendar": calendar})


def calendar_create(*, data: dict, teams: Iterable[Team] = ()) -> BusinessCalendar:
    """Create a calendar; `teams` start counting in it (moved from any other calendar)."""
    values = {key: data[key] for key in CALENDAR_FIELDS if key in data}
    _calendar_validate(values)
    values = _normalise_calendar(values)
    with transaction.atomic():
        if values.get("is_default"):
            BusinessCalendar.objects.filter(is_default=True, superseded_at__isnull=True).update(
                is_default=False
            )
        calendar = BusinessCalendar.objects.create(**values)
        _assign_teams(calendar, teams)
    return calendar


def calendar_update(
    *,
    calendar: BusinessCalendar,
    data: dict,
    teams: Iterable[Team] | None = None,
    now: datetime | None = None,
) -> BusinessCalendar:
    """Edit a calendar. Used by a clock already: a new version is created and answered, and
    the old one is kept, superseded, for the clocks that started under it."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        if locked.superseded_at is not None:
            raise DomainError("This calendar version was replaced; edit the current version.")
        values = {key: getattr(locked, key) for key in CALENDAR_FIELDS}
        values.update({key: data[key] for key in CALENDAR_FIELDS if key in data})
        _calendar_validate(values)
        values = _normalise_calendar(values)
        if values.get("is_default"):
            BusinessCalendar.objects.filter(is_default=True, superseded_at__isnull=True).exclude(
                pk=locked.pk
            ).update(is_default=False)
        if SLAClock.objects.filter(calendar=locked).exists():
            locked.superseded_at = now
            locked.save(update_fields=["superseded_at"])
            current = BusinessCalendar.objects.create(
                family=locked.family, version=locked.version + 1, **values
            )
            TeamCalendar.objects.filter(calendar=locked).update(calendar=current)
        else:
            for key, value in values.items():
                setattr(locked, key, value)
            locked.save()
            current = locked
        if teams is not None:
            _assign_teams(current, teams)
    return current


def calendar_delete(*, calendar: BusinessCalendar) -> None:
    if SLAClock.objects.filter(calendar__family=calendar.family).exists():
        raise DomainError(
            "Clocks have counted time in this calendar; it is kept so their history stays "
            "true. Edit it instead (edits apply to new clocks only)."
        )
    BusinessCalendar.objects.filter(family=calendar.family).delete()


# -- agreements ----------------------------------------------------------------------------------

AGREEMENT_FIELDS = (
    "name",
    "status",
    "effective_from",
    "effective_until",
    "goals",
    "roles",
    "obligations",
    "lead_management_protocol",
    "handoff_process",
    "compensation_basis",
    "leads_per_product_per_month",
    "commitment_stage",
    "commitment_persona",
    "first_touch_hours",
    "max_attempts",
    "attempt_window_days",
    "warning_share",
    "exhaustion_action",
)


def _agreement_validate(agreement: SLAAgreement) -> None:
    try:
        agreement.full_clean(exclude=["family", "version", "created_by"])
    except ValidationError as exc:
        field_name, messages = next(iter(exc.message_dict.items()))
        raise DomainError(
            messages[0], field=None if field_name == "__all__" else field_name
        ) from exc


def agreement_create(
    *, data: dict, products=(), personas=(), actor: User | None = None
) -> SLAAgreement:
    values = {key: data[key] for key in AGREEMENT_FIELDS if key in data}
    agreement = SLAAgreement(created_by=actor, **values)
    _agreement_validate(agreement)
    with transaction.atomic():
        agreement.save()
        agreement.products.set(products)
        agreement.personas.set(personas)
    return agreement


def agreement_update(
    *,
    agreement: SLAAgreement,
    data: dict,
    products=None,
    personas=None,
    actor: User | None = None,
    now: datetime | None = None,
) -> SLAAgreement:
    """Edit an agreement. Once a clock started under it, the edit is a new version (the old
    one is superseded and keeps its clocks); otherwise it is edited in place."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = SLAAgreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.superseded_at is not None:
            raise DomainError("This agreement version was replaced; edit the current version.")
        products = list(locked.products.all()) if products is None else list(products)
        personas = list(locked.personas.all()) if personas is None else list(personas)
        values = {key: getattr(locked, key) for key in AGREEMENT_FIELDS}
        values.update({key: data[key] for key in AGREEMENT_FIELDS if key in data})
        if SLAClock.objects.filter(agreement=locked).exists():
            current = SLAAgreement(
                family=locked.family, version=locked.version + 1, created_by=actor, **values
            )
            _agreement_validate(current)
            locked.superseded_at = now
            locked.status = SLAAgreement.Status.SUPERSEDED
            locked.save(update_fields=["superseded_at", "status"])
            current.save()
        else:
            for key, value in values.items():
                setattr(locked, key, value)
            _agreement_validate(locked)
            locked.save()
            current = locked
        current.products.set(products)
        current.personas.set(personas)
    return current


def agreement_delete(*, agreement: SLAAgreement) -> None:
    if SLAClock.objects.filter(agreement__family=agreement.family).exists():
        raise DomainError(
            "Clocks started under this agreement; it is kept as their record. Set an end "
            "date (effective until) to stop it applying to new hand-offs."
        )
    SLAAgreement.objects.filter(family=agreement.family).delete()


def _agreement_for(
    coverage: Sequence[tuple[SLAAgreement, frozenset[int], frozenset[int]]],
    lead: dict,
    on: datetime,
):
    """The agreement covering a lead's product/persona on a day; most specific wins.

    `coverage` holds each agreement with the ids of its products and personas (empty: all),
    read once per batch rather than once per lead.
    """
    day = on.astimezone(UTC).date()
    best, best_key = None, None
    for agreement, product_ids, persona_ids in coverage:
        if agreement.effective_from > day or (
            agreement.effective_until is not None and agreement.effective_until < day
        ):
            continue
        if product_ids and lead["product_id"] not in product_ids:
            continue
        if persona_ids and lead["persona_id"] not in persona_ids:
            continue
        key = (bool(product_ids), bool(persona_ids), agreement.effective_from, agreement.pk)
        if best_key is None or key > best_key:
            best, best_key = agreement, key
    return best


def _terms(agreement: SLAAgreement) -> clock_rules.Terms:
    return clock_rules.Terms(
        first_touch_hours=agreement.first_touch_hours,
        max_attempts=agreement.max_attempts,
        attempt_window_days=agreement.attempt_window_days,
        warning_share=agreement.warning_share,
    )


# -- clocks: start, attempts, reassignment, closing -------------------------------------------


def clocks_start(*, handoffs: Sequence, now: datetime | None = None) -> list[SLAClock]:
    """Start one clock per hand-off (`leads.signals.HandOff`), set-based and idempotent.

    The agreement is the active one covering the lead's product and persona on the hand-off
    day; the calendar is the owner's team's, else the default one. Hand-offs no agreement or
    calendar covers start no clock (logged). A hand-off that already has a clock is skipped.
    """
    now = now or timezone.now()
    if not handoffs:
        return []
    leads = {
        row["id"]: row
        for row in Lead.objects.filter(pk__in={h.lead_id for h in handoffs}).values(
            "id", "product_id", "persona_id", "stage"
        )
    }
    owner_teams = dict(
        User.objects.filter(pk__in={h.owner_id for h in handoffs}).values_list("id", "team_id")
    )
    team_calendars = {
        row.team_id: row.calendar
        for row in TeamCalendar.objects.filter(
            team_id__in={t for t in owner_teams.values() if t}
        ).select_related("calendar")
    }
    default_calendar = BusinessCalendar.objects.filter(
        is_default=True, superseded_at__isnull=True
    ).first()
    coverage = [
        (
            agreement,
            frozenset(p.pk for p in agreement.products.all()),
            frozenset(p.pk for p in agreement.personas.all()),
        )
        for agreement in SLAAgreement.objects.filter(
            status=SLAAgreement.Status.ACTIVE, superseded_at__isnull=True
        ).prefetch_related("products", "personas")
    ]
    # A batch's hand-offs share a few products, personas, instants and calendars: each
    # agreement choice and each set of deadlines is worked out once per distinct case.
    chosen: dict[tuple, SLAAgreement | None] = {}
    deadlines: dict[tuple, clock_rules.Deadlines] = {}
    clocks = []
    for handoff in handoffs:
        lead = leads.get(handoff.lead_id)
        if lead is None or lead["stage"] not in SALES_STAGES:
            continue
        case = (lead["product_id"], lead["persona_id"], handoff.at)
        if case not in chosen:
            chosen[case] = _agreement_for(coverage, lead, handoff.at)
        agreement = chosen[case]
        calendar = team_calendars.get(owner_teams.get(handoff.owner_id)) or default_calendar
        if agreement is None or calendar is None:
            logger.warning(
                "No SLA clock for lead %s: no %s covers it.",
                handoff.lead_id,
                "agreement" if agreement is None else "calendar",
            )
            continue
        timing = (calendar.pk, agreement.pk, handoff.at)
        due = deadlines.get(timing)
        if due is None:
            due = deadlines[timing] = clock_rules.deadlines(
                calendar_engine_for(calendar), handoff.at, _terms(agreement)
            )
        clocks.append(
            SLAClock(
                lead_id=handoff.lead_id,
                owner_id=handoff.owner_id,
                agreement=agreement,
                calendar=calendar,
                handoff_at=handoff.at,
                first_touch_due_at=due.first_touch_due_at,
                warn_at=due.warn_at,
                attempt_window_ends_at=due.attempt_window_ends_at,
            )
        )
    if not clocks:
        return []
    with transaction.atomic():
        SLAClock.objects.bulk_create(clocks, ignore_conflicts=True)
        # Back-filled hand-offs may already have attempts: count them.
        with_attempts = set(
            ContactAttempt.objects.filter(
                lead_id__in={c.lead_id for c in clocks},
                occurred_at__gte=min(c.handoff_at for c in clocks),
            ).values_list("lead_id", flat=True)
        )
        if with_attempts:
            clocks_recount(lead_ids=with_attempts, now=now)
    return clocks


def clocks_record_attempts(*, attempt_ids: Iterable[int], now: datetime | None = None) -> None:
    """Contact attempts were logged: recount the clocks of their leads (idempotent)."""
    lead_ids = set(
        ContactAttempt.objects.filter(pk__in=list(attempt_ids)).values_list("lead_id", flat=True)
    )
    if lead_ids:
        clocks_recount(lead_ids=lead_ids, now=now)


def _counted_actor_ids(lead_ids: set[int]) -> tuple[set[int], dict[int, set[int]]]:
    """Managers (count on any lead), and each lead's past and present owners."""
    managers = set(
        User.objects.filter(Q(groups__name=Role.MANAGER) | Q(is_superuser=True)).values_list(
            "id", flat=True
        )
    )
    owners: dict[int, set[int]] = defaultdict(set)
    for lead_id, owner_id in RoutingAssignment.objects.filter(
        lead_id__in=lead_ids, owner__isnull=False
    ).values_list("lead_id", "owner_id"):
        owners[lead_id].add(owner_id)
    return managers, owners


def clocks_recount(*, lead_ids: Iterable[int], now: datetime | None = None) -> None:
    """Recompute first touch, status, attempts and over-contact of the leads' clocks from the
    attempts table, so a repeated or out-of-order signal changes nothing twice.

    Attempts count when made by the clock's owner, a previous owner of the lead, or a
    manager (human sales touches); each attempt belongs to the lead's latest clock started
    at or before it. A first attempt after the due instant keeps (or makes) the clock
    breached and records the real response time. The A-th attempt without progress runs
    the exhaustion action once.
    """
    now = now or timezone.now()
    lead_ids = set(lead_ids)
    with transaction.atomic():
        clocks = list(
            SLAClock.objects.select_for_update(of=("self",))
            .filter(lead_id__in=lead_ids)
            .select_related("agreement", "calendar", "lead")
            .order_by("lead_id", "handoff_at")
        )
        if not clocks:
            return
        managers, past_owners = _counted_actor_ids(lead_ids)
        attempts_by_lead: dict[int, list] = defaultdict(list)
        for row in (
            ContactAttempt.objects.filter(lead_id__in=lead_ids)
            .order_by("occurred_at", "id")
            .values("lead_id", "actor_id", "occurred_at", "outcome")
        ):
            attempts_by_lead[row["lead_id"]].append(row)
        next_handoff: dict[int, datetime | None] = {}
        for clock, following in zip(clocks, [*clocks[1:], None], strict=True):
            same_lead = following is not None and following.lead_id == clock.lead_id
            next_handoff[clock.pk] = following.handoff_at if same_lead else None

        changed, late, exhausted = [], [], []
        for clock in clocks:
            allowed = managers | past_owners.get(clock.lead_id, set()) | {clock.owner_id}
            until = next_handoff[clock.pk]
            counted = [
                clock_rules.Attempt(row["occurred_at"], row["outcome"])
                for row in attempts_by_lead.get(clock.lead_id, [])
                if row["occurred_at"] >= clock.handoff_at
                and (until is None or row["occurred_at"] < until)
                and row["actor_id"] in allowed
            ]
            result = clock_rules.attempts_outcome(
                counted,
                first_touch_due_at=clock.first_touch_due_at,
                attempt_window_ends_at=clock.attempt_window_ends_at,
                max_attempts=clock.agreement.max_attempts,
            )
            before = (
                clock.first_touch_at,
                clock.status,
                clock.attempts,
                clock.over_contact,
                clock.response_business_seconds,
            )
            clock.attempts = result.attempts
            clock.over_contact = result.over_contact
            if result.first_touch_at is not None:
                clock.first_touch_at = result.first_touch_at
                clock.response_business_seconds = clock_rules.response_seconds(
                    calendar_engine_for(clock.calendar), clock.handoff_at, result.first_touch_at
                )
                if clock.status == SLAClock.Status.PENDING:
                    if result.first_touch_met:
                        clock.status = SLAClock.Status.MET
                    else:
                        clock.status = SLAClock.Status.BREACHED
                        clock.breached_at = now
                        late.append(clock)
            after = (
                clock.first_touch_at,
                clock.status,
                clock.attempts,
                clock.over_contact,
                clock.response_business_seconds,
            )
            if after != before:
                changed.append(clock)
            if (
                result.allowance_used_without_progress
                and clock.exhausted_at is None
                and clock.closed_at is None
                and clock.lead.stage == Stage.SQL
            ):
                clock.exhausted_at = now
                exhausted.append(clock)
                if clock not in changed:
                    changed.append(clock)
        if changed:
            SLAClock.objects.bulk_update(
                changed,
                [
                    "first_touch_at",
                    "response_business_seconds",
                    "status",
                    "breached_at",
                    "attempts",
                    "over_contact",
                    "exhausted_at",
                ],
            )
        if late:
            _records(SLARecord.Kind.BREACH, [c.pk for c in late], now, detail="late first touch")
            _alert_breaches([c.pk for c in late], now)
        if exhausted:
            _exhaust([c.pk for c in exhausted], now, detail="attempts used without progress")


def clocks_reassign(*, assignments: Sequence) -> int:
    """The lead's owner changed: its open clocks follow the lead (they are not reset).

    One statement for the batch, whatever the number of owners."""
    latest = {a.lead_id: a.owner_id for a in sorted(assignments, key=lambda a: a.at)}
    if not latest:
        return 0
    by_owner: dict[int | None, list[int]] = defaultdict(list)
    for lead_id, owner_id in latest.items():
        by_owner[owner_id].append(lead_id)
    new_owner = Case(
        *(
            When(lead_id__in=lead_ids, then=Value(owner_id, output_field=BigIntegerField()))
            for owner_id, lead_ids in by_owner.items()
        ),
        default=F("owner_id"),
        output_field=BigIntegerField(),
    )
    return SLAClock.objects.filter(lead_id__in=list(latest), closed_at__isnull=True).update(
        owner_id=new_owner
    )


def clocks_close(*, changes: Sequence) -> int:
    """Leads left the sales stages: their open clocks stop (closed at the change instant).

    Only a move out of a sales stage can close a clock (a lead outside them has none open),
    so a batch of leads qualifying to mql costs no query here."""
    leaving: dict[datetime, list[int]] = defaultdict(list)
    for change in changes:
        if change.from_stage in SALES_STAGES and change.to_stage not in SALES_STAGES:
            leaving[change.at].append(change.lead_id)
    if not leaving:
        return 0
    closed = 0
    with transaction.atomic():
        for at, lead_ids in leaving.items():
            closed += SLAClock.objects.filter(
                lead_id__in=lead_ids, closed_at__isnull=True, handoff_at__lte=at
            ).update(closed_at=at)
    return closed


# -- the sweep -----------------------------------------------------------------------------------


@dataclass
class SweepResult:
    breached: list[int] = field(default_factory=list)
    warned: list[int] = field(default_factory=list)
    exhausted: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)


def clocks_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> SweepResult:
    """Mark breaches, send warnings and run exhaustion actions that are due at `now`.

    Each batch is claimed with `SELECT … FOR UPDATE SKIP LOCKED` on a partial index of the
    stored deadlines and committed with its records and notifications, so several sweeps
    at once split the work, each event happens exactly once (also guarded by a unique
    record per clock and kind), and a sweep that dies half-way loses only its uncommitted
    batch, which the next sweep picks up. Cost grows with the clocks due, not with leads.
    """
    now = now or timezone.now()
    result = SweepResult()
    while True:
        batch = _sweep_breaches(now, batch_size)
        result.breached += batch
        if len(batch) < batch_size:
            break
    while True:
        batch = _sweep_warnings(now, batch_size)
        result.warned += batch
        if len(batch) < batch_size:
            break
    while True:
        exhausted, closed = _sweep_windows(now, batch_size)
        result.exhausted += exhausted
        result.closed += closed
        if len(exhausted) + len(closed) < batch_size:
            break
    return result


def _claim(queryset, order: str, batch_size: int) -> dict[int, int | None]:
    """Lock up to `batch_size` due clocks nobody else holds: {clock id: owner id}."""
    return dict(
        queryset.select_for_update(skip_locked=True)
        .order_by(order)
        .values_list("id", "owner_id")[:batch_size]
    )


# An `sla.*` integration event describes one clock: payload key → column. The same dicts
# drive the owners' digests, so a claimed batch becomes events without a second read.
EVENT_FIELDS = {
    "clock": "id",
    "lead": "lead_id",
    "owner": "owner_id",
    "agreement": "agreement_id",
    "status": "status",
    "handoff_at": "handoff_at",
    "first_touch_due_at": "first_touch_due_at",
    "first_touch_at": "first_touch_at",
    "attempts": "attempts",
    "attempt_window_ends_at": "attempt_window_ends_at",
    "over_contact": "over_contact",
    "exhausted_at": "exhausted_at",
}
# Sent as ISO 8601 text (`datetime.isoformat()` of the UTC instant).
EVENT_TIMESTAMPS = frozenset(
    {"handoff_at", "first_touch_due_at", "first_touch_at", "attempt_window_ends_at", "exhausted_at"}
)


def _event(row: Sequence) -> dict:
    """The event payload of a clock read as a row of `EVENT_FIELDS`' columns."""
    return {
        key: (value.isoformat() if value else None) if key in EVENT_TIMESTAMPS else value
        for key, value in zip(EVENT_FIELDS, row, strict=True)
    }


def _clock_events(clock_ids: list[int]) -> list[dict]:
    """Event payloads of the clocks, in deadline order."""
    rows = (
        SLAClock.objects.filter(pk__in=clock_ids)
        .order_by("first_touch_due_at", "id")
        .values_list(*EVENT_FIELDS.values())
    )
    return [_event(row) for row in rows]


def _iso_sql(column: str) -> str:
    """SQL formatting a timestamptz `column` exactly as `_event` does in Python: the UTC
    instant, with microseconds only when there are any (as `datetime.isoformat()`).

    Formatting in the claim statement spares the sweep a Python datetime per value, which
    for a batch of thousands of clocks cost more than the statement's own writes."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN date_trunc('second', {column}) = {column} "
        f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') """
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') END"""
    )


# Per sweep kind: which pending clocks are due, in which order they are taken, and what
# claiming one changes. The PostgreSQL statement and the ORM fallback say the same thing.
_SWEEPS = {
    SLARecord.Kind.BREACH: (
        "first_touch_due_at",
        "closed_at IS NULL AND first_touch_due_at <= %(now)s",
        "status = %(breached)s, breached_at = %(now)s",
    ),
    SLARecord.Kind.WARNING: (
        "warn_at",
        "warned_at IS NULL AND closed_at IS NULL AND warn_at <= %(now)s",
        "warned_at = %(now)s",
    ),
}


def _claim_sql(kind: str) -> str:
    """One statement: claim due pending clocks (skipping those another sweep holds), change
    them and record the event; answers the claimed clocks' event payloads in deadline
    order."""
    order, due, changes = _SWEEPS[kind]
    clock = SLAClock._meta.db_table
    record = SLARecord._meta.db_table
    # The claimed clocks come back as their event payloads, timestamps already as text.
    returned = ", ".join(
        f'{_iso_sql(f"c.{column}") if key in EVENT_TIMESTAMPS else f"c.{column}"} AS "{key}"'
        for key, column in EVENT_FIELDS.items()
    )
    payload = ", ".join(f'"{key}"' for key in EVENT_FIELDS)
    return f"""
        WITH due AS (
            SELECT id FROM {clock}
            WHERE status = %(pending)s AND {due}
            ORDER BY {order}
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            -- By key, not joined: a join may be planned as a scan of every clock.
            UPDATE {clock} AS c SET {changes}
            WHERE c.id = ANY(ARRAY(SELECT id FROM due))
            RETURNING {returned}, c.{order} AS claim_order
        ), recorded AS (
            INSERT INTO {record} (clock_id, kind, at, owner_id, detail)
            SELECT clock, %(kind)s, %(now)s, owner, '' FROM claimed
        )
        SELECT {payload} FROM claimed ORDER BY claim_order, clock
    """


def _sweep_claim(kind: str, now: datetime, batch_size: int) -> list[dict]:
    """Claim a batch of clocks due for `kind` (breach or warning) in the caller's
    transaction, apply the change, record it; the claimed clocks' event payloads."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _claim_sql(kind),
                {
                    "now": now,
                    "limit": batch_size,
                    "pending": SLAClock.Status.PENDING,
                    "breached": SLAClock.Status.BREACHED,
                    "kind": kind,
                },
            )
            return [dict(zip(EVENT_FIELDS, row, strict=True)) for row in cursor.fetchall()]
    pending = SLAClock.objects.filter(status=SLAClock.Status.PENDING, closed_at__isnull=True)
    if kind == SLARecord.Kind.BREACH:
        owners = _claim(
            pending.filter(first_touch_due_at__lte=now), "first_touch_due_at", batch_size
        )
        changes = {"status": SLAClock.Status.BREACHED, "breached_at": now}
    else:
        owners = _claim(
            pending.filter(warned_at__isnull=True, warn_at__lte=now), "warn_at", batch_size
        )
        changes = {"warned_at": now}
    ids = list(owners)
    SLAClock.objects.filter(pk__in=ids).update(**changes)
    _records(kind, ids, now, owners=owners)
    return _clock_events(ids)


def _sweep_breaches(now: datetime, batch_size: int) -> list[int]:
    with transaction.atomic():
        events = _sweep_claim(SLARecord.Kind.BREACH, now, batch_size)
        _alert_breach_events(events, now)
    return [event["clock"] for event in events]


def _sweep_warnings(now: datetime, batch_size: int) -> list[int]:
    with transaction.atomic():
        events = _sweep_claim(SLARecord.Kind.WARNING, now, batch_size)
        _alert(
            "warning",
            events,
            now,
            with_manager=False,
            title_one="First touch due soon: {lead}",
            title_many="First touch due soon on {n} leads",
            body="The first-touch deadline is {due}. Log an attempt before then.",
        )
    return [event["clock"] for event in events]


def _sweep_windows(now: datetime, batch_size: int) -> tuple[list[int], list[int]]:
    with transaction.atomic():
        rows = list(
            SLAClock.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                exhausted_at__isnull=True,
                closed_at__isnull=True,
                attempt_window_ends_at__lte=now,
            )
            .order_by("attempt_window_ends_at")
            .values_list("id", "lead__stage")[:batch_size]
        )
        if not rows:
            return [], []
        exhausted = [pk for pk, stage in rows if stage == Stage.SQL]
        # The lead moved forward (or out) before the window closed: nothing to exhaust.
        closed = [pk for pk, stage in rows if stage != Stage.SQL]
        if closed:
            SLAClock.objects.filter(pk__in=closed).update(closed_at=now)
        if exhausted:
            SLAClock.objects.filter(pk__in=exhausted).update(exhausted_at=now)
            _exhaust(exhausted, now, detail="attempt window closed")
    return exhausted, closed


def _records(
    kind: str, clock_ids: list[int], now: datetime, detail: str = "", owners: dict | None = None
) -> None:
    if owners is None:
        owners = dict(SLAClock.objects.filter(pk__in=clock_ids).values_list("id", "owner_id"))
    SLARecord.objects.bulk_create(
        [
            SLARecord(clock_id=pk, kind=kind, at=now, owner_id=owners.get(pk), detail=detail)
            for pk in clock_ids
        ]
    )


def _exhaust(clock_ids: list[int], now: datetime, *, detail: str) -> None:
    """Run the exhaustion action of clocks just claimed as exhausted (inside their batch)."""
    from leads.services import lead_transition

    _records(SLARecord.Kind.EXHAUSTION, clock_ids, now, detail=detail)
    recycle = list(
        SLAClock.objects.filter(
            pk__in=clock_ids,
            agreement__exhaustion_action=SLAAgreement.ExhaustionAction.RECYCLE,
        ).values_list("lead_id", flat=True)
    )
    if recycle:
        # Lock the leads, then move those still in sql (a rep may have just moved one on).
        in_sql = Lead.objects.select_for_update().filter(pk__in=recycle, stage=Stage.SQL)
        for lead_id in in_sql.values_list("id", flat=True):
            try:
                lead_transition(
                    lead=lead_id, to_stage=Stage.RECYCLED, reason=EXHAUSTED_REASON, now=now
                )
            except DomainError as exc:
                logger.warning("SLA exhaustion could not recycle lead %s: %s", lead_id, exc)
    _alert(
        "exhausted",
        _clock_events(clock_ids),
        now,
        with_manager=True,
        title_one="SLA attempts exhausted: {lead}",
        title_many="SLA attempts exhausted on {n} leads",
        body="The agreed attempts or window are used up; the agreement's exhaustion action ran.",
    )


def _alert_breaches(clock_ids: list[int], now: datetime) -> None:
    _alert_breach_events(_clock_events(clock_ids), now)


def _alert_breach_events(events: list[dict], now: datetime) -> None:
    _alert(
        "breached",
        events,
        now,
        with_manager=True,
        title_one="First-touch SLA breached: {lead}",
        title_many="First-touch SLA breached on {n} leads",
        body="The first attempt was due at {due} and had not been logged.",
    )


PERSON_FIELDS = ("username", "first_name", "last_name", "email", "time_zone", "team")
EVENT_TYPES = {"warning": "sla.warning", "breached": "sla.breached", "exhausted": "sla.exhausted"}


def _alert(
    kind: str,
    events: list[dict],
    now: datetime,
    *,
    with_manager: bool,
    title_one: str,
    title_many: str,
    body: str,
) -> None:
    """Tell the clocks' owners (and their team managers, `with_manager`): one notification
    per person per batch (a digest when several leads are concerned), written in one insert;
    emails and one batch of integration events (`events`, in deadline order) after commit.

    A fixed number of queries whatever the batch size, and one pass over the batch in
    Python: a digest needs only each person's count and earliest clock.
    """
    if not events:
        return
    # Per owner: position of their earliest clock in `events`, and how many they own.
    owned: dict[int, list[int]] = {}
    for position, event in enumerate(events):
        owner_id = event["owner"]
        if owner_id is None:
            continue
        if owner_id in owned:
            owned[owner_id][1] += 1
        else:
            owned[owner_id] = [position, 1]
    owners = {
        user.pk: user
        for user in User.objects.filter(pk__in=owned)
        .select_related("team__manager")
        .only(
            *PERSON_FIELDS,
            "team__manager",
            *(f"team__manager__{name}" for name in PERSON_FIELDS),
        )
    }
    # Each person concerned, in the order their first clock comes: [user, earliest, count].
    # A manager who owns clocks in their own team is told about each of them once.
    digests: dict[int, list] = {}
    for owner_id, (first, count) in owned.items():
        owner = owners.get(owner_id)
        if owner is None:
            continue
        people = [owner]
        manager = owner.team.manager if with_manager and owner.team is not None else None
        if manager is not None and manager.pk != owner.pk:
            people.append(manager)
        for user in people:
            digest = digests.get(user.pk)
            if digest is None:
                digests[user.pk] = [user, first, count]
            else:
                digest[1] = min(digest[1], first)
                digest[2] += count
    single = {events[first]["lead"] for _, first, count in digests.values() if count == 1}
    leads = Lead.objects.only("first_name", "last_name", "email").in_bulk(single) if single else {}
    notifications = []
    for user, first, count in digests.values():
        lead = leads.get(events[first]["lead"]) if count == 1 else None
        if lead is not None:
            title, url = title_one.format(lead=lead), lead.get_absolute_url()
        else:
            title, url = title_many.format(n=count), "/sla/"
        due = datetime.fromisoformat(events[first]["first_touch_due_at"])
        due = timezone.localtime(due, _zone(user))
        notifications.append(
            Notification(
                user=user,
                kind=f"sla_{kind}",
                title=title[:200],
                body=body.format(due=f"{due:%a %d %b %H:%M} ({user.time_zone})"),
                url=url,
            )
        )
    Notification.objects.bulk_create(notifications)
    emailed = [n.pk for n in notifications if n.user.email]
    event_type = EVENT_TYPES[kind]

    def _send_emails() -> None:
        # Email copies are sent by a worker, so a slow mail server never holds a sweep.
        from accounts.tasks import notification_emails_send

        notification_emails_send.delay(emailed)

    if emailed:
        # robust: a broker outage loses email copies, never the committed batch's events.
        transaction.on_commit(_send_emails, robust=True)
    transaction.on_commit(lambda: emit_many(event_type, events, occurred_at=now))


def _zone(user: User):
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(user.time_zone or "UTC")
    except (KeyError, ValueError):
        return UTC


# -- marketing commitments -----------------------------------------------------------------------


def commitments_check(*, now: datetime | None = None) -> list[CommitmentRisk]:
    """Raise `commitment.at_risk` once per product and month for commitments behind pace."""
    from sla import selectors

    now = now or timezone.now()
    raised = []
    rows = selectors.commitment_pace(start=now, end=now, now=now)
    for row in rows:
        if row["status"] != "at_risk":
            continue
        try:
            with transaction.atomic():
                risk, created = CommitmentRisk.objects.get_or_create(
                    product_id=row["product_id"],
                    month=row["month"],
                    defaults={
                        "agreement_id": row["agreement_id"],
                        "delivered": row["delivered"],
                        "committed": row["committed"],
                        "expected_by_now": row["expected_by_now"],
                        "raised_at": now,
                    },
                )
                if not created:
                    continue
                _alert_commitment(risk, row, now)
        except IntegrityError:  # another worker raised it first
            continue
        raised.append(risk)
    return raised


def _alert_commitment(risk: CommitmentRisk, row: dict, now: datetime) -> None:
    people = User.objects.filter(
        Q(groups__name=Role.MARKETING) | Q(groups__name=Role.MANAGER), is_active=True
    ).distinct()
    title = (
        f"Marketing commitment at risk: {row['product_name']} {risk.month:%B %Y} — "
        f"{risk.delivered} of {risk.committed}"
    )
    notification_send(
        users=list(people),
        kind="commitment_at_risk",
        title=title[:200],
        body=(
            f"{risk.delivered} leads reached {row['stage']} so far; about "
            f"{risk.expected_by_now} were expected by now to reach {risk.committed} this month."
        ),
        url="/sla/compliance/",
    )
    payload = {
        "agreement": risk.agreement_id,
        "product": risk.product_id,
        "month": risk.month.isoformat(),
        "stage": row["stage"],
        "delivered": risk.delivered,
        "committed": risk.committed,
        "expected_by_now": str(risk.expected_by_now),
    }
    transaction.on_commit(lambda: emit("commitment.at_risk", payload, occurred_at=now))


def products_covered(agreement: SLAAgreement) -> list[Product]:
    chosen = list(agreement.products.all())
    return chosen or list(Product.objects.filter(is_active=True))
