"""category names per language, books' alternative titles, shop information pages

Revision ID: c4a8e1f2d357
Revises: c4a1d7e2f905
Create Date: 2026-12-06 02:50:00.000000

Three new tables, nothing rewritten: `category_name` (a category's name and description in a
language other than English; `category.name` stays the English name and the fallback), `book_alt_title` (the
other names a book is known by, which its search text includes) and `info_page` (shipping and
returns, privacy, terms, per language). Books' search texts are rebuilt by the service when
their alternative titles change; existing books have none.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = 'c4a8e1f2d357'
down_revision = 'c4a1d7e2f905'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('category_name',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'],
                            name=op.f('fk_category_name_category_id_category'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category_name')),
    sa.UniqueConstraint('category_id', 'locale', name=op.f('uq_category_name_category_id'))
    )
    op.create_table('book_alt_title',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('book_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.CheckConstraint("kind IN ('original', 'english', 'pinyin', 'other', 'author')",
                       name=op.f('ck_book_alt_title_kind')),
    sa.ForeignKeyConstraint(['book_id'], ['book.id'],
                            name=op.f('fk_book_alt_title_book_id_book'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_book_alt_title'))
    )
    with op.batch_alter_table('book_alt_title', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_book_alt_title_book_id'), ['book_id'], unique=False)
    op.create_table('info_page',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_info_page')),
    sa.UniqueConstraint('slug', 'locale', name=op.f('uq_info_page_slug'))
    )


def downgrade():
    op.drop_table('info_page')
    with op.batch_alter_table('book_alt_title', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_book_alt_title_book_id'))
    op.drop_table('book_alt_title')
    op.drop_table('category_name')
