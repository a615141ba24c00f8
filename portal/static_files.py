"""Static files and the site icon, fetched once and never logged (DESIGN.md §3).

A report page's own requests are as telling as the page: a stylesheet fetched again on every
page, or a browser's ask for ``/favicon.ico``, puts a line with its time beside a proxy's log.
So every static URL carries a digest of its file's content (``/static/style.css?v=3f2a…``)
and is served as immutable for a year: a browser fetches it once per version and asks no more.
The site has an icon (``favicon.svg``, and ``favicon.ico`` for browsers that ask for it at the
root), and these requests are left out of every access log (gunicorn.conf.py, the development
server's log filter in ``portal.reports``, the nginx example in docs/deploy.md).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request, send_from_directory

# Paths whose requests no access log keeps.
UNLOGGED_PATH_PREFIXES = ("/static/", "/favicon.ico")
IMMUTABLE = "public, max-age=31536000, immutable"
# /favicon.ico has no version in its URL: cached a day, then asked again.
ICON_MAX_AGE = 86400
_DIGEST_CHARS = 12
_MAX_PATHS = 1000


class _Digests:
    """Content digests of static files, computed once per file version (size and mtime), so
    an edited stylesheet gets a new URL without a restart."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[tuple[int, int], str]] = {}
        # Each name resolved once: resolving costs a system call per path component, and every
        # page asks for three static URLs (a flood of cheap refusals is mostly page renders).
        self._paths: dict[tuple[Path, str], Path | None] = {}
        self._lock = threading.Lock()

    def _path(self, folder: Path, filename: str) -> Path | None:
        """``filename`` inside ``folder``, resolved; ``None`` if it points outside."""
        key = (folder, filename)
        if key not in self._paths:
            path = (folder / filename).resolve()
            inside = path if folder.resolve() in path.parents else None
            if len(self._paths) >= _MAX_PATHS:  # names come from requests too: stay bounded
                return inside
            with self._lock:
                self._paths[key] = inside
        return self._paths[key]

    def of(self, folder: Path, filename: str) -> str | None:
        path = self._path(folder, filename)
        if path is None:
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        version = (stat.st_size, stat.st_mtime_ns)
        known = self._known.get(filename)
        if known and known[0] == version:
            return known[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:_DIGEST_CHARS]
        with self._lock:
            self._known[filename] = (version, digest)
        return digest


def register(app: Flask) -> None:
    """Versioned static URLs, immutable caching of them, and ``/favicon.ico``."""
    digests = _Digests()
    folder = Path(app.static_folder or "static")

    @app.url_defaults
    def add_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = digests.of(folder, values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def cache_static(response: Response) -> Response:
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        filename = (request.view_args or {}).get("filename", "")
        # Only the URL of the file's present version is immutable: an old or missing version
        # in the URL must not pin whatever is served now.
        if request.args.get("v") and request.args.get("v") == digests.of(folder, filename):
            response.headers["Cache-Control"] = IMMUTABLE
            response.expires = None
        return response

    def favicon() -> Response:
        return send_from_directory(current_app.static_folder or "static", "favicon.ico",
                                   mimetype="image/vnd.microsoft.icon", max_age=ICON_MAX_AGE)

    app.add_url_rule("/favicon.ico", endpoint="favicon", view_func=favicon)
