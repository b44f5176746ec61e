"""Set-based writes on PostgreSQL, for batches that the ORM would write row by row.

- `rows_insert`: ids from the table's sequence in one query (`ids_reserve`), then the rows
  with `COPY`. A 1,000-lead `bulk_create` binds 30,000 parameters into one statement text,
  which cost a quarter of a second per bulk-upsert call; `COPY` streams the same rows in a
  few milliseconds.
- `rows_update`: one `UPDATE … FROM unnest(arrays)` statement per chunk. Django's
  `bulk_update` writes `CASE WHEN id = … THEN …` per field and row; building and planning
  that for a 2,000-lead rescoring batch costs seconds. With one array per column the
  statement stays small and PostgreSQL joins the rows on the primary key.

Rows are plain dicts keyed by field attname (`campaign_id`, not `campaign`): no model
instance is built, so nothing here depends on how Django stores an instance's values.
Neither function sends signals or calls `save()`; `auto_now`/`auto_now_add` fields are
filled as `save()` would fill them.
"""

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from django.db import connections, router
from django.db.models import DateField, JSONField, Model
from django.utils import timezone

CHUNK = 2000


def ids_reserve(model: type[Model], count: int) -> list[int]:
    """`count` new primary keys of `model` from its table's sequence, in one query."""
    if count <= 0:
        return []
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _stamped_fields(model: type[Model]) -> list:
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, DateField) and (field.auto_now or field.auto_now_add)
    ]


def rows_insert(
    model: type[Model], rows: Sequence[dict], *, now: datetime | None = None
) -> list[int]:
    """Insert `rows` (dicts of values by attname) into `model`'s table; answer their ids.

    A row without a primary key gets one from the table's sequence (its dict is given the
    key too, so callers can refer to it). Fields a row leaves out take their default;
    `auto_now`/`auto_now_add` fields take `now` unless given. Two statements whatever the
    number of rows (one when every row has its id). A constraint violation raises Django's
    `IntegrityError` and inserts nothing.
    """
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    pk = meta.pk.attname
    waiting = [row for row in rows if row.get(pk) is None]
    for row, new_id in zip(waiting, ids_reserve(model, len(waiting)), strict=True):
        row[pk] = new_id
    now = now or timezone.now()
    fields = list(meta.concrete_fields)
    stamped = {field.attname for field in _stamped_fields(model)}
    defaults: dict[str, object] = {}
    factories: dict[str, object] = {}
    for field in fields:
        if field.attname in stamped:
            defaults[field.attname] = now
        elif field.has_default() and callable(field.default):
            factories[field.attname] = field.default
        else:
            defaults[field.attname] = field.get_default()
    json_fields = {field.attname: field.encoder for field in fields if isinstance(field, JSONField)}
    names = [field.attname for field in fields]
    unknown = set().union(*(row.keys() for row in rows)) - set(names)
    if unknown:
        raise TypeError(f"{model.__name__} has no fields {sorted(unknown)}.")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(copy_sql) as copy,
    ):
        # Rows may share one JSON value (scoring explanations of a batch): encoded once.
        encoded: dict[int, str] = {}

        def as_json(value, encoder):
            if value is None:
                return None
            text = encoded.get(id(value))
            if text is None:
                text = encoded[id(value)] = json.dumps(value, cls=encoder)
            return text

        # What each column takes when a row leaves it out, worked out once per call: the
        # loop below runs for every cell of up to a thousand rows.
        missing = object()
        plan = [
            (name, factories.get(name), defaults.get(name), json_fields.get(name, missing))
            for name in names
        ]
        for row in rows:
            values = []
            for name, factory, default, encoder in plan:
                value = row.get(name, missing)
                if value is missing:
                    value = factory() if factory is not None else default
                if encoder is not missing:
                    value = as_json(value, encoder)
                values.append(value)
            copy.write_row(values)
    return [row[pk] for row in rows]


def rows_insert_new(
    model: type[Model],
    rows: Sequence[dict],
    *,
    conflict: Sequence[str],
    now: datetime | None = None,
) -> list[int]:
    """Insert the `rows` whose `conflict` columns (a unique constraint) are not taken yet,
    in one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`; rows inserted get their
    `id` in their dict, the others none. Answers the ids inserted. Idempotent: the insert for
    reactions that may run twice (a clock per hand-off)."""
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    now = now or timezone.now()
    stamped = {field.attname for field in _stamped_fields(model)}
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns, arrays, selects, params = [], [], [], []
    for field in fields:
        if field.attname in stamped:
            values = [row.get(field.attname, now) for row in rows]
        else:
            default = field.get_default()
            values = [row.get(field.attname, default) for row in rows]
        column = quote(field.column)
        columns.append(column)
        if isinstance(field, JSONField):
            arrays.append("%s::text[]")
            selects.append(f"v.{column}::jsonb")
            values = [None if v is None else json.dumps(v, cls=field.encoder) for v in values]
        else:
            arrays.append(f"%s::{field.db_type(connection)}[]")
            selects.append(f"v.{column}")
            values = [field.get_db_prep_save(v, connection) for v in values]
        params.append(values)
    conflict_columns = ", ".join(quote(meta.get_field(name).column) for name in conflict)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(arrays)}) AS v({', '.join(columns)}) "
        f"ON CONFLICT ({conflict_columns}) DO NOTHING "
        f"RETURNING {quote(meta.pk.column)}, {conflict_columns}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchall()
    by_key = {tuple(row[1:]): row[0] for row in inserted}
    for row in rows:
        key = tuple(row[name] for name in conflict)
        if key in by_key:
            row[meta.pk.attname] = by_key[key]
    return [row[0] for row in inserted]


def rows_update(model: type[Model], rows: Sequence[Mapping], fields: Sequence[str]) -> int:
    """Write `fields` (attnames) of `rows` (dicts with the primary key) in a few statements.

    The number of statements is ceil(len(rows) / 2000), whatever the fields. Answers the
    number of rows updated.
    """
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    pk = meta.pk
    by_attname = {field.attname: field for field in meta.concrete_fields}
    columns = [by_attname[name] for name in dict.fromkeys(fields)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    # One array parameter per column (JSON travels as text): a few parameters per statement
    # instead of one per value, which is what keeps building the statement cheap.
    arrays, assignments = [], []
    for field in columns:
        column = quote(field.column)
        if isinstance(field, JSONField):
            arrays.append("text[]")
            assignments.append(f"{column} = v.{column}::jsonb")
        else:
            arrays.append(f"{field.db_type(connection)}[]")
            assignments.append(f"{column} = v.{column}")
    names = ", ".join(quote(name) for name in ["pk", *(field.column for field in columns)])
    unnest = ", ".join(f"%s::{kind}" for kind in [f"{pk.db_type(connection)}[]", *arrays])
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} FROM unnest({unnest}) AS v({names}) "
        f"WHERE {table}.{quote(pk.column)} = v.{quote('pk')}"
    )
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            params: list[list] = [[row[pk.attname] for row in chunk]]
            for field in columns:
                name = field.attname
                if isinstance(field, JSONField):
                    params.append(
                        [
                            None if row[name] is None else json.dumps(row[name], cls=field.encoder)
                            for row in chunk
                        ]
                    )
                else:
                    params.append([field.get_db_prep_save(row[name], connection) for row in chunk])
            cursor.execute(sql, params)
            updated += cursor.rowcount
    return updated


def instance_values(obj: Model, names: Sequence[str]) -> dict:
    """The values of `names` (attnames) of a model instance, as a row for these functions."""
    return {name: getattr(obj, name) for name in names}
