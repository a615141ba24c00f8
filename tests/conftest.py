"""Fixtures: an app on a fresh database and index per test, CSRF on, no shared directories.

``PORTAL_TEST_DATABASE_URL`` (a PostgreSQL URL) runs the same suite on that server; each test
gets an emptied schema.  ``PORTAL_TEST_STRICT=1`` (set by ``.ci/run``) turns every skip for a
missing browser or database server into a failure, so CI always runs everything.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.low_level import hash_secret_raw
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache

from portal import create_app, credentials, receipts
from portal.translation import _COMPILING

STRICT = os.environ.get("PORTAL_TEST_STRICT") == "1"

# Tests assert behaviour, not milliseconds: no per-example deadline for hypothesis (a loaded CI
# machine made a property test of the credit-code typo search fail on time alone).
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("portal", deadline=None)
    _hypothesis_settings.load_profile("portal")
except ImportError:  # hypothesis is in the test extra; without it those modules fail anyway
    pass


# --- costs that are not under test, lowered in this process only ---------------------------------
#
# Argon2id at its real cost (receipt and access codes t=2, m=19 MiB; staff passwords t=3,
# m=64 MiB, p=4) took a fifth of a second of CPU per submitted report or sign-in.  In the test
# process it runs with the least cost Argon2 allows: the same function, salt, inputs and
# lengths, so every digest still finds (or misses) its row as before.  What the code asks for is
# still tested (tests/test_receipts.py looks at the parameters ``receipts`` passes; the password
# hashes keep argon2-cffi's format) and the real cost is measured by bench/timings.py, in a
# process of its own, as are gunicorn and every other child process here.  Only a pytest process
# lowers them (pytest_configure): the bench scripts that import make_app from here measure them.


def _cheap_hash_secret_raw(**kwargs):  # noqa: ANN003, ANN202
    return hash_secret_raw(**kwargs | {"time_cost": 1, "memory_cost": 8 * kwargs["parallelism"]})


def _commit_without_waiting_for_the_disk(dbapi_connection, _record) -> None:  # noqa: ANN001
    """A commit of a test database waits for no disk flush (SQLite ``synchronous=OFF``,
    PostgreSQL ``synchronous_commit=off``): what a commit makes visible, and when, is the same;
    only a crash of the machine could lose the last ones, and test data are thrown away."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")
    elif type(dbapi_connection).__module__.startswith("psycopg"):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        dbapi_connection.execute("SET synchronous_commit TO off")
        dbapi_connection.autocommit = autocommit


_lowered: dict[str, bool] = {}


def pytest_configure(config: pytest.Config) -> None:
    """Lower those costs in a pytest process only: bench/timings.py and bench/refusal_cost.py
    import ``make_app`` from here and measure them for real."""
    receipts.hash_secret_raw = _cheap_hash_secret_raw
    credentials._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    sa.event.listen(sa.engine.Engine, "connect", _commit_without_waiting_for_the_disk)
    _lowered["yes"] = True


def _per_worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets a database of its own (``<name>_gw0``, …), created
    on first use, so workers never empty each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    import sqlalchemy as sa

    from tests.databases import sibling_database

    return sibling_database(url, f"{sa.make_url(url).database}_{worker}")


TEST_DATABASE_URL = _per_worker_database(os.environ.get("PORTAL_TEST_DATABASE_URL", ""))


def skip_or_fail(reason: str) -> None:
    """Skip locally with a clear reason; fail in CI, where everything must run."""
    if STRICT:
        pytest.fail(f"PORTAL_TEST_STRICT=1 but: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


REDIS_DATABASES = 16  # Redis's default number of databases


def worker_redis_url() -> str:
    """PORTAL_TEST_REDIS_URL for the first pytest-xdist worker, the database below it for the
    second, and so on: each worker empties and counts in a database of its own (two workers on
    one database emptied each other's counts mid-test)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    parts = urlsplit(os.environ.get("PORTAL_TEST_REDIS_URL", ""))
    database = int(parts.path.lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(database - index) % REDIS_DATABASES}"))


_postgres_migrated: set[str] = set()
_EMPTY_EVERY_TABLE = """
DO $$
DECLARE found record;
BEGIN
  FOR found IN SELECT tablename FROM pg_tables
               WHERE schemaname = 'public' AND tablename <> 'alembic_version' LOOP
    EXECUTE format('DELETE FROM public.%I', found.tablename);
  END LOOP;
  FOR found IN SELECT s.relname FROM pg_class s
               JOIN pg_namespace n ON n.oid = s.relnamespace
               JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
               JOIN pg_class t ON t.oid = d.refobjid
               WHERE s.relkind = 'S' AND n.nspname = 'public' AND t.relname <> 'alembic_version'
  LOOP
    EXECUTE format('ALTER SEQUENCE public.%I RESTART', found.relname);
  END LOOP;
END $$
"""


def _reset_postgres(url: str) -> None:
    """Migrate the server's schema once per test process, then empty every table per test."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if url not in _postgres_migrated:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        elif conn.scalar(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
            # A superuser (CI's) empties the tables with DELETE, in one round trip: TRUNCATE of
            # some thirty tables cost a tenth of a second per test.  As replica, neither foreign
            # keys nor the tables' own triggers (the audit log's refusal) fire, for this
            # transaction only; the sequences of the tables restart, as TRUNCATE's RESTART
            # IDENTITY did.
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text(_EMPTY_EVERY_TABLE))
        else:
            tables = conn.scalars(sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )).all()
            if tables:
                # Tables that refuse TRUNCATE (the audit log, migration 0003) have their own
                # triggers turned off for this statement only: the test database's owner may,
                # and it happens inside this transaction, so no test ever sees them off.
                guarded = conn.scalars(sa.text(
                    "SELECT DISTINCT c.relname FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND NOT t.tgisinternal"
                )).all()
                for table in guarded:
                    conn.execute(sa.text(f'ALTER TABLE "{table}" DISABLE TRIGGER USER'))
                names = ", ".join(f'"{t}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                for table in guarded:
                    conn.execute(sa.text(f'ALTER TABLE "{table}" ENABLE TRIGGER USER'))
    engine.dispose()


_sqlite_template: dict[str, Path] = {}


def _migrated_sqlite_copy(target: Path) -> None:
    """Copy a database migrated once per test process: the migrations still run for real,
    but not once per test."""
    if "path" not in _sqlite_template:
        folder = Path(tempfile.mkdtemp(prefix="portal-template-"))
        app = create_app({"env": "test", "database_url": f"sqlite:///{folder / 'template.db'}",
                          "index_dir": str(folder / "index")})
        from portal import database
        from portal.extensions import db

        with app.app_context():
            database.upgrade()
            db.engine.dispose()
        _sqlite_template["path"] = folder / "template.db"
    shutil.copyfile(_sqlite_template["path"], target)


class _SharedBytecode(BytecodeCache):
    """Compiled templates shared by every app of a test process (the suite makes one app per
    test, and compiling a page's templates cost more than the rest of its first request).

    The key holds what the compiled code depends on besides the source (Jinja checks the
    source itself): the template's name and file, the language it was translated into when
    compiled (``portal.translation``) and the environment's compile-time settings; so a test
    that changes any of them compiles its own copy."""

    def __init__(self) -> None:
        self._codes: dict[str, bytes] = {}

    def get_bucket(self, environment, name, filename, source):  # noqa: ANN001, ANN201
        settings = (
            type(environment).__qualname__, environment.block_start_string,
            environment.block_end_string, environment.variable_start_string,
            environment.variable_end_string, environment.comment_start_string,
            environment.comment_end_string, environment.line_statement_prefix,
            environment.line_comment_prefix, environment.trim_blocks,
            environment.lstrip_blocks, environment.newline_sequence,
            environment.keep_trailing_newline, environment.optimized, environment.is_async,
            repr(getattr(environment.autoescape, "__func__", environment.autoescape)),
            repr(environment.finalize), tuple(sorted(environment.extensions)),
            getattr(environment, "newstyle_gettext", None),
            # the policies read when compiling (the others, such as the JSON dumper, at render)
            tuple(sorted((k, repr(v)) for k, v in environment.policies.items()
                         if k.startswith(("compiler.", "ext.")))),
        )
        key = repr((name, filename, _COMPILING.get(), settings))
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._codes.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._codes[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _SharedBytecode()


class ReadingClient(FlaskClient):
    """The suite's test client: each answer is read to its end and closed inside the request
    call, as a WSGI server does, unless a test asks for the stream (``buffered=False``, and
    then it reads or closes the answer itself).

    Werkzeug's client otherwise reads only the first chunk: a streamed answer
    (``stream_with_context``, the open-data CSV exports) then keeps its request and app
    contexts pushed in the test, and an answer looked at only for its status ends whenever the
    garbage collector finds it, popping its context under another test's ("Popped wrong request
    context")."""

    def open(self, *args, buffered: bool = True, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return super().open(*args, buffered=buffered, **kwargs)


# The fixture of every test that works on the database under test (through ``make_app``, the
# ``app`` fixture, or ``TEST_DATABASE_URL`` itself).  The second pass of ``make test`` (on
# PostgreSQL) runs only the tests that request it: the others do there exactly what they did
# in the first pass.  ``make_app`` refuses to run in a test that does not request it, so a test
# cannot leave the PostgreSQL pass unnoticed.
DATABASE_FIXTURE = "test_database"
_running: dict[str, pytest.Item] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # noqa: ANN201
    _running["item"] = item
    try:
        return (yield)
    finally:
        _running.pop("item", None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The smoke runs of bench/ take half a minute to a minute each: first, so that under xdist
    # no worker starts one when the others are nearly done.
    items.sort(key=lambda item: item.get_closest_marker("bench") is None)
    if not TEST_DATABASE_URL:
        return
    kept = [item for item in items if DATABASE_FIXTURE in getattr(item, "fixturenames", ())]
    if len(kept) < len(items):
        config.hook.pytest_deselected(
            items=[item for item in items if DATABASE_FIXTURE not in item.fixturenames])
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str | None:
    if TEST_DATABASE_URL:
        return (f"database under test: {TEST_DATABASE_URL.rsplit('@', 1)[-1]}; only the tests "
                f"with the fixture {DATABASE_FIXTURE} run")
    return None


@pytest.fixture(scope="session")
def test_database() -> str:
    """The URL of the database under test (a PostgreSQL one in ``make test``'s second pass),
    empty on SQLite, where ``make_app`` gives each app a file of its own.  Request it (or
    ``app``, which does) in a test that makes an app with ``make_app``."""
    return TEST_DATABASE_URL


def make_app(tmp_path, **overrides) -> Flask:
    item = _running.get("item")
    if item is not None and DATABASE_FIXTURE not in getattr(item, "fixturenames", ()):
        pytest.fail(f"{item.nodeid} makes an app on the database under test without the "
                    f"fixture {DATABASE_FIXTURE} (tests/conftest.py): the PostgreSQL pass "
                    f"would leave it out", pytrace=False)
    database_url = TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'portal.db'}"
    if TEST_DATABASE_URL:
        _reset_postgres(TEST_DATABASE_URL)
    else:
        _migrated_sqlite_copy(tmp_path / "portal.db")
    config = {
        "env": "test",
        "database_url": database_url,
        "index_dir": str(tmp_path / "index"),
        "ratelimit_storage_uri": "memory://",
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = ReadingClient
    if _lowered:
        app.jinja_env.bytecode_cache = _BYTECODE
    from portal import database

    if TEST_DATABASE_URL and TEST_DATABASE_URL not in _postgres_migrated:
        with app.app_context():
            database.upgrade()
        _postgres_migrated.add(TEST_DATABASE_URL)
    return app


@pytest.fixture
def app_settings() -> dict:
    """Settings for the ``app`` fixture; a test folder overrides this fixture to change them."""
    return {}


@pytest.fixture
def app(tmp_path, app_settings, test_database) -> Iterator[Flask]:
    app = make_app(tmp_path, **app_settings)
    yield app
    app.extensions["search_index"].close()
    with app.app_context():
        from portal.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app: Flask):
    with app.app_context():
        yield app


@pytest.fixture
def db_session(app_ctx):
    from portal.extensions import db

    return db.session
