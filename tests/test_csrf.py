"""Every state-changing endpoint of the URL map refuses a request without a valid CSRF token.

Security review finding 5: the walk is over the whole URL map, so a view added later (or a
future ``csrf.exempt``) is covered without anyone remembering to add it here.  Each POST (PUT,
PATCH, DELETE) is sent by a signed-in account holding every role, once with no token and once
with another session's valid token; each must be refused as a CSRF failure, and the database
must be exactly as before.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from portal.extensions import db
from portal.models import Base
from portal.staff.models import ROLES
from tests import factories
from tests.staff.conftest import PASSWORD, csrf_token, login, make_staff

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Plausible values for the fields the forms ask for, so that an endpoint that lost its CSRF
# check would have something to act on.
FORM_VALUES = {
    "reason": "测试理由：决定已被撤销", "removed_on": "2026-11-30", "username": "csrf.victim",
    "password": PASSWORD, "code": "123456", "roles": "editor", "confirm": "y",
    "display_name": "测试", "q": "矿山", "text": "测试内容", "message": "测试内容",
}
EXPIRED_FLASH = "页面已过期"


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, in key order."""
    rows = {}
    for table in Base.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = [tuple(r) for r in db.session.execute(select(table).order_by(*order))]
    db.session.rollback()
    return rows


def concrete_urls(app: Flask) -> list[tuple[str, str]]:
    """(method, url) for every unsafe method of every rule, arguments filled with real ids."""
    found = []
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        unsafe = sorted((rule.methods or set()) & UNSAFE)
        if not unsafe:
            continue
        values = {name: _value(rule, name) for name in rule.arguments}
        url = adapter.build(rule.endpoint, values)
        found.extend((method, url) for method in unsafe)
    return found


def _value(rule: Rule, name: str) -> object:
    converter = rule._converters[name]
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    if isinstance(converter, IntegerConverter):
        return 1
    return "x"


@pytest.fixture
def seeded(app: Flask) -> None:
    with app.app_context():
        factories.decision()
        factories.power()
        factories.accident()
        factories.blacklist_entry()
        db.session.commit()
        make_staff("editor", username="csrf.victim")


def _refused_as_csrf(client, response, url: str) -> bool:
    if response.status_code == 400:
        return True
    # The back office answers an expired form with a flash and a way back (303): the same page
    # for a form that has one, else the back office's home.
    if response.status_code == 303 and response.headers.get("Location", "") in (url, "/staff/"):
        with client.session_transaction() as sess:
            flashes = [message for _, message in sess.pop("_flashes", [])]
        return any(EXPIRED_FLASH in m for m in flashes)
    return False


def test_every_unsafe_endpoint_refuses_a_missing_or_foreign_csrf_token(app, seeded):
    app.config["WTF_CSRF_ENABLED"] = True
    endpoints = concrete_urls(app)
    assert any(url == "/staff/login" for _, url in endpoints)  # the walk sees the map
    other = app.test_client()
    foreign_token = csrf_token(other)
    client = app.test_client()
    login(client, roles=tuple(ROLES))
    csrf_token(client, "/staff/")  # the session has a token of its own, just not this one
    with app.app_context():
        before = snapshot()
    failures = []
    for method, url in endpoints:
        for label, token in (("no token", None), ("another session's token", foreign_token)):
            data = dict(FORM_VALUES)
            if token:
                data["csrf_token"] = token
            response = client.open(url, method=method, data=data)
            if not _refused_as_csrf(client, response, url):
                failures.append(f"{method} {url} with {label}: {response.status_code}")
    with app.app_context():
        after = snapshot()
    changed = [name for name in before if before[name] != after[name]]
    assert not failures, failures
    assert not changed, f"state changed in {changed}"


def test_the_snapshot_sees_a_change_made_with_a_valid_token(app, seeded):
    # The control: the same walk's state check notices what a successful POST does.
    client = app.test_client()
    login(client, roles=("editor",))
    with app.app_context():
        before = snapshot()
    response = client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    assert response.status_code in (302, 303)
    with app.app_context():
        after = snapshot()
    assert before["staff_users"] != after["staff_users"]


@pytest.mark.parametrize(("path", "refused"), [
    ("/report", 400), ("/report/followup", 400), ("/report/followup/erase", 400),
    ("/staff/login", 303), ("/credit/certificate", 400)])  # sign-in: back to the form
def test_a_multipart_part_without_a_usable_name_is_dropped_not_a_500(app, path, refused):
    """A part whose name has a line break in it is parsed with no name (key ``None``), and
    Flask-WTF's token lookup called ``None.endswith`` on it: a 500 for any POST whose token
    field is prefixed (``erase-csrf_token``) or missing.  Found by tests/test_fuzz.py."""
    client = app.test_client()
    token = csrf_token(client, "/report")
    response = client.post(path, data={"a\nb": "x", "erase-csrf_token": "wrong"},
                           content_type="multipart/form-data")
    assert response.status_code == refused  # the token is missing or wrong: not a 500
    with app.test_request_context(path, method="POST", content_type="multipart/form-data",
                                  data={"a\nb": "x", "kept": "1", "csrf_token": token}):
        from flask import request

        assert dict(request.form) == {"kept": "1", "csrf_token": token}
