"""Rows written in bulk with plain ``INSERT`` statements, for the write paths where
building a Django model object per row costs more than the database's own work (a feed's
new contacts, the audit facts of a chunk of families). Every value is made ready for the
database by its model field, as Django's own inserts do, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools
import json

from django.db import connections, models, router
from django.utils import timezone


def insert_rows(
    model,
    names: tuple[str, ...],
    rows: list[tuple],
    *,
    ignore_conflicts: bool = False,
    returning: bool = False,
) -> list | None:
    """``INSERT`` the rows (values in the order of ``names``, model field names) with one
    multi-row statement when they are few (900 values at most), else one ``executemany``,
    each value made ready for the database by its field, as Django's own
    inserts do (dates, times). A JSON field's value is given as JSON text. With
    ``ignore_conflicts``, a row that would break a unique constraint is skipped
    (``ON CONFLICT DO NOTHING``: SQLite 3.24+ and PostgreSQL).

    With ``returning``, the rows go in multi-row ``INSERT ... RETURNING`` statements
    instead, and their primary keys are returned in the order of the rows (as ``create``
    and Django's ``bulk_create`` rely on): one round trip fewer than reading them back, for
    a few rows; for many, ``executemany`` and one read back cost less."""
    if not rows:
        return [] if returning else None
    connection = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(name) for name in names]
    prepare = [_preparer(field, connection) for field in fields]
    head, row_sql = _insert_sql(connection, model, fields)
    sql = head + row_sql
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    steps = [(i, p) for i, p in enumerate(prepare) if p is not None]
    if steps:
        params = []
        for row in rows:
            row = list(row)
            for i, p in steps:
                row[i] = p(row[i])
            params.append(row)
    else:
        params = rows
    if returning:
        return _returning(connection, model, head, row_sql, params)
    with connection.cursor() as cursor:
        if len(params) * len(names) <= 900:
            # A few rows (an API group's): one multi-row statement. psycopg's executemany
            # sends each row as a statement of its own, pipelined, which for a few rows
            # costs the server and the client more than the one statement.
            tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
            cursor.execute(
                head + ", ".join([row_sql] * len(params)) + tail, [v for r in params for v in r]
            )
        else:
            cursor.executemany(sql, params)
    return None


def _insert_sql(connection, model, fields) -> tuple[str, str]:
    """``INSERT INTO table (columns) VALUES `` and one row's placeholders."""
    head = "INSERT INTO {} ({}) VALUES ".format(
        connection.ops.quote_name(model._meta.db_table),
        ", ".join(connection.ops.quote_name(f.column) for f in fields),
    )
    return head, "(" + ", ".join(["%s"] * len(fields)) + ")"


def _returning(connection, model, head: str, row_sql: str, rows: list) -> list:
    """The rows (values ready for the database) inserted with multi-row ``INSERT ...
    RETURNING`` statements (under 900 values each); their keys, in the order of the rows."""
    pk = connection.ops.quote_name(model._meta.pk.column)
    per_query = max(1, 900 // max(1, len(rows[0])))
    keys: list = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_query):
            part = rows[start : start + per_query]
            cursor.execute(
                head + ", ".join([row_sql] * len(part)) + f" RETURNING {pk}",
                [v for row in part for v in row],
            )
            got = [row[0] for row in cursor.fetchall()]
            if len(got) != len(part):  # pragma: no cover - a database that returns no keys
                raise RuntimeError(f"{model.__name__}: {len(got)} keys for {len(part)} rows")
            keys += got
    return keys


def _preparer(field, connection):
    if isinstance(field, models.DateField):  # DateTimeField too: a batch has few distinct values
        adapt = (
            connection.ops.adapt_datetimefield_value
            if isinstance(field, models.DateTimeField)
            else connection.ops.adapt_datefield_value
        )
        return functools.lru_cache(maxsize=4096)(adapt)
    if isinstance(field, models.JSONField):
        if connection.vendor == "sqlite":  # kept as text there: the caller's JSON text as it is
            return None
        return lambda text: field.get_db_prep_save(json.loads(text), connection)
    return None


def create(objs: list) -> list:
    """Insert unsaved model objects of one model and set their primary keys, as
    ``bulk_create`` does (``INSERT ... VALUES (...), (...) RETURNING``, the keys in the
    order of the rows, which is what Django's ``bulk_create`` relies on too), without its
    cost per value. No signals are sent (nor does ``bulk_create`` send them)."""
    if not objs:
        return objs
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    for field in fields:
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            for obj in objs:
                setattr(obj, field.attname, now)
    prepare = [_object_preparer(field, connection) for field in fields]
    names = [f.attname for f in fields]
    rows = [
        tuple(
            p(getattr(obj, name)) if p is not None else getattr(obj, name)
            for name, p in zip(names, prepare, strict=True)
        )
        for obj in objs
    ]
    head, row_sql = _insert_sql(connection, model, fields)
    keys = _returning(connection, model, head, row_sql, rows)
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def _object_preparer(field, connection):
    if isinstance(field, models.JSONField):
        return lambda value: field.get_db_prep_save(value, connection)
    return _preparer(field, connection)


IN_CHUNK = 900  # values bound to one query: under SQLite's oldest limit (999) and PostgreSQL's


def pairs(model, columns: tuple[str, ...], field: str, values, **where) -> list[tuple]:
    """The ``columns`` of the rows whose ``field`` is one of ``values`` (and whose other
    fields equal ``where``): ``values_list(*columns)`` over ``filter(field__in=values,
    **where)`` in plain SQL, chunked (a feed's look-ups bind thousands of ids a batch)."""
    values = list(values)
    if not values:
        return []
    connection = connections[router.db_for_read(model)]
    q = connection.ops.quote_name
    column = {f.name: f.column for f in model._meta.concrete_fields}
    column.update({f.attname: f.column for f in model._meta.concrete_fields})
    conditions = "".join(f" AND {q(column[name])} = %s" for name in where)
    selected = ", ".join(q(column[name]) for name in columns)
    head = f"SELECT {selected} FROM {q(model._meta.db_table)} WHERE {q(column[field])} IN ({{}}){conditions}"
    found: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), IN_CHUNK):
            part = values[start : start + IN_CHUNK]
            cursor.execute(head.format(", ".join(["%s"] * len(part))), [*part, *where.values()])
            found += cursor.fetchall()
    return found


def delete_in(model, field: str, values) -> None:
    """``filter(field__in=values).delete()`` in plain SQL, chunked, for a model nothing
    refers to and no signal watches (the audit facts a re-evaluation replaces)."""
    values = list(values)
    connection = connections[router.db_for_write(model)]
    q = connection.ops.quote_name
    column = model._meta.get_field(field).column
    with connection.cursor() as cursor:
        for start in range(0, len(values), IN_CHUNK):
            part = values[start : start + IN_CHUNK]
            cursor.execute(
                f"DELETE FROM {q(model._meta.db_table)} WHERE {q(column)} IN ({', '.join(['%s'] * len(part))})",
                part,
            )
