"""Creating, updating, bulk-upserting and deleting leads.

One validator (`leads.rows.LeadRowSerializer`) for the API, bulk upsert and CSV imports;
one save path (`_save`) that scores, qualifies (through `leads.services.moves`) and writes
new and changed leads with a fixed number of statements whatever their number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import OuterRef, ProtectedError, Subquery
from django.utils import timezone

from accounts.models import User
from core import events
from core.bulk import ids_reserve, rows_insert, rows_update
from core.errors import DomainError
from leads import events as topics
from leads.models import Lead, StageTransition
from leads.qualification import SCORE_FIELDS, Names, active_definitions, events_by_lead
from leads.rows import References, RowValidator
from leads.services.moves import MOVE_FIELDS, moves_plan, moves_record
from leads.services.qualify import leads_score

MAX_BULK_ROWS = 1000
# Every column of a lead, by attname.
LEAD_FIELDS = tuple(field.attname for field in Lead._meta.concrete_fields)
# A new lead before its values are applied: the model's defaults (JSON ones fresh per lead).
_DEFAULTS = {
    field.attname: field.get_default()
    for field in Lead._meta.concrete_fields
    if not field.primary_key
}


def _new_lead(values: dict, now: datetime) -> dict:
    return {**_DEFAULTS, "attributes": {}, "score_details": {}, "created_at": now, **values}


CUSTOMER_AMOUNT_KEPT = "A customer's amount cannot be removed: won revenue counts it."


def _removes_won_amount(lead: dict | None, values: dict) -> bool:
    """Would `values` take the amount off a customer (won revenue would silently drop)?"""
    return (
        lead is not None
        and lead["stage"] == "customer"
        and "amount" in values
        and not values["amount"]
    )


# Advisory-lock namespace of external ids (see `_lock_external_ids`).
EXTERNAL_ID_LOCKS = 7301


@dataclass
class UpsertResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"index": i, "errors": {field: [...]}}


def _external_id(row: object) -> str | None:
    if isinstance(row, dict) and isinstance(row.get("external_id"), str | int):
        if isinstance(row["external_id"], bool):
            return None
        return str(row["external_id"]).strip() or None
    return None


def _lock_external_ids(external_ids: set[str]) -> None:
    """Serialise the requests that touch the same external ids (a transaction-level
    advisory lock per id, taken in one order), so of two requests creating the same new
    `external_id` at once, the second waits and then finds the lead the first created."""
    if not external_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, h) FROM ("
            "  SELECT DISTINCT hashtext(x) AS h FROM unnest(%s::text[]) AS x ORDER BY 1"
            ") AS ids",
            [EXTERNAL_ID_LOCKS, sorted(external_ids)],
        )


def _locked_rows(**filters) -> list[dict]:
    latest = StageTransition.objects.filter(lead_id=OuterRef("pk")).order_by("-at").values("at")[:1]
    return list(
        Lead.objects.select_for_update(of=("self",))
        .filter(**filters)
        .order_by("pk")
        .annotate(last_move_at=Subquery(latest))
        .values(*LEAD_FIELDS, "last_move_at")
    )


def leads_upsert(
    *, rows: list[dict], actor: User | None, now: datetime | None = None
) -> UpsertResult:
    """Create or update up to 1,000 leads, matched by `external_id` (rows without one are
    created). Valid rows are saved even when others fail, whether validation or the
    database refuses them; each bad row is reported with its index. Scoring,
    qualification and hand-off included. Set-based: the number of statements does not
    depend on the number of rows.
    """
    if not isinstance(rows, list):
        raise DomainError("Send a JSON list of leads.")
    if len(rows) > MAX_BULK_ROWS:
        raise DomainError(
            f"At most {MAX_BULK_ROWS:,} leads per request; this one has {len(rows):,}. "
            "Split it into several requests."
        )
    now = now or timezone.now()
    result = UpsertResult()
    if not rows:
        return result
    refs = References.load()
    check = RowValidator(refs=refs, now=now)
    wanted = {key for key in map(_external_id, rows) if key}
    with transaction.atomic(), events.batch():
        _lock_external_ids(wanted)
        existing = {row["external_id"]: row for row in _locked_rows(external_id__any=wanted)}
        valid: list[tuple[int, dict | None, dict]] = []  # (index, existing row, values)
        seen: dict[str, int] = {}
        for index, row in enumerate(rows):
            external_id = _external_id(row)
            lead = existing.get(external_id) if external_id else None
            values, errors = check(row, creating=lead is None)
            if not errors and _removes_won_amount(lead, values):
                errors["amount"] = [CUSTOMER_AMOUNT_KEPT]
            if external_id and external_id in seen and "external_id" not in errors:
                errors["external_id"] = [
                    f"“{external_id}” is also in row {seen[external_id]} of this request; "
                    "each external_id once per request."
                ]
            if errors:
                result.errors.append({"index": index, "errors": errors})
                continue
            if external_id:
                seen[external_id] = index
            valid.append((index, lead, values))
        _save_isolating(valid, result, actor=actor, now=now, names=refs.names)
    result.errors.sort(key=lambda error: error["index"])
    return result


def _save_isolating(
    valid: list[tuple[int, dict | None, dict]],
    result: UpsertResult,
    *,
    actor: User | None,
    now: datetime,
    names: Names,
) -> None:
    """Save valid rows in one go; when the database refuses the batch, find the rows it
    refuses by halves (each half in a savepoint) and save the others."""
    if not valid:
        return
    try:
        with transaction.atomic(), events.batch():
            creates = [_new_lead(values, now) for _, lead, values in valid if lead is None]
            updates = []
            for _, lead, values in valid:
                if lead is not None:
                    updates.append({**lead, **values})
            fields = {name for _, lead, values in valid if lead is not None for name in values}
            _save(
                creates=creates, updates=updates, fields=fields, actor=actor, now=now, names=names
            )
    except DatabaseError as exc:
        if len(valid) == 1:
            index = valid[0][0]
            result.errors.append({"index": index, "errors": {"non_field_errors": [_refusal(exc)]}})
            return
        middle = len(valid) // 2
        _save_isolating(valid[:middle], result, actor=actor, now=now, names=names)
        _save_isolating(valid[middle:], result, actor=actor, now=now, names=names)
        return
    for (_, lead, _values), saved in zip(valid, _order(valid, creates, updates), strict=True):
        (result.updated if lead is not None else result.created).append(saved["id"])


def _order(valid, creates: list[dict], updates: list[dict]) -> list[dict]:
    """The saved rows in the order of `valid` (creates and updates interleaved back)."""
    made, changed = iter(creates), iter(updates)
    return [next(changed) if lead is not None else next(made) for _, lead, _ in valid]


def _refusal(exc: DatabaseError) -> str:
    text = str(exc).split("\n", 1)[0]
    if "violates" in text or "out of range" in text or "invalid" in text:
        return f"The database refused this row: {text[:200]}"
    return "The database refused this row."


def _save(
    *,
    creates: list[dict],
    updates: list[dict],
    fields: set[str],
    actor: User | None,
    now: datetime,
    names: Names | None = None,
) -> None:
    """Score, qualify and write new and changed lead rows with a fixed number of queries.

    New leads get their ids first, so their qualification moves are recorded before the
    leads are inserted (the foreign keys are checked at commit) and each new lead is
    written once, with its final stage, by one `COPY`.
    """
    for row, new_id in zip(creates, ids_reserve(Lead, len(creates)), strict=True):
        row["id"] = new_id
        row["last_move_at"] = None
        row["updated_at"] = now
    for row in updates:
        row["updated_at"] = now
    every = {row["id"]: row for row in [*creates, *updates]}
    actor_id = actor.pk if actor else None
    definitions = active_definitions()
    scored = leads_score(
        rows=list(every.values()),
        now=now,
        definitions=definitions,
        names=names,
        # New leads have no events yet: only the updated ones are looked up.
        events=events_by_lead([row["id"] for row in updates], definitions, now),
        actor_id=actor_id,
    )
    plan = moves_plan(every, scored.moves, now=now)
    moves_record(plan, now=now, write_leads=False)
    if creates:
        rows_insert(Lead, [{name: row[name] for name in LEAD_FIELDS} for row in creates], now=now)
    if updates:
        written = [*fields, *SCORE_FIELDS, "updated_at"]
        moved = set(plan.moved)
        if any(row["id"] in moved for row in updates):
            written += MOVE_FIELDS
        rows_update(Lead, updates, list(dict.fromkeys(written)))
    if creates:
        events.publish(topics.CREATED, [_created_payload(row) for row in creates], occurred_at=now)
    if updates and fields:
        events.publish(
            topics.CHANGED,
            [{"lead": row["id"], "fields": sorted(fields)} for row in updates],
            occurred_at=now,
        )


def _created_payload(row: dict) -> dict:
    return {
        "lead": row["id"],
        "external_id": row["external_id"],
        "email": row["email"],
        "source": row["source"],
        "campaign": row["campaign_id"],
        "product": row["product_id"],
        "persona": row["persona_id"],
        "stage": row["stage"],
        "score": row["score"],
        "created_at": row["created_at"],
    }


def lead_create(*, data: dict, actor: User | None, now: datetime | None = None) -> Lead:
    """Create one lead from `data` (the API's writable fields), scored and qualified.

    Bad input is a `ValidationError` with every field's messages.
    """
    now = now or timezone.now()
    refs = References.load()
    values, errors = RowValidator(refs=refs, now=now)(data, creating=True)
    external_id = values.get("external_id")
    with transaction.atomic(), events.batch():
        if external_id:
            _lock_external_ids({external_id})
            if Lead.objects.filter(external_id=external_id).exists():
                errors.setdefault("external_id", []).append(
                    f"A lead with external_id “{external_id}” already exists."
                )
        if errors:
            raise ValidationError(errors)
        row = _new_lead(values, now)
        _save(creates=[row], updates=[], fields=set(), actor=actor, now=now, names=refs.names)
    return Lead.objects.get(pk=row["id"])


def lead_update(*, lead: Lead, data: dict, actor: User | None, now: datetime | None = None) -> Lead:
    """Change some of a lead's fields (`stage` and `score` are not among them) and rescore it.

    The `lead.changed` event names the fields sent; a customer keeps an amount."""
    now = now or timezone.now()
    refs = References.load()
    values, errors = RowValidator(refs=refs, now=now)(data, creating=False)
    if errors:
        raise ValidationError(errors)
    external_id = values.get("external_id")
    with transaction.atomic(), events.batch():
        if external_id:
            _lock_external_ids({external_id})
            if Lead.objects.filter(external_id=external_id).exclude(pk=lead.pk).exists():
                raise ValidationError(
                    {"external_id": [f"Another lead has external_id “{external_id}”."]}
                )
        locked = _locked_rows(pk=lead.pk)
        if not locked:
            raise DomainError("This lead no longer exists.")
        if _removes_won_amount(locked[0], values):
            raise ValidationError({"amount": [CUSTOMER_AMOUNT_KEPT]})
        row = {**locked[0], **values}
        _save(creates=[], updates=[row], fields=set(values), actor=actor, now=now, names=refs.names)
    return Lead.objects.get(pk=lead.pk)


def lead_delete(*, lead: Lead, actor: User | None) -> None:
    """Delete a lead with its history (transitions, events, attempts, feedback)."""
    try:
        with transaction.atomic(), events.batch():
            created_at = (
                Lead.objects.filter(pk=lead.pk).values_list("created_at", flat=True).first()
            )
            Lead.objects.filter(pk=lead.pk).delete()
            if created_at is not None:
                events.publish(topics.DELETED, [{"lead": lead.pk, "created_at": created_at}])
    except ProtectedError as exc:
        raise DomainError(
            "This lead is referenced by records that must be kept; disqualify it instead."
        ) from exc
