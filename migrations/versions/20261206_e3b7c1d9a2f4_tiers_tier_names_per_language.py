"""member grades: a tier's name (and perks) per language

Revision ID: e3b7c1d9a2f4
Revises: e7b3c1d9a5f2
Create Date: 2026-12-06 05:30:00

One new table, `tier_name`: a tier's name and perks in a language other than English
(`tier.name` and `tier.perks` stay the English ones and the fallback). The default grades
(Regular, Silver, Gold, Platinum) of an existing table get their Chinese names, which pages
showed until now by translating those four English names.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e3b7c1d9a2f4'
down_revision = 'e7b3c1d9a5f2'
branch_labels = None
depends_on = None

DEFAULT_CHINESE_NAMES = {"Regular": "普通", "Silver": "银卡", "Gold": "金卡", "Platinum": "白金"}


def upgrade():
    tier_name = op.create_table(
        'tier_name',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tier_id', sa.Integer(), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=True),
        sa.Column('perks', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['tier_id'], ['tier.id'],
                                name=op.f('fk_tier_name_tier_id_tier'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_name')),
        sa.UniqueConstraint('tier_id', 'locale', name=op.f('uq_tier_name_tier_id')),
    )
    tier = sa.table('tier', sa.column('id', sa.Integer()), sa.column('name', sa.String()))
    rows = op.get_bind().execute(
        sa.select(tier.c.id, tier.c.name).where(tier.c.name.in_(DEFAULT_CHINESE_NAMES))
    ).all()
    if rows:
        op.bulk_insert(tier_name, [
            {"tier_id": tier_id, "locale": "zh_Hans", "name": DEFAULT_CHINESE_NAMES[name],
             "perks": None}
            for tier_id, name in rows])


def downgrade():
    op.drop_table('tier_name')
