"""A published record — a blacklist entry above all — is changed only by staff of the department
it names (issue 17, the rule of ``portal.services.enterprises.departments``): editing, publishing,
withdrawing, removing early, reinstating and the 督办 steps are refused for another department
and for an account without one, audited, the item left as it was; the item's page shows such
staff the record read-only with the reason; and a new item is entered only in the editor's own
department's name (else it would be one its author cannot change)."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models import BlacklistEntry, Decision
from tests import factories
from tests.staff.conftest import csrf_token, login
from tests.staff.test_publishing import decision_data

OTHER = "勐海县应急管理局"
OWNER = "西双版纳州应急管理局"  # the factories' department, and test accounts' by default


def _refused() -> list[audit.AuditEvent]:
    return list(db.session.scalars(select(audit.AuditEvent).where(
        audit.AuditEvent.action == "item_refused")))


def _entry(app, **fields) -> int:
    with app.app_context():
        entry = factories.blacklist_entry(listed_on=date(2024, 1, 10), **fields)
        db.session.commit()
        return entry.id


def _decision(app) -> int:
    with app.app_context():
        item = factories.decision()
        db.session.commit()
        return item.id


# Each change: (path after /staff/<kind>/<id>, form data) on a blacklist entry or a decision.
CHANGES = {
    "edit-blacklist": ("blacklist", "edit", {"grounds": "x"}),
    "remove": ("blacklist", "remove", {"removed_on": "2026-03-02", "reason": "信用修复，经审核准予。"}),
    "withdraw": ("decisions", "withdraw", {"reason": "决定已被撤销。"}),
    "withdrawal-request": ("decisions", "withdrawal-request",
                           {"changed_on": "2026-03-01", "reason": "决定已被变更。"}),
    "edit-decision": ("decisions", "edit", decision_data()),
}


@pytest.mark.parametrize("department", [OTHER, None], ids=["other-department", "no-department"])
@pytest.mark.parametrize("change", list(CHANGES))
@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_each_change_is_refused_outside_the_item_department(app, change, department):
    kind, step, data = CHANGES[change]
    item_id = _entry(app) if kind == "blacklist" else _decision(app)
    model = BlacklistEntry if kind == "blacklist" else Decision
    with app.app_context():
        before = db.session.get(model, item_id).modified_at
    outsider = app.test_client()
    user = login(outsider, roles=("editor",), department=department)
    path = f"/staff/{kind}/{item_id}/{step}"
    shown = outsider.get(path)
    assert shown.status_code == 303  # the form itself is not offered
    response = outsider.post(path, data={"csrf_token": csrf_token(outsider, "/staff/"), **data})
    assert response.status_code == 303
    page = outsider.get(f"/staff/{kind}/{item_id}").get_data(as_text=True)
    assert 'id="read-only"' in page
    assert ("尚未设定所属部门" if department is None else f"由{OWNER}办理") in page
    assert f"/staff/{kind}/{item_id}/edit" not in page
    with app.app_context():
        item = db.session.get(model, item_id)
        assert item.modified_at == before and item.withdrawn_at is None
        if kind == "blacklist":
            assert item.removed_on is None
        events = _refused()
        assert [(e.actor_id, e.object_id, e.summary["step"]) for e in events] == [
            (user.id, str(item_id), step.replace("-", "_"))]


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_the_owning_department_edits_and_removes_its_entry(app):
    entry_id = _entry(app)
    own = app.test_client()
    login(own, roles=("editor",))
    page = own.get(f"/staff/blacklist/{entry_id}").get_data(as_text=True)
    assert 'id="read-only"' not in page and f"/staff/blacklist/{entry_id}/edit" in page
    response = own.post(f"/staff/blacklist/{entry_id}/remove", data={
        "csrf_token": csrf_token(own, "/staff/"), "removed_on": "2026-03-02",
        "reason": "信用修复，经审核准予。"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(BlacklistEntry, entry_id).removed_on == date(2026, 3, 2)
        assert not _refused()


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_a_draft_of_another_department_is_not_published(app):
    with app.app_context():
        draft = factories.decision(published=False, department=factories.department(OTHER))
        db.session.commit()
        draft_id = draft.id
    editor = app.test_client()
    login(editor, roles=("editor",))
    editor.post(f"/staff/decisions/{draft_id}/publish",
                data={"csrf_token": csrf_token(editor, "/staff/")})
    with app.app_context():
        assert db.session.get(Decision, draft_id).published_at is None
        assert [e.summary["step"] for e in _refused()] == ["publish"]


@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_new_and_edited_items_name_the_editor_own_department(app):
    editor = app.test_client()
    login(editor, roles=("editor",))
    form = editor.get("/staff/decisions/new").get_data(as_text=True)
    assert f'value="{OWNER}"' in form
    token = csrf_token(editor, "/staff/decisions/new")
    response = editor.post("/staff/decisions/new", data={
        "csrf_token": token, **decision_data(department_name=OTHER)})
    assert response.status_code == 400 and f"只能录入本部门（{OWNER}）的条目" in response.get_data(
        as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Decision)) is None
    assert editor.post("/staff/decisions/new", data={
        "csrf_token": token, **decision_data()}).status_code == 303
    with app.app_context():
        item_id = db.session.scalar(select(Decision.id))
    moved = editor.post(f"/staff/decisions/{item_id}/edit", data={
        "csrf_token": token, **decision_data(department_name=OTHER)})
    assert moved.status_code == 400
    with app.app_context():
        assert db.session.get(Decision, item_id).department.name == OWNER
    nobody = app.test_client()
    login(nobody, roles=("editor",), department=None)
    refused = nobody.post("/staff/decisions/new", data={
        "csrf_token": csrf_token(nobody, "/staff/decisions/new"),
        **decision_data(document_no="西应急罚〔2026〕89号")})
    assert refused.status_code == 400 and "尚未设定所属部门" in refused.get_data(as_text=True)


@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_supervision_steps_and_photos_are_refused_outside_the_listing_department(app):
    from portal.models import SupervisionItem

    with app.app_context():
        item = factories.supervision_item(department=factories.department(OWNER))
        db.session.commit()
        item_id, stage = item.id, item.stage
    outsider = app.test_client()
    login(outsider, roles=("editor",), department=OTHER)
    page = outsider.get(f"/staff/supervision/{item_id}").get_data(as_text=True)
    assert 'id="read-only"' in page and "/step/" not in page
    photos = outsider.get(f"/staff/supervision/{item_id}/photos").get_data(as_text=True)
    assert 'id="read-only"' in photos and 'enctype="multipart/form-data"' not in photos
    token = csrf_token(outsider, "/staff/")
    for path in (f"/staff/supervision/{item_id}/step/rectifying", f"/staff/supervision/{item_id}/photos"):
        assert outsider.post(path, data={"csrf_token": token, "on": "2026-11-25",
                                         "note": "整改完成。"}).status_code == 303
    with app.app_context():
        assert db.session.get(SupervisionItem, item_id).stage == stage
        assert {e.summary["step"] for e in _refused()} == {"supervision_rectifying",
                                                           "supervision_photo_add"}
