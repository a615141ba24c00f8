"""Backups: the database and a manifest, never the data key.

SQLite is copied with its online backup API (consistent while the app keeps writing);
PostgreSQL is dumped with ``pg_dump --format=custom``.  The manifest records what a restore drill
checks: the schema revision, every table's row count, the audit chain's head hash (to pass as
``audit-verify --anchor``) and the dump's SHA-256.  The encrypted columns stay encrypted in the
dump: without ``PORTAL_DATA_KEY``, which is kept elsewhere, a stolen backup reveals no report.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import URL

from portal import audit
from portal.extensions import db
from portal.models import Base, utcnow

MANIFEST = "manifest.json"


class BackupFailed(RuntimeError):
    """The dump could not be written; nothing usable was left behind."""


@dataclass(frozen=True)
class Backup:
    folder: Path
    dump: Path
    manifest: dict


def row_counts() -> dict[str, int]:
    """Rows per table, for the manifest and the restore drill."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def create_backup(target: Path) -> Backup:
    """Write a new folder under ``target`` with the dump and its manifest."""
    started = utcnow()
    folder = Path(target) / f"portal-{started:%Y%m%dT%H%M%SZ}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=False)
    url = db.engine.url
    try:
        if url.get_backend_name() == "sqlite":
            dump = folder / "portal.sqlite3"
            _sqlite_backup(Path(url.database or ""), dump)
        elif url.get_backend_name() == "postgresql":
            dump = folder / "portal.pgdump"
            _pg_dump(url, dump)
        else:
            raise BackupFailed(f"no backup method for {url.get_backend_name()}")
        dump.chmod(0o600)
        chain = audit.verify(db.session)
        manifest = {
            "created_at": started.isoformat(),
            "database": url.get_backend_name(),
            "schema_revision": db.session.scalar(text("SELECT version_num FROM alembic_version")),
            "row_counts": row_counts(),
            "audit_events": chain.count,
            "audit_head_hash": chain.head_hash,
            "dump": dump.name,
            "dump_sha256": _sha256(dump),
            "note": "PORTAL_DATA_KEY is not in this backup: restore it from where the keys are kept.",
        }
        db.session.rollback()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return Backup(folder, dump, manifest)


def _sqlite_backup(source: Path, dump: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(dump)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg_dump(url: URL, dump: Path) -> None:
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupFailed("pg_dump not found: install the PostgreSQL client (postgresql-client)")
    # The password goes in the environment, not on a command line that `ps` shows.
    libpq = url.set(drivername="postgresql", password=None).render_as_string()
    environment = os.environ | ({"PGPASSWORD": str(url.password)} if url.password else {})
    result = subprocess.run(  # noqa: S603 - an absolute program path and our own URL
        [program, "--format=custom", "--no-owner", f"--file={dump}", f"--dbname={libpq}"],
        capture_output=True, text=True, check=False, env=environment,
    )
    if result.returncode != 0:
        raise BackupFailed(f"pg_dump failed: {result.stderr.strip()[:500]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
