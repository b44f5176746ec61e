"""CSV import of leads: read and check the file, map its columns, run it in batches.

The flow is: `lead_import_create` (upload: the file is checked and kept, its header read),
`lead_import_start` (the column mapping is checked, the import queued), and
`lead_import_run` (called by the Celery task: batches of up to `BATCH_SIZE` rows go through
`leads_upsert`; every rejected row lands in the error report with its messages).

A column fills a lead field, or a named attribute (`attribute:<key>`: the value is stored
under `key` in `Lead.attributes`, where fit rules read it), or is ignored. `import_preview`
shows the first rows as they would be stored, without writing anything.

Empty cells are left out of a row, so an import never blanks a field of an existing lead.
"""

import csv
import io
import logging
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from accounts.models import User
from core import csv as safe_csv
from core import durable_jobs
from core.errors import DomainError
from leads.models import Lead, LeadImport
from leads.rows import References, RowValidator
from leads.services.records import leads_upsert

IMPORT_TASK = "leads.import_tasks.lead_import_run"

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
MAX_FILE_BYTES = 50 * 1024 * 1024
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# "attributes" is the older mapping (the column's title is the key), still run as it was;
# a mapping of today names the key: "attribute:company_size".
ATTRIBUTES = "attributes"
ATTRIBUTE = "attribute"
ATTRIBUTE_PREFIX = "attribute:"
ATTRIBUTE_KEY_MAX = 64
IGNORE = ""
PREVIEW_ROWS = 5

# Lead fields a column can fill, with the labels shown in the mapping form.
IMPORT_FIELDS: dict[str, str] = {
    "email": "Email",
    "external_id": "External id",
    "first_name": "First name",
    "last_name": "Last name",
    "company": "Company",
    "title": "Title",
    "phone": "Phone",
    "country": "Country (2 letters)",
    "source": "Source",
    "campaign": "Campaign (id or name)",
    "product": "Product (id or code)",
    "persona": "Persona (id or name)",
    "amount": "Amount",
    "created_at": "Created at (ISO 8601, new leads only)",
}
# Header spellings people use for the same field, after normalising (lower case, "_").
HEADER_ALIASES: dict[str, str] = {
    "e_mail": "email",
    "email_address": "email",
    "mail": "email",
    "id": "external_id",
    "externalid": "external_id",
    "crm_id": "external_id",
    "firstname": "first_name",
    "given_name": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "company_name": "company",
    "organisation": "company",
    "organization": "company",
    "job_title": "title",
    "position": "title",
    "phone_number": "phone",
    "telephone": "phone",
    "country_code": "country",
    "lead_source": "source",
}


class CsvFileError(ValueError):
    """The file cannot be imported; the message says why and what to do."""


@dataclass(frozen=True)
class CsvFile:
    text: str
    delimiter: str
    header: list[str]
    rows: int


def normalise_header(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.strip().lower()).strip("_")


def attribute_key_suggestion(title: str, index: int) -> str:
    """The key a column's values are stored under when kept as an attribute: its title as a
    slug ("Company size" → "company_size"), else `column_<n>`."""
    plain = unicodedata.normalize("NFKD", title.replace("ß", "ss")).encode("ascii", "ignore")
    plain = plain.decode()
    key = normalise_header(plain)[:ATTRIBUTE_KEY_MAX].strip("_")
    if key in IMPORT_FIELDS or key == "email_domain":
        key = f"{key}_value"
    return key or f"column_{index + 1}"


def attribute_key_problem(key: str) -> str | None:
    """Why `key` cannot name an attribute (in plain words), or None when it can."""
    if not key:
        return "Give the attribute a key, e.g. company_size."
    if len(key) > ATTRIBUTE_KEY_MAX:
        return f"At most {ATTRIBUTE_KEY_MAX} characters (this key has {len(key)})."
    if not re.fullmatch(r"[a-z0-9_]+", key):
        return "Use lowercase letters, digits and _ only, e.g. company_size."
    if key in IMPORT_FIELDS:
        return (
            f"“{key}” is a lead field: map the column to {IMPORT_FIELDS[key]} instead, or give "
            "another key."
        )
    if key == "email_domain":
        return "“email_domain” is read from the email address; give another key."
    return None


def attribute_key(field: str) -> str | None:
    """The attribute key of a mapping value ("attribute:company_size"), else None."""
    return field[len(ATTRIBUTE_PREFIX) :] if field.startswith(ATTRIBUTE_PREFIX) else None


def suggest_field(title: str) -> str:
    """The lead field a column probably fills, from its title; '' when none matches."""
    key = normalise_header(title)
    if key in IMPORT_FIELDS:
        return key
    return HEADER_ALIASES.get(key, IGNORE)


def read_csv(raw: bytes, *, file_name: str = "") -> CsvFile:
    """Decode and check an uploaded file; raise `CsvFileError` with a clear message."""
    if not raw or not raw.strip():
        raise CsvFileError("The file is empty.")
    if len(raw) > MAX_FILE_BYTES:
        raise CsvFileError(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it into "
            "several files."
        )
    if raw[:4] == b"PK\x03\x04" or b"\x00" in raw[:4096]:
        raise CsvFileError(
            "This is not a CSV file (it looks like a spreadsheet or another binary file). "
            "Save it as “CSV UTF-8” and upload that."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            f"The file is not UTF-8 text (byte {exc.start + 1} cannot be read). Save it as "
            "“CSV UTF-8” and upload it again."
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = _detect_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        rows = sum(1 for cells in reader if any(cell.strip() for cell in cells))
    except csv.Error as exc:
        raise CsvFileError(
            f"The file is not valid CSV near line {reader.line_num}: {exc}. Check the quotes."
        ) from None
    header = [title.strip() for title in header or []]
    if not any(header):
        raise CsvFileError("The first line must be a header with the column titles.")
    if len(header) == 1 and not suggest_field(header[0]):
        raise CsvFileError(
            "Only one column was found. Separate the columns with commas (semicolons and "
            "tabs work too), and start the file with a header row."
        )
    if rows == 0:
        raise CsvFileError("The file has a header but no rows of leads.")
    return CsvFile(text=text, delimiter=delimiter, header=header, rows=rows)


def _detect_delimiter(text: str) -> str:
    """The delimiter that splits the header into the most columns (comma when tied)."""
    first_line = text.lstrip("\n").split("\n", 1)[0]
    counts = {delimiter: len(_split(first_line, delimiter)) for delimiter in DELIMITERS}
    return max(DELIMITERS, key=lambda delimiter: counts[delimiter])


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return [line]


# -- services -----------------------------------------------------------------------------------


def lead_import_create(*, file_name: str, raw: bytes, actor: User | None) -> LeadImport:
    """Keep an uploaded CSV for mapping. Raises `DomainError` (field `file`) for a bad file."""
    try:
        parsed = read_csv(raw, file_name=file_name)
    except CsvFileError as exc:
        raise DomainError(str(exc), field="file") from None
    return LeadImport.objects.create(
        created_by=actor,
        file_name=file_name[:255] or "upload.csv",
        content=parsed.text,
        delimiter=parsed.delimiter,
        header=parsed.header,
        mapping={str(index): suggest_field(title) for index, title in enumerate(parsed.header)},
        total_rows=parsed.rows,
    )


def check_mapping(header: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """The mapping without ignored columns; `DomainError` when it cannot import leads."""
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    keys: dict[str, str] = {}
    for key, field in mapping.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise DomainError(f"Unknown column {key!r}.", field="mapping") from None
        if not 0 <= index < len(header):
            raise DomainError(f"Unknown column {key!r}.", field="mapping")
        if not isinstance(field, str):
            raise DomainError(f"Unknown mapping for column “{header[index]}”.", field="mapping")
        if field == IGNORE:
            continue
        name = attribute_key(field)
        if name is not None:
            problem = attribute_key_problem(name)
            if problem:
                raise DomainError(f"Column “{header[index]}”: {problem}", field="mapping")
            if name in keys:
                raise DomainError(
                    f"Columns “{keys[name]}” and “{header[index]}” both fill the attribute "
                    f"{name}; give one of them another key.",
                    field="mapping",
                )
            keys[name] = header[index]
            cleaned[str(index)] = field
            continue
        if field != ATTRIBUTES and field not in IMPORT_FIELDS:
            raise DomainError(f"“{field}” is not a lead field.", field="mapping")
        if field != ATTRIBUTES and field in used:
            raise DomainError(
                f"Columns “{used[field]}” and “{header[index]}” both fill "
                f"{IMPORT_FIELDS[field].lower()}; choose one.",
                field="mapping",
            )
        used[field] = header[index]
        cleaned[str(index)] = field
    if "email" not in used:
        raise DomainError(
            "Map a column to Email: every lead needs an email address.", field="mapping"
        )
    return cleaned


def lead_import_start(
    *, lead_import: LeadImport, mapping: dict[str, str], now: datetime | None = None
) -> LeadImport:
    """Save the column mapping and queue the import (the task runs after commit)."""
    now = now or timezone.now()
    cleaned = check_mapping(lead_import.header, mapping)
    with transaction.atomic():
        locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if locked.status != LeadImport.Status.MAPPING:
            raise DomainError(
                f"This import is already {locked.get_status_display().lower()}.", field="mapping"
            )
        locked.mapping = cleaned
        locked.status = LeadImport.Status.QUEUED
        locked.save(update_fields=["mapping", "status"])
        # Durable: with the broker down the import stays queued and is sent once it is back.
        durable_jobs.send(IMPORT_TASK, locked.pk)
    return locked


def _data_rows(lead_import: LeadImport) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) for every non-blank data row (the header is row 1)."""
    reader = csv.reader(io.StringIO(lead_import.content), delimiter=lead_import.delimiter)
    next(reader, None)
    for number, cells in enumerate(reader, start=2):
        if any(cell.strip() for cell in cells):
            yield number, cells


def row_to_lead(cells: list[str], mapping: dict[str, str], header: list[str]) -> dict:
    """The upsert dict for one row: mapped, non-empty cells; attribute columns grouped under
    their keys (the older 'attributes' mapping keys them by the column's title)."""
    data: dict = {}
    attributes: dict[str, str] = {}
    for key, field in mapping.items():
        index = int(key)
        value = cells[index].strip() if index < len(cells) else ""
        if not value:
            continue
        name = attribute_key(field)
        if name is not None:
            attributes[name] = value
        elif field == ATTRIBUTES:
            attributes[header[index]] = value
        else:
            data[field] = value
    if attributes:
        data["attributes"] = attributes
    return data


def _row_shape_error(cells: list[str], header: list[str]) -> str | None:
    extra = cells[len(header) :]
    if any(cell.strip() for cell in extra):
        return (
            f"This row has {len(cells)} cells but the header has {len(header)} columns; "
            "check for a delimiter or a quote inside a value."
        )
    return None


def _messages(errors, mapping: dict[str, str], header: list[str]) -> str:
    """Field messages as one line, naming the CSV column behind each field."""
    column_of = {field: header[int(key)] for key, field in mapping.items()}
    parts = []
    if not isinstance(errors, dict):
        errors = {"non_field_errors": errors}
    for field, messages in errors.items():
        if isinstance(messages, dict):
            messages = [f"{key}: {value}" for key, value in messages.items()]
        elif not isinstance(messages, list):
            messages = [messages]
        text = " ".join(str(message) for message in messages)
        if field in ("non_field_errors", "__all__"):
            parts.append(text)
        elif field in column_of:
            parts.append(f"{column_of[field]} ({field}): {text}")
        else:
            parts.append(f"{field}: {text}")
    return "; ".join(parts)


def _report_lines(rejected: list[tuple[int, list[str], str]], delimiter: str) -> str:
    return safe_csv.text(
        ([number, message, *cells] for number, cells, message in rejected),
        delimiter=delimiter,
        lineterminator="\n",
    )


def _process_batch(
    lead_import: LeadImport, batch: list[tuple[int, list[str]]], actor: User | None
) -> tuple[int, int, list[tuple[int, list[str], str]]]:
    header, mapping = lead_import.header, lead_import.mapping
    rejected: list[tuple[int, list[str], str]] = []
    rows: list[dict] = []
    origins: list[tuple[int, list[str]]] = []
    for number, cells in batch:
        problem = _row_shape_error(cells, header)
        if problem:
            rejected.append((number, cells, problem))
            continue
        rows.append(row_to_lead(cells, mapping, header))
        origins.append((number, cells))
    if not rows:
        return 0, 0, rejected
    try:
        result = leads_upsert(rows=rows, actor=actor)
    except DomainError as exc:
        rejected.extend((number, cells, exc.message) for number, cells in origins)
        return 0, 0, sorted(rejected)
    for error in result.errors:
        number, cells = origins[error["index"]]
        rejected.append((number, cells, _messages(error["errors"], mapping, header)))
    return len(result.created), len(result.updated), sorted(rejected)


# -- preview --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewColumn:
    title: str  # the CSV column's
    label: str  # what it fills: a lead field's label, or the attribute's key
    is_attribute: bool


@dataclass(frozen=True)
class PreviewRow:
    number: int  # the spreadsheet row (the header is row 1)
    values: list[str]  # per preview column, as it would be stored ("" when left empty)
    updates: bool  # its external id is a lead's already
    problem: str  # why the import would reject it ("" when it would not)


@dataclass(frozen=True)
class ImportPreview:
    columns: list[PreviewColumn]
    rows: list[PreviewRow]


# Fields stored as an id: the preview shows what the file says, once it is known.
_REFERENCES = ("campaign", "product", "persona")


def _fills_something(field: object) -> bool:
    if not isinstance(field, str) or field == IGNORE:
        return False
    name = attribute_key(field)
    if name is not None:
        return attribute_key_problem(name) is None
    return field in IMPORT_FIELDS or field == ATTRIBUTES


def import_preview(
    lead_import: LeadImport, mapping: dict[str, str], *, count: int = PREVIEW_ROWS
) -> ImportPreview:
    """The first `count` data rows as the import would store them with `mapping` (lead
    fields normalised the way the import does, attributes under their keys), each with the
    reason it would be rejected. Reads only: five queries whatever the file's size."""
    header = lead_import.header
    # What a mapping may hold, ignored columns left out (as `check_mapping` does).
    mapping = {
        key: field
        for key, field in mapping.items()
        if key.isdigit() and int(key) < len(header) and _fills_something(field)
    }
    order = sorted((int(key), field) for key, field in mapping.items())
    columns = []
    for index, field in order:
        name = attribute_key(field)
        if name is None and field == ATTRIBUTES:
            name = header[index]
        columns.append(
            PreviewColumn(
                title=header[index],
                label=name if name is not None else IMPORT_FIELDS.get(field, field),
                is_attribute=name is not None,
            )
        )
    sample = []
    for row in _data_rows(lead_import):
        sample.append(row)
        if len(sample) == count:
            break
    leads = [row_to_lead(cells, mapping, header) for _, cells in sample]
    wanted = {str(lead["external_id"]) for lead in leads if lead.get("external_id")}
    known = set(Lead.objects.filter(external_id__in=wanted).values_list("external_id", flat=True))
    check = RowValidator(refs=References.load(), now=timezone.now())
    rows = []
    for (number, cells), lead in zip(sample, leads, strict=True):
        updates = lead.get("external_id") in known
        problem = _row_shape_error(cells, header) or ""
        stored: dict = {}
        if not problem:
            stored, errors = check(lead, creating=not updates)
            if errors:
                problem = _messages(errors, mapping, header)
        values = []
        for index, field in order:
            cell = cells[index].strip() if index < len(cells) else ""
            name = attribute_key(field)
            if name is None and field == ATTRIBUTES:
                name = header[index]
            if name is not None:
                value = (stored.get("attributes") or {}).get(name, cell)
            elif field in _REFERENCES or field not in stored:
                value = cell
            else:
                value = stored[field]
            values.append("" if value is None else str(value))
        rows.append(PreviewRow(number=number, values=values, updates=updates, problem=problem))
    return ImportPreview(columns=columns, rows=rows)


def lead_import_run(
    *,
    lead_import_id: int,
    batch_size: int | None = None,
    now: datetime | None = None,
    seconds: float | None = None,
) -> LeadImport | None:
    """Import the queued file in batches; resumes after the last committed batch.

    Each batch, its progress and the import's heartbeat commit together under a row lock,
    so a retried, duplicated or concurrent task never imports a row twice. With `seconds`,
    stops after the first batch that ends later than that: the import stays `running` and
    the caller sends the task again to go on (no task runs for long). Returns None for an
    unknown import. `batch_size` defaults to `BATCH_SIZE`.
    """
    now = now or timezone.now()
    batch_size = batch_size or BATCH_SIZE
    began = time.monotonic()
    with transaction.atomic():
        lead_import = (
            LeadImport.objects.select_for_update(of=("self",))
            .select_related("created_by")
            .filter(pk=lead_import_id)
            .first()
        )
        if lead_import is None:
            return None
        if lead_import.status not in (LeadImport.Status.QUEUED, LeadImport.Status.RUNNING):
            return lead_import
        lead_import.status = LeadImport.Status.RUNNING
        lead_import.started_at = lead_import.started_at or now
        lead_import.heartbeat_at = now
        lead_import.save(update_fields=["status", "started_at", "heartbeat_at"])
    actor = lead_import.created_by

    done = lead_import.processed_rows  # rows before this are committed: not even read again
    offset = 0
    batch: list[tuple[int, list[str]]] = []
    for row in _data_rows(lead_import):
        if offset < done:
            offset += 1
            continue
        batch.append(row)
        if len(batch) == batch_size:
            _commit_batch(lead_import.pk, offset, batch, actor)
            offset += len(batch)
            batch = []
            if seconds is not None and time.monotonic() - began >= seconds:
                lead_import.refresh_from_db()
                return lead_import
    if batch:
        _commit_batch(lead_import.pk, offset, batch, actor)
    LeadImport.objects.filter(pk=lead_import.pk, status=LeadImport.Status.RUNNING).update(
        status=LeadImport.Status.DONE, finished_at=timezone.now()
    )
    lead_import.refresh_from_db()
    return lead_import


def _commit_batch(
    lead_import_id: int, offset: int, batch: list[tuple[int, list[str]]], actor: User | None
) -> None:
    with transaction.atomic():
        locked = LeadImport.objects.select_for_update().get(pk=lead_import_id)
        if locked.processed_rows >= offset + len(batch):
            return  # done by an earlier (or concurrent) run
        skip = locked.processed_rows - offset
        todo = batch[skip:]
        created, updated, rejected = _process_batch(locked, todo, actor)
        LeadImport.objects.filter(pk=lead_import_id).update(
            processed_rows=F("processed_rows") + len(todo),
            created_count=F("created_count") + created,
            updated_count=F("updated_count") + updated,
            rejected_count=F("rejected_count") + len(rejected),
            error_report=Concat(F("error_report"), Value(_report_lines(rejected, ","))),
            heartbeat_at=timezone.now(),
        )


def lead_import_fail(*, lead_import_id: int, message: str) -> None:
    """Mark an import failed (the task gave up); the rows committed so far stay imported."""
    LeadImport.objects.filter(
        pk=lead_import_id, status__in=[LeadImport.Status.QUEUED, LeadImport.Status.RUNNING]
    ).update(status=LeadImport.Status.FAILED, message=message, finished_at=timezone.now())


def error_report_lines(lead_import: LeadImport) -> Iterator[str]:
    """The error report as CSV: the row number, the messages, then the row as it was sent.

    The messages come before the original cells so that a row with too many cells cannot
    push them out of their column.
    """
    yield safe_csv.text([["row", "errors", *lead_import.header]], lineterminator="\n")
    yield lead_import.error_report
