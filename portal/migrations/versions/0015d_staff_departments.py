"""Staff accounts belong to a department (责任单位): 信用修复 and objections by its staff only

``staff_users.department_id`` (nullable).  Existing accounts: when the database holds exactly
one department, every account is put in it (a single-department deployment works as before);
otherwise it stays empty, because nothing here says who works where — an administrator sets it
on each account page (the account list and ``check-config`` name the accounts without one), and
meanwhile such an account sees 信用修复 applications and objections read-only.

Revision ID: 0015d
Revises: 0015v
Create Date: 2026-12-07 05:50:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0015d'
down_revision = '0015v'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_staff_users_department_id'), ['department_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_staff_users_department_id_departments'), 'departments', ['department_id'], ['id'])
    bind = op.get_bind()
    only = bind.execute(sa.text("SELECT id FROM departments")).fetchall()
    if len(only) == 1:
        bind.execute(sa.text("UPDATE staff_users SET department_id = :d"), {"d": only[0][0]})


def downgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_staff_users_department_id_departments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_staff_users_department_id'))
        batch_op.drop_column('department_id')
