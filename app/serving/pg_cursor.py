"""A psycopg cursor whose `description` is built once per statement, not once per execution.

SQLAlchemy reads `cursor.description` after every statement that returns rows, to match the
result's columns to the statement's. psycopg builds it anew each time: a `Column` for every
column, each decoding the column's name and looking its type up in the connection's type
registry. For a book page's query of 21 columns that was a third of the statement's CPU in the
worker (about 70 µs of 214 µs; bench/README.md, issue 24), more than the round trip's.

`DescribedOnceCursor` keeps the description of each SQL text it ran (at most
`MAX_STATEMENTS`, then it starts again) and hands the kept one back while the result has the
same column types, one by one, as when it was kept: the same SQL text returns the same columns
unless the schema changed under it (a migration while serving; a different column type then
describes it anew). Everything else is psycopg's own `Cursor`, through its public API: the
class is installed as each connection's `cursor_factory` (`use_on`).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import Column

MAX_STATEMENTS = 2000

# SQL text -> (the columns' type oids, the description): shared by every connection of the
# process; a Column holds only what it read from the result (name, type, sizes).
_described: dict[str, tuple[tuple[int, ...], list[Column]]] = {}


class DescribedOnceCursor(psycopg.Cursor):
    """psycopg's Cursor, with the description of each SQL text built once (module docstring)."""

    __slots__ = ("_sql",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sql: str | None = None

    def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def, override]
        self._sql = query if isinstance(query, str) else None
        return super().execute(query, params, **kwargs)

    # Anything else that brings other results describes them as psycopg does.
    def executemany(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self._sql = None
        return super().executemany(*args, **kwargs)

    def stream(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self._sql = None
        return super().stream(*args, **kwargs)

    def nextset(self) -> bool | None:
        self._sql = None
        return super().nextset()

    @property
    def description(self) -> list[Column] | None:
        result = self.pgresult
        sql = self._sql
        if sql is None or result is None or not result.nfields:
            return super().description
        types = tuple(map(result.ftype, range(result.nfields)))
        kept = _described.get(sql)
        if kept is not None and kept[0] == types:
            return list(kept[1])
        described = super().description
        if described is not None:
            if len(_described) >= MAX_STATEMENTS:
                _described.clear()
            _described[sql] = (types, described)
            return list(described)
        return described


def use_on(dbapi_connection: psycopg.Connection) -> None:
    """Make `DescribedOnceCursor` the cursor of `dbapi_connection` (psycopg's public
    `cursor_factory`), unless the connection was given another cursor class already."""
    if dbapi_connection.cursor_factory is psycopg.Cursor:
        dbapi_connection.cursor_factory = DescribedOnceCursor
