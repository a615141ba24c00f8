"""Static files and the icon: versioned immutable URLs, an icon at /favicon.ico, and no line in
any access log for them (portal/static_files.py)."""

from __future__ import annotations

import hashlib
import logging
import re
import urllib.request
from pathlib import Path

from tests.gunicorn_server import get, gunicorn
from tests.live import serving

ROOT = Path(__file__).resolve().parent.parent


def _digest(name: str) -> str:
    return hashlib.sha256((ROOT / "static" / name).read_bytes()).hexdigest()[:12]


def test_pages_link_static_files_by_content_digest(client):
    html = client.get("/").get_data(as_text=True)
    assert f'href="/static/style.css?v={_digest("style.css")}"' in html
    assert f'href="/static/favicon.svg?v={_digest("favicon.svg")}"' in html
    assert 'rel="icon"' in html
    report = client.get("/report").get_data(as_text=True)
    assert f"/static/style.css?v={_digest('style.css')}" in report


def test_a_versioned_static_url_is_immutable_for_a_year(client):
    response = client.get(f"/static/style.css?v={_digest('style.css')}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Without its version, or with another one, the file is not pinned.
    for url in ("/static/style.css", "/static/style.css?v=000000000000"):
        assert "immutable" not in client.get(url).headers.get("Cache-Control", "")


def test_the_site_has_an_icon(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert icon.mimetype == "image/vnd.microsoft.icon"
    assert "max-age" in icon.headers["Cache-Control"]
    svg = client.get(f"/static/favicon.svg?v={_digest('favicon.svg')}")
    assert svg.status_code == 200 and svg.data.startswith(b"<svg")


def test_development_server_logs_no_static_or_icon_request(app, caplog):

    caplog.set_level(logging.INFO, logger="werkzeug")
    with serving(app) as base:
        for path in ("/favicon.ico", "/static/style.css", f"/static/style.css?v={_digest('style.css')}",
                     "/decisions"):
            urllib.request.urlopen(base + path, timeout=10).read()  # noqa: S310 - loopback
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/decisions" in line for line in lines)  # the log works
    assert not [line for line in lines if "/static/" in line or "favicon" in line], lines


def test_gunicorn_logs_no_static_or_icon_request(tmp_path):
    log = tmp_path / "access.log"
    with gunicorn(tmp_path, workers=1, PORTAL_ACCESS_LOG=str(log)) as base:
        assert get(base + "/favicon.ico") == 200
        assert get(base + "/static/style.css") == 200
        assert get(base + "/decisions") == 200
    text = log.read_text()
    assert "/decisions" in text
    assert "/static/" not in text and "favicon" not in text


def test_nginx_example_logs_no_static_or_icon_request():
    doc = (ROOT / "docs" / "deploy.md").read_text()
    config = re.search(r"```nginx\n(.*?)```", doc, re.S).group(1)
    for location in ("location /static/ {", "location = /favicon.ico {"):
        assert location in config
        block = config.split(location, 1)[1].split("}", 1)[0]
        assert "access_log off;" in block, location


def test_a_static_url_does_not_resolve_its_path_again(tmp_path, monkeypatch):
    """Each page links three static files: after the first, a URL costs one stat of the file,
    not a path resolution (a system call per path component), and an edit still shows."""
    from pathlib import Path

    from portal.static_files import _Digests

    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "style.css").write_text("body { color: black; }")
    digests = _Digests()
    first = digests.of(folder, "style.css")
    calls = []
    resolve = Path.resolve
    monkeypatch.setattr(Path, "resolve", lambda self, *a, **k: calls.append(self) or
                        resolve(self, *a, **k))
    assert digests.of(folder, "style.css") == first
    assert calls == []
    (folder / "style.css").write_text("body { color: navy; }")
    assert digests.of(folder, "style.css") not in (None, first)
    assert digests.of(folder, "../outside.css") is None
