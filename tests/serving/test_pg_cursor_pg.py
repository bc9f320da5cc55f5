"""On PostgreSQL each connection's cursor describes a statement's result columns once per SQL
text (app.serving.pg_cursor): what SQLAlchemy reads is what psycopg's own cursor would say,
kept while the result's column types are the same, described anew when they are not."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.serving import pg_cursor
from app.serving.pg_cursor import DescribedOnceCursor


@pytest.fixture
def conn(pg_url):
    dsn = sa.make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, cursor_factory=DescribedOnceCursor) as connection:
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


def test_a_column_whose_type_changed_under_the_statement_is_described_anew(conn):
    conn.execute("CREATE TEMP TABLE shelf (code integer, label text)")
    conn.execute("INSERT INTO shelf VALUES (7, 'seven')")
    sql = "SELECT * FROM shelf"
    with conn.cursor() as cursor:
        cursor.execute(sql)
        assert cursor.description[0].type_code == psycopg.adapters.types["int4"].oid
        conn.execute("ALTER TABLE shelf ALTER COLUMN code TYPE bigint")
        cursor.execute(sql)
        described = [tuple(column) for column in cursor.description]
        assert cursor.fetchall() == [(7, "seven")]

    assert described == _as_psycopg_says(conn, sql)
    assert described[0][1] == psycopg.adapters.types["int8"].oid


def test_results_of_several_statements_of_a_batch_and_of_a_stream_are_described_anew(conn):
    # Each comes after a statement with the same column types, whose description is kept.
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 AS first_set; SELECT 2 AS second_set")
        assert [column.name for column in cursor.description] == ["first_set"]
        assert cursor.nextset()
        assert [column.name for column in cursor.description] == ["second_set"]

        cursor.execute("SELECT %s::int AS single", (1,))
        assert [column.name for column in cursor.description] == ["single"]
        cursor.executemany("SELECT %s::int AS batch", [(1,), (2,)], returning=True)
        assert [column.name for column in cursor.description] == ["batch"]

        cursor.execute("SELECT %s::int AS single", (1,))
        assert [column.name for column in cursor.description] == ["single"]
        for _ in cursor.stream("SELECT %s::int AS streamed", (3,)):
            assert [column.name for column in cursor.description] == ["streamed"]


def test_what_is_kept_is_bounded(conn, monkeypatch):
    monkeypatch.setattr(pg_cursor, "MAX_STATEMENTS", 2)
    monkeypatch.setattr(pg_cursor, "_described", {})
    with conn.cursor() as cursor:
        for n in range(5):
            cursor.execute(f"SELECT {n} AS n{n}")
            assert [column.name for column in cursor.description] == [f"n{n}"]

    assert 1 <= len(pg_cursor._described) <= 2


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
