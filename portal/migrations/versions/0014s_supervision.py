"""挂牌督办: the fifth published kind (督办事项) and its timeline of stages

``supervision_items``: a 督办通知书 (number, type, grade, the hazard or accident, the enterprise,
the 挂牌单位 as ``department_id``, the 责任单位, requirements, deadline, one extension) and its
stage; ``supervision_steps``: its dated, public timeline.  ``reports.supervision_id``: the 督办事项
opened from a verified report — kept on the report's side, so nothing on the public item points
back to a report.

Revision ID: 0014s
Revises: 0014i
Create Date: 2026-12-07 02:41:26.481304
"""

from alembic import op
import sqlalchemy as sa

import portal.models


revision = '0014s'
down_revision = '0014i'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supervision_items',
    sa.Column('notice_no', sa.String(length=80), nullable=False),
    sa.Column('supervision_type', sa.String(length=20), nullable=False),
    sa.Column('grade', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('enterprise_name', sa.String(length=200), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('accident_id', sa.Integer(), nullable=True),
    sa.Column('county', sa.String(length=40), nullable=False),
    sa.Column('sector', sa.String(length=40), nullable=False),
    sa.Column('responsible_unit', sa.String(length=200), nullable=False),
    sa.Column('requirements_source', sa.Text(), nullable=True),
    sa.Column('requirements_html', sa.Text(), nullable=False),
    sa.Column('lifting', sa.Text(), nullable=False),
    sa.Column('listed_on', sa.Date(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('extension_applied_on', sa.Date(), nullable=True),
    sa.Column('extended_deadline', sa.Date(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('applied_on', sa.Date(), nullable=True),
    sa.Column('passed_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('from_report', sa.Boolean(), nullable=False),
    sa.Column('publish_due', sa.Date(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.models.UTCDateTime(), nullable=False),
    sa.Column('published_at', portal.models.UTCDateTime(), nullable=True),
    sa.Column('modified_at', portal.models.UTCDateTime(), nullable=False),
    sa.Column('withdrawn_at', portal.models.UTCDateTime(), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['accident_id'], ['accident_reports.id'], name=op.f('fk_supervision_items_accident_id_accident_reports')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_supervision_items_department_id_departments')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_supervision_items_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_items')),
    sa.UniqueConstraint('notice_no', name=op.f('uq_supervision_items_notice_no')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('supervision_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_items_accident_id'), ['accident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_applied_on'), ['applied_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_closed_on'), ['closed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_county'), ['county'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_grade'), ['grade'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_listed_on'), ['listed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_modified_at'), ['modified_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_passed_on'), ['passed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_publish_due'), ['publish_due'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_published_at'), ['published_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_sector'), ['sector'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_stage'), ['stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_supervision_type'), ['supervision_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_uscc'), ['uscc'], unique=False)

    op.create_table('supervision_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_at', portal.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['supervision_items.id'], name=op.f('fk_supervision_steps_item_id_supervision_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_steps'))
    )
    with op.batch_alter_table('supervision_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_steps_item_id'), ['item_id'], unique=False)

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supervision_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_reports_supervision_id'), ['supervision_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_reports_supervision_id_supervision_items'), 'supervision_items', ['supervision_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reports_supervision_id_supervision_items'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_reports_supervision_id'))
        batch_op.drop_column('supervision_id')

    with op.batch_alter_table('supervision_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_steps_item_id'))

    op.drop_table('supervision_steps')
    with op.batch_alter_table('supervision_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_items_uscc'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_supervision_type'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_stage'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_sector'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_published_at'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_publish_due'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_passed_on'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_modified_at'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_listed_on'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_grade'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_due_on'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_department_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_county'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_closed_on'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_applied_on'))
        batch_op.drop_index(batch_op.f('ix_supervision_items_accident_id'))

    op.drop_table('supervision_items')
