"""callcentre: orders record their channel (web, phone) and the staff member who took a
phone order

Revision ID: c4a1d7e2f905
Revises: b7e2d4f19a63
Create Date: 2026-12-06 02:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a1d7e2f905'
down_revision = 'b7e2d4f19a63'
branch_labels = None
depends_on = None


def upgrade():
    # Every order so far was placed on the website: the server default fills them in.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False,
                                      server_default='web'))
        batch_op.add_column(sa.Column('placed_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_orders_placed_by_id_member', 'member',
                                    ['placed_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('fk_orders_placed_by_id_member', type_='foreignkey')
        batch_op.drop_column('placed_by_id')
        batch_op.drop_column('channel')
