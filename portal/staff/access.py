"""Who may reach which back-office page: declared per view, enforced centrally.

Every staff view declares either ``@requires(role, …)`` (any of the roles), ``@signed_in``
(any account), or ``@public`` (the allow-list: sign-in itself).  The blueprint's
``before_request`` looks the declaration up and refuses any view that declared nothing, so a
forgotten decorator fails closed.  Signed-in sessions also expire after a period of inactivity.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from portal.staff.models import ROLES

F = Callable[..., Any]
LAST_SEEN_KEY = "staff_last_seen"


def requires(*roles: str) -> Callable[[F], F]:
    """Allow accounts holding any one of ``roles``."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"requires() needs known roles, got {roles!r}")

    def mark(view: F) -> F:
        view.staff_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def signed_in(view: F) -> F:
    """Allow any signed-in account, whatever its roles (home, own password, sign-out)."""
    view.staff_roles = frozenset()  # type: ignore[attr-defined]
    return view


def public(view: F) -> F:
    """Put a view on the allow-list: reachable without signing in."""
    view.staff_public = True  # type: ignore[attr-defined]
    return view


def is_safe_next(target: str | None) -> bool:
    """Only a local back-office path may be a ``next`` target (no open redirect)."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/staff/")
        and not target.startswith("//")
    )


def _to_sign_in() -> Any:
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    args = {"next": target} if target and is_safe_next(target) else {}
    return redirect(url_for("staff.login", **args), code=303)


def touch_session() -> None:
    session[LAST_SEEN_KEY] = int(time.time())


def check_access() -> Any:
    """The staff blueprint's ``before_request``: deny unless the view's declaration allows."""
    if request.endpoint is None:  # no route matched: the 404/405 follows
        return None
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "staff_public", False):
        return None
    required = getattr(view, "staff_roles", None)
    if required is None:
        current_app.logger.error("staff view %s declares no access rule", request.endpoint)
        abort(403)
    if not current_user.is_authenticated:
        return _to_sign_in()
    idle_limit = current_app.config["SETTINGS"].session_idle_minutes * 60
    last_seen = session.get(LAST_SEEN_KEY)
    if not isinstance(last_seen, int) or time.time() - last_seen > idle_limit:
        logout_user()
        session.clear()
        flash("您已长时间未操作，请重新登录。", "error")
        return _to_sign_in()
    touch_session()
    if required and not current_user.has_any_role(required):
        abort(403)
    return None
