"""A psycopg cursor whose `description` is built once per shape of result, not once per
execution.

SQLAlchemy reads `cursor.description` after every statement that returns rows, to match the
result's columns to the statement's. psycopg builds it anew each time: a `Column` for every
column, each decoding the column's name and looking its type up in the connection's type
registry. For a book page's query of 21 columns that was a third of the statement's CPU in the
worker (about 70 µs of 214 µs; bench/README.md, issue 24), more than the round trip's.

`DescribedOnceCursor` keeps, for each connection, the description of each shape of result it
has described: the columns' names (as the server sent them, undecoded), type oids, type
modifiers and sizes, read from the result itself, which is all a `Column` is made of. A result
of the same shape gets the kept columns back (in a list of its own); any other is described by
psycopg and kept in turn, at most `MAX_SHAPES` per connection (then it starts again). Nothing
depends on which statement, cursor or method (execute, executemany, stream, nextset, copy)
brought the result: a renamed column or another table of the same types is another shape.
Everything else is psycopg's own `Cursor`, through its public API: the class is installed as
each connection's `cursor_factory` (`use_on`).
"""

from __future__ import annotations

import weakref

import psycopg
from psycopg import Column

MAX_SHAPES = 500

Shape = tuple[tuple[bytes | None, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]

# connection -> {shape of a result: its description}. Per connection: a Column's name is
# decoded in its connection's encoding and its type looked up in its connection's registry.
_described: weakref.WeakKeyDictionary[psycopg.Connection, dict[Shape, list[Column]]] = (
    weakref.WeakKeyDictionary())


class DescribedOnceCursor(psycopg.Cursor):
    """psycopg's Cursor, with the description of each shape of result built once per
    connection (module docstring)."""

    __slots__ = ()

    @property
    def description(self) -> list[Column] | None:
        result = self.pgresult
        if result is None or not result.nfields:
            return super().description
        fields = range(result.nfields)
        shape = (tuple(map(result.fname, fields)), tuple(map(result.ftype, fields)),
                 tuple(map(result.fmod, fields)), tuple(map(result.fsize, fields)))
        kept = _described.get(self.connection)
        if kept is None:
            kept = _described[self.connection] = {}
        columns = kept.get(shape)
        if columns is None:
            columns = super().description
            if columns is None:
                return None
            if len(kept) >= MAX_SHAPES:
                kept.clear()
            kept[shape] = columns
        return list(columns)


def use_on(dbapi_connection: psycopg.Connection) -> None:
    """Make `DescribedOnceCursor` the cursor of `dbapi_connection` (psycopg's public
    `cursor_factory`), unless the connection was given another cursor class already."""
    if dbapi_connection.cursor_factory is psycopg.Cursor:
        dbapi_connection.cursor_factory = DescribedOnceCursor
