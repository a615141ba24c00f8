"""search on PostgreSQL: how many rows have each lexeme, kept exact by triggers

On PostgreSQL only (issue 18 §1).  ``search_lexeme_counts`` holds, for every lexeme of
``search_documents``, the number of rows that have it, kept exact by statement triggers on the
table in the transaction of any change (a rebuild makes it anew).  A query of one term that one
lexeme decides (矿山, ``abc``), without filters, is then counted by reading one row instead of
visiting every row that has the lexeme.  Filled here from the table's rows (PostgreSQL's
``ts_stat``), holding off writers to the search table meanwhile.

The title's terms (``title_terms``, half of a row's width) are stored out of line from here on:
only their index reads them.  Rows written before keep them inline until ``reindex`` rebuilds
the table (its rows then take half as many pages, which every count and walk visits).

Revision ID: 0018p
Revises: 0017c
Create Date: 2026-12-07 17:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0018p'
down_revision = '0017c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.postgres import TABLE, ensure_lexeme_counts

    if bind.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        bind.execute(sa.text(f"ALTER TABLE {TABLE} ALTER COLUMN title_terms SET STORAGE EXTERNAL"))
        ensure_lexeme_counts(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.postgres import LEXEME_COUNTS, LEXEME_TRIGGER, TABLE

    if bind.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        bind.execute(sa.text(f"ALTER TABLE {TABLE} ALTER COLUMN title_terms SET STORAGE PLAIN"))
        for event in ("insert", "update", "delete", "truncate"):
            bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {LEXEME_TRIGGER}_{event} ON {TABLE}"))
    bind.execute(sa.text(f"DROP TABLE IF EXISTS {LEXEME_COUNTS}"))
    bind.execute(sa.text(f"DROP FUNCTION IF EXISTS {LEXEME_TRIGGER}()"))
