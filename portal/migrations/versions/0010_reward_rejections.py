"""Reward rejections: each rejected proposal and the approver's reason, kept when the reward is
proposed again (the one reward row per report goes back to "proposed" and forgot them)

A reward rejected now gets its row from its current state.  Rejections of rewards proposed again
before this migration were overwritten and cannot be recovered here; the audit log still shows
each proposal and rejection (who, when, amount).

The reasons are staff-only and may quote the report, so both columns (the new one and
rewards.rejection_reason) are now encrypted like the report's own reasons, with the newest key
of PORTAL_DATA_KEY (through portal.crypto, with the app's keyring, as in 0004).  The purpose
labels below are frozen: they must equal those of the models for as long as data exists.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Callable

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# (table, column, purpose of its key)
ENCRYPTED = (("rewards", "rejection_reason", "rewards.rejection_reason"),
             ("reward_rejections", "reason", "reward_rejections.reason"))


def _convert(transform: Callable[[object, str], str]) -> None:
    connection = op.get_bind()
    for table, column, purpose in ENCRYPTED:
        rows = connection.execute(sa.text(
            f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
        if not rows:
            continue  # a fresh database needs no key here
        from portal.crypto import app_keyring

        cipher = app_keyring().cipher(purpose)
        for row_id, value in rows:
            connection.execute(
                sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),
                {"value": transform(cipher, value), "id": row_id},
            )


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
    _convert(lambda cipher, value: cipher.encrypt(value))


def downgrade() -> None:
    _convert(lambda cipher, value: cipher.decrypt(value))
    with op.batch_alter_table('reward_rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_rejections_reward_id'))

    op.drop_table('reward_rejections')
