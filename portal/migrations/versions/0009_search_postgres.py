"""search on PostgreSQL: the index table of PORTAL_SEARCH_BACKEND=postgres

On PostgreSQL only: one row per published item with its normalised text and a tsvector of the
same bigram and word terms as the Whoosh index, under a GIN index (search_index/postgres.py,
which runs the same statements when it first writes).  Derived data: `reindex` fills it.  SQLite
has no tsvector; there the Whoosh backend is the only one, and nothing changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 18:30:00.000000
"""

from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

UPGRADE = (
    """
    CREATE TABLE IF NOT EXISTS search_documents (
        kind text NOT NULL,
        item_id bigint NOT NULL,
        title text NOT NULL,
        original text NOT NULL,
        body text NOT NULL,
        title_chars integer NOT NULL,
        length integer NOT NULL,
        tokens tsvector NOT NULL,
        event_date date,
        county text NOT NULL,
        sector text NOT NULL,
        withdrawn boolean NOT NULL,
        deleted boolean NOT NULL,
        written_at timestamptz NOT NULL,
        PRIMARY KEY (kind, item_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS search_documents_tokens ON search_documents USING gin (tokens)",
    "ALTER TABLE search_documents ALTER COLUMN body SET STORAGE EXTERNAL",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE IF EXISTS search_documents")
