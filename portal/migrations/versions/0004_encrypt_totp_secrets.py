"""TOTP secrets encrypted at rest: staff_users.totp_secret becomes TEXT holding a Fernet token

Existing plaintext secrets are encrypted with the newest key of PORTAL_DATA_KEY (through
portal.crypto, with the app's keyring: run it with ``flask --app portal init-db``, which
migrates inside the app).  The downgrade decrypts them again.

The purpose label below is frozen here on purpose: it must equal
portal.staff.models.TOTP_SECRET_PURPOSE for as long as data encrypted under it exists.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00.000000
"""

from collections.abc import Callable

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PURPOSE = "staff_users.totp_secret"


def _convert(transform: Callable[[object, str], str]) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, totp_secret FROM staff_users")).all()
    if not rows:
        return  # a fresh database needs no key here
    from portal.crypto import app_keyring

    cipher = app_keyring().cipher(PURPOSE)
    for row_id, value in rows:
        connection.execute(
            sa.text("UPDATE staff_users SET totp_secret = :value WHERE id = :id"),
            {"value": transform(cipher, value), "id": row_id},
        )


def _check_sqlite_can_rebuild() -> None:
    # SQLite changes a column type by rebuilding the table (copy, drop, rename).  With foreign
    # keys enforced, dropping staff_users would cascade to staff_roles: refuse rather than lose
    # every account's roles.  (The application does not turn SQLite's foreign keys on.)
    connection = op.get_bind()
    if connection.dialect.name == "sqlite" and connection.execute(
            sa.text("PRAGMA foreign_keys")).scalar():
        raise RuntimeError("run this migration with PRAGMA foreign_keys=OFF on SQLite")


def upgrade() -> None:
    _check_sqlite_can_rebuild()
    # A token of a 32-character secret is 140 characters: wider than the old VARCHAR(64).
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64),
                              type_=sa.Text(), existing_nullable=False)
    _convert(lambda cipher, value: cipher.encrypt(value))


def downgrade() -> None:
    _check_sqlite_can_rebuild()
    _convert(lambda cipher, value: cipher.decrypt(value))
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.Text(),
                              type_=sa.String(length=64), existing_nullable=False)
