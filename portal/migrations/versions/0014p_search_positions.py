"""search on PostgreSQL: terms with positions, under a RUM index where the extension exists

On PostgreSQL only (issue 18 §1).  The search table's tsvector gets each term's positions (and
weight A in the title), so a phrase over consecutive bigrams or trigrams decides a term without
reading the text; a row too long for PostgreSQL's positions is marked (``positional`` false).
The normalised title (``heading``) stays in the row, for ranking.
The extension ``rum`` (Debian: postgresql-15-rum) is created when the server has it and the
role may; then the terms' index is RUM (positions and weights in the index), else it stays GIN
(correct, slower; ``check-config`` says so).  Existing rows are rewritten from their normalised
text here, so search keeps working without a ``reindex``.

Revision ID: 0014p
Revises: 0013
Create Date: 2026-12-07 03:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0014p'
down_revision = '0013'
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.analyzer import normalize
    from search_index.postgres import SCHEMA, TABLE, create_indexes, tsvector_literal

    if bind.scalar(sa.text(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")) is not None:
        savepoint = bind.begin_nested()
        try:
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS rum"))
            savepoint.commit()
        except sa.exc.DBAPIError:  # not permitted for this role: GIN stays, check-config says
            savepoint.rollback()
    for statement in SCHEMA:
        bind.execute(sa.text(statement))
    last = ("", -1)
    while True:
        rows = bind.execute(sa.text(
            f"SELECT kind, item_id, title, body, title_chars FROM {TABLE} "
            "WHERE NOT deleted AND (kind, item_id) > (:kind, :item_id) "
            "ORDER BY kind, item_id LIMIT :n"), {"kind": last[0], "item_id": last[1], "n": BATCH}
        ).all()
        if not rows:
            break
        values = []
        for row in rows:
            tokens, positional = tsvector_literal(row.body, row.title_chars)
            values.append({"kind": row.kind, "item_id": row.item_id, "tokens": tokens,
                           "positional": positional, "heading": normalize(row.title)})
        bind.execute(sa.text(
            f"UPDATE {TABLE} SET tokens = CAST(:tokens AS tsvector), positional = :positional, "
            "heading = :heading WHERE kind = :kind AND item_id = :item_id"), values)
        last = (rows[-1].kind, rows[-1].item_id)
    create_indexes(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS search_documents_terms")
    op.execute("DROP INDEX IF EXISTS search_documents_date")
    op.execute("CREATE INDEX IF NOT EXISTS search_documents_tokens ON search_documents "
               "USING gin (tokens)")
    op.execute("ALTER TABLE search_documents DROP COLUMN IF EXISTS positional")
    op.execute("ALTER TABLE search_documents DROP COLUMN IF EXISTS heading")
    # The rows keep their positions: the previous version reads them as plain lexemes (its
    # queries never use positions), so search goes on until the next reindex.
