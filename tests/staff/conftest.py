"""Staff test helpers: accounts, a fast ``login(client, roles=…)``, CSRF tokens, TOTP codes."""

from __future__ import annotations

import itertools
import re
import time
from functools import lru_cache

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import credentials
from portal.extensions import db
from portal.staff.access import LAST_SEEN_KEY
from portal.staff.models import StaffUser

PASSWORD = "correct-horse-battery-staple"
_names = itertools.count(1)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # Argon2id is slow on purpose; hash the shared test password once per run.
    return credentials.hash_password(PASSWORD)


# The department test accounts belong to unless told: the one ``tests.factories`` gives items.
STAFF_DEPARTMENT = "西双版纳州应急管理局"


def make_staff(
    *roles: str, username: str | None = None, confirmed: bool = True, active: bool = True,
    department: str | None = STAFF_DEPARTMENT,
) -> StaffUser:
    """An account (inside an app context) with ``PASSWORD`` and a TOTP secret, in
    ``department`` (by name, added if missing; None: no department)."""
    from portal.models import utcnow
    from tests import factories

    user = StaffUser(
        username=username or f"staff{next(_names)}",
        display_name="测试人员",
        password_hash=_password_hash(),
        totp_secret=credentials.new_totp_secret(),
        totp_confirmed_at=utcnow() if confirmed else None,
        active=active,
        department=factories.department(department) if department is not None else None,
    )
    user.set_roles(set(roles))
    db.session.add(user)
    db.session.commit()
    return user


def totp_now(user_or_secret: StaffUser | str, offset_steps: int = 0) -> str:
    secret = user_or_secret if isinstance(user_or_secret, str) else user_or_secret.totp_secret
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() + offset_steps * totp.interval)


def csrf_token(client: FlaskClient, path: str = "/staff/login") -> str:
    """The CSRF token of ``client``'s session, read from a page's form."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, roles: tuple[str, ...] | list[str] = ("editor",),
          **kwargs) -> StaffUser:
    """Create an account with ``roles`` and put it in ``client``'s session.

    This skips the (deliberately slow) sign-in form; tests in test_auth.py use the real form.
    """
    from flask_login.utils import _create_identifier

    app: Flask = client.application
    with app.app_context():
        user = make_staff(*roles, **kwargs)
        user_id, username = user.get_id(), user.username
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as sess:
        sess["_user_id"] = user_id
        sess["_fresh"] = True
        sess["_id"] = identifier
        sess[LAST_SEEN_KEY] = int(time.time())
    with app.app_context():
        return db.session.scalar(db.select(StaffUser).filter_by(username=username))


def sign_in_form(client: FlaskClient, username: str, password: str = PASSWORD, code: str = "",
                 next_url: str = "") -> object:
    """Post the real sign-in form (with a fresh CSRF token)."""
    token = csrf_token(client)
    return client.post(
        "/staff/login",
        data={"csrf_token": token, "username": username, "password": password, "code": code,
              "next": next_url},
    )


@pytest.fixture
def editor_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    login(client, roles=("editor",))
    return client


@pytest.fixture
def admin_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    login(client, roles=("admin",))
    return client
