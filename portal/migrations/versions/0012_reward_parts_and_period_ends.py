"""Reward parts and the raw ends of calendar-day periods

- reports.hazard_fine_yuan: the fine imposed for the hazard or violation part of a report, where
  it is not the linked decision's whole fine (a decision that also punishes a concealed accident;
  a concealed-accident report that also showed a hazard).
- reports.verification_period_end and rewards.claim_period_end: the last day of the period by the
  calendar alone.  The stored due dates are these moved to the next working day when they fall on a
  rest day (民法典 Art. 203), so they can be recomputed when a year's official schedule is added.
  Before this revision due dates were never moved, so the raw end is the stored due date.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hazard_fine_yuan', sa.Numeric(precision=16, scale=2),
                                      nullable=True))
        batch_op.add_column(sa.Column('verification_period_end', sa.Date(), nullable=True))
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_period_end', sa.Date(), nullable=True))
    op.execute("UPDATE reports SET verification_period_end = verification_due")
    op.execute("UPDATE rewards SET claim_period_end = claim_due")


def downgrade() -> None:
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.drop_column('claim_period_end')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('verification_period_end')
        batch_op.drop_column('hazard_fine_yuan')
