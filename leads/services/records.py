"""Creating, updating, bulk-upserting and deleting leads.

One validation (`lead_row_clean`) for the API, bulk upsert and CSV imports: it normalises
(email lower-cased, country upper-cased, product/campaign/persona by id or code/name) and
answers every problem of a row at once as `{field: [messages]}`.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from leads.models import Lead
from leads.qualification import SCORE_FIELDS, Names, active_definitions
from leads.services.bulk import ids_reserve, instances_new, rows_insert, rows_update
from leads.services.handoff import MOVE_FIELDS, stage_moves_record
from leads.services.moves import CLOCK_SKEW
from leads.services.qualify import leads_score
from leads.signals import leads_created, send_on_commit
from smarketing.api_support import DomainError
from smarketing.events import emit_many

MAX_BULK_ROWS = 1000
TEXT_FIELDS = {"first_name": 100, "last_name": 100, "company": 200, "title": 200, "phone": 40}
WRITABLE_FIELDS = (
    "external_id",
    "email",
    *TEXT_FIELDS,
    "country",
    "source",
    "campaign",
    "product",
    "persona",
    "attributes",
    "amount",
    "created_at",
)
# Output-only fields: accepted and ignored, so a lead read from the API can be sent back.
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "stage",
        "score",
        "owner",
        "updated_at",
        "mql_at",
        "sql_at",
        "opportunity_at",
        "customer_at",
    }
)
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SLUG = re.compile(r"^[-a-z0-9_]+$")
_MAX_AMOUNT = Decimal("999999999999.99")


@dataclass
class References:
    """Products, campaigns and personas by id and by code/name, for validating rows."""

    names: Names
    products_by_key: dict[str, int] = field(default_factory=dict)
    campaigns_by_key: dict[str, int] = field(default_factory=dict)
    personas_by_key: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "References":
        from leads.models import Product

        names = Names.load()
        products = {}
        for pk, code, name in Product.objects.values_list("id", "code", "name"):
            products.setdefault(name.casefold(), pk)
            products[code.casefold()] = pk
        return cls(
            names=names,
            products_by_key=products,
            campaigns_by_key={name.casefold(): pk for pk, name in names.campaigns.items()},
            personas_by_key={name.casefold(): pk for pk, name in names.personas.items()},
        )


def lead_row_clean(
    row: object, refs: References, *, creating: bool, now: datetime
) -> tuple[dict, dict[str, list[str]]]:
    """Validate and normalise one lead row. Returns (model values by attname, errors).

    Values are only given for the fields present in the row (a partial update); `creating`
    requires an email and accepts `created_at` (ignored on updates, so re-sending a row is
    harmless).
    """
    errors: dict[str, list[str]] = {}
    values: dict = {}

    def error(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not isinstance(row, dict):
        return {}, {"non_field_errors": ["Each lead must be a JSON object."]}
    for name in row:
        if name not in WRITABLE_FIELDS and name not in READ_ONLY_FIELDS:
            error(str(name), "Unknown field.")

    if "external_id" in row:
        value = row["external_id"]
        if isinstance(value, bool) or not isinstance(value, (str, int, type(None))):
            error("external_id", "Must be text.")
        else:
            value = str(value).strip() if value is not None else ""
            if len(value) > 120:
                error("external_id", "At most 120 characters.")
            values["external_id"] = value or None

    if "email" in row:
        value = row["email"]
        if not isinstance(value, str) or not value.strip():
            error("email", "An email address is required." if not value else "Must be text.")
        else:
            value = value.strip().lower()
            try:
                validate_email(value)
            except ValidationError:
                error("email", f"“{value}” is not a valid email address.")
            else:
                values["email"] = value
    elif creating:
        error("email", "This field is required.")

    for name, limit in TEXT_FIELDS.items():
        if name not in row:
            continue
        value = row[name]
        if value is None:
            value = ""
        if not isinstance(value, str):
            error(name, "Must be text.")
        elif len(value.strip()) > limit:
            error(name, f"At most {limit} characters.")
        else:
            values[name] = value.strip()

    if "country" in row:
        value = row["country"] if row["country"] is not None else ""
        if not isinstance(value, str):
            error("country", "Must be a two-letter country code such as DE.")
        else:
            value = value.strip().upper()
            if value and not _COUNTRY.match(value):
                error("country", f"“{value}” is not a two-letter country code (e.g. DE, US).")
            else:
                values["country"] = value

    if "source" in row:
        value = row["source"] if row["source"] is not None else ""
        if not isinstance(value, str):
            error("source", "Must be text.")
        else:
            value = value.strip().lower()
            if value and (len(value) > 60 or not _SLUG.match(value)):
                error("source", "Use letters, digits, - and _ only (at most 60), e.g. webinar.")
            else:
                values["source"] = value

    for name, by_key, by_id, label in (
        ("product", refs.products_by_key, refs.names.products, "product (id or code)"),
        ("campaign", refs.campaigns_by_key, refs.names.campaigns, "campaign (id or name)"),
        ("persona", refs.personas_by_key, refs.names.personas, "persona (id or name)"),
    ):
        if name not in row:
            continue
        value = row[name]
        if value is None or value == "":
            values[f"{name}_id"] = None
        elif isinstance(value, bool) or not isinstance(value, (int, str)):
            error(name, f"Give a {label}.")
        elif isinstance(value, int) or value.strip().isdigit():
            if int(value) in by_id:
                values[f"{name}_id"] = int(value)
            else:
                error(name, f"There is no {name} with id {value}.")
        elif value.strip().casefold() in by_key:
            values[f"{name}_id"] = by_key[value.strip().casefold()]
        else:
            error(name, f"There is no {name} “{value.strip()}”.")

    if "attributes" in row:
        value = row["attributes"]
        if value is None:
            values["attributes"] = {}
        elif not isinstance(value, dict):
            error("attributes", "Must be a JSON object.")
        else:
            values["attributes"] = value

    if "amount" in row:
        value = row["amount"]
        if value is None or value == "":
            values["amount"] = None
        elif isinstance(value, bool) or not isinstance(value, (int, float, str)):
            error("amount", "Must be a number.")
        else:
            try:
                amount = Decimal(str(value).strip())
            except InvalidOperation:
                error("amount", "Must be a number.")
            else:
                if not amount.is_finite():
                    error("amount", "Must be a number.")
                elif amount < 0:
                    error("amount", "Cannot be negative.")
                elif amount > _MAX_AMOUNT:
                    error("amount", "Too large.")
                else:
                    values["amount"] = amount.quantize(Decimal("0.01"))

    if "created_at" in row and creating:
        value = row["created_at"]
        moment = None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = parse_datetime(value.strip())
            except ValueError:
                moment = None
        if moment is None:
            error("created_at", "Give an ISO 8601 date and time, e.g. 2026-03-01T09:30:00+01:00.")
        elif timezone.is_naive(moment):
            error("created_at", "Give a date and time with a time zone offset.")
        elif moment > now + CLOCK_SKEW:
            error("created_at", "This cannot be in the future.")
        else:
            values["created_at"] = moment

    return values, errors


@dataclass
class UpsertResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"index": i, "errors": {field: [...]}}


def leads_upsert(
    *, rows: list[dict], actor: User | None, now: datetime | None = None
) -> UpsertResult:
    """Create or update up to 1,000 leads, matched by `external_id` (rows without one are
    created). Valid rows are saved even when others fail; each bad row is reported with its
    index. Scoring, qualification and hand-off included.

    Set-based: the query count does not depend on the number of rows. Two requests creating
    the same new `external_id` at the same instant: the second is refused as a whole
    (DomainError) and can be retried, when it updates.
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
    wanted = set()
    for row in rows:
        if isinstance(row, dict) and isinstance(row.get("external_id"), (str, int)):
            external_id = str(row["external_id"]).strip()
            if external_id:
                wanted.add(external_id)

    with transaction.atomic():
        existing = {
            lead.external_id: lead
            for lead in Lead.objects.select_for_update(of=("self",)).filter(external_id__in=wanted)
        }
        new_values: list[dict] = []
        updates: dict[int, Lead] = {}
        fields: set[str] = set()
        seen: dict[str, int] = {}
        for index, row in enumerate(rows):
            external_id = None
            if isinstance(row, dict) and isinstance(row.get("external_id"), (str, int)):
                external_id = str(row["external_id"]).strip() or None
            lead = existing.get(external_id) if external_id else None
            values, errors = lead_row_clean(row, refs, creating=lead is None, now=now)
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
            if lead is None:
                values.setdefault("created_at", now)
                new_values.append(values)
            else:
                for name, value in values.items():
                    setattr(lead, name, value)
                fields.update(values)
                updates[lead.pk] = lead
        creates = instances_new(Lead, new_values)
        _leads_save(
            creates=creates,
            updates=list(updates.values()),
            fields=fields,
            actor=actor,
            now=now,
            names=refs.names,
        )
    result.created = [lead.pk for lead in creates]
    result.updated = list(updates)
    return result


def _leads_save(
    *,
    creates: list[Lead],
    updates: list[Lead],
    fields: set[str],
    actor: User | None,
    now: datetime,
    names: Names | None = None,
) -> None:
    """Score, save and qualify new and changed leads with a fixed number of queries."""
    definitions = active_definitions()
    scored = leads_score(leads=[*creates, *updates], now=now, definitions=definitions, names=names)
    for lead in updates:
        lead.updated_at = now
    # Where the new leads can get their ids first (PostgreSQL), their qualification moves
    # are made before they are inserted and go into the same COPY: a new lead that
    # qualifies is written once, not inserted and then updated.
    moves_first = ids_reserve(creates)
    if not moves_first:
        _leads_insert(creates)
    if updates:
        rows_update(updates, [*fields, *SCORE_FIELDS, "updated_at"])
    stage_moves_record(moves=scored.moves, at=now, actor=actor, save=False)
    moved = list({move.lead.pk: move.lead for move in scored.moves}.values())
    if moves_first:
        _leads_insert(creates)
        new_ids = {lead.pk for lead in creates}
        moved = [lead for lead in moved if lead.pk not in new_ids]
    if moved:
        rows_update(moved, MOVE_FIELDS)
    if creates:
        created_ids = [lead.pk for lead in creates]
        send_on_commit(leads_created, lead_ids=created_ids)
        payloads = [_created_payload(lead) for lead in creates]
        transaction.on_commit(lambda: emit_many("lead.created", payloads, occurred_at=now))


def _leads_insert(creates: list[Lead]) -> None:
    try:
        with transaction.atomic():
            rows_insert(creates)
    except IntegrityError as exc:
        raise DomainError(
            "Another request created a lead with one of these external_ids at the same time; "
            "send the request again.",
            field="external_id",
        ) from exc


def _created_payload(lead: Lead) -> dict:
    return {
        "lead": lead.pk,
        "external_id": lead.external_id,
        "email": lead.email,
        "source": lead.source,
        "campaign": lead.campaign_id,
        "product": lead.product_id,
        "persona": lead.persona_id,
        "stage": lead.stage,
        "score": lead.score,
        "created_at": lead.created_at.isoformat(),
    }


def lead_create(*, data: dict, actor: User | None, now: datetime | None = None) -> Lead:
    """Create one lead from `data` (the API's writable fields), scored and qualified.

    Bad input is a `ValidationError` with every field's messages.
    """
    now = now or timezone.now()
    values, errors = lead_row_clean(data, References.load(), creating=True, now=now)
    external_id = values.get("external_id")
    if external_id and Lead.objects.filter(external_id=external_id).exists():
        errors.setdefault("external_id", []).append(
            f"A lead with external_id “{external_id}” already exists."
        )
    if errors:
        raise ValidationError(errors)
    values.setdefault("created_at", now)
    lead = Lead(**values)
    with transaction.atomic():
        _leads_save(creates=[lead], updates=[], fields=set(), actor=actor, now=now)
    return lead


def lead_update(*, lead: Lead, data: dict, actor: User | None, now: datetime | None = None) -> Lead:
    """Change some of a lead's fields (`stage` and `score` are not among them) and rescore it."""
    now = now or timezone.now()
    values, errors = lead_row_clean(data, References.load(), creating=False, now=now)
    if "email" in data and data.get("email") in (None, ""):
        errors.setdefault("email", ["An email address is required."])
    external_id = values.get("external_id")
    if external_id and Lead.objects.filter(external_id=external_id).exclude(pk=lead.pk).exists():
        errors.setdefault("external_id", []).append(
            f"Another lead has external_id “{external_id}”."
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        for name, value in values.items():
            setattr(locked, name, value)
        try:
            with transaction.atomic():
                _leads_save(creates=[], updates=[locked], fields=set(values), actor=actor, now=now)
        except IntegrityError as exc:
            raise DomainError("Another lead has this external_id.", field="external_id") from exc
    return locked


def lead_delete(*, lead: Lead, actor: User | None) -> None:
    """Delete a lead with its history (transitions, events, attempts, feedback)."""
    try:
        with transaction.atomic():
            Lead.objects.filter(pk=lead.pk).delete()
    except ProtectedError as exc:
        raise DomainError(
            "This lead is referenced by records that must be kept; disqualify it instead."
        ) from exc
