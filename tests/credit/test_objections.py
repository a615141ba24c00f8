"""Objections (异议): the form on a published record naming an enterprise, number and code, the
record marked 异议处理中 meanwhile, the staff answer, a correction kept in the public history."""

from __future__ import annotations

import re
from datetime import date

import time_machine
from sqlalchemy import select

from portal.credit.models import Objection
from portal.extensions import db
from portal.models import ItemVersion
from tests import factories
from tests.credit.repair_helpers import csrf_from
from tests.staff.conftest import login

FIELDS = {"applicant_name": "景洪市某某矿业有限公司", "contact": "0691-2123456（紫藤标记丁）",
          "what_is_wrong": "罚款金额有误（紫藤标记戊）。", "should_read": "应为五万元，见决定书原件。"}


def _decision(app):
    with app.app_context():
        item = factories.decision(document_no="西应急罚〔2026〕501号")
        db.session.commit()
        return item.id


def _object(client, kind: str, item_id: int) -> tuple[str, str]:
    page = client.get(f"/credit/objection/{kind}/{item_id}").get_data(as_text=True)
    response = client.post(f"/credit/objection/{kind}/{item_id}",
                           data={"csrf_token": csrf_from(page), **FIELDS})
    assert response.status_code == 303, response.get_data(as_text=True)
    check = client.get("/credit/objection/check").get_data(as_text=True)
    sent = client.post("/credit/objection/send", data={"csrf_token": csrf_from(check)})
    html = sent.get_data(as_text=True)
    number = re.search(r"YY\d{4}-\d{6}", html).group(0)
    code = "".join(re.findall(r'class="code-group">([0-9A-Z]{4})', html))
    return number, code


@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_objection_upheld_corrects_through_the_history(app):
    item_id = _decision(app)
    public = app.test_client()
    assert "信息有误？提出异议" in public.get(f"/decisions/{item_id}").get_data(as_text=True)
    number, code = _object(app.test_client(), "decisions", item_id)
    page = public.get(f"/decisions/{item_id}").get_data(as_text=True)
    assert "异议处理中" in page and "紫藤标记" not in page and FIELDS["applicant_name"] not in page
    editor = app.test_client()
    login(editor, roles=("editor",))
    with app.app_context():
        objection_id = db.session.scalars(select(Objection)).one().id
    home = editor.get("/staff/").get_data(as_text=True)
    assert number in home
    detail = editor.get(f"/staff/objections/{objection_id}").get_data(as_text=True)
    assert "紫藤标记戊" in detail
    token = csrf_from(detail)
    # Upheld before the record was corrected: refused, the correction comes first.
    editor.post(f"/staff/objections/{objection_id}/answer",
                data={"csrf_token": token, "outcome": "upheld", "text": "经核实，金额有误，已更正。"})
    with app.app_context():
        assert db.session.get(Objection, objection_id).status == "submitted"
        from portal.services.publication import publishing

        item = publishing.get_item("decisions", item_id)
        with time_machine.travel("2026-11-25 11:00 +0800", tick=False):
            publishing.record_change(item, {"penalty": "罚款人民币伍万元整"},
                                     history_summary="更正：处罚内容（异议成立）", action="edit",
                                     audit_summary={"penalty": "更正"})
    answered = editor.post(f"/staff/objections/{objection_id}/answer",
                           data={"csrf_token": token, "outcome": "upheld",
                                 "text": "经核实，金额有误，已更正。"})
    assert answered.status_code == 303
    with app.app_context():
        assert db.session.get(Objection, objection_id).status == "upheld"
        assert db.session.scalars(select(ItemVersion).where(
            ItemVersion.kind == "decisions", ItemVersion.item_id == item_id)).all()
    page = public.get(f"/decisions/{item_id}").get_data(as_text=True)
    assert "异议处理中" not in page
    follow = app.test_client()
    token = csrf_from(follow.get("/credit/objection/followup").get_data(as_text=True))
    case = follow.post("/credit/objection/followup", data={"csrf_token": token, "code": code})
    assert "经核实，金额有误，已更正。" in case.get_data(as_text=True)


def test_only_records_naming_an_enterprise_take_objections(app, client):
    with app.app_context():
        power = factories.power()
        anonymous = factories.decision(uscc=None, enterprise=None, party_name="张某")
        db.session.commit()
        ids = power.id, anonymous.id
    assert client.get(f"/credit/objection/powers/{ids[0]}").status_code == 404
    assert client.get(f"/credit/objection/decisions/{ids[1]}").status_code == 404
    assert client.get("/credit/objection/decisions/999999").status_code == 404


@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_the_deadline_is_fifteen_working_days(app):
    item_id = _decision(app)
    _object(app.test_client(), "decisions", item_id)
    with app.app_context():
        objection = db.session.scalars(select(Objection)).one()
        assert objection.received_on == date(2026, 11, 25)
        assert objection.due_on == date(2026, 12, 16)
