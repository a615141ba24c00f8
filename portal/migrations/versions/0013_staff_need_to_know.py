"""Need-to-know in the back office: handlers' counties and role grants a second admin confirms

``staff_counties``: the counties whose new reports are assigned to a handler automatically
(``reports.handler_id``, which already existed, is the assignment).  ``staff_role_grants``: a
role that reads reports (handler, approver) or confirms grants (admin), proposed by one
administrator and in force only once a different one confirms it.  Roles held before this
migration stay in force; nothing is moved.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

import portal.models


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_counties',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('county', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], name=op.f('fk_staff_counties_user_id_staff_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'county', name=op.f('pk_staff_counties'))
    )
    op.create_table('staff_role_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', portal.models.UTCDateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', portal.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff_users.id'], name=op.f('fk_staff_role_grants_decided_by_id_staff_users')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['staff_users.id'], name=op.f('fk_staff_role_grants_proposed_by_id_staff_users')),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], name=op.f('fk_staff_role_grants_user_id_staff_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_role_grants'))
    )
    with op.batch_alter_table('staff_role_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_role_grants_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_role_grants_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_role_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_role_grants_user_id'))
        batch_op.drop_index(batch_op.f('ix_staff_role_grants_status'))
    op.drop_table('staff_role_grants')
    op.drop_table('staff_counties')
