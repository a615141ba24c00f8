"""The production server configuration (gunicorn.conf.py) as it really runs."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from tests.gunicorn_server import get, gunicorn, gunicorn_process


def test_gunicorn_logs_no_client_address_and_nothing_of_the_report_pages(tmp_path):
    log = tmp_path / "access.log"
    with gunicorn(tmp_path, PORTAL_ACCESS_LOG=str(log)) as base:
        assert get(base + "/") == 200
        get(base + "/report")
        get(base + "/report/followup")
        get(base + "/decisions?page=2")
    text = log.read_text()
    assert '"GET / HTTP/1.1" 200' in text and "/decisions?page=2" in text
    assert "/report" not in text
    assert "127.0.0.1" not in text
    assert "Python-urllib" not in text  # no user agent either


def _open_files(pid: int) -> set[str]:
    folder = Path(f"/proc/{pid}/fd")
    names = set()
    for fd in os.listdir(folder):
        try:
            names.add(os.readlink(folder / fd))
        except OSError:  # closed meanwhile
            pass
    return names


def test_workers_share_no_database_connection_with_the_master(tmp_path):
    """In production the preloaded app reads the database before gunicorn forks (the data key
    check); a connection kept from that read was one socket shared by every worker."""
    settings = {"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
                "PORTAL_DATA_KEY": secrets.token_urlsafe(32)}
    with gunicorn_process(tmp_path, workers=2, **settings) as (base, master):
        assert get(base + "/decisions") == 200
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        for _ in range(50):  # every worker has served a page and opened its own connection
            if len(children) == 2 and all(str(tmp_path / "portal.db") in _open_files(int(pid))
                                          for pid in children):
                break
            get(base + "/decisions")
            time.sleep(0.05)
        assert str(tmp_path / "portal.db") not in _open_files(master.pid)
