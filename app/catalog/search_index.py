"""The full-text index over books, which SQLAlchemy models cannot declare.

SQLite: an FTS5 table with the `trigram` tokenizer over `book.search_text` (substring matches,
so Chinese titles without word spaces work too), kept in step by triggers.
PostgreSQL: the `pg_trgm` extension and a GIN trigram index on `book.search_text`.
The migration calls `install`; tests that build the schema with `create_all` call it as well.
Alembic's autogenerate ignores these objects (see `is_search_object`).
"""

from __future__ import annotations

import sqlalchemy as sa

SQLITE_DDL = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS book_fts USING fts5(
           search_text, content='book', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER IF NOT EXISTS book_fts_ai AFTER INSERT ON book BEGIN
           INSERT INTO book_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS book_fts_ad AFTER DELETE ON book BEGIN
           INSERT INTO book_fts(book_fts, rowid, search_text)
           VALUES ('delete', old.id, old.search_text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS book_fts_au AFTER UPDATE OF search_text ON book BEGIN
           INSERT INTO book_fts(book_fts, rowid, search_text)
           VALUES ('delete', old.id, old.search_text);
           INSERT INTO book_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS book_fts_au",
    "DROP TRIGGER IF EXISTS book_fts_ad",
    "DROP TRIGGER IF EXISTS book_fts_ai",
    "DROP TABLE IF EXISTS book_fts",
]
POSTGRES_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_book_search_trgm ON book USING gin (search_text gin_trgm_ops)",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS ix_book_search_trgm"]


def install(connection: sa.Connection) -> None:
    for statement in _ddl(connection, SQLITE_DDL, POSTGRES_DDL):
        connection.execute(sa.text(statement))


def uninstall(connection: sa.Connection) -> None:
    for statement in _ddl(connection, SQLITE_DROP, POSTGRES_DROP):
        connection.execute(sa.text(statement))


def _ddl(connection: sa.Connection, sqlite: list[str], postgres: list[str]) -> list[str]:
    name = connection.dialect.name
    if name == "sqlite":
        return sqlite
    if name == "postgresql":
        return postgres
    return []


# --------------------------------------------------------------------------- members
# The customer list finds members by any part of their name: an FTS5 trigram table over
# `member.name` on SQLite, a GIN trigram index on it on PostgreSQL. Email, member number and
# phone use b-tree indexes declared on the model (app.crm.customers explains the search).

MEMBER_SQLITE_DDL = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS member_fts USING fts5(
           name, content='member', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER IF NOT EXISTS member_fts_ai AFTER INSERT ON member BEGIN
           INSERT INTO member_fts(rowid, name) VALUES (new.id, new.name);
       END""",
    """CREATE TRIGGER IF NOT EXISTS member_fts_ad AFTER DELETE ON member BEGIN
           INSERT INTO member_fts(member_fts, rowid, name) VALUES ('delete', old.id, old.name);
       END""",
    """CREATE TRIGGER IF NOT EXISTS member_fts_au AFTER UPDATE OF name ON member BEGIN
           INSERT INTO member_fts(member_fts, rowid, name) VALUES ('delete', old.id, old.name);
           INSERT INTO member_fts(rowid, name) VALUES (new.id, new.name);
       END""",
    # Members who existed before the index (a migration on a live shop) are indexed at once.
    "INSERT INTO member_fts(member_fts) VALUES ('rebuild')",
]
MEMBER_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS member_fts_au",
    "DROP TRIGGER IF EXISTS member_fts_ad",
    "DROP TRIGGER IF EXISTS member_fts_ai",
    "DROP TABLE IF EXISTS member_fts",
]
MEMBER_POSTGRES_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_member_name_trgm ON member USING gin (name gin_trgm_ops)",
    # "Last order, newest first" puts members without orders last: DESC NULLS LAST, which a
    # plain index cannot serve on PostgreSQL (SQLite sorts NULLs last in DESC by itself).
    """CREATE INDEX IF NOT EXISTS ix_member_last_order_desc
           ON member (last_order_at DESC NULLS LAST, id DESC)""",
]
MEMBER_POSTGRES_DROP = ["DROP INDEX IF EXISTS ix_member_last_order_desc",
                        "DROP INDEX IF EXISTS ix_member_name_trgm"]


def install_members(connection: sa.Connection) -> None:
    """The member name index; the migration that adds it calls this."""
    for statement in _ddl(connection, MEMBER_SQLITE_DDL, MEMBER_POSTGRES_DDL):
        connection.execute(sa.text(statement))


def uninstall_members(connection: sa.Connection) -> None:
    for statement in _ddl(connection, MEMBER_SQLITE_DROP, MEMBER_POSTGRES_DROP):
        connection.execute(sa.text(statement))


def is_search_object(name: str | None) -> bool:
    """True for the objects above, which autogenerate must neither create nor drop."""
    return bool(name) and (name.startswith(("book_fts", "member_fts"))
                           or name in ("ix_book_search_trgm", "ix_member_name_trgm",
                                        "ix_member_last_order_desc"))
