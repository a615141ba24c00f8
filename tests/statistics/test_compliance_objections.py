"""/compliance: objections answered on time per department that published the record, beside
信用修复 (DOMAIN.md §8: answered within ``PORTAL_OBJECTION_ANSWER_WORKING_DAYS`` working days of
receipt; on time = answered on or before the deadline, as for 信用修复 decisions)."""

from __future__ import annotations

from datetime import date

import time_machine

from portal.extensions import db
from portal.services.enterprises import objections
from tests import factories
from tests.staff.conftest import make_staff

FIELDS = {"applicant_name": "某某公司", "contact": "0691-2123456（紫藤标记丙）",
          "what_is_wrong": "金额有误（紫藤标记丁）。", "should_read": "应为五万元。"}


def _objection(department: str):
    item = factories.decision(department=factories.department(department))
    db.session.commit()
    draft = objections.save_draft(None, "decisions", item.id, FIELDS)
    return objections.submit(draft)[0]


@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_objections_answered_on_time_per_department(app):
    with app.app_context():
        on_time, late, overdue, open_current = (
            _objection("勐腊县应急管理局"), _objection("勐腊县应急管理局"),
            _objection("景洪市应急管理局"), _objection("景洪市应急管理局"))
        objections.answer(on_time, actor=make_staff("editor", department="勐腊县应急管理局"),
                          upheld=False, text="经核实，信息无误。")
        late.due_on = date(2026, 11, 20)  # deadline passed before the answer below
        objections.answer(late, actor=make_staff("editor", department="勐腊县应急管理局"),
                          upheld=False, text="经核实，信息无误。")
        overdue.due_on = date(2026, 11, 24)
        db.session.commit()
        assert open_current.is_open
        rows = {r.department: (r.answered, r.on_time, r.open_overdue)
                for r in objections.timeliness()}
        assert rows == {"勐腊县应急管理局": (2, 1, 0), "景洪市应急管理局": (0, 0, 1)}
    page = app.test_client().get("/compliance").get_data(as_text=True)
    section = page.split('id="objection-title"')[1].split("</section>")[0]
    assert "15 个工作日内核实并答复" in section
    assert "勐腊县应急管理局" in section and "景洪市应急管理局" in section
    assert '<span class="badge badge-bad">1 件</span>' in section
    assert "紫藤标记" not in page and FIELDS["applicant_name"] not in page


def test_compliance_says_when_there_are_no_objections(app):
    page = app.test_client().get("/compliance").get_data(as_text=True)
    assert "暂无异议。" in page.split('id="objection-title"')[1]
