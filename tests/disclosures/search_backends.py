"""Run a test module's app on each search backend: ``app`` is overridden in the module with
``backend_app``.  The PostgreSQL backend keeps its index in the app's database, so it runs when
the suite runs on PostgreSQL (``PORTAL_TEST_DATABASE_URL``; ``make test`` does, in its second
pass when ``PORTAL_TEST_POSTGRES_URL`` is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.conftest import TEST_DATABASE_URL, make_app, skip_or_fail

BACKENDS = ("whoosh", "postgres")


def backend_app(backend: str, tmp_path, **overrides) -> Iterator[Flask]:
    if backend == "postgres" and not TEST_DATABASE_URL.startswith("postgresql"):
        if os.environ.get("PORTAL_TEST_POSTGRES_URL"):
            pytest.skip("the PostgreSQL search backend runs in the suite's PostgreSQL pass")
        skip_or_fail("the PostgreSQL search backend needs the suite on PostgreSQL "
                     "(PORTAL_TEST_DATABASE_URL)")
    app = make_app(tmp_path, search_backend=backend, **overrides)
    yield app
    app.extensions["search_index"].close()
    with app.app_context():
        from portal.extensions import db

        db.session.remove()
        db.engine.dispose()
