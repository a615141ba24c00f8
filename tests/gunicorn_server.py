"""Run the app under gunicorn (gunicorn.conf.py) on a free loopback port, for tests of the
production server: several worker processes, as deployed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> int:
    """The status of a GET on a new connection."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@contextmanager
def gunicorn(tmp_path: Path, workers: int = 2, **settings: str) -> Iterator[str]:
    """Serve a fresh SQLite database under gunicorn; yields the base URL.  ``settings`` are
    extra environment variables (``PORTAL_…``)."""
    with gunicorn_process(tmp_path, workers, **settings) as (base, _):
        yield base


@contextmanager
def gunicorn_process(tmp_path: Path, workers: int = 2,
                     **settings: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``gunicorn`` that also yields the master process: (base URL, process)."""
    env = os.environ | {
        "PORTAL_ENV": "test",
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "PORTAL_INDEX_DIR": str(tmp_path / "index"),
        "WEB_CONCURRENCY": str(workers),
    } | settings
    # The schema as `flask init-db` makes it: a copy of the database this test process migrated
    # once (tests/conftest.py), not a child process migrating from scratch each time.
    from tests.conftest import _migrated_sqlite_copy

    tmp_path.mkdir(parents=True, exist_ok=True)
    _migrated_sqlite_copy(tmp_path / "portal.db")
    port = free_port()
    env["PORTAL_BIND"] = f"127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                get(base + "/robots.txt")
                break
            except OSError:
                time.sleep(0.1)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=30)
