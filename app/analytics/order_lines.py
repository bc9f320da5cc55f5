"""Reading the order history in bulk, for the analyses that go over all of it (associations,
loyalty, recommendations): timestamps as plain integers, computed by the database the same way
on SQLite and PostgreSQL, and rows read straight from the DBAPI cursor.

`raw_rows` and `fetch_int_array` compile the statement with literal values: pass only selects
whose parameters come from code or from the database (statuses, ids, numbers), never from user
input.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.core.extensions import db
from app.core.lazy import numpy as np


def epoch_seconds(column) -> sa.ColumnElement[int]:
    """A UTC timestamp column as integer seconds since 1970 (cheap to read in bulk: no
    datetime parsing per row)."""
    if db.engine.dialect.name == "postgresql":
        return sa.cast(sa.extract("epoch", column), sa.BigInteger)
    return sa.cast(sa.func.strftime("%s", column), sa.BigInteger)


def month_number(column) -> sa.ColumnElement[int]:
    """year * 12 + month - 1 of a UTC timestamp column (consecutive months differ by 1)."""
    if db.engine.dialect.name == "postgresql":
        return sa.cast(sa.extract("year", column) * 12 + sa.extract("month", column) - 1,
                       sa.Integer)
    return (sa.cast(sa.func.strftime("%Y", column), sa.Integer) * 12
            + sa.cast(sa.func.strftime("%m", column), sa.Integer) - 1)


def raw_rows(stmt: sa.Select) -> list[tuple]:
    """Rows as plain tuples from the DBAPI cursor (no Row objects: a million rows cost a
    fraction of the ORM path)."""
    sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def fetch_int_array(stmt: sa.Select, columns: int) -> np.ndarray:
    """Run a select of integer columns and return its rows as an int64 array."""
    return np.array(raw_rows(stmt), dtype=np.int64).reshape(-1, columns)
