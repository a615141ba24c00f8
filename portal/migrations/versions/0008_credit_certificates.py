"""Credit certificates: the number, the enterprise and what the certificate said at issue

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 17:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('credit_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('enterprise_name', sa.String(length=200), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('verification_code', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_certificates')),
    sa.UniqueConstraint('number', name=op.f('uq_credit_certificates_number'))
    )
    with op.batch_alter_table('credit_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_certificates_issued_at'), ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_certificates_uscc'), ['uscc'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('credit_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_certificates_uscc'))
        batch_op.drop_index(batch_op.f('ix_credit_certificates_issued_at'))

    op.drop_table('credit_certificates')
