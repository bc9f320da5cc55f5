"""returns and refunds: return requests, refunds, orders.refunded_cents, grade_change.refund_id

Return requests and their lines; refunds; what each order was refunded in all; the refund a
grade change names.

Revision ID: f6227ffe05ed
Revises: b7e2d4f19a63
Create Date: 2026-12-06 02:45:00.000000

`orders.refunded_cents` starts at 0 for every order: nothing was refunded before this revision,
so every figure (revenue, lifetime spend, qualifying spend) stays what it was.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = 'f6227ffe05ed'
down_revision = 'b7e2d4f19a63'
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refunded_cents', sa.BigInteger(), server_default='0',
                                      nullable=False))

    op.create_table('return_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', _enum('returnstatus', 'requested', 'approved', 'received', 'refunded',
                              'rejected'), nullable=False),
    sa.Column('reason', _enum('returnreason', 'damaged', 'wrong_item', 'not_described', 'late',
                              'changed_mind', 'other'), nullable=False),
    sa.Column('details', sa.String(length=1000), nullable=True),
    sa.Column('reject_reason', sa.String(length=500), nullable=True),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_by_staff', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('approved_at', app.core.db.UTCDateTime(), nullable=True),
    sa.Column('rejected_at', app.core.db.UTCDateTime(), nullable=True),
    sa.Column('received_at', app.core.db.UTCDateTime(), nullable=True),
    sa.Column('refunded_at', app.core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_return_request_member_id_member')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['member.id'], name=op.f('fk_return_request_opened_by_id_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_return_request_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_request'))
    )
    with op.batch_alter_table('return_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_request_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_request_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_return_request_status_created', ['status', 'created_at'], unique=False)

    op.create_table('return_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('restock', _enum('restock', 'resaleable', 'damaged'), nullable=True),
    sa.Column('received_quantity', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_return_line_quantity_positive')),
    sa.CheckConstraint('received_quantity IS NULL OR (received_quantity >= 0 AND received_quantity <= quantity)', name=op.f('ck_return_line_received_in_range')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_line.id'], name=op.f('fk_return_line_order_line_id_order_line'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['return_id'], ['return_request.id'], name=op.f('fk_return_line_return_id_return_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_line'))
    )
    with op.batch_alter_table('return_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_line_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_line_return_id'), ['return_id'], unique=False)

    op.create_table('refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=True),
    sa.Column('amount', app.core.db.Money(), nullable=False),
    sa.Column('lines_amount', app.core.db.Money(), nullable=False),
    sa.Column('shipping_amount', app.core.db.Money(), nullable=False),
    sa.Column('goodwill_amount', app.core.db.Money(), nullable=False),
    sa.Column('payment_method', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('how', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('form_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refund_amount_positive')),
    sa.CheckConstraint('amount = lines_amount + shipping_amount + goodwill_amount', name=op.f('ck_refund_parts_add_up')),
    sa.CheckConstraint('lines_amount >= 0 AND shipping_amount >= 0 AND goodwill_amount >= 0', name=op.f('ck_refund_parts_not_negative')),
    sa.ForeignKeyConstraint(['actor_id'], ['member.id'], name=op.f('fk_refund_actor_id_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refund_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['return_id'], ['return_request.id'], name=op.f('fk_refund_return_id_return_request'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund'))
    )
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.create_index('ix_refund_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_refund_order_form_key', ['order_id', 'form_key'], unique=True)
        batch_op.create_index(batch_op.f('ix_refund_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_return_id'), ['return_id'], unique=False)

    with op.batch_alter_table('grade_change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_grade_change_refund_id'), ['refund_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_grade_change_refund_id_refund'), 'refund',
                                    ['refund_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('grade_change', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_grade_change_refund_id_refund'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_grade_change_refund_id'))
        batch_op.drop_column('refund_id')
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_return_id'))
        batch_op.drop_index(batch_op.f('ix_refund_order_id'))
        batch_op.drop_index('ix_refund_order_form_key')
        batch_op.drop_index('ix_refund_created_at')
    op.drop_table('refund')
    with op.batch_alter_table('return_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_line_return_id'))
        batch_op.drop_index(batch_op.f('ix_return_line_order_line_id'))
    op.drop_table('return_line')
    with op.batch_alter_table('return_request', schema=None) as batch_op:
        batch_op.drop_index('ix_return_request_status_created')
        batch_op.drop_index(batch_op.f('ix_return_request_order_id'))
        batch_op.drop_index(batch_op.f('ix_return_request_member_id'))
    op.drop_table('return_request')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('refunded_cents')
