"""search on PostgreSQL: the index's generation, and exact counts kept per generation

On PostgreSQL only (issue 18 §1).  ``search_state`` holds one number, raised by a statement
trigger on ``search_documents`` in the same transaction as any change to the table;
``search_counts`` keeps each query's exact count under the generation it was counted at, so a
query asked again is not counted again until the index changes (the trigger also drops the
counts of older generations).  ``generation()`` becomes a one-row read instead of a scan.

Revision ID: 0016g
Revises: 0015d
Create Date: 2026-12-07 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0016g'
down_revision = '0015d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.postgres import ensure_state

    ensure_state(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.postgres import COUNTS, STATE, TABLE, TRIGGER

    if bind.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {TABLE}"))
    bind.execute(sa.text(f"DROP FUNCTION IF EXISTS {TRIGGER}()"))
    bind.execute(sa.text(f"DROP TABLE IF EXISTS {COUNTS}"))
    bind.execute(sa.text(f"DROP TABLE IF EXISTS {STATE}"))
