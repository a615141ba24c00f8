"""Blueprints whose forms carry files (the report pages, 信用修复 applications): a larger
request than the app's, uploads held in memory, the CSRF check after the size is raised, and a
page of their own for a request over the size.

Werkzeug spools an upload over 500 KB to a temporary file; a photo or a signed commitment must
never touch the disk unencrypted, even briefly, so it is read into memory, bounded by the
blueprint's request size.  The app-wide CSRF check would parse the body first, under the app's
smaller limit, so these blueprints are exempt from it and run the same check themselves once the
size is raised.  A client over its rate limit was refused before any of this
(``portal.refusals``), its body unread.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO

from flask import Blueprint, g, render_template, request
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import ValidationError

from portal.extensions import csrf


def _in_memory_stream(
    total_content_length: int | None,
    content_type: str | None,
    filename: str | None = None,
    content_length: int | None = None,
) -> IO[bytes]:
    return io.BytesIO()


def take_uploads(bp: Blueprint, max_bytes: int, too_large: Callable[[], tuple[str, str]]) -> None:
    """Set ``bp`` up for requests of up to ``max_bytes`` with files held in memory.

    ``too_large`` gives the (title, message) of the 413 page; it is called while answering,
    so its strings are in the visitor's language."""
    csrf.exempt(bp)

    @bp.before_request
    def _prepare_request() -> None:
        request.max_content_length = max_bytes
        request._get_file_stream = _in_memory_stream  # type: ignore[method-assign]
        if request.method == "POST":
            # The token check, as the app-wide one does it (WTF_CSRF_SSL_STRICT is off
            # site-wide: no page sends a Referer), only after the request size was raised.
            try:
                validate_csrf(csrf._get_csrf_token())
            except ValidationError as exc:
                raise CSRFError(exc.args[0]) from None
            g.csrf_valid = True  # as the app-wide check marks it: the forms need not repeat it

    @bp.errorhandler(RequestEntityTooLarge)
    def _too_large(error: Exception):
        title, message = too_large()
        return render_template("errors/error.html", code=413, title=title, message=message), 413
