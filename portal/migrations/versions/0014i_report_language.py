"""The language a report was made in (issue 16), shown to the handler so the office can find a
translator: ``zh`` (the root pages), ``en``, ``lo`` or ``my`` (the /en, /lo, /my pages).
Reports made before this are Chinese.

Revision ID: 0014i
Revises: 0014r
Create Date: 2026-12-07 02:45:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0014i'
down_revision = '0014r'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=False,
                                      server_default='zh'))


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('language')
