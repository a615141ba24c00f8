"""search on PostgreSQL: the index's generation, exact counts kept per generation, title terms

On PostgreSQL only (issue 18 §1).  ``search_state`` holds one number, raised by a statement
trigger on ``search_documents`` in the same transaction as any change to the table;
``search_counts`` keeps each query's exact count under the generation it was counted at, so a
query asked again is not counted again until the index changes (the trigger also drops the
counts of older generations).  ``generation()`` becomes a one-row read instead of a scan.
Each row gets its title's terms (``title_terms``, filled here from the normalised title) under
an index of their own, so the first tier of relevance is found among the titles.

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

BATCH = 500


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.postgres import SCHEMA, TABLE, create_indexes, ensure_state, title_terms

    if bind.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        for statement in SCHEMA:
            bind.execute(sa.text(statement))
        last = ("", -1)
        while True:
            rows = bind.execute(sa.text(
                f"SELECT kind, item_id, heading FROM {TABLE} "
                "WHERE (kind, item_id) > (:kind, :item_id) ORDER BY kind, item_id LIMIT :n"),
                {"kind": last[0], "item_id": last[1], "n": BATCH}).all()
            if not rows:
                break
            bind.execute(sa.text(
                f"UPDATE {TABLE} SET title_terms = CAST(:terms AS tsvector) "
                "WHERE kind = :kind AND item_id = :item_id"),
                [{"kind": r.kind, "item_id": r.item_id, "terms": title_terms(r.heading)}
                 for r in rows])
            last = (rows[-1].kind, rows[-1].item_id)
        create_indexes(bind)
    ensure_state(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from search_index.postgres import COUNTS, STATE, TABLE, TRIGGER

    if bind.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {TABLE}"))
        bind.execute(sa.text(f"DROP INDEX IF EXISTS {TABLE}_title_terms"))
        bind.execute(sa.text(f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS title_terms"))
    bind.execute(sa.text(f"DROP FUNCTION IF EXISTS {TRIGGER}()"))
    bind.execute(sa.text(f"DROP TABLE IF EXISTS {COUNTS}"))
    bind.execute(sa.text(f"DROP TABLE IF EXISTS {STATE}"))
