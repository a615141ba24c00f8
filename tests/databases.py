"""Sibling PostgreSQL databases for tests and benchmarks (one per xdist worker, purpose, size…)."""

from __future__ import annotations

import sqlalchemy as sa


def sibling_database(url: str, name: str, *, fresh: bool = False) -> str:
    """The URL of database ``name`` on the server of ``url``, created if missing (dropped and
    created again with ``fresh``)."""
    base = sa.make_url(url)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if fresh:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)
