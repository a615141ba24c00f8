"""Anonymous reporting (/report): the form, the receipt, the follow-up, the reward claim.

What this blueprint adds around its views, for the reporter's protection (DESIGN.md §3):

- a larger request size (5 photos of 10 MB) and uploads held in memory, never spooled to a
  temporary file on disk;
- the rate limiter keyed on an HMAC of the day and the client's address, so its storage never
  holds an address and the key changes every day;
- a filter on werkzeug's request log (the development server of ``make run``) that removes the
  client's address and the time from every line about a report page, and drops the lines of
  static files and the icon;
- headers: no caching, no referrer, no framing, and the app's CSP, which allows no script.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, current_app

from portal.clients import client_network, key_before_the_app
from portal.credentials import keyed_digest
from portal.images import MAX_UPLOAD_BYTES
from portal.models import local_today
from portal.translation import gettext as _
from portal.uploads import take_uploads

bp = Blueprint("reports", __name__, url_prefix="/report")

# 5 photos of 10 MB each, plus the form's text.
MAX_PHOTOS_PER_REQUEST = 5
REQUEST_MAX_BYTES = MAX_PHOTOS_PER_REQUEST * MAX_UPLOAD_BYTES + 2 * 1024 * 1024
# The time-independent part of every report page's headers.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _too_large() -> tuple[str, str]:
    return _("提交的内容过大"), _(
        "每张照片不超过 %(mb)s MB，最多 %(n)s 张。这次提交没有被保存，请返回上一页，"
        "减少或缩小照片后再提交。", mb=MAX_UPLOAD_BYTES // (1024 * 1024), n=MAX_PHOTOS_PER_REQUEST)


# The request size, uploads in memory and the CSRF check after the size (portal.uploads).
take_uploads(bp, REQUEST_MAX_BYTES, _too_large)


@bp.after_request
def _headers(response):
    for name, value in HEADERS.items():
        response.headers[name] = value
    response.headers["Pragma"] = "no-cache"
    return response


@key_before_the_app
def client_key() -> str:
    """The rate limiter's key for report pages: HMAC(secret, Beijing date + client network).

    The limiter's storage holds only this digest; it changes at midnight, so yesterday's
    entries cannot be linked to today's."""
    day = local_today().isoformat()
    digest = keyed_digest(current_app.config["SECRET_KEY"], "ratelimit.report-client",
                          f"{day}|{client_network()}")
    return "report-client:" + digest


# ---------------------------------------------------------------- the development server's log

# werkzeug writes '<address> - - [<time>] "<request line>" <status> <size>' for every request.
# A report page's line is rewritten without the address and the time.  The files a page fetches
# for itself (stylesheets, the icon) are not logged at all: their lines, right after a report
# page's, would date the visit all the same (portal/static_files.py).
_COLOUR = r"^(?:\x1b\[[0-9;]*m)*[A-Z]+ "
# The report pages in every language: /report, /en/report, /lo/report, /my/report (portal.i18n).
_REPORT_REQUEST = re.compile(_COLOUR + r"/(?:(?:en|lo|my)/)?report(?:[/?\s]|$)")
_UNLOGGED_REQUEST = re.compile(_COLOUR + r"/(?:static/|favicon\.ico(?:[?\s]|$))")


class ReportRequestLogFilter(logging.Filter):
    """Drops werkzeug's request-log records for static files and the icon, and rewrites those
    for /report pages without the client's address and the time."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and args and isinstance(args[0], str):
            if _UNLOGGED_REQUEST.match(args[0]):
                return False
            if _REPORT_REQUEST.match(args[0]):
                record.msg = '[举报页面：不记录地址和时间] "%s" %s %s'
        return True


def install_log_filter() -> None:
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, ReportRequestLogFilter) for f in logger.filters):
        logger.addFilter(ReportRequestLogFilter())


bp.record_once(lambda state: install_log_filter())

from portal.reports import views  # noqa: E402, F401  (attach the routes)
