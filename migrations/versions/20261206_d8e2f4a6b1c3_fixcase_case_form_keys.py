"""service cases: one-time form keys (a form sent twice opens one case, sends one reply)

Revision ID: d8e2f4a6b1c3
Revises: c4a8e1f2d357
Create Date: 2026-12-06 03:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd8e2f4a6b1c3'
down_revision = 'c4a8e1f2d357'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_key', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_support_case_form_key', ['form_key'], unique=True)

    with op.batch_alter_table('case_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_key', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_case_message_form_key', ['form_key'], unique=True)


def downgrade():
    with op.batch_alter_table('case_message', schema=None) as batch_op:
        batch_op.drop_index('ix_case_message_form_key')
        batch_op.drop_column('form_key')

    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.drop_index('ix_support_case_form_key')
        batch_op.drop_column('form_key')
