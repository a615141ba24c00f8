"""信用修复 in the back office, through the pages: queue (overdue first), the steps, four eyes,
documents downloaded with an audit event; the public entry page shows only the state."""

from __future__ import annotations

import re
from datetime import date

import time_machine
from sqlalchemy import select

from portal import audit
from portal.credit.models import RepairApplication
from portal.extensions import db
from tests.credit.repair_helpers import APPLICANT, apply, listed
from tests.staff.conftest import csrf_token, login


def _listed(app):
    with app.app_context():
        entry = listed()
        return entry.id, entry.uscc


def _application(app, application_id=None):
    with app.app_context():
        if application_id is None:
            found = db.session.scalars(select(RepairApplication).order_by(RepairApplication.id)).first()
        else:
            found = db.session.get(RepairApplication, application_id)
        return found.id, found.status, found.number, found.decided_by_id, \
            [d.id for d in found.documents]


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/staff/repair"), **data})


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_staff_journey_to_a_grant_with_four_eyes(app):
    entry_id, uscc = _listed(app)
    applicant = app.test_client()
    number, _ = apply(applicant, uscc)
    app_id = _application(app)[0]
    public = app.test_client().get(f"/blacklist/{entry_id}").get_data(as_text=True)
    assert "信用修复申请审核中" in public
    editor, approver = app.test_client(), app.test_client()
    editor_user = login(editor, roles=("editor", "approver"))
    login(approver, roles=("approver",))
    queue = editor.get("/staff/repair").get_data(as_text=True)
    assert number in queue
    base = f"/staff/repair/{app_id}"
    page = editor.get(base).get_data(as_text=True)
    assert APPLICANT["applicant_name"] in page and "受理，开始审核" in page
    assert _post(editor, f"{base}/accept").status_code == 303
    bad = _post(editor, f"{base}/propose", **{"propose-outcome": "grant", "propose-decision_no": "",
                                               "propose-reasons": "好"})
    assert bad.status_code == 400 and "请修正以下问题" in bad.get_data(as_text=True)
    assert _post(editor, f"{base}/propose", **{
        "propose-outcome": "grant", "propose-decision_no": "西应急信修〔2026〕7号",
        "propose-reasons": "罚款已缴清，整改验收合格。"}).status_code == 303
    # The proposer holds the approver role too, and still cannot approve.
    own = _post(editor, f"{base}/approve")
    assert own.status_code == 303
    assert _application(app, app_id)[1] == "proposed"
    assert "须由另一位" in editor.get(base).get_data(as_text=True)
    assert _post(approver, f"{base}/approve").status_code == 303
    _, status, _, decided_by, _ = _application(app, app_id)
    assert status == "granted" and decided_by != editor_user.id
    public = app.test_client().get(f"/blacklist/{entry_id}").get_data(as_text=True)
    assert "准予信用修复（西应急信修〔2026〕7号）" in public and "已提前移出" in public
    for secret in (APPLICANT["applicant_name"], APPLICANT["contact"], "紫藤标记"):
        assert secret not in public


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_documents_download_with_an_audit_event_and_only_for_staff(app):
    apply(app.test_client(), _listed(app)[1])
    app_id, _, _, _, docs = _application(app)
    path = f"/staff/repair/{app_id}/documents/{docs[0]}"
    assert app.test_client().get(path).status_code == 303  # to sign-in
    editor = app.test_client()
    login(editor, roles=("editor",))
    response = editor.get(path)
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert "attachment" in response.headers["Content-Disposition"]
    with app.app_context():
        assert db.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.action == "repair_document_view")).one()
    handler = app.test_client()
    login(handler, roles=("handler",))
    assert handler.get(path).status_code == 403


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_queue_and_home_put_overdue_first(app):
    (_, early), (_, late) = _listed(app), _listed(app)
    apply(app.test_client(), late)
    with app.app_context():
        application = db.session.scalars(select(RepairApplication)).one()
        application.due_on = date(2026, 2, 20)  # received long ago: overdue
        db.session.commit()
        number = application.number
    apply(app.test_client(), early)
    editor = app.test_client()
    login(editor, roles=("editor",))
    queue = editor.get("/staff/repair").get_data(as_text=True)
    numbers = re.findall(r"XF\d{4}-\d{6}", queue)
    assert numbers[0] == number and len(numbers) == 2 and "已逾期" in queue
    home = editor.get("/staff/").get_data(as_text=True)
    overdue_part = home.split('id="overdue-title"')[1].split("</section>")[0]
    assert number in overdue_part
