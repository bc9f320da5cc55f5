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


def is_search_object(name: str | None) -> bool:
    """True for the objects above, which autogenerate must neither create nor drop."""
    return bool(name) and (name.startswith("book_fts") or name == "ix_book_search_trgm")
