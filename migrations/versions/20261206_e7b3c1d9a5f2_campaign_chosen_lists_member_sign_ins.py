"""campaigns for chosen customers and the members' sign-in history (issue 21)

Revision ID: e7b3c1d9a5f2
Revises: d8e2f4a6b1c3
Create Date: 2026-12-06 05:30:00

Two new tables, nothing else changes. `campaign_list_member`: the customers staff chose for a
campaign whose audience is a chosen list (one row per campaign and member). `member_sign_in`:
every sign-in (when, how, the kind of browser), kept after logout for SIGN_IN_HISTORY_DAYS.
Sign-ins from before this revision are not known (their sessions were deleted at logout).
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = 'e7b3c1d9a5f2'
down_revision = 'd8e2f4a6b1c3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign_list_member',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('added_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_list_member_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_campaign_list_member_member_id_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'member_id', name=op.f('pk_campaign_list_member'))
    )
    with op.batch_alter_table('campaign_list_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_list_member_member_id'), ['member_id'], unique=False)

    op.create_table('member_sign_in',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('signed_in_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('way', sa.String(length=16), nullable=False),
    sa.Column('browser', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_member_sign_in_member_id_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_sign_in'))
    )
    with op.batch_alter_table('member_sign_in', schema=None) as batch_op:
        batch_op.create_index('ix_member_sign_in_member_at', ['member_id', 'signed_in_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_sign_in_signed_in_at'), ['signed_in_at'], unique=False)


def downgrade():
    with op.batch_alter_table('member_sign_in', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_sign_in_signed_in_at'))
        batch_op.drop_index('ix_member_sign_in_member_at')

    op.drop_table('member_sign_in')
    with op.batch_alter_table('campaign_list_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_list_member_member_id'))

    op.drop_table('campaign_list_member')
