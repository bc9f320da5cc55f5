"""order checkout key: one order per checkout form

Revision ID: a17c4e0d2b91
Revises: de8f225cb0df
Create Date: 2026-12-05 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = 'a17c4e0d2b91'
down_revision = 'de8f225cb0df'
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column and a new index: no table rebuild on SQLite, no rewrite on PostgreSQL.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkout_key', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_orders_member_checkout_key', ['member_id', 'checkout_key'],
                              unique=True)


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_member_checkout_key')
        batch_op.drop_column('checkout_key')
