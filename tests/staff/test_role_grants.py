"""No one grants themselves a role; a role that reads reports (or confirms grants) needs a second
administrator (issue 13 §4).  Through the pages and through the service, each step audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from portal.staff import accounts
from portal.staff.models import StaffRoleGrant, StaffUser
from tests.staff.conftest import csrf_token, login, make_staff

PASSWORD = "first-password-2026"


def post(client, url, data=None, form_page="/staff/"):
    return client.post(url, data={"csrf_token": csrf_token(client, form_page), **(data or {})})


def roles_of(app, username: str) -> set[str]:
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
        return set(user.roles)


def grants(app, username: str) -> list[tuple[str, str, int | None, int | None]]:
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
        return [(g.role, g.status, g.proposed_by_id, g.decided_by_id) for g in db.session.scalars(
            select(StaffRoleGrant).where(StaffRoleGrant.user_id == user.id)
            .order_by(StaffRoleGrant.id))]


def audit_trail(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(e.action, e.actor, str(e.summary.get("role", ""))) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.object_kind == "staff_user")
            .order_by(AuditEvent.seq))]


def grant_id(app, username: str, role: str) -> int:
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
        return db.session.scalar(select(StaffRoleGrant.id).where(
            StaffRoleGrant.user_id == user.id, StaffRoleGrant.role == role))


@pytest.fixture
def admins(app):
    first, second = app.test_client(), app.test_client()
    first.user = login(first, roles=("admin",), username="admin.zhao")
    second.user = login(second, roles=("admin",), username="admin.qian")
    return first, second


@pytest.mark.parametrize("roles", [["admin", "handler"], ["admin", "approver"], ["editor"]])
def test_no_administrator_changes_their_own_roles(app, admins, roles):
    first, _ = admins
    detail = f"/staff/accounts/{first.user.id}"
    response = post(first, f"{detail}/roles", {"roles": roles}, detail)
    assert response.status_code == 303
    assert "不能更改自己的角色" in first.get(detail).get_data(as_text=True)
    assert roles_of(app, "admin.zhao") == {"admin"}
    assert grants(app, "admin.zhao") == []
    assert audit_trail(app) == []


def test_a_role_that_reads_reports_waits_for_a_second_administrator(app, admins):
    first, second = admins
    with app.app_context():
        target_id = make_staff("editor", username="target.li").id
    detail = f"/staff/accounts/{target_id}"
    assert post(first, f"{detail}/roles", {"roles": ["editor", "handler"]}, detail).status_code == 303
    assert roles_of(app, "target.li") == {"editor"}  # not yet
    [(role, status, proposer, _)] = grants(app, "target.li")
    assert (role, status, proposer) == ("handler", "pending", first.user.id)
    grant = grant_id(app, "target.li", "handler")
    # The proposer cannot confirm it …
    refused = post(first, f"/staff/accounts/grants/{grant}/confirm")
    assert "提出人以外的管理员确认" in first.get(refused.headers["Location"]).get_data(as_text=True)
    assert roles_of(app, "target.li") == {"editor"}
    page = first.get(detail).get_data(as_text=True)
    assert "待另一位管理员确认的角色" in page and "确认授予" not in page
    # … a second administrator can.
    assert "确认授予" in second.get(detail).get_data(as_text=True)
    assert post(second, f"/staff/accounts/grants/{grant}/confirm").status_code == 303
    assert roles_of(app, "target.li") == {"editor", "handler"}
    assert grants(app, "target.li") == [("handler", "confirmed", first.user.id, second.user.id)]
    assert audit_trail(app) == [
        ("role_grant_propose", "admin.zhao", "handler"),
        ("role_grant_confirm", "admin.qian", "handler"),
        ("account_roles", "admin.qian", ""),
    ]
    # Confirmed once only.
    again = post(second, f"/staff/accounts/grants/{grant}/confirm")
    assert "已处理过" in second.get(again.headers["Location"]).get_data(as_text=True)


def test_an_administrator_cannot_confirm_a_role_proposed_for_themselves(app, admins):
    first, second = admins
    with app.app_context():
        proposed = accounts.change_roles(
            db.session.get(StaffUser, first.user.id), ["admin", "handler"],
            actor=db.session.get(StaffUser, second.user.id))
        grant = proposed[0].id
    refused = post(first, f"/staff/accounts/grants/{grant}/confirm")
    assert "不能确认授予自己的角色" in first.get(refused.headers["Location"]).get_data(as_text=True)
    assert roles_of(app, "admin.zhao") == {"admin"}


def test_an_account_created_with_report_roles_is_pending_until_another_admin_confirms(
        app, admins):
    first, second = admins
    response = post(first, "/staff/accounts/new", {
        "username": "helper.sun", "roles": ["handler", "approver"], "password": PASSWORD,
        "confirm": PASSWORD}, "/staff/accounts/new")
    assert response.status_code == 303
    assert roles_of(app, "helper.sun") == set()
    assert {g[:2] for g in grants(app, "helper.sun")} == {("handler", "pending"),
                                                          ("approver", "pending")}
    for role in ("handler", "approver"):
        post(first, f"/staff/accounts/grants/{grant_id(app, 'helper.sun', role)}/confirm")
    assert roles_of(app, "helper.sun") == set()  # the creator alone got nothing through
    post(second, f"/staff/accounts/grants/{grant_id(app, 'helper.sun', 'approver')}/confirm")
    assert roles_of(app, "helper.sun") == {"approver"}


def test_one_administrator_cannot_make_a_second_one_to_confirm_alone(app):
    """The issue's case: admin X creates an admin Y (whose first password X knows) and uses Y
    to satisfy the four eyes.  Y's admin role itself waits for a second administrator."""
    alone = app.test_client()
    login(alone, roles=("admin",), username="admin.only")
    post(alone, "/staff/accounts/new", {"username": "sock.puppet", "roles": ["admin"],
                                        "password": PASSWORD, "confirm": PASSWORD},
         "/staff/accounts/new")
    assert roles_of(app, "sock.puppet") == set()
    post(alone, f"/staff/accounts/grants/{grant_id(app, 'sock.puppet', 'admin')}/confirm")
    assert roles_of(app, "sock.puppet") == set()


def test_removing_a_role_takes_effect_at_once_and_a_pending_one_can_be_withdrawn(app, admins):
    first, second = admins
    with app.app_context():
        target_id = make_staff("handler", "editor", username="target.wu").id
    detail = f"/staff/accounts/{target_id}"
    post(first, f"{detail}/roles", {"roles": ["approver"]}, detail)
    assert roles_of(app, "target.wu") == set()
    assert grants(app, "target.wu")[0][:2] == ("approver", "pending")
    post(second, f"/staff/accounts/grants/{grant_id(app, 'target.wu', 'approver')}/cancel")
    assert grants(app, "target.wu")[0][:2] == ("approver", "cancelled")
    assert [a for a, _, _ in audit_trail(app)] == ["account_roles", "role_grant_propose",
                                                  "role_grant_cancel"]


def test_the_server_operator_grants_directly(app_ctx):
    # create-staff and the demo data: no actor, every role at once, audited as "system".
    user = accounts.create_account(username="ops.chen", password=PASSWORD,
                                   roles={"handler", "admin"}, actor_name="system")
    assert user.roles == {"handler", "admin"}
    assert accounts.pending_grants(user) == []
    [event] = db.session.scalars(select(AuditEvent))
    assert (event.action, event.actor) == ("account_create", "system")


def test_counties_are_set_by_another_administrator_and_audited(app, admins):
    first, _ = admins
    with app.app_context():
        target_id = make_staff("handler", username="handler.ma").id
    detail = f"/staff/accounts/{target_id}"
    assert post(first, f"{detail}/counties", {"counties": ["勐海县", "景洪市"]},
                detail).status_code == 303
    with app.app_context():
        assert db.session.get(StaffUser, target_id).counties == {"勐海县", "景洪市"}
    assert [a for a, _, _ in audit_trail(app)] == ["account_counties"]
    post(first, f"{detail}/counties", {"counties": ["火星"]}, detail)
    own = f"/staff/accounts/{first.user.id}"
    post(first, f"{own}/counties", {"counties": ["勐海县"]}, own)
    with app.app_context():
        assert db.session.get(StaffUser, first.user.id).counties == frozenset()
    assert [a for a, _, _ in audit_trail(app)] == ["account_counties"]


@pytest.mark.parametrize("reset", ["password", "reset-totp"])
def test_resetting_a_handlers_credentials_suspends_the_roles_that_read_reports(app, admins, reset):
    """An administrator who sets someone's password (or second factor) could sign in as them:
    the roles that read reports wait for a second administrator again."""
    first, second = admins
    with app.app_context():
        target_id = make_staff("handler", "approver", "editor", username="handler.he").id
    detail = f"/staff/accounts/{target_id}"
    data = {"password": "reset-password-2026", "confirm": "reset-password-2026"}
    response = post(first, f"{detail}/{reset}", data if reset == "password" else {}, detail)
    assert response.status_code == 303
    assert roles_of(app, "handler.he") == {"editor"}
    assert sorted(g[:2] for g in grants(app, "handler.he")) == [("approver", "pending"),
                                                               ("handler", "pending")]
    for role in ("handler", "approver"):
        post(first, f"/staff/accounts/grants/{grant_id(app, 'handler.he', role)}/confirm")
    assert roles_of(app, "handler.he") == {"editor"}  # not by the one who reset
    post(second, f"/staff/accounts/grants/{grant_id(app, 'handler.he', 'handler')}/confirm")
    assert roles_of(app, "handler.he") == {"editor", "handler"}
