"""Fast bulk writes on PostgreSQL; other databases (SQLite for `make run`) use the ORM's.

- `rows_update`: one `UPDATE … FROM unnest(arrays)` statement per chunk. Django's
  `bulk_update` writes `CASE WHEN id = … THEN …` per field and row; building and planning
  that for a 2,000-lead rescoring batch costs seconds. With one array per column the
  statement stays small and PostgreSQL joins the rows on the primary key.
- `rows_insert`: ids from the table's sequence in one query (`ids_reserve`, which a
  caller may run earlier), then the rows with `COPY`.
  A 1,000-lead `bulk_create` binds 30,000 parameters into one statement text, which cost
  a quarter of a second per bulk-upsert call; `COPY` streams the same rows in a few
  milliseconds.
- `instances_new`: unsaved instances from dicts of values without `Model.__init__`, which
  walks every field of the model per instance (17 µs for a lead; a fifth of the Python
  time of a 1,000-lead bulk upsert before it was replaced).
"""

import json
import time
from collections.abc import Iterable, Sequence
from operator import attrgetter

from django.db import connections, router
from django.db.models import DateField, JSONField, Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

CHUNK = 2000


def rows_update(objs: Sequence[Model], fields: Sequence[str]) -> int:
    """Write `fields` of `objs` (instances of one model, with pks) in a few statements.

    The number of statements is ceil(len(objs) / 2000), whatever the fields.
    """
    if not objs:
        return 0
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_update(objs, fields, batch_size=CHUNK)
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in dict.fromkeys(fields)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    casts = [pk.db_type(connection)] + [field.db_type(connection) for field in columns]
    if any(cast is None for cast in casts):
        return model._default_manager.bulk_update(objs, fields, batch_size=CHUNK)
    # One array parameter per column (JSON travels as text): a few parameters per statement
    # instead of one per value, which is what makes the client-side query building cheap.
    arrays = []
    selects = []
    for field, cast in zip(columns, casts[1:], strict=True):
        is_json = isinstance(field, JSONField)
        arrays.append("text[]" if is_json else f"{cast}[]")
        column = quote(field.column)
        selects.append(f"{column} = v.{column}::jsonb" if is_json else f"{column} = v.{column}")
    names = ", ".join(quote(name) for name in ["pk", *(field.column for field in columns)])
    unnest = ", ".join(f"%s::{kind}" for kind in [f"{casts[0]}[]", *arrays])
    sql = (
        f"UPDATE {table} SET {', '.join(selects)} FROM unnest({unnest}) AS v({names}) "
        f"WHERE {table}.{quote(pk.column)} = v.{quote('pk')}"
    )
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), CHUNK):
            chunk = objs[start : start + CHUNK]
            params: list[list] = [[obj.pk for obj in chunk]]
            for field in columns:
                if isinstance(field, JSONField):
                    params.append(
                        [
                            None
                            if getattr(obj, field.attname) is None
                            else json.dumps(getattr(obj, field.attname), cls=field.encoder)
                            for obj in chunk
                        ]
                    )
                else:
                    params.append(
                        [
                            field.get_db_prep_save(getattr(obj, field.attname), connection)
                            for obj in chunk
                        ]
                    )
            cursor.execute(sql, params)
            updated += cursor.rowcount
    return updated


def instances_new(model: type[Model], rows: Iterable[dict]) -> list[Model]:
    """Unsaved instances of `model`, one per dict of values by attname (`campaign_id`, not
    `campaign`): the same instances as `model(**values)`, with the fields' defaults for
    the fields a dict leaves out (a callable default is called per instance).

    Falls back to `model(**values)` when the model has `pre_init`/`post_init` receivers
    (they expect `__init__` to run). An unknown name is a `TypeError`, as in `__init__`.
    """
    rows = list(rows)
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return [model(**values) for values in rows]
    fixed: dict = {}
    made: list[tuple[str, object]] = []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            made.append((field.attname, field.default))
        else:
            fixed[field.attname] = field.get_default()
    known = fixed.keys() | {name for name, _ in made}
    instances = []
    new = model.__new__
    for values in rows:
        if not values.keys() <= known:
            unknown = sorted(set(values) - known)
            raise TypeError(f"{model.__name__} got unexpected field names {unknown}.")
        instance = new(model)
        # Model.__init__ stores field values in the instance's __dict__ too; descriptors
        # read them from there.
        attributes = instance.__dict__
        attributes["_state"] = ModelState()
        attributes.update(fixed)
        for name, default in made:
            if name not in values:
                attributes[name] = default()
        attributes.update(values)
        instances.append(instance)
    return instances


def ids_reserve(objs: Sequence[Model]) -> bool:
    """Give new `objs` (instances of one model, without primary keys) their primary keys
    from the table's sequence in one query, before they are inserted with `rows_insert`.

    Rows that refer to them can then be written first: PostgreSQL checks this project's
    foreign keys at commit. Only on PostgreSQL with an auto primary key; elsewhere nothing
    is done and False is answered (the ids come with the insert).
    """
    if not objs:
        return True
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    if connection.vendor != "postgresql" or not _is_auto(meta.pk):
        return False
    waiting = [obj for obj in objs if obj.pk is None]
    if waiting:
        with connection.cursor() as cursor, connection.wrap_database_errors:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(waiting)],
            )
            for obj, row in zip(waiting, cursor.fetchall(), strict=True):
                obj.pk = row[0]
    return True


def rows_insert(objs: Sequence[Model]) -> Sequence[Model]:
    """Insert new `objs` (instances of one model with an auto primary key, not saved yet) and
    set their primary keys, in two statements whatever their number (one when `ids_reserve`
    gave them their keys already).

    Like `bulk_create`: no `save()` and no signals; `auto_now`/`auto_now_add` fields are
    filled. A constraint violation is Django's `IntegrityError`, and nothing is inserted
    (the objs keep the ids they were given).
    """
    if not objs:
        return objs
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    if connection.vendor != "postgresql" or not _is_auto(meta.pk):
        return model._default_manager.bulk_create(objs)
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    stamped = [
        field
        for field in fields
        if isinstance(field, DateField) and (field.auto_now or field.auto_now_add)
    ]
    ids_reserve(objs)
    # One C-level call reads a row's values; only the JSON columns are touched again.
    values_of = attrgetter(*(field.attname for field in [meta.pk, *fields]))
    json_columns = [
        (index, field.encoder)
        for index, field in enumerate(fields, start=1)
        if isinstance(field, JSONField)
    ]
    columns = ", ".join(quote(field.column) for field in [meta.pk, *fields])
    copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
    began = time.monotonic()
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(copy_sql) as copy,
    ):
        # Rows may share one JSON value (scoring explanations of a batch): encoded once.
        encoded: dict[int, str] = {}
        for obj in objs:
            for field in stamped:
                field.pre_save(obj, add=True)
            row = list(values_of(obj))
            for index, encoder in json_columns:
                value = row[index]
                if value is not None:
                    text = encoded.get(id(value))
                    if text is None:
                        text = encoded[id(value)] = json.dumps(value, cls=encoder)
                    row[index] = text
            copy.write_row(row)
    if connection.queries_logged:  # so query counts and timings see the COPY too
        connection.queries_log.append(
            {"sql": f"{copy_sql} -- {len(objs)} rows", "time": f"{time.monotonic() - began:.3f}"}
        )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias
    return objs


def _is_auto(field) -> bool:
    return field.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField")
