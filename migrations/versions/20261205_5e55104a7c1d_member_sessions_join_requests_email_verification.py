"""member sessions kept on the server; join requests and email verification

Revision ID: 5e55104a7c1d
Revises: a1c3e5f70b29
Create Date: 2026-12-05 21:40:00.000000

`member_sessions` (one row per signed-in browser; logging out deletes it),
`join_requests` (one per registration; a new address's becomes a member when its mailed link is
followed) and `member.email_verified_at`. Members who joined before this revision count as verified from
the day they joined: they have used the account (logins, orders, mail to that address) and
their visitor demand was already attached; refusing their logins until they click a link they
never got would lock out every existing customer.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '5e55104a7c1d'
down_revision = 'a1c3e5f70b29'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('member_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_member_sessions_member_id_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_sessions')),
    sa.UniqueConstraint('key', name=op.f('uq_member_sessions_key'))
    )
    with op.batch_alter_table('member_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_sessions_member_id'), ['member_id'], unique=False)

    op.create_table('join_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_join_requests_member_id_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_join_requests'))
    )
    with op.batch_alter_table('join_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_join_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_join_requests_email'), ['email'], unique=False)

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', app.core.db.UTCDateTime(), nullable=True))
    member = sa.table('member', sa.column('joined_at'), sa.column('email_verified_at'))
    op.execute(member.update().values(email_verified_at=member.c.joined_at))


def _drop_member_column(name):
    """Drop a `member` column without losing the member name search: a plain DROP COLUMN
    (PostgreSQL, SQLite 3.35+) leaves the table and its member_fts triggers in place; an
    older SQLite needs a batch rebuild of the table, which drops the triggers, so they are
    installed again (install_members, below)."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite' or bind.dialect.server_version_info >= (3, 35):
        op.drop_column('member', name)
        return
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column(name)
    install_members(bind)


def downgrade():
    _drop_member_column('email_verified_at')

    with op.batch_alter_table('join_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_join_requests_email'))
        batch_op.drop_index(batch_op.f('ix_join_requests_created_at'))

    op.drop_table('join_requests')

    with op.batch_alter_table('member_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_sessions_member_id'))

    op.drop_table('member_sessions')


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
