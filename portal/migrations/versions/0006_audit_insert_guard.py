"""audit log: the database accepts an event only at the end of the chain

Migration 0003 refuses UPDATE and DELETE, but SQLite's ``INSERT OR REPLACE`` with an existing
``seq`` (or ``hash``, or ``id``) deletes the old row through conflict resolution, which fires no
delete trigger: re-hashing the last event that way passed ``audit-verify``.  A BEFORE INSERT
trigger now requires every new event to take the next position (``seq = max(seq) + 1``), to link
to the hash of the current last event, and to collide with no existing row, so a replacement is
refused before it can delete anything.  PostgreSQL gets the same check (``ON CONFLICT DO UPDATE``
was already refused by the update trigger).  The application appends under a lock (advisory on
PostgreSQL, the write lock on SQLite), so the check never refuses a legitimate append.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 18:00:00.000000
"""

from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64

SQLITE_UPGRADE = (
    f"""
    CREATE TRIGGER audit_events_append_only_at_end BEFORE INSERT ON audit_events
    WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events)
      OR NEW.prev_hash IS NOT COALESCE(
             (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), '{GENESIS_HASH}')
      OR EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id OR hash = NEW.hash)
    BEGIN
        SELECT RAISE(ABORT, 'audit_events is append-only: INSERT refused (not at the end of the chain)');
    END
    """,
)
SQLITE_DOWNGRADE = ("DROP TRIGGER IF EXISTS audit_events_append_only_at_end",)

POSTGRESQL_UPGRADE = (
    f"""
    CREATE FUNCTION audit_events_append_at_end() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        last_seq integer;
        last_hash text;
    BEGIN
        SELECT seq, hash INTO last_seq, last_hash FROM audit_events ORDER BY seq DESC LIMIT 1;
        IF NEW.seq IS DISTINCT FROM COALESCE(last_seq, 0) + 1
           OR NEW.prev_hash IS DISTINCT FROM COALESCE(last_hash, '{GENESIS_HASH}') THEN
            RAISE EXCEPTION 'audit_events is append-only: INSERT refused (not at the end of the chain)'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_append_only_at_end
    BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_at_end()
    """,
)
POSTGRESQL_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS audit_events_append_only_at_end ON audit_events",
    "DROP FUNCTION IF EXISTS audit_events_append_at_end()",
)


def _statements(upgrade: bool) -> tuple[str, ...]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return SQLITE_UPGRADE if upgrade else SQLITE_DOWNGRADE
    if dialect == "postgresql":
        return POSTGRESQL_UPGRADE if upgrade else POSTGRESQL_DOWNGRADE
    raise NotImplementedError(f"no append-only triggers for the {dialect} dialect")


def upgrade() -> None:
    for statement in _statements(upgrade=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(upgrade=False):
        op.execute(statement)
