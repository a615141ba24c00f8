"""The loop from a citizen's report to a removed hazard (issue 15 §2), end to end: report →
verified 属实 → a 督办 draft opened from it → published → stages seen by the reporter → 销号 →
the reporter's "仍未整改" reaches the handler with the 督办 item named.  And the proof that no
report content or number reaches any public page, API, feed, CSV or search entry of the item."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import Report, SupervisionItem, local_today
from portal.search_sync import document_for
from portal.services.reporting import cases
from portal.staff.models import StaffUser
from tests.reports.conftest import REPORT_FIELDS, csrf_from, followup, submit_report
from tests.staff.conftest import login

PLACE = "嘎洒镇曼某村后山采区第七号平台"
DESCRIPTION = "紫色蜻蜓飞过坡顶，边坡裂缝宽约十厘米，工人仍在坡下。"
SEEN = "二〇二六年十月的某个雨夜"


def _post(client, url, **data):
    html = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_from(html), **data})


def _staff_step(editor, item_id, page, **data):
    response = _post(editor, f"/staff/supervision/{item_id}/step/{page}",
                     on=local_today().isoformat(), **data)
    assert response.status_code == 303, response.get_data(as_text=True)


def _verified_report(client, app) -> tuple[str, str, int, object]:
    number, code = submit_report(client, place=PLACE, description=DESCRIPTION, seen_since=SEEN,
                                 uscc="91350100M000100Y43")
    handler = app.test_client()
    user = login(handler, roles=("handler",))
    with app.app_context():
        report = db.session.scalar(select(Report))
        actor = db.session.get(StaffUser, user.id)
        cases.take(report, actor=actor)
        cases.accept(report, actor=actor)
        cases.verify(report, actor=actor, result="true")
        report_id = report.id
    return number, code, report_id, handler


def _open_and_publish(app, handler, report_id) -> tuple[int, object]:
    form = handler.get(f"/staff/reports/{report_id}/supervision")
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    # Only the enterprise, its credit code and the county are carried over.
    assert REPORT_FIELDS["enterprise_name"] in html and "91350100M000100Y43" in html
    assert DESCRIPTION not in html and PLACE not in html
    response = handler.post(f"/staff/reports/{report_id}/supervision", data={
        "csrf_token": csrf_from(html), "notice_no": "西安督〔2026〕77号",
        "supervision_type": "隐患挂牌督办", "grade": "重大",
        "title_text": "景洪市示例矿业有限公司采区高边坡重大事故隐患",
        "enterprise_name": REPORT_FIELDS["enterprise_name"], "uscc": "91350100M000100Y43",
        "county": "景洪市", "sector": "非煤矿山", "responsible_unit": "景洪市示例矿业有限公司",
        "requirements_source": "按设计分级开挖，设置截排水沟。", "lifting": "整改后申请销号。",
        "listed_on": local_today().isoformat(),
        "deadline": (local_today() + timedelta(days=90)).isoformat(),
        "department_name": "西双版纳州应急管理局",
    })
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        item = db.session.scalar(select(SupervisionItem))
        assert item.from_report and not item.is_published
        item_id = item.id
    editor = app.test_client()
    login(editor, roles=("editor",))
    detail = editor.get(f"/staff/supervision/{item_id}").get_data(as_text=True)
    publish = editor.post(f"/staff/supervision/{item_id}/publish",
                          data={"csrf_token": csrf_from(detail)})
    assert publish.status_code == 303
    return item_id, editor


def test_report_to_removed_hazard_and_reopen(client, app):
    number, code, report_id, handler = _verified_report(client, app)
    page = handler.get(f"/staff/reports/{report_id}").get_data(as_text=True)
    assert "开启挂牌督办" in page
    item_id, editor = _open_and_publish(app, handler, report_id)

    case = followup(client, code).get_data(as_text=True)
    assert f'href="/supervision/{item_id}"' in case and "已提请挂牌督办" in case
    assert "督办事项已挂牌公开" in case

    _staff_step(editor, item_id, "rectifying", note="企业已停止坡下作业")
    assert "督办事项整改中" in followup(client, code).get_data(as_text=True)
    _staff_step(editor, item_id, "applied")
    _staff_step(editor, item_id, "inspection", result="passed")
    _staff_step(editor, item_id, "closed")
    case = followup(client, code).get_data(as_text=True)
    assert "督办事项已销号" in case and "已销号" in case

    # The report is closed as rectified; its reporter says it is not fixed.
    with app.app_context():
        report = db.session.get(Report, report_id)
        actor = db.session.get(StaffUser, report.handler_id)
        cases.close(report, actor=actor, closed_as="rectified")
    page = followup(client, code).get_data(as_text=True)
    reopen_code = re.search(r'name="reopen-code" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/report/followup/reopen", data={
        "reopen-csrf_token": csrf_from(page), "reopen-code": reopen_code,
        "reopen-reason": "销号后又在坡下作业"})
    assert response.status_code == 200
    staff_page = handler.get(f"/staff/reports/{report_id}").get_data(as_text=True)
    assert "西安督〔2026〕77号" in staff_page and "请一并核查该督办事项" in staff_page


def test_no_report_content_or_number_reaches_anything_public(client, app):
    number, code, report_id, handler = _verified_report(client, app)
    item_id, editor = _open_and_publish(app, handler, report_id)
    _staff_step(editor, item_id, "rectifying", note="企业已停止坡下作业")
    secrets = [DESCRIPTION, PLACE, SEEN, number, number.replace("-", ""), code,
               code.replace("-", ""), "紫色蜻蜓", "第七号平台"]
    paths = {
        "page": f"/supervision/{item_id}", "list": "/supervision",
        "api item": f"/api/v1/supervision/{item_id}", "api list": "/api/v1/supervision",
        "csv": "/supervision.csv", "atom": "/feeds/supervision.atom",
        "search": "/search?q=景洪市示例矿业", "search api": "/api/v1/search?q=景洪市示例矿业",
        "search feed": "/feeds/search.atom?q=景洪市示例矿业", "sitemap": "/sitemap.xml",
        "home": "/", "credit": "/credit?code=91350100M000100Y43",
    }
    bodies = {}
    for name, path in paths.items():
        response = client.get(path)
        assert response.status_code == 200, name
        bodies[name] = response.get_data(as_text=True)  # streamed bodies read before the next
    for name, body in bodies.items():
        for secret in secrets:
            assert secret not in body, (name, secret)
    assert f"/supervision/{item_id}" in bodies["search"]
    assert "群众举报" in bodies["page"]
    assert '"source": "群众举报"' in bodies["api item"] or '"source":"群众举报"' in bodies["api item"]
    with app.app_context():
        document = document_for(db.session.get(SupervisionItem, item_id))
        for secret in secrets:
            assert secret not in document.text and secret not in document.title
