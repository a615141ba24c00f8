"""Public pages and open data of 督办事项, and the back office's stage forms (CSRF on)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.domain import supervision as rules
from portal.extensions import db
from portal.models import SupervisionItem, local_today
from portal.services.publication import publishing, supervision
from tests import factories
from tests.staff.conftest import csrf_token, login


def make(app, **overrides) -> int:
    today = local_today()
    with app.app_context():
        values = {
            "notice_no": overrides.pop("notice_no", "西安督〔2026〕5号"),
            "supervision_type": rules.HAZARD, "grade": "重大",
            "title_text": "勐腊县测试矿业有限公司尾矿库重大事故隐患",
            "enterprise_name": "勐腊县测试矿业有限公司", "uscc": factories.credit_code(777),
            "accident_id": None, "county": "勐腊县", "sector": "非煤矿山",
            "responsible_unit": "勐腊县测试矿业有限公司",
            "requirements_source": "清理排洪设施。", "lifting": "整改后申请销号。",
            "listed_on": today - timedelta(days=40), "deadline": today + timedelta(days=30),
            "department_name": "西双版纳州应急管理局",
        } | overrides
        item = publishing.create_item("supervision", values).item
        publishing.publish_item(item)
        return item.id


def test_list_page_filters_and_says_overdue(client, app):
    make(app)
    late = make(app, notice_no="西安督〔2026〕6号", title_text="逾期的隐患",
                deadline=local_today() - timedelta(days=1), grade="一般")
    html = client.get("/supervision").get_data(as_text=True)
    assert "督办事项" in html and "挂牌单位" in html and "逾期未销号" in html
    assert "已挂牌，已逾期" in html
    overdue = client.get("/supervision?stage=overdue").get_data(as_text=True)
    assert f"/supervision/{late}" in overdue and "尾矿库" not in overdue
    assert "共 <strong>1</strong> 条" in client.get("/supervision?grade=重大").get_data(as_text=True)
    bad = client.get("/supervision?stage=nonsense&grade=x")
    assert bad.status_code == 200 and "的值无效，已忽略" in bad.get_data(as_text=True)
    assert client.get("/api/v1/supervision?stage=nonsense").status_code == 400
    assert client.get("/api/v1/supervision?stage=overdue").get_json()["count"] == 1


def test_list_page_has_the_county_map_linking_to_the_filtered_list(client, app):
    make(app)
    html = client.get("/supervision").get_data(as_text=True)
    assert 'id="supervision-map"' in html and "<svg" in html
    assert "/supervision?county=%E5%8B%90%E8%85%8A%E5%8E%BF" in html  # 勐腊县, 1 open item
    assert "<script" not in html
    stats = client.get("/stats").get_data(as_text=True)
    assert 'id="supervision-by-county-map"' in stats


def test_detail_page_has_the_notice_and_its_timeline(client, app):
    item_id = make(app)
    with app.app_context():
        item = db.session.get(SupervisionItem, item_id)
        supervision.record_step(item, rules.Step.RECTIFYING, on=local_today(), note="已停产整改")
    html = client.get(f"/supervision/{item_id}").get_data(as_text=True)
    for text in ("西安督〔2026〕5号", "隐患挂牌督办", "挂牌单位", "责任单位", "督办要求", "清理排洪设施",
                 "解除方式和程序", "办理进程", "挂牌督办", "开始整改", "已停产整改", "整改期限",
                 "/credit?code="):
        assert text in html, text
    assert "来源" not in html.split("督办通知书")[1].split("督办要求")[0]  # not from a report
    assert client.get("/supervision/999999").status_code == 404


def test_open_data_carries_the_kind(client, app):
    item_id = make(app)
    item = client.get(f"/api/v1/supervision/{item_id}").get_json()
    assert item["kind"] == "supervision" and item["notice_no"] == "西安督〔2026〕5号"
    assert item["stage"] == "listed" and item["overdue"] is False and item["source"] == ""
    assert "requirements_source" not in item
    rows = list(csv.reader(io.StringIO(client.get("/supervision.csv").get_data(as_text=True)
                                       .lstrip("\ufeff"))))
    assert rows[0][:4] == ["编号", "永久链接", "标题", "督办编号"] and len(rows) == 2
    feed = client.get("/feeds/supervision.atom").get_data(as_text=True)
    assert "勐腊县测试矿业有限公司尾矿库重大事故隐患" in feed
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/supervision/{id}" in spec["paths"]
    assert "督办编号" in client.get("/data").get_data(as_text=True)
    assert "/supervision/" in client.get("/sitemap.xml").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert f"/supervision/{item_id}" in home and "挂牌日期" in home
    assert "挂牌督办" in client.get("/stats").get_data(as_text=True)
    assert "挂牌督办" in client.get("/compliance").get_data(as_text=True)


@pytest.fixture
def editor(app):
    client = app.test_client()
    login(client, roles=("editor",))
    return client


def test_staff_stage_forms_validate_and_refuse_skipping(editor, app):
    item_id = make(app)
    page = editor.get(f"/staff/supervision/{item_id}").get_data(as_text=True)
    assert "登记开始整改" in page and "登记销号申请" not in page
    # A step that may not follow now: back to the item with a message.
    skipped = editor.get(f"/staff/supervision/{item_id}/step/closed")
    assert skipped.status_code == 303
    form = editor.get(f"/staff/supervision/{item_id}/step/rectifying")
    assert form.status_code == 200
    token = csrf_token(editor, f"/staff/supervision/{item_id}/step/rectifying")
    early = editor.post(f"/staff/supervision/{item_id}/step/rectifying", data={
        "csrf_token": token, "on": "2000-01-01", "note": "太早"})
    html = early.get_data(as_text=True)
    assert early.status_code == 400 and "请修正以下问题" in html and "不能早于上一环节" in html
    assert "太早" in html  # input kept
    no_token = editor.post(f"/staff/supervision/{item_id}/step/rectifying",
                           data={"on": local_today().isoformat()})
    assert no_token.status_code == 303  # the back office's CSRF answer: "页面已过期"
    assert "页面已过期" in editor.get(no_token.headers["Location"]).get_data(as_text=True)
    done = editor.post(f"/staff/supervision/{item_id}/step/rectifying", data={
        "csrf_token": token, "on": local_today().isoformat(), "note": "开始整改"})
    assert done.status_code == 303
    ext = editor.post(f"/staff/supervision/{item_id}/step/extended", data={
        "csrf_token": token, "on": local_today().isoformat(), "applied_on": "2026-01-01",
        "new_deadline": "x", "reason": ""})
    assert ext.status_code == 400 and "请修正以下问题" in ext.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.summary).where(
            AuditEvent.action == "supervision_step"))["step"] == "rectifying"


def test_staff_new_item_form_validates(editor, app):
    token = csrf_token(editor, "/staff/supervision/new")
    response = editor.post("/staff/supervision/new", data={
        "csrf_token": token, "notice_no": "", "supervision_type": "事故查处挂牌督办", "grade": "一般",
        "title_text": "某事故查处", "county": "景洪市", "sector": "工贸", "responsible_unit": "景洪市人民政府",
        "requirements_source": "查处", "lifting": "批复后解除", "listed_on": "2026-11-02",
        "department_name": "西双版纳州安委会"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请填写督办编号" in html and "请填写所督办事故的调查报告编号" in html
    assert editor.get("/staff/supervision/new").status_code == 200
    assert editor.get("/staff/supervision/").status_code == 200
