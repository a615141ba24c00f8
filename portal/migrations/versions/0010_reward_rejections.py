"""Reward rejections: each rejected proposal and the approver's reason, kept when the reward is
proposed again (the one reward row per report goes back to "proposed" and forgot them)

A reward rejected now gets its row from its current state.  Rejections of rewards proposed again
before this migration were overwritten and cannot be recovered here; the audit log still shows
each proposal and rejection (who, when, amount).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reward_rejections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('amount_yuan', sa.Integer(), nullable=False),
    sa.Column('basis', sa.String(length=200), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_on', sa.Date(), nullable=False),
    sa.Column('rejected_by_id', sa.Integer(), nullable=True),
    sa.Column('rejected_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['staff_users.id'], name=op.f('fk_reward_rejections_proposed_by_id_staff_users')),
    sa.ForeignKeyConstraint(['rejected_by_id'], ['staff_users.id'], name=op.f('fk_reward_rejections_rejected_by_id_staff_users')),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_reward_rejections_reward_id_rewards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward_rejections'))
    )
    with op.batch_alter_table('reward_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_rejections_reward_id'), ['reward_id'], unique=False)

    op.execute(
        "INSERT INTO reward_rejections (reward_id, amount_yuan, basis, proposed_by_id, "
        "proposed_on, rejected_by_id, rejected_on, reason) "
        "SELECT id, amount_yuan, basis, proposed_by_id, proposed_on, decided_by_id, "
        "COALESCE(decided_on, proposed_on), COALESCE(rejection_reason, '') "
        "FROM rewards WHERE status = 'rejected' ORDER BY id"
    )


def downgrade() -> None:
    with op.batch_alter_table('reward_rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_rejections_reward_id'))

    op.drop_table('reward_rejections')
