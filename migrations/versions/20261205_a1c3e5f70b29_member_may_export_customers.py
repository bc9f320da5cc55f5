"""a member of staff may be allowed to download the customer list

Revision ID: a1c3e5f70b29
Revises: a17c4e0d2b91
Create Date: 2026-12-05 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = 'a1c3e5f70b29'
down_revision = 'a17c4e0d2b91'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN, not batch mode: on SQLite a batch rebuild of `member` would drop the
    # member_fts triggers that keep the customer name search current.
    op.add_column('member', sa.Column('may_export_customers', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    # A plain DROP COLUMN (PostgreSQL, SQLite 3.35+) keeps the table and its member_fts
    # triggers; an older SQLite rebuilds the table in batch mode, which drops the triggers,
    # so they are installed again.
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite' or bind.dialect.server_version_info >= (3, 35):
        op.drop_column('member', 'may_export_customers')
        return
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('may_export_customers')
    install_members(bind)


# --------------------------------------------------------------------------- frozen helpers
# Copied here from the service this revision once called (app.catalog.search_index), so that
# changing that service can never change what this revision does. Only the SQLite batch
# rebuild of `member` needs it, so only the SQLite statements are kept.

# The customer list's name search on SQLite: an FTS5 trigram table over member.name, kept in
# step by triggers (a batch rebuild of `member` drops the triggers).
_MEMBER_SQLITE_DDL = [
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
    # Members who existed before the index are indexed at once.
    "INSERT INTO member_fts(member_fts) VALUES ('rebuild')",
]


def install_members(connection):
    """The member name search on SQLite (its table, triggers and a rebuild)."""
    for statement in _MEMBER_SQLITE_DDL:
        connection.execute(sa.text(statement))
