"""Back office for the regulator's staff: every view needs a signed-in account with a role.

Access is declared on each view (``portal.staff.access``) and enforced for the whole blueprint
in one ``before_request``; a view without a declaration is refused.
"""

from __future__ import annotations

import hmac
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint

from portal.extensions import db, login_manager
from portal.staff.access import check_access

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.before_request(check_access)

# A session cookie replayed from another address or browser is dropped (Flask-Login compares
# a hash of the client address and user agent).
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str):
    """The account in the session, if it still exists, is active and its session token matches.

    The token changes at sign-out, disabling and resets, ending every session of the account.
    """
    from portal.staff.models import StaffUser

    account_id, _, token = (user_id or "").partition(":")
    if not account_id.isdigit() or not token:
        return None
    user = db.session.get(StaffUser, int(account_id))
    if user is None or not user.active or not hmac.compare_digest(token, user.session_token):
        return None
    return user


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


from portal.staff import views  # noqa: E402, F401
