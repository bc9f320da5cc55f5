"""callcentre: orders record their channel (web, phone) and the staff member who took a
phone order; follow-ups become tasks (assignee, priority, what to do) and notes can be edited;
saved mail templates for writing to a customer; demands taken on the phone; saved customer
list views

Revision ID: c4a1d7e2f905
Revises: c3a9f2e81d47
Create Date: 2026-12-06 02:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = 'c4a1d7e2f905'
down_revision = 'c3a9f2e81d47'
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
    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.String(length=8), nullable=False,
                                      server_default='normal'))
        batch_op.add_column(sa.Column('task_note', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('edited_at', app.core.db.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key('fk_interaction_assignee_id_member', 'member',
                                    ['assignee_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_interaction_assignee_open',
                              ['assignee_id', 'follow_up_done_at', 'follow_up_on'])
    with op.batch_alter_table('demand', schema=None) as batch_op:
        batch_op.add_column(sa.Column('taken_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('caller_name', sa.String(length=120), nullable=True))
        batch_op.create_foreign_key('fk_demand_taken_by_id_member', 'member',
                                    ['taken_by_id'], ['id'], ondelete='SET NULL')
    op.create_table(
        'customer_mail_template',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_at', app.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_mail_template')),
        sa.UniqueConstraint('name', 'locale', name='uq_customer_mail_template_name_locale'),
    )
    op.create_table(
        'customer_view',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('query', sa.String(length=1000), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['member.id'],
                                name=op.f('fk_customer_view_owner_id_member'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_view')),
    )
    op.create_index('ix_customer_view_owner_id', 'customer_view', ['owner_id'])
    # Each follow-up so far was its author's to do: they become the assignee.
    interaction = sa.table('interaction', sa.column('assignee_id', sa.Integer),
                           sa.column('staff_id', sa.Integer),
                           sa.column('follow_up_on', sa.Date))
    op.execute(interaction.update().where(interaction.c.follow_up_on.is_not(None))
               .values(assignee_id=interaction.c.staff_id))


def downgrade():
    op.drop_index('ix_customer_view_owner_id', table_name='customer_view')
    op.drop_table('customer_view')
    op.drop_table('customer_mail_template')
    with op.batch_alter_table('demand', schema=None) as batch_op:
        batch_op.drop_constraint('fk_demand_taken_by_id_member', type_='foreignkey')
        batch_op.drop_column('caller_name')
        batch_op.drop_column('taken_by_id')
    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.drop_index('ix_interaction_assignee_open')
        batch_op.drop_constraint('fk_interaction_assignee_id_member', type_='foreignkey')
        batch_op.drop_column('edited_at')
        batch_op.drop_column('task_note')
        batch_op.drop_column('priority')
        batch_op.drop_column('assignee_id')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('fk_orders_placed_by_id_member', type_='foreignkey')
        batch_op.drop_column('placed_by_id')
        batch_op.drop_column('channel')
