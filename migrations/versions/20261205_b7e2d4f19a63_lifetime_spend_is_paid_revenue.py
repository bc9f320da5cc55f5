"""lifetime spend is the revenue of paid orders: recompute every member's

Revision ID: b7e2d4f19a63
Revises: 5e1d3a7c9b20
Create Date: 2026-12-05 22:30:00.000000

`member.lifetime_spend` counted every order not cancelled, unpaid ones included; it is now the
member's revenue: the total of the orders paid, shipped or delivered. Data only: the columns
stay as they are.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = 'b7e2d4f19a63'
down_revision = '5e1d3a7c9b20'
branch_labels = None
depends_on = None


def upgrade():
    refresh_all_order_stats(op.get_bind())


def downgrade():
    # Data only, and the paid revenue is a sound figure for older code to carry on from: the
    # old definition's figure is not restored.
    pass


# --------------------------------------------------------------------------- frozen helpers
# Copied here from the service this revision once called (app.crm.customers), so that changing
# that service can never change what this revision did. Tables are declared with only the
# columns used.

_member = sa.table('member', sa.column('id', sa.Integer), sa.column('order_count', sa.Integer),
                   sa.column('lifetime_spend', sa.BigInteger),  # Money: integer cents
                   sa.column('last_order_at', app.core.db.UTCDateTime))
_orders = sa.table('orders', sa.column('id', sa.Integer), sa.column('member_id', sa.Integer),
                   # the column's type as created: its binds take no ::VARCHAR cast on PostgreSQL
                   sa.column('status', sa.Enum('placed', 'paid', 'shipped', 'delivered',
                                               'cancelled', name='orderstatus',
                                               native_enum=False, length=16)),
                   sa.column('total', sa.BigInteger),  # Money: integer cents
                   sa.column('placed_at', app.core.db.UTCDateTime))
# The statuses that counted as paid (revenue) when this revision was frozen.
_PAID_STATUSES = ('paid', 'shipped', 'delivered')


def refresh_all_order_stats(connection):
    """Every member's order count (orders not cancelled), lifetime spend (the total of the
    paid orders) and last order (over every order), in one UPDATE."""
    mine = _orders.c.member_id == _member.c.id
    connection.execute(sa.update(_member).values({
        'order_count': sa.select(sa.func.count(_orders.c.id))
        .where(mine, _orders.c.status != 'cancelled').scalar_subquery(),
        'lifetime_spend': sa.select(sa.func.coalesce(
            sa.func.sum(sa.case((_orders.c.status.in_(_PAID_STATUSES), _orders.c.total))), 0))
        .where(mine).scalar_subquery(),
        'last_order_at': sa.select(sa.func.max(_orders.c.placed_at)).where(mine)
        .scalar_subquery(),
    }))
