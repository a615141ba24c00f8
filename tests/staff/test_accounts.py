"""Administrators manage accounts; every change is audited; the last admin stays."""

from __future__ import annotations

from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from portal.staff.models import StaffUser
from tests.staff.conftest import csrf_token, login, make_staff


def post(client, url, data=None, form_page=None):
    return client.post(url, data={"csrf_token": csrf_token(client, form_page or url),
                                  **(data or {})})


def account(app, username) -> StaffUser:
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
        roles = user.roles
        db.session.expunge(user)
        user.__dict__["_roles_snapshot"] = roles
        return user


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_admin_creates_an_account_that_enrols_at_first_sign_in(app):
    admin = app.test_client()
    login(admin, roles=("admin",), username="admin.zhao")
    bad = post(admin, "/staff/accounts/new", {"username": "Bad Name!", "password": "short",
                                               "confirm": "other"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    # The summary reads in the page's order and links a checkbox group to its first box.
    links = [html.index(f'href="#{anchor}"') for anchor in ("username", "roles-0", "password",
                                                           "confirm")]
    assert links == sorted(links)
    response = post(admin, "/staff/accounts/new", {
        "username": "Chen.Editor", "display_name": "陈编辑", "roles": ["editor", "handler"],
        "password": "first-password-2026", "confirm": "first-password-2026"})
    assert response.status_code == 303
    user = account(app, "chen.editor")
    # The handler role reads reports: it waits for a second administrator (test_role_grants).
    assert user.__dict__["_roles_snapshot"] == {"editor"}
    assert user.totp_confirmed_at is None and user.password_hash.startswith("$argon2id$")
    taken = post(admin, "/staff/accounts/new", {
        "username": "chen.editor", "roles": ["editor"], "password": "first-password-2026",
        "confirm": "first-password-2026"})
    assert taken.status_code == 400 and "该用户名已被使用" in taken.get_data(as_text=True)
    with app.app_context():
        [event] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "account_create"))
    assert event.actor == "admin.zhao"
    assert event.summary == {"username": "chen.editor", "roles": ["editor"],
                             "pending_roles": ["handler"]}
    listing = admin.get("/staff/accounts/").get_data(as_text=True)
    assert "chen.editor" in listing and "待绑定" in listing


def test_roles_disable_enable_and_resets_are_audited(app):
    admin = app.test_client()
    login(admin, roles=("admin",))
    with app.app_context():
        target = make_staff("editor", username="target.li")
        target_id, token_before = target.id, target.session_token
    detail = f"/staff/accounts/{target_id}"
    assert post(admin, f"{detail}/roles", {"roles": ["approver"]}, detail).status_code == 303
    # Editor ends at once; approver waits for a second administrator (test_role_grants).
    assert account(app, "target.li").__dict__["_roles_snapshot"] == set()
    post(admin, f"{detail}/disable", form_page=detail)
    disabled = account(app, "target.li")
    assert disabled.active is False and disabled.session_token != token_before
    post(admin, f"{detail}/enable", form_page=detail)
    assert account(app, "target.li").active is True
    post(admin, f"{detail}/reset-totp", form_page=detail)
    assert account(app, "target.li").totp_confirmed_at is None
    response = post(admin, f"{detail}/password",
                    {"password": "reset-password-2026", "confirm": "reset-password-2026"})
    assert response.status_code == 303
    assert actions(app) == ["account_roles", "role_grant_propose", "account_disable", "account_enable",
                            "account_totp_reset", "account_password_reset"]
    page = admin.get(detail).get_data(as_text=True)
    assert "重置密码" in page and "停用账户" in page


def test_a_disabled_account_is_signed_out_at_once(app):
    admin, editor = app.test_client(), app.test_client()
    login(admin, roles=("admin",))
    target = login(editor, roles=("editor",))
    assert editor.get("/staff/decisions/").status_code == 200
    detail = f"/staff/accounts/{target.id}"
    post(admin, f"{detail}/disable", form_page=detail)
    assert editor.get("/staff/decisions/").status_code == 303


def test_the_last_active_admin_cannot_be_removed(app):
    admin = app.test_client()
    me = login(admin, roles=("admin",))
    detail = f"/staff/accounts/{me.id}"
    post(admin, f"{detail}/roles", {"roles": ["editor"]}, detail)
    assert "admin" in account(app, me.username).__dict__["_roles_snapshot"]
    assert "不能更改自己的角色" in admin.get(detail).get_data(as_text=True)
    post(admin, f"{detail}/disable", form_page=detail)
    assert account(app, me.username).active is True
    assert actions(app) == []


def test_roles_must_be_known(app):
    admin = app.test_client()
    login(admin, roles=("admin",))
    with app.app_context():
        target_id = make_staff("editor").id
    detail = f"/staff/accounts/{target_id}"
    post(admin, f"{detail}/roles", {"roles": ["superuser"]}, detail)
    assert actions(app) == []


def test_unknown_account_is_404(app):
    admin = app.test_client()
    login(admin, roles=("admin",))
    assert admin.get("/staff/accounts/99999").status_code == 404
