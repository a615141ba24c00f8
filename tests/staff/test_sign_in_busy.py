"""One password hash at a time per process: a sign-in arriving while one is checked is asked
to try again at once, and nothing about it is checked or logged."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.audit import AuditEvent
from portal.extensions import db
from tests.staff.conftest import make_staff, sign_in_form, totp_now


def _without_token(page: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1"', page)


def test_a_sign_in_while_a_password_is_checked_is_told_to_retry(app):
    with app.app_context():
        user = make_staff("editor")
        username, secret = user.username, user.totp_secret
    client = app.test_client()
    slots = app.extensions["password_slots"]
    assert slots.try_take()  # another request is checking a password now
    try:
        right = sign_in_form(client, username, code=totp_now(secret))
        wrong = sign_in_form(client, username, password="wrong-password-1")
    finally:
        slots.give_back()
    for response in (right, wrong):
        assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
        body = response.get_data(as_text=True)
        assert "登录请求较多" in body and f'value="{username}"' in body  # the name is kept
    # Nothing was checked: the same page for both (but for the CSRF token, which is signed
    # with the second it was made in, so two pages a second apart differ there).
    assert _without_token(right.get_data(as_text=True)) == \
        _without_token(wrong.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    # Once the slot is free the same sign-in goes through.
    assert sign_in_form(client, username, code=totp_now(secret)).status_code == 303
