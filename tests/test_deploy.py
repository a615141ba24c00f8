"""The production server configuration (gunicorn.conf.py) as it really runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_gunicorn_logs_no_client_address_and_nothing_of_the_report_pages(tmp_path):
    env = os.environ | {
        "PORTAL_ENV": "test",
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "PORTAL_INDEX_DIR": str(tmp_path / "index"),
        "PORTAL_ACCESS_LOG": str(tmp_path / "access.log"),
        "WEB_CONCURRENCY": "2",
    }
    flask = [sys.executable, "-m", "flask", "--app", "portal"]
    subprocess.run([*flask, "init-db"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    env["PORTAL_BIND"] = f"127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if _get(base + "/robots.txt") in (200, 404):
                    break
            except OSError:
                time.sleep(0.1)
        assert _get(base + "/") == 200
        _get(base + "/report")
        _get(base + "/report/followup")
        _get(base + "/decisions?page=2")
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = (tmp_path / "access.log").read_text()
    assert '"GET / HTTP/1.1" 200' in log and "/decisions?page=2" in log
    assert "/report" not in log
    assert "127.0.0.1" not in log
    assert "Python-urllib" not in log  # no user agent either
