"""mail retries by age: last attempt time, requeue time

Revision ID: 5e1d3a7c9b20
Revises: 5e55104a7c1d
Create Date: 2026-12-05 21:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '5e1d3a7c9b20'
down_revision = '5e55104a7c1d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_attempt_at', app.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('requeued_at', app.core.db.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_outbox_mail_last_attempt_at', ['last_attempt_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_mail_last_attempt_at')
        batch_op.drop_column('requeued_at')
        batch_op.drop_column('last_attempt_at')
