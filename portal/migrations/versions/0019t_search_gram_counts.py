"""search on PostgreSQL: writers take turns before locking rows; counts of frequent strings

On PostgreSQL only (issue 18 §1).  A BEFORE statement trigger on ``search_documents`` makes its
writers take turns (an advisory lock) before a statement locks any row: taken after, as the
counting triggers of 0018p did, two transactions of several statements each could deadlock.

``search_gram_counts`` holds, for the strings of 3 to 8 characters in at least 0.5% of the
rows, how many rows contain each, kept exact by statement triggers like the lexemes' counts:
a query of one such term (安全生产, 有限公司, 2024年, 91532822), without filters, is counted by
reading one row.  Created empty here (an empty table changes nothing: every such query is
counted on the rows as before); ``reindex`` fills it.

Revision ID: 0019t
Revises: 0018p
Create Date: 2026-12-07 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0019t'
down_revision = '0018p'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.postgres import ensure_gram_counts, ensure_writers_in_turn

    ensure_writers_in_turn(bind)
    ensure_gram_counts(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.postgres import GRAM_COUNTS, GRAM_TRIGGER, TABLE, WRITERS_TRIGGER

    if bind.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        for event in ("insert", "update", "delete", "truncate"):
            bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {GRAM_TRIGGER}_{event} ON {TABLE}"))
        bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {WRITERS_TRIGGER} ON {TABLE}"))
    bind.execute(sa.text(f"DROP TABLE IF EXISTS {GRAM_COUNTS}"))
    bind.execute(sa.text(f"DROP FUNCTION IF EXISTS {GRAM_TRIGGER}()"))
    bind.execute(sa.text(f"DROP FUNCTION IF EXISTS {WRITERS_TRIGGER}()"))
