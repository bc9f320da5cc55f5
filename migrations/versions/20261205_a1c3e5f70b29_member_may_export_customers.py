"""a member of staff may be allowed to download the customer list

Revision ID: a1c3e5f70b29
Revises: a17c4e0d2b91
Create Date: 2026-12-05 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.core.db
from app.catalog import search_index


# revision identifiers, used by Alembic.
revision = 'a1c3e5f70b29'
down_revision = 'a17c4e0d2b91'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN, not batch mode: on SQLite a batch rebuild of `member` would drop the
    # member_fts triggers that keep the customer name search current (app.catalog.search_index).
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
    search_index.install_members(bind)
