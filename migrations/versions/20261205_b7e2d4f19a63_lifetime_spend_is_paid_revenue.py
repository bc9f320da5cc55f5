"""lifetime spend is the revenue of paid orders: recompute every member's

Revision ID: b7e2d4f19a63
Revises: 5e1d3a7c9b20
Create Date: 2026-12-05 22:30:00.000000

Issue 18: `member.lifetime_spend` counted every order not cancelled, unpaid ones included; it
is now the member's revenue by the one definition (app.ordering.definitions). Data only: the
columns stay as they are.
"""
from alembic import op

from app.crm import customers


# revision identifiers, used by Alembic.
revision = 'b7e2d4f19a63'
down_revision = '5e1d3a7c9b20'
branch_labels = None
depends_on = None


def upgrade():
    customers.refresh_all_order_stats(connection=op.get_bind())


def downgrade():
    # Data only, and the paid revenue is a sound figure for older code to carry on from: the
    # old definition's figure is not restored.
    pass
