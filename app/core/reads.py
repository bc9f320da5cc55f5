"""Selects of plain columns, run on the session's transaction without the ORM's loading.

`db.session.execute` takes every statement through the ORM's compile and loading steps, even a
select of columns whose rows it hands back as they came (SQLAlchemy `Row`s either way). On a
page that misses the caches that was half of a statement's cost in Python: a book page's
reader-section query took 157 µs through the session and 76 µs on its connection, on SQLite
(bench/README.md, issue 24).

`rows(statement, params)` runs such a select on the session's own connection: the same
transaction and the same engine events (SQLite's write lock, PostgreSQL's lazy BEGIN) as
`db.session.execute`, and changes still pending in the session are flushed first, as the
session's autoflush would. It is for selects of columns only: a select of entities would come
back as rows of columns, not as loaded objects. Statements built once for it go through
`columns_only`, which refuses an entity when the statement is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from app.core.extensions import db


def rows(statement: sa.Select, params: Mapping[str, Any] | None = None) -> sa.CursorResult:
    """The result of `statement`, a select of columns, in the request's transaction."""
    session = db.session
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    return session.connection().execute(statement, params)


def columns_only(statement: sa.Select) -> sa.Select:
    """`statement`, checked to select no ORM entity (for `rows`, where statements are built
    once): raises TypeError if it does."""
    for described in statement.column_descriptions:
        if described.get("entity") is not None and described.get("expr") is described["entity"]:
            raise TypeError(f"{described['name']!r} is an entity: use db.session.execute")
    return statement
