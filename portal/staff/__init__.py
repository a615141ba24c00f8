"""Back office for the regulator's staff: every view needs a signed-in account with a role.

Access is declared on each view (``portal.staff.access``) and enforced for the whole blueprint
in one ``before_request`` (``portal.staff.blueprint``); a view without a declaration is refused.
"""

from __future__ import annotations

import hmac
from typing import Any

from portal.extensions import db, login_manager

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


def __getattr__(name: str) -> Any:
    # ``from portal.staff import bp`` loads the views only when the app asks for the blueprint,
    # so importing ``portal.staff.models`` (the CLI, the migrations) does not load every view.
    if name == "bp":
        from portal.staff.blueprint import bp

        return bp
    raise AttributeError(name)
