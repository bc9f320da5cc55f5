"""Bulk writes: many rows in one statement's worth of round trips, in the session's transaction.

- `bulk_insert(table, rows)`: every row a dict with the same keys (the table's column keys).
  PostgreSQL takes them with `COPY ... FROM STDIN` on the driver's cursor; SQLite with one
  executemany, which the driver loops in C. Values go through each column's type (a `Money`,
  a `UTCDateTime`, an enum) exactly as an ORM insert would convert them. No RETURNING: the
  caller reads back what it needs. No ORM events run and no object enters the session.
- `insert_rows(objects)` and `keep_as_loaded(*objects)`: new ORM objects written with one Core
  INSERT per class (RETURNING their ids), then put in the session as if just loaded, without
  the unit of work's flush.
- `id_chunks(ids)` and `id_in(column, ids)`: a condition on many ids. PostgreSQL takes any
  number as one array parameter; SQLite in chunks of CHUNK, under its bound-parameter limit.

A COPY passes no engine event, so before one `before_driver_write` (app.core.signals) is sent
with the connection: whatever watches the engine's statements (the serving layer's put-off
BEGIN) connects there. Nothing here flushes the session or commits.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, SessionTransaction, make_transient, make_transient_to_detached

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


def insert_rows(objects: Sequence[object]) -> None:
    """Write new (transient) objects of one mapped class with one Core INSERT ... RETURNING
    their primary key, in the session's transaction, and give each its id. They stay out of
    the session: `keep_as_loaded` puts them in once every related row is written (a child's
    foreign key is set from its parent's id before the child's own `insert_rows`).

    Every column but the primary key must be given on the object, or have a plain (not
    computed) default, or be nullable without any default (NULL); ValueError otherwise: a
    value the database computed would not be on the object, and reading it would cost a
    query. As in a flush, a None given counts as not given (unless the column's type stores
    None, as JSON's null). Foreign keys are given as ids: a related object assigned to a
    relationship instead is refused (ValueError), since only a flush would copy its id. No ORM
    flush events run (the unit of work is not involved); nothing commits.
    """
    if not objects:
        return
    mapper = sa.inspect(type(objects[0]))
    statement, pk_attribute, columns = _insert_plan(mapper)
    relationships = mapper.relationships.keys()
    rows = []
    for obj in objects:
        if type(obj) is not mapper.class_:
            raise ValueError("insert_rows: objects of one class")
        given = sa.inspect(obj).dict
        assigned = [key for key in relationships if key in given]
        if assigned:
            raise ValueError(f"{mapper.class_.__name__}.{assigned[0]}: give the foreign key's "
                             f"id, not the related object")
        row = {}
        for attribute, key, column in columns:
            if attribute in given and (given[attribute] is not None
                                       or column.type.should_evaluate_none):
                value = given[attribute]
            elif column.default is not None and column.default.is_scalar:
                value = column.default.arg
                setattr(obj, attribute, value)
            elif column.default is None and column.server_default is None and column.nullable:
                value = None
                setattr(obj, attribute, None)
            else:
                raise ValueError(f"{mapper.class_.__name__}.{attribute} must be given")
            row[key] = value
        rows.append(row)
    result = db.session.execute(statement, rows if len(rows) > 1 else rows[0])
    for obj, new_id in zip(objects, result.scalars(), strict=True):
        setattr(obj, pk_attribute, new_id)


def keep_as_loaded(*objects: object) -> None:
    """Put objects that `insert_rows` wrote in the session as if just loaded from it:
    persistent, with the values they were given (the relationships assigned between them
    too, an order's `lines`) and nothing pending (SQLAlchemy's `make_transient_to_detached`,
    then `Session.add`). Pass every object of the graph at once: one added while a related
    one is still transient would make that one pending, to be inserted again.

    With `insert_rows`, what the unit of work's flush would leave, at a fraction of its cost:
    the flush works out dependencies and history for every relationship of every mapper
    involved (bench/README.md).

    A rollback of the transaction (or savepoint) they were kept in takes them out of the
    session again, transient with their values, as it does the objects a flush inserted
    (`_forget_rolled_back`)."""
    for obj in objects:
        make_transient_to_detached(obj)
    session = db.session()
    for obj in objects:
        session.add(obj)
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_KEPT, []).append((transaction, objects))


_KEPT = "bookstation.kept_as_loaded"  # Session.info: (transaction, objects) kept in it


@sa.event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    """The objects `keep_as_loaded` put in a transaction that has just been rolled back (or
    inside one: a savepoint of it) leave the session and become transient, their values kept,
    before the session expires what stays: what a rollback does to the objects a flush
    inserted. Their rows are gone, and an object left persistent would stand for a row that
    is not there (SQLite may even give its id to the next row)."""
    kept = session.info.get(_KEPT)
    if not kept:
        return
    still = []
    for transaction, objects in kept:
        if all(t.is_active for t in _self_and_parents(transaction)):
            still.append((transaction, objects))
            continue
        for obj in objects:
            if obj in session:
                session.expunge(obj)
            make_transient(obj)
    session.info[_KEPT] = still


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_kept(session: Session, transaction: SessionTransaction) -> None:
    """Once the session's outermost transaction ends (committed, rolled back or closed), what
    it kept is like any loaded object: nothing left to undo. A savepoint that ends otherwise
    than rolled back (released) leaves what it kept to the transaction around it."""
    if transaction.parent is None:
        session.info.pop(_KEPT, None)
        return
    kept = session.info.get(_KEPT)
    if kept:
        session.info[_KEPT] = [(transaction.parent if kept_in is transaction else kept_in, objects)
                               for kept_in, objects in kept]


def _self_and_parents(transaction: SessionTransaction | None) -> Iterator[SessionTransaction]:
    while transaction is not None:
        yield transaction
        transaction = transaction.parent


_INSERT_RETURNING: dict[sa.Table, tuple[sa.Insert, str, list[tuple[str, str, sa.Column]]]] = {}


def _insert_plan(mapper: sa.orm.Mapper) -> tuple[sa.Insert, str, list[tuple[str, str, sa.Column]]]:
    """The INSERT ... RETURNING id of a mapper's table, its primary key's attribute, and for
    every other column (attribute, column key, column); built once per table."""
    table = mapper.local_table
    plan = _INSERT_RETURNING.get(table)
    if plan is None:
        if mapper.inherits is not None or len(table.primary_key.columns) != 1:
            raise ValueError(f"{mapper.class_.__name__}: one table with one primary key only")
        (pk,) = table.primary_key.columns
        columns = [(mapper.get_property_by_column(column).key, column.key, column)
                   for column in table.columns if column is not pk]
        statement = sa.insert(table).returning(pk, sort_by_parameter_order=True)
        plan = (statement, mapper.get_property_by_column(pk).key, columns)
        _INSERT_RETURNING[table] = plan
    return plan


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
