"""The migrations are the single source of the schema: upgrading an empty database gives exactly
what the models declare, on SQLite and on PostgreSQL, and the search index comes with it."""

from __future__ import annotations

import ast
import inspect
import uuid
import warnings
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

import app.core.db
from app import create_app
from app.catalog.search_index import is_search_object
from app.core.db import HAND_WRITTEN_INDEXES
from app.core.extensions import db
from app.models import Book, Member, OrderStatus
from tests.conftest import _make_config, _pg_admin_url
from tests.factories import make_book, make_member, make_placed_order


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


def _run_upgrade_of(revision: str, connection: sa.Connection) -> None:
    """One revision's upgrade() on `connection`, wherever the revision sits in the chain."""
    script = ScriptDirectory("migrations")
    with Operations.context(MigrationContext.configure(connection)):
        script.get_revision(revision).module.upgrade()


def test_the_lifetime_spend_migration_recomputes_it_as_paid_revenue(ctx):
    """Issue 18: members' lifetime spend stored before counted unpaid orders; the data
    migration recomputes every member's as the revenue of their paid orders."""
    member = make_member()
    make_placed_order(member, total=Decimal("300.00"))  # placed, not paid
    make_placed_order(member, total=Decimal("40.00"), status=OrderStatus.PAID)
    make_placed_order(member, total=Decimal("2.50"), status=OrderStatus.DELIVERED)
    make_placed_order(member, total=Decimal("99.00"), status=OrderStatus.CANCELLED)
    idle = make_member()
    # the figures as the old definition left them (every order not cancelled)
    db.session.execute(sa.update(Member).where(Member.id == member.id)
                       .values(order_count=3, lifetime_spend=Decimal("342.50")))
    db.session.execute(sa.update(Member).where(Member.id == idle.id)
                       .values(lifetime_spend=Decimal("12.00")))
    db.session.commit()

    with db.engine.begin() as connection:
        _run_upgrade_of("b7e2d4f19a63", connection)
    db.session.expire_all()

    assert (member.order_count, member.lifetime_spend) == (3, Decimal("42.50"))
    assert (idle.order_count, idle.lifetime_spend) == (0, Decimal("0.00"))


def test_the_tier_names_migration_gives_the_default_grades_their_chinese_names(ctx):
    """Issue 22: pages named the four default grades in Chinese by translating their English
    names; e3b7c1d9a2f4 stores those Chinese names for an existing table (a grade the shop
    named itself gets none, so it shows its English name as before)."""
    assert _tier_names_after_migration() == [("gold", "zh_Hans", "金卡"),
                                             ("regular", "zh_Hans", "普通")]


def test_the_tier_names_migration_on_postgresql(pg_app):
    with pg_app.app_context():
        assert _tier_names_after_migration() == [("gold", "zh_Hans", "金卡"),
                                                 ("regular", "zh_Hans", "普通")]


def _tier_names_after_migration() -> list:
    from app.models import Tier

    db.session.add_all([
        Tier(code="regular", name="Regular", min_spend=Decimal("0"), discount_rate=Decimal("0")),
        Tier(code="gold", name="Gold", min_spend=Decimal("900"), discount_rate=Decimal("0.1")),
        Tier(code="vip", name="VIP", min_spend=Decimal("5000"), discount_rate=Decimal("0.2")),
    ])
    db.session.commit()

    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE tier_name"))
        _run_upgrade_of("e3b7c1d9a2f4", connection)
        return [tuple(row) for row in connection.execute(sa.text(
            "SELECT tier.code, tier_name.locale, tier_name.name FROM tier_name "
            "JOIN tier ON tier.id = tier_name.tier_id ORDER BY tier.code"))]


def test_the_crm_migration_fills_the_columns_it_adds_with_its_own_frozen_helpers(ctx):
    """3c20aa5256c0 fills phone keys, order figures and title sort keys for the rows that
    exist, with copies of the helpers it once imported (no service code runs)."""
    migration = ScriptDirectory("migrations").get_revision("3c20aa5256c0").module
    assert not any(name.startswith("app.") and name != "app.core.db"
                   for name in _imported_modules(migration))
    member = make_member(phone="+86 138-0013 8000")
    make_placed_order(member, total=Decimal("40.00"), status=OrderStatus.PAID)
    make_placed_order(member, total=Decimal("300.00"))  # placed, not paid
    make_placed_order(member, total=Decimal("99.00"), status=OrderStatus.CANCELLED)
    book = make_book(title="三体: Ｔhe Three-Body Problem")
    db.session.commit()
    db.session.execute(sa.update(Member).values(phone_key=None, order_count=0,
                                                lifetime_spend=Decimal("0.00"),
                                                last_order_at=None))
    db.session.execute(sa.update(Book).values(title_sort=""))
    db.session.commit()

    with db.engine.begin() as connection:
        assert migration.backfill_phone_keys(connection) == 1
        migration.refresh_all_order_stats(connection)
        migration.fill_title_sort(connection)
    db.session.expire_all()

    assert member.phone_key == "0008310083168"  # 8613800138000, last digit first
    assert (member.order_count, member.lifetime_spend) == (2, Decimal("40.00"))
    assert member.last_order_at is not None
    assert book.title_sort == "san ti the three body problem"


def _imported_modules(module) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    return names | {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module}


def _uses_of_app(module) -> set[str]:
    """Every dotted name the revision reads from the `app` package ('app.core.db.Money'), and
    every name imported from it ('from app.core.db import Money' gives 'app.core.db.Money')."""
    tree = ast.parse(inspect.getsource(module))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    uses = {f"{node.module}.{alias.name}" for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            and (node.module == "app" or node.module.startswith("app."))
            for alias in node.names}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id == "app"):
            continue
        while isinstance(parents.get(node), ast.Attribute) and parents[node].value is node:
            node = parents[node]
        uses.add(ast.unparse(node))
    return uses


def _is_column_type(dotted: str) -> bool:
    owner, _, name = dotted.rpartition(".")
    if owner != "app.core.db":
        return False
    found = getattr(app.core.db, name, None)
    return isinstance(found, type) and issubclass(found, sa.types.TypeEngine)


def test_no_revision_runs_application_code_only_its_own():
    """History does not change when a service does: every revision carries its own copy of
    what it runs (search DDL, data fills) and takes from `app` only the column types of
    app.core.db."""
    revisions = list(ScriptDirectory("migrations").walk_revisions())
    assert len(revisions) >= 11
    imports, uses = {}, {}
    for revision in revisions:
        modules = {name for name in _imported_modules(revision.module)
                   if name == "app" or name.startswith("app.")} - {"app.core.db"}
        if modules:
            imports[revision.revision] = modules
        other = {name for name in _uses_of_app(revision.module)
                 if name != "app.core.db" and not _is_column_type(name)}
        if other:
            uses[revision.revision] = other

    assert imports == {}
    assert uses == {}


# ------------------------------------------ downgrades keep the member name search working

def _new_revisions() -> list:
    """The revisions of 2026-12-05 (issues 17 and 18), newest first."""
    return [r for r in ScriptDirectory("migrations").walk_revisions()
            if "/20261205_" in r.path]


def _member_search_objects(connection: sa.Connection) -> set[str]:
    if connection.dialect.name == "sqlite":
        return set(connection.scalars(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'member'")))
    return {i["name"] for i in sa.inspect(connection).get_indexes("member")
            if i["name"] == "ix_member_name_trgm"}


def _renamed_member_is_found(connection: sa.Connection, member_id: int, name: str) -> bool:
    """Rename the member by plain SQL (the schema of the revision, not the models) and look the
    new name up as the customer search does: FTS5 on SQLite, pg_trgm on PostgreSQL."""
    connection.execute(sa.text("UPDATE member SET name = :n WHERE id = :id"),
                       {"n": name, "id": member_id})
    fragment = name.split()[-1][1:-1]
    if connection.dialect.name == "sqlite":
        found = connection.scalars(sa.text(
            "SELECT rowid FROM member_fts WHERE member_fts MATCH :q"), {"q": f'"{fragment}"'})
    else:
        found = connection.scalars(sa.text("SELECT id FROM member WHERE name ILIKE :q"),
                                   {"q": f"%{fragment}%"})
    return member_id in set(found)


def _down_and_up_past_each_new_revision(uri: str, sqlite_version=None) -> None:
    from app.crm import customers

    app = create_app(_make_config(uri))
    with app.app_context():
        upgrade()
        if sqlite_version is not None:  # the version the migrations see, to take their other path
            db.engine.dialect.server_version_info = sqlite_version
        member_id = make_member(name="Ada Lovelace").id
        db.session.commit()
        expected = _member_search_objects(db.session.connection())
        db.session.commit()
        assert expected, "the member name search objects exist at head"
        for n, revision in enumerate(_new_revisions()):
            downgrade(revision=revision.down_revision)
            with db.engine.begin() as connection:
                assert _member_search_objects(connection) == expected, revision.revision
                assert _renamed_member_is_found(connection, member_id, f"Reader Wanderly{n}x"), \
                    revision.revision
        upgrade()
        db.session.expire_all()
        found = db.session.scalars(sa.select(Member.id).where(
            customers.search_condition("Wanderly"))).all()
        assert found == [member_id]
        with db.engine.connect() as connection:
            assert _member_search_objects(connection) == expected
    assert _differences(app) == []
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("sqlite_version", [None, (3, 34, 1)],
                         ids=["this SQLite", "SQLite without DROP COLUMN"])
def test_downgrading_past_each_new_revision_keeps_the_member_search_on_sqlite(
        tmp_path, sqlite_version):
    _down_and_up_past_each_new_revision(f"sqlite:///{tmp_path / 'migrated.db'}",
                                        sqlite_version)


@pytest.mark.pg
def test_downgrading_past_each_new_revision_keeps_the_member_search_on_postgresql():
    admin_url = sa.make_url(_pg_admin_url())
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bookstation_migrate_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        _down_and_up_past_each_new_revision(
            admin_url.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
