"""API: personal access tokens and idempotent results

Revision ID: c3a9f2e81d47
Revises: c4f1a9e27d50
Create Date: 2026-12-06 03:00:00.000000

`api_token` keeps each personal access token's SHA-256 (never the secret), its display prefix,
scopes, expiry, last use and revocation; `api_idempotent_result` the first answer to a call
made with an Idempotency-Key, unique per token owner and key.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = 'c3a9f2e81d47'
down_revision = 'c4f1a9e27d50'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('scopes', sa.String(length=200), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
        sa.Column('expires_at', app.core.db.UTCDateTime(), nullable=True),
        sa.Column('last_used_at', app.core.db.UTCDateTime(), nullable=True),
        sa.Column('revoked_at', app.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'],
                                name=op.f('fk_api_token_member_id_member'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash')),
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_member_id'), ['member_id'], unique=False)

    op.create_table(
        'api_idempotent_result',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('endpoint', sa.String(length=100), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'],
                                name=op.f('fk_api_idempotent_result_member_id_member'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotent_result')),
        sa.UniqueConstraint('member_id', 'key',
                            name=op.f('uq_api_idempotent_result_member_id')),
    )


def downgrade():
    op.drop_table('api_idempotent_result')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_member_id'))
    op.drop_table('api_token')
