"""Only staff of the department that listed the entry act on a 信用修复 application, only
staff of the department that published a record answer an objection to it (issue 17): every
step refused for another department and for an account without one, audited, the case left
as it was; the pages show such staff the case read-only with the reason."""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select

from portal import audit
from portal.credit.models import Objection
from portal.extensions import db
from portal.services.enterprises import objections, repair
from portal.staff import accounts
from portal.staff.models import StaffUser
from tests import factories
from tests.credit.repair_helpers import csrf_from, listed
from tests.services.test_repair import submitted
from tests.staff.conftest import login, make_staff

OTHER = "勐海县应急管理局"
LISTING = "西双版纳州应急管理局"  # the department ``listed()`` and the factories give items

STEPS = {
    "accept": lambda a, actor: repair.accept(a, actor=actor),
    "ask": lambda a, actor: repair.ask_more(a, actor=actor, question="请补充缴款凭证。"),
    "propose": lambda a, actor: repair.propose(a, actor=actor, outcome="grant",
                                               decision_no="西应急信修〔2026〕9号",
                                               reasons="罚款已缴清，整改验收合格。"),
    "approve": lambda a, actor: repair.approve(a, actor=actor),
    "return": lambda a, actor: repair.return_proposal(a, actor=actor, note="证据不足，请复核。"),
    "revoke": lambda a, actor: repair.revoke(a, actor=actor, reason="缴款凭证系伪造，经核实。"),
}
# The state each step is tried in (the one where the right department may take it).
READY = {"accept": "submitted", "ask": "under_review", "propose": "under_review",
         "approve": "proposed", "return": "proposed", "revoke": "granted"}


def _bring_to(application, state: str) -> None:
    editor, approver = make_staff("editor"), make_staff("approver")
    if state == "submitted":
        return
    repair.accept(application, actor=editor)
    if state == "under_review":
        return
    STEPS["propose"](application, editor)
    if state == "proposed":
        return
    repair.approve(application, actor=approver)


def _refused_events() -> list[audit.AuditEvent]:
    return list(db.session.scalars(select(audit.AuditEvent).where(
        audit.AuditEvent.action.in_(("repair_refused", "objection_refused")))))


@pytest.mark.parametrize("department", [OTHER, None], ids=["other-department", "no-department"])
@pytest.mark.parametrize("step", list(STEPS))
@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_each_repair_step_is_refused_outside_the_listing_department(app_ctx, step, department):
    application = submitted(listed())
    _bring_to(application, READY[step])
    outsider = make_staff("editor", "approver", department=department)
    before = (application.status, len(application.events))
    with pytest.raises(repair.StepRefused) as refused:
        STEPS[step](application, outsider)
    message = str(refused.value)
    if department is None:
        assert "尚未设定所属部门" in message
    else:
        assert LISTING in message and OTHER in message and "只能查看" in message
    db.session.refresh(application)
    assert (application.status, len(application.events)) == before
    events = _refused_events()
    assert len(events) == 1 and events[0].actor_id == outsider.id
    assert events[0].summary["step"] == step


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_the_listing_department_takes_every_step(app_ctx):
    application = submitted(listed())
    editor, approver = make_staff("editor"), make_staff("approver")
    assert repair.step_refusal(application, editor) is None
    for step in ("accept", "ask"):
        STEPS[step](application, editor)
    application.status = "under_review"
    STEPS["propose"](application, editor)
    repair.approve(application, actor=approver)
    repair.revoke(application, actor=approver, reason="缴款凭证系伪造，经核实。")
    assert application.status == "revoked" and not _refused_events()


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_staff_of_another_department_see_the_application_read_only(app):
    with app.app_context():
        application_id = submitted(listed()).id
    path = f"/staff/repair/{application_id}"
    outsider = app.test_client()
    login(outsider, roles=("editor", "approver"), department=OTHER)
    page = outsider.get(path).get_data(as_text=True)
    assert 'id="read-only"' in page and f"由{LISTING}办理" in page
    assert "受理，开始审核" not in page
    token = csrf_from(page)
    response = outsider.post(f"{path}/accept", data={"csrf_token": token})
    assert response.status_code == 303
    assert "只能查看" in outsider.get(path).get_data(as_text=True)
    queue = outsider.get("/staff/repair").get_data(as_text=True)
    assert "本部门" not in queue  # the listing department's case, not theirs
    own = app.test_client()
    login(own, roles=("editor",))
    page = own.get(path).get_data(as_text=True)
    assert 'id="read-only"' not in page and "受理，开始审核" in page
    assert "本部门" in own.get("/staff/repair").get_data(as_text=True)
    with app.app_context():
        assert repair.get(application_id).status == "submitted"


def _objection(kind: str = "decisions") -> Objection:
    item = factories.decision(document_no="西应急罚〔2026〕777号")
    db.session.commit()
    draft = objections.save_draft(None, "decisions", item.id, {
        "applicant_name": "某某公司", "contact": "0691-2123456", "what_is_wrong": "金额有误。",
        "should_read": "应为五万元。"})
    objection, _ = objections.submit(draft)
    return objection


@pytest.mark.parametrize("department", [OTHER, None], ids=["other-department", "no-department"])
@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_an_objection_is_answered_only_by_the_publishing_department(app_ctx, department):
    objection = _objection()
    outsider = make_staff("editor", department=department)
    with pytest.raises(objections.StepRefused, match="只能查看"):
        objections.answer(objection, actor=outsider, upheld=False, text="经核实，信息无误。")
    assert objection.status == "submitted" and objection.answer is None
    events = _refused_events()
    assert len(events) == 1 and events[0].action == "objection_refused"
    objections.answer(objection, actor=make_staff("editor"), upheld=False, text="经核实，信息无误。")
    assert objection.status == "rejected"


@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_objection_page_read_only_for_another_department(app):
    with app.app_context():
        objection_id = _objection().id
    outsider = app.test_client()
    login(outsider, roles=("editor",), department=OTHER)
    page = outsider.get(f"/staff/objections/{objection_id}").get_data(as_text=True)
    assert 'id="read-only"' in page and "答复提出人" not in page
    response = outsider.post(f"/staff/objections/{objection_id}/answer", data={
        "csrf_token": csrf_from(page), "outcome": "rejected", "text": "经核实，信息无误。"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Objection, objection_id).status == "submitted"


@pytest.mark.parametrize("department", [OTHER, None], ids=["other-department", "no-department"])
@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_an_objection_s_applicant_is_read_only_by_the_answering_department(app, department):
    """Who objected and how to reach them is for the department that answers (need-to-know, as
    a 信用修复 application's documents): another department's staff, or an account with none,
    see the objection without them and the reason; asking for them is refused and audited."""
    with app.app_context():
        objection_id = _objection().id
    outsider = app.test_client()
    user = login(outsider, roles=("editor",), department=department)
    page = outsider.get(f"/staff/objections/{objection_id}").get_data(as_text=True)
    assert "某某公司" not in page and "0691-2123456" not in page
    assert "金额有误。" in page and 'id="applicant-refused"' in page
    assert ("尚未设定所属部门" if department is None else f"仅供{LISTING}查看") in page
    with app.app_context():
        objection = db.session.get(Objection, objection_id)
        assert not _applicant_events()  # the page does not ask for them
        with pytest.raises(objections.StepRefused, match="姓名和联系方式"):
            objections.applicant(objection, actor=db.session.get(StaffUser, user.id))
        events = _applicant_events()
        assert [(e.action, e.actor_id) for e in events] == [("objection_applicant_refused", user.id)]
        assert events[0].summary["department"] == objection.department_id
    own = app.test_client()
    login(own, roles=("editor",))
    page = own.get(f"/staff/objections/{objection_id}").get_data(as_text=True)
    assert "某某公司" in page and "0691-2123456" in page and "applicant-refused" not in page
    with app.app_context():
        assert [e.actor_id for e in _applicant_events()] == [user.id]  # nothing refused


def _applicant_events() -> list[audit.AuditEvent]:
    return list(db.session.scalars(select(audit.AuditEvent).where(
        audit.AuditEvent.action == "objection_applicant_refused")))


# ---------------------------------------------------------------- accounts


def test_admin_sets_a_department_audited_and_not_their_own(app, admin_client):
    with app.app_context():
        factories.department(OTHER)
        user = make_staff("editor", department=None)
        other_id, user_id, username = factories.department(OTHER).id, user.id, user.username
        db.session.commit()
    listing = admin_client.get("/staff/accounts/").get_data(as_text=True)
    assert 'id="without-department"' in listing and username in listing
    page = admin_client.get(f"/staff/accounts/{user_id}").get_data(as_text=True)
    assert "所属部门" in page and OTHER in page
    token = csrf_from(page)
    bad = admin_client.post(f"/staff/accounts/{user_id}/department",
                            data={"csrf_token": token, "department": "999999"})
    assert bad.status_code == 303
    with app.app_context():
        assert db.session.get(StaffUser, user_id).department_id is None
    admin_client.post(f"/staff/accounts/{user_id}/department",
                      data={"csrf_token": token, "department": str(other_id)})
    with app.app_context():
        assert db.session.get(StaffUser, user_id).department_id == other_id
        event = db.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.action == "account_department")).one()
        assert event.summary["department"] == [None, OTHER]
        own = db.session.scalars(select(StaffUser).where(StaffUser.id != user_id)).first()
        with pytest.raises(accounts.OwnAccount):
            accounts.set_department(own, other_id, actor=own)
    assert 'id="without-department"' not in admin_client.get("/staff/accounts/").get_data(as_text=True)


def test_new_account_form_takes_a_department_and_keeps_input_on_error(app, admin_client):
    with app.app_context():
        other = factories.department(OTHER)
        db.session.commit()
        other_id = other.id
    page = admin_client.get("/staff/accounts/new").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "username": "li.si", "display_name": "李四",
            "roles": ["editor"], "department": "12345", "password": "correct-horse-battery-2",
            "confirm": "correct-horse-battery-2"}
    bad = admin_client.post("/staff/accounts/new", data=data)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "请修正以下问题" in html and 'value="li.si"' in html
    data["department"] = str(other_id)
    assert admin_client.post("/staff/accounts/new", data=data).status_code == 303
    with app.app_context():
        assert accounts.find("li.si").department.name == OTHER


def test_accounts_without_department_counted_by_check_config(app_ctx):
    from portal.config_check import staff_department_findings

    make_staff("editor")
    assert staff_department_findings() == []
    make_staff("handler", department=None)  # no case role: nothing to say
    assert staff_department_findings() == []
    lost = make_staff("approver", department=None, username="no.dept")
    findings = staff_department_findings()
    assert len(findings) == 1 and "no.dept" in findings[0].message and not findings[0].blocking
    lost.active = False
    db.session.commit()
    assert staff_department_findings() == []


def test_clearing_a_department_leaves_the_account_read_only(app_ctx):
    user, admin = make_staff("editor"), make_staff("admin")
    accounts.set_department(user, None, actor=admin)
    assert user.department_id is None
    with time_machine.travel("2026-03-02 10:00 +0800", tick=False):
        application = submitted(listed())
        assert "尚未设定所属部门" in repair.step_refusal(application, user)


def test_create_staff_takes_a_department_and_says_when_there_is_none(app):
    runner = app.test_cli_runner()
    with app.app_context():
        factories.department(LISTING)
        db.session.commit()
    result = runner.invoke(args=["create-staff", "dao.editor", "--role", "editor", "--department",
                                 LISTING, "--password-stdin"], input="a-long-enough-password\n")
    assert result.exit_code == 0, result.output
    assert f"所属部门：{LISTING}" in result.output and "新增部门" not in result.output
    result = runner.invoke(args=["create-staff", "yu.editor", "--role", "approver", "--department",
                                 "勐腊县应急管理局", "--password-stdin"],
                           input="a-long-enough-password\n")
    assert result.exit_code == 0 and "新增部门：勐腊县应急管理局" in result.output
    result = runner.invoke(args=["create-staff", "ai.editor", "--role", "editor",
                                 "--password-stdin"], input="a-long-enough-password\n")
    assert result.exit_code == 0 and "未设定所属部门" in result.output
    with app.app_context():
        assert accounts.find("dao.editor").department.name == LISTING
        assert accounts.find("yu.editor").department.name == "勐腊县应急管理局"
        assert accounts.find("ai.editor").department is None
        event = db.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.action == "account_create",
            audit.AuditEvent.object_id == str(accounts.find("dao.editor").id))).one()
        assert event.summary["department"] == LISTING


# ---------------------------------------------------------------- documents


@pytest.mark.parametrize("department", [OTHER, None], ids=["other-department", "no-department"])
@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_documents_download_only_for_the_listing_department(app, department):
    """The applicant's evidence is for the department that decides (need-to-know): another
    department's staff, or an account with none, are refused the download, audited, and the page
    lists the documents without links; the listing department downloads them."""
    with app.app_context():
        application = submitted(listed())
        application_id, document_id = application.id, application.documents[0].id
    path = f"/staff/repair/{application_id}/documents/{document_id}"
    outsider = app.test_client()
    user = login(outsider, roles=("editor", "approver"), department=department)
    response = outsider.get(path)
    assert response.status_code == 303 and not response.data.startswith(b"%PDF-")
    page = outsider.get(f"/staff/repair/{application_id}").get_data(as_text=True)
    assert 'id="documents-refused"' in page and path not in page
    assert ("尚未设定所属部门" if department is None else f"仅供{LISTING}查看") in page
    with app.app_context():
        events = list(db.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.action.in_(("repair_document_view", "repair_document_refused")))))
        assert [(e.action, e.actor_id) for e in events] == [("repair_document_refused", user.id)]
        assert events[0].summary["document"] == document_id
    own = app.test_client()
    login(own, roles=("editor",))
    assert path in own.get(f"/staff/repair/{application_id}").get_data(as_text=True)
    response = own.get(path)
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
