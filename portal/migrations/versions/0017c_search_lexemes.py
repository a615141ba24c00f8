"""search on PostgreSQL: a GIN index on the terms without positions, beside RUM, for counting

On PostgreSQL only (issue 18 §1).  RUM reads every posting list with its positions; an exact
count of many hits reads the lists of every operand, 2-3 times faster from a plain GIN index.
The index is on the expression ``strip(tokens)``, so only the count's queries, written
``strip(d.tokens) @@ …``, can use it; phrases stay on RUM.  Created only where the terms are
under RUM (without the extension the GIN index on ``tokens`` already reads lists without
positions).  Building it takes about as long as the RUM index did and holds off writers to
the search table meanwhile.

Revision ID: 0017c
Revises: 0016g
Create Date: 2026-12-07 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0017c'
down_revision = '0016g'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.postgres import TABLE, create_indexes

    if bind.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        create_indexes(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.postgres import TABLE

    bind.execute(sa.text(f"DROP INDEX IF EXISTS {TABLE}_lexemes"))
