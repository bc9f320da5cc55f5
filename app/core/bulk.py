"""Bulk writes: many rows in one statement's worth of round trips, in the session's transaction.

- `bulk_insert(table, rows)`: every row a dict with the same keys (the table's column keys).
  PostgreSQL takes them with `COPY ... FROM STDIN` on the driver's cursor; SQLite with one
  executemany, which the driver loops in C. Values go through each column's type (a `Money`,
  a `UTCDateTime`, an enum) exactly as an ORM insert would convert them. No RETURNING: the
  caller reads back what it needs. No ORM events run and no object enters the session.
- `id_chunks(ids)` and `id_in(column, ids)`: a condition on many ids. PostgreSQL takes any
  number as one array parameter; SQLite in chunks of CHUNK, under its bound-parameter limit.

A COPY passes no engine event, so before one `before_driver_write` (app.core.signals) is sent
with the connection: whatever watches the engine's statements (the serving layer's put-off
BEGIN) connects there. Nothing here flushes the session or commits.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.core.extensions import db
from app.core.signals import before_driver_write

CHUNK = 2000  # ids per IN (...) list: well under SQLite's bound-parameter limit


def bulk_insert(table: sa.Table, rows: list[dict]) -> None:
    """Insert `rows` into `table` (see the module doc); nothing happens for no rows."""
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    # Each column's bind processor, looked up once: Core would redo this work per row and
    # per value.
    processors = {key: _memo(table.c[key].type.dialect_impl(dialect).bind_processor(dialect))
                  for key in keys}
    if dialect.name == "postgresql":
        _copy(connection, table, keys, rows, processors)
        return
    # One Core executemany. A multi-row VALUES statement (or insertmanyvalues, which needs
    # RETURNING) would make the driver parse one huge statement instead.
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=keys)
    if compiled.positional:
        order = [compiled.binds[name].key for name in compiled.positiontup]
        steps = [(key, processors[key]) for key in order]
        params: list = [tuple(proc(row[key]) if proc else row[key] for key, proc in steps)
                        for row in rows]
    else:
        named = [(compiled.binds[name].key, name, processors[compiled.binds[name].key])
                 for name in compiled.binds]
        params = [{name: proc(row[key]) if proc else row[key] for key, name, proc in named}
                  for row in rows]
    connection.exec_driver_sql(compiled.string, params)


def _copy(connection: sa.Connection, table: sa.Table, keys: list[str], rows: list[dict],
          processors: dict) -> None:
    """PostgreSQL: COPY ... FROM STDIN on the driver's cursor, in the session's transaction."""
    before_driver_write.send(connection)
    quote = connection.dialect.identifier_preparer
    columns = ", ".join(quote.quote(table.c[key].name) for key in keys)
    steps = [(key, processors[key]) for key in keys]
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {quote.format_table(table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([proc(row[key]) if proc else row[key] for key, proc in steps])


def _memo(processor: Callable | None) -> Callable | None:
    """A bind processor that converts each distinct datetime or enum once (bulk rows share a
    handful of timestamps and statuses)."""
    if processor is None:
        return None
    seen: dict = {}

    def process(value):
        if isinstance(value, (datetime, enum.Enum)):
            try:
                return seen[value]
            except KeyError:
                seen[value] = result = processor(value)
                return result
        return processor(value)

    return process


def id_chunks(ids: list[int]) -> list[list[int]]:
    """`ids` in as few lists as `id_in` takes: one on PostgreSQL, chunks of CHUNK on SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return [ids] if ids else []
    return [ids[start:start + CHUNK] for start in range(0, len(ids), CHUNK)]


def id_in(column: sa.ColumnElement, ids: list[int]) -> sa.ColumnElement[bool]:
    """`column` is one of `ids` (one chunk of `id_chunks`)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam("ids", ids, type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(ids)
