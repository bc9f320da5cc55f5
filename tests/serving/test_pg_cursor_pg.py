"""On PostgreSQL each connection's cursor describes a result's columns once per shape of result
(app.serving.pg_cursor): what SQLAlchemy reads is always what psycopg's own cursor would say,
kept for results whose columns have the same names, types, modifiers and sizes."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.serving import pg_cursor
from app.serving.pg_cursor import DescribedOnceCursor


def _connected(pg_url: str) -> psycopg.Connection:
    dsn = sa.make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(dsn, autocommit=True, cursor_factory=DescribedOnceCursor)


@pytest.fixture
def conn(pg_url):
    with _connected(pg_url) as connection:
        yield connection


@pytest.fixture
def other(pg_url):
    with _connected(pg_url) as connection:
        yield connection


def _as_psycopg_says(conn, sql: str, params=None) -> list[tuple]:
    with psycopg.Cursor(conn) as plain:
        plain.execute(sql, params)
        return [tuple(column) for column in plain.description]


BOOKISH = "SELECT %s::int AS id, 'Dune'::varchar(200) AS title, 12.5::numeric(8, 2) AS price"


def test_a_statement_run_again_is_described_as_psycopg_says_by_the_kept_columns(conn):
    with conn.cursor() as cursor:
        cursor.execute(BOOKISH, (1,))
        first = cursor.description
        cursor.execute(BOOKISH, (2,))
        second = cursor.description

    assert [tuple(column) for column in second] == _as_psycopg_says(conn, BOOKISH, (2,))
    assert [column.name for column in second] == ["id", "title", "price"]
    assert all(kept is column for kept, column in zip(first, second, strict=True))
    assert second is not first  # a list of its own: a caller may change it


def test_another_statement_with_the_same_types_gets_its_own_names(conn):
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 AS a, 'x' AS b")
        cursor.execute("SELECT 2 AS c, 'y' AS d")
        assert [column.name for column in cursor.description] == ["c", "d"]


def _names(cursor) -> list[str]:
    return [column.name for column in cursor.description]


@pytest.mark.parametrize("change", [
    "ALTER TABLE shelf ALTER COLUMN code TYPE bigint",  # another type
    "ALTER TABLE shelf RENAME COLUMN label TO title",  # the same types, another name
    "ALTER TABLE shelf ALTER COLUMN price TYPE numeric(12, 4)",  # another modifier
])
def test_a_table_changed_under_the_same_statement_is_described_as_it_is_now(conn, change):
    conn.execute("CREATE TEMP TABLE shelf (code integer, label text, price numeric(8, 2))")
    conn.execute("INSERT INTO shelf VALUES (7, 'seven', 1.50)")
    sql = "SELECT * FROM shelf"
    with conn.cursor() as cursor:
        cursor.execute(sql)
        assert cursor.description
        conn.execute(change)
        cursor.execute(sql)
        described = [tuple(column) for column in cursor.description]

    assert described == _as_psycopg_says(conn, sql)


def test_two_connections_tables_of_one_name_are_each_described_as_they_are(conn, other):
    conn.execute("CREATE TEMP TABLE staging (isbn text, qty integer)")
    other.execute("CREATE TEMP TABLE staging (title text, stock integer)")
    with conn.cursor() as first, other.cursor() as second:
        first.execute("SELECT * FROM staging")
        second.execute("SELECT * FROM staging")

        assert (_names(first), _names(second)) == (["isbn", "qty"], ["title", "stock"])


def test_every_way_to_a_result_gives_that_results_own_columns(conn):
    # Each comes after a result with the same column types, whose description is kept.
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 AS first_set; SELECT 2 AS second_set")
        assert _names(cursor) == ["first_set"]
        assert cursor.nextset()
        assert _names(cursor) == ["second_set"]
        cursor.set_result(0)
        assert _names(cursor) == ["first_set"]

        cursor.executemany("SELECT %s::int AS batch", [(1,), (2,)], returning=True)
        assert _names(cursor) == ["batch"]

        for _ in cursor.stream("SELECT %s::int AS streamed", (3,)):
            assert _names(cursor) == ["streamed"]

        with cursor.copy("COPY (SELECT 4 AS copied) TO STDOUT") as copy:
            assert list(copy) == [b"4\n"]
        assert [tuple(c) for c in cursor.description] == [tuple(c) for c in _copy_description(conn)]


def _copy_description(conn) -> list:
    with psycopg.Cursor(conn) as plain:
        with plain.copy("COPY (SELECT 4 AS copied) TO STDOUT") as copy:
            list(copy)
        return plain.description


def test_what_is_kept_is_bounded(conn, monkeypatch):
    monkeypatch.setattr(pg_cursor, "MAX_SHAPES", 2)
    with conn.cursor() as cursor:
        for n in range(5):
            cursor.execute(f"SELECT {n} AS n{n}")
            assert _names(cursor) == [f"n{n}"]

    # full at the third shape and the fifth: emptied, then the new one kept
    assert [columns[0].name for columns in pg_cursor._described[conn].values()] == ["n4"]


def test_the_apps_connections_use_it_and_read_rows_by_their_own_names(pg_app):
    with pg_app.app_context():
        connection = db.session.connection()
        assert type(connection.connection.driver_connection.cursor()) is DescribedOnceCursor
        for n in range(3):
            first = connection.execute(sa.select(sa.literal(n).label("copies"),
                                                 sa.literal("in").label("shelf"))).one()
            second = connection.execute(sa.select(sa.literal(n + 1).label("orders"),
                                                  sa.literal("out").label("status"))).one()
            assert first._asdict() == {"copies": n, "shelf": "in"}
            assert second._asdict() == {"orders": n + 1, "status": "out"}
        db.session.rollback()
