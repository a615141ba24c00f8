"""Schema management through Alembic: ``init-db`` and the test fixtures use the migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from portal.extensions import db
from portal.models import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(revision: str = "head") -> None:
    """Bring the app's database to ``revision`` (call inside an app context)."""
    _create_sqlite_file_owner_only()
    cfg = alembic_config()
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


# Tables that are derived data without a model: the PostgreSQL search index (migration 0009,
# search_index/postgres.py).
DERIVED_TABLES = frozenset({"search_documents", "search_state", "search_counts",
                            "search_lexeme_counts", "search_gram_counts"})


def _modelled(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (type_ == "table" and name in DERIVED_TABLES)


def schema_drift() -> list:
    """Differences between the migrated database and the models (empty when in step)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _modelled})
        return compare_metadata(context, Base.metadata)


def make_migration(message: str) -> None:
    """Autogenerate a migration from the models (developer command)."""
    cfg = alembic_config()
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)


def _create_sqlite_file_owner_only() -> None:
    """A SQLite database file is created readable by its owner only (its journal and WAL files
    inherit the mode); the encrypted columns are not all there is to protect in it."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
