"""The migrations are the single source of the schema: upgrading an empty database gives exactly
what the models declare, on SQLite and on PostgreSQL, and the search index comes with it."""

from __future__ import annotations

import uuid
import warnings

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from app.db import HAND_WRITTEN_INDEXES
from app.extensions import db
from app.search_index import is_search_object
from tests.conftest import _make_config, _pg_admin_url


def _compared(name: str | None) -> bool:
    return not is_search_object(name) and name not in HAND_WRITTEN_INDEXES


def _differences(app) -> list:
    with app.app_context(), db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (ix_book_category_listing), so Alembic skips
        # comparing them and says so; the migration creates that index by hand.
        warnings.filterwarnings("ignore", message=".*expression-based index", category=UserWarning)
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, parents: _compared(name),
                "include_object": lambda obj, name, type_, reflected, other: _compared(name),
            },
        )
        return compare_metadata(context, db.metadata)


def _upgrade_and_compare(uri: str) -> tuple[list, set[str], set[str]]:
    app = create_app(_make_config(uri))
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("book")}
    diffs = _differences(app)
    with app.app_context():
        downgrade(revision="base")
        left = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        db.engine.dispose()
    assert not left, f"downgrade to base left tables behind: {left}"
    return diffs, tables, indexes


def test_migrations_build_exactly_the_models_on_sqlite(tmp_path):
    diffs, tables, indexes = _upgrade_and_compare(f"sqlite:///{tmp_path / 'migrated.db'}")

    assert diffs == []
    assert {"book", "member", "orders", "outbox_mail", "book_fts"} <= tables
    assert "ix_book_category_listing" in indexes


@pytest.mark.pg
def test_migrations_build_exactly_the_models_on_postgresql():
    admin_url = sa.make_url(_pg_admin_url())
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bookstation_migrate_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        diffs, tables, indexes = _upgrade_and_compare(url)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    assert diffs == []
    assert {"book", "member", "orders", "outbox_mail"} <= tables
    assert {"ix_book_category_listing", "ix_book_search_trgm"} <= indexes
