"""Rows written in bulk with plain ``INSERT`` statements, for the write paths where
building a Django model object per row costs more than the database's own work (a feed's
new contacts, the audit facts of a chunk of families). Every value is made ready for the
database by its model field, as Django's own inserts do, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools
import json

from django.db import connections, models, router


def insert_rows(model, names: tuple[str, ...], rows: list[tuple]) -> None:
    """``INSERT`` the rows (values in the order of ``names``, model field names) with one
    ``executemany``, each value made ready for the database by its field, as Django's own
    inserts do (dates, times). A JSON field's value is given as JSON text."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(name) for name in names]
    prepare = [_preparer(field, connection) for field in fields]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        connection.ops.quote_name(model._meta.db_table),
        ", ".join(connection.ops.quote_name(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
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
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


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
