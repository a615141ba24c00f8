"""The staff blueprint: one access check for every view, no caching, a few template filters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint

from portal.staff.access import check_access

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.before_request(check_access)


@bp.app_template_filter("staff_datetime")
def staff_datetime(value: datetime | None) -> str:
    """A moment in Beijing time, to the second (audit log, sign-ins)."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")


@bp.app_template_filter("staff_json")
def staff_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


@bp.after_request
def _no_store(response):
    # Back-office pages hold unpublished drafts and personal data: never cache them.
    response.headers["Cache-Control"] = "no-store"
    return response


from portal.staff import views  # noqa: E402, F401  (attach the routes)
