"""The production server configuration (gunicorn.conf.py) as it really runs."""

from __future__ import annotations

from tests.gunicorn_server import get, gunicorn


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
