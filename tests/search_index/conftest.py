"""The search backends under test: Whoosh in a temporary directory, PostgreSQL in a database of
its own (``portal_test_search_<purpose>``, one per xdist worker) on the server of
``PORTAL_TEST_POSTGRES_URL`` or of a PostgreSQL ``PORTAL_TEST_DATABASE_URL``."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from search_index.backend import SearchBackend
from tests.conftest import STRICT, skip_or_fail
from tests.databases import sibling_database

BACKENDS = ("whoosh", "postgres")


@cache
def postgres_search_url(purpose: str = "life", rum: bool = True) -> str | None:
    """The URL of this test process's own search database for ``purpose`` (created on first
    use), or None.  Modules get databases of their own: under xdist one worker may run tests
    of two modules in turn, and a module-scoped index must not be dropped by the other.  The
    name starts with the test database's (``portal_test_search_life_gw0`` in CI), so runs
    against other test databases on one server never share it.

    With ``rum`` the database has the extension ``rum`` (created when the server has it: CI
    installs it and requires it); without, it must not have it (the GIN fallback is tested).
    """
    url = os.environ.get("PORTAL_TEST_POSTGRES_URL") or os.environ.get(
        "PORTAL_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return None
    name = f"{sa.make_url(url).database}_search_{purpose}"
    if worker := os.environ.get("PYTEST_XDIST_WORKER"):
        name = f"{name}_{worker}"
    url = sibling_database(url, name)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if not rum:
            conn.execute(sa.text("DROP EXTENSION IF EXISTS rum CASCADE"))
        elif conn.scalar(sa.text(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")) is not None:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS rum"))
        elif STRICT:
            raise RuntimeError("PORTAL_TEST_STRICT=1 but the server lacks the extension rum "
                               "(apt-get install postgresql-15-rum)")
    engine.dispose()
    return url


def make_backend(name: str, directory: Path, purpose: str = "life",
                 rum: bool = True) -> SearchBackend:
    """A fresh, empty index of backend ``name`` (skips, or fails in CI, without PostgreSQL)."""
    if name == "whoosh":
        from search_index import SearchIndex

        return SearchIndex(str(directory))
    url = postgres_search_url(purpose, rum)
    if url is None:
        skip_or_fail("the PostgreSQL search backend needs PORTAL_TEST_POSTGRES_URL "
                     "(or a PostgreSQL PORTAL_TEST_DATABASE_URL)")
    from search_index.postgres import TABLE, PostgresIndex

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
    engine.dispose()
    return PostgresIndex(url)
