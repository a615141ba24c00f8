"""The search backends under test: Whoosh in a temporary directory, PostgreSQL in a database of
its own (``portal_test_search_<purpose>``, one per xdist worker) on the server of
``PORTAL_TEST_POSTGRES_URL`` or of a PostgreSQL ``PORTAL_TEST_DATABASE_URL``."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from search_index.backend import SearchBackend
from tests.conftest import skip_or_fail
from tests.databases import sibling_database

BACKENDS = ("whoosh", "postgres")


@cache
def postgres_search_url(purpose: str = "life") -> str | None:
    """The URL of this test process's own search database for ``purpose`` (created on first
    use), or None.  Modules get databases of their own: under xdist one worker may run tests
    of two modules in turn, and a module-scoped index must not be dropped by the other."""
    url = os.environ.get("PORTAL_TEST_POSTGRES_URL") or os.environ.get(
        "PORTAL_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return None
    name = f"portal_test_search_{purpose}"
    if worker := os.environ.get("PYTEST_XDIST_WORKER"):
        name = f"{name}_{worker}"
    return sibling_database(url, name)


def make_backend(name: str, directory: Path, purpose: str = "life") -> SearchBackend:
    """A fresh, empty index of backend ``name`` (skips, or fails in CI, without PostgreSQL)."""
    if name == "whoosh":
        from search_index import SearchIndex

        return SearchIndex(str(directory))
    url = postgres_search_url(purpose)
    if url is None:
        skip_or_fail("the PostgreSQL search backend needs PORTAL_TEST_POSTGRES_URL "
                     "(or a PostgreSQL PORTAL_TEST_DATABASE_URL)")
    from search_index.postgres import TABLE, PostgresIndex

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
    engine.dispose()
    return PostgresIndex(url)
