"""The publishing workflow through the back-office pages: create, edit, publish, withdraw."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from portal.models import AccidentReport, BlacklistEntry, Decision, ItemVersion, PowerItem
from tests import factories
from tests.reader import seen
from tests.staff.conftest import csrf_token, login

# Wednesday 2026-11-25, 10:00 in Beijing.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CODE = factories.credit_code(900001)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def decision_data(**overrides) -> dict:
    return {
        "document_no": "西应急罚〔2026〕88号",
        "decision_type": "行政处罚",
        "party_name": "景洪市澜沧江采石有限公司",
        "uscc": CODE,
        "party_address": "景洪市嘎洒镇",
        "county": "景洪市",
        "sector": "非煤矿山",
        "facts": "经查，该公司未按规定排查治理重大事故隐患。",
        "legal_basis": "《中华人民共和国安全生产法》第一百零二条",
        "penalty": "罚款人民币五万元",
        "fine_yuan": "50000",
        "compliance": "自收到本决定书之日起十五日内缴纳",
        "remedy": "六十日内申请行政复议或六个月内提起行政诉讼",
        "decision_date": "2026-11-20",
        "department_name": "西双版纳州应急管理局",
    } | overrides


def accident_data(**overrides) -> dict:
    return {
        "title_text": "勐海县某茶厂“11·3”机械伤害事故调查报告",
        "occurred_on": "2026-08-03",
        "county": "勐海县",
        "sector": "工贸",
        "enterprise_name": "勐海县某茶厂",
        "uscc": "",
        "deaths": "3",
        "serious_injuries": "0",
        "direct_loss_yuan": "2000000",
        "summary": "2026年8月3日，该茶厂发生一起机械伤害事故。",
        "report_source": "## 一、事故单位概况\n\n该厂位于勐海县。\n\n<script>alert(1)</script>\n\n"
                         "| 项目 | 内容 |\n|---|---|\n| 死亡 | 3 人 |\n",
        "approved_on": "2026-10-20",
        "assessment_published_on": "",
        "department_name": "西双版纳州应急管理局",
    } | overrides


def supervision_data(**overrides) -> dict:
    from datetime import timedelta

    from portal.models import local_today

    today = local_today()
    return {
        "notice_no": f"西安督〔2026〕{overrides.pop('number', 1)}号",
        "supervision_type": "隐患挂牌督办",
        "grade": "重大",
        "title_text": "景洪市某化工有限公司液氨储罐区重大事故隐患",
        "enterprise_name": "景洪市某化工有限公司",
        "uscc": "",
        "accident_id": "",
        "county": "景洪市",
        "sector": "危险化学品",
        "responsible_unit": "景洪市某化工有限公司",
        "requirements_source": "1. 立即停用储罐区；\n2. 设置围堰。",
        "lifting": "整改完成后申请销号，10 日内现场审查。",
        "listed_on": (today - timedelta(days=30)).isoformat(),
        "deadline": (today + timedelta(days=10)).isoformat(),
        "department_name": "西双版纳州应急管理局",
    } | overrides


def power_data(**overrides) -> dict:
    return {
        "code": "XSBN-XK-0001",
        "name": "危险化学品经营许可",
        "power_type": "行政许可",
        "legal_basis": "《危险化学品安全管理条例》第三十三条",
        "responsibilities": "受理、审查、决定、送达",
        "accountability": "违法实施许可的，依法追责",
        "workflow_text": "受理\n审查\n\n决定\n送达\n",
        "remarks": "",
        "department_name": "西双版纳州应急管理局",
    } | overrides


def blacklist_data(**overrides) -> dict:
    return {
        "uscc": CODE,
        "enterprise_name": "景洪市澜沧江采石有限公司",
        "county": "景洪市",
        "sector": "非煤矿山",
        "grounds": "瞒报、谎报生产安全事故",
        "basis": "西应急失信〔2026〕1号",
        "listed_on": "2026-11-24",
        "department_name": "西双版纳州应急管理局",
    } | overrides


def post_form(client, url: str, data: dict, form_page: str | None = None):
    token = csrf_token(client, form_page or url)
    return client.post(url, data={"csrf_token": token, **data})


def post_action(client, url: str, detail: str):
    return client.post(url, data={"csrf_token": csrf_token(client, detail)})


def created_id(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/(\d+)$", response.headers["Location"]).group(1))


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def get(app, model, item_id):
    with app.app_context():
        item = db.session.get(model, item_id)
        db.session.expunge(item)
        return item


@pytest.fixture
def editor(app):
    client = app.test_client()
    login(client, roles=("editor",), username="editor.wang")
    return client


def test_create_publish_edit_withdraw_a_decision(app, editor, clock):
    item_id = created_id(post_form(editor, "/staff/decisions/new", decision_data()))
    draft = get(app, Decision, item_id)
    assert draft.published_at is None and draft.publish_due == date(2026, 12, 1)
    [created] = events(app, "create")
    assert created.actor == "editor.wang" and created.object_id == str(item_id)

    detail = f"/staff/decisions/{item_id}"
    page = editor.get(detail).get_data(as_text=True)
    assert "草稿" in page and "2026年12月1日" in page

    assert post_action(editor, f"{detail}/publish", detail).status_code == 303
    published = get(app, Decision, item_id)
    assert published.published_at is not None and published.published_on_time is True
    [publish] = events(app, "publish")
    assert publish.summary["on_time"] is True

    first_modified = published.modified_at
    clock.move_to(datetime(2026, 11, 25, 2, 20, tzinfo=UTC))  # within the idle period
    response = post_form(editor, f"{detail}/edit",
                         decision_data(fine_yuan="60000", penalty="罚款人民币六万元"))
    assert response.status_code == 303
    edited = get(app, Decision, item_id)
    assert edited.fine_yuan == 60000 and edited.modified_at > first_modified
    with app.app_context():
        [version] = db.session.scalars(select(ItemVersion).where(ItemVersion.item_id == item_id))
    assert version.kind == "decisions" and version.number == 1
    assert version.changes["fine_yuan"] == ["50000.00", "60000.00"]
    assert "罚款金额" in version.summary and "处罚种类和内容" in version.summary
    [edit] = events(app, "edit")
    assert edit.summary["changes"]["fine_yuan"] == ["50000.00", "60000.00"]

    refused = post_form(editor, f"{detail}/withdraw", {"reason": ""})
    assert refused.status_code == 400
    assert 'href="#reason"' in refused.get_data(as_text=True)
    reason = "该决定已被复议机关撤销（西复决字〔2026〕3号）"
    assert post_form(editor, f"{detail}/withdraw", {"reason": reason}).status_code == 303
    withdrawn = get(app, Decision, item_id)
    assert withdrawn.withdrawn_at is not None and withdrawn.withdrawn_reason == reason
    with app.app_context():
        versions = list(db.session.scalars(
            select(ItemVersion).where(ItemVersion.item_id == item_id).order_by(ItemVersion.number)))
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].summary == f"撤回：{reason}"
    [withdraw] = events(app, "withdraw")
    assert withdraw.summary["reason"] == reason

    # A withdrawn item stays as it is.
    assert editor.get(f"{detail}/edit").status_code == 303
    post_action(editor, f"{detail}/publish", detail)
    assert get(app, Decision, item_id).withdrawn_reason == reason
    assert "已撤回" in editor.get(detail).get_data(as_text=True)


def test_form_errors_are_summarised_at_the_top_with_links_and_input_is_kept(editor):
    data = decision_data(uscc="91350100M000100Y44", facts="", decision_date="2026-13-01",
                         party_name="保留的当事人名称")
    response = post_form(editor, "/staff/decisions/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    summary = html[html.index('class="error-summary"'):html.index('class="staff-form"')]
    for field in ("uscc", "facts", "decision_date"):
        assert f'href="#{field}"' in summary
    assert "校验位不符：按前 17 位计算，第 18 位应为“3”" in summary
    assert 'value="保留的当事人名称"' in html
    assert 'value="91350100M000100Y44"' in html


def test_duplicate_document_number_is_an_error_on_its_field(app, editor):
    created_id(post_form(editor, "/staff/decisions/new", decision_data()))
    response = post_form(editor, "/staff/decisions/new", decision_data(uscc=""))
    assert response.status_code == 400
    assert "该文号已存在" in response.get_data(as_text=True)


def test_personal_data_is_masked_before_it_is_stored(app, editor):
    facts = "当事人张某（身份证号530102199001011231，电话13888001234）无证作业。"
    item_id = created_id(post_form(editor, "/staff/decisions/new",
                                   decision_data(uscc="", party_name="张某", facts=facts)))
    stored = get(app, Decision, item_id).facts
    assert "530102199001011231" not in stored and "13888001234" not in stored
    assert "5301**************" in stored and "138****1234" in stored


def test_editing_a_draft_keeps_no_history(app, editor):
    item_id = created_id(post_form(editor, "/staff/decisions/new", decision_data()))
    post_form(editor, f"/staff/decisions/{item_id}/edit", decision_data(penalty="警告"))
    assert get(app, Decision, item_id).penalty == "警告"
    with app.app_context():
        assert db.session.scalars(select(ItemVersion)).all() == []


def test_accident_report_markdown_becomes_sanitised_html(app, editor):
    item_id = created_id(post_form(editor, "/staff/accidents/new", accident_data()))
    report = get(app, AccidentReport, item_id)
    assert "<h2>一、事故单位概况</h2>" in report.report_html
    assert "<table>" in report.report_html
    assert "<script" not in report.report_html
    assert report.report_source.startswith("## 一、事故单位概况")
    assert report.level == 2  # 3 deaths: 较大
    assert report.assessment_due == date(2027, 10, 20)
    html = editor.get(f"/staff/accidents/{item_id}").get_data(as_text=True)
    assert "较大事故" in html and "<script>alert" not in html
    # The edit form shows the Markdown again.
    form = editor.get(f"/staff/accidents/{item_id}/edit").get_data(as_text=True)
    assert "## 一、事故单位概况" in form


def test_an_accident_report_is_published_only_after_approval(app, editor):
    item_id = created_id(post_form(editor, "/staff/accidents/new",
                                   accident_data(approved_on="")))
    detail = f"/staff/accidents/{item_id}"
    post_action(editor, f"{detail}/publish", detail)
    assert get(app, AccidentReport, item_id).published_at is None
    assert "须在批复后公开" in editor.get(detail).get_data(as_text=True)


def test_power_item_workflow_lines_become_steps(app, editor):
    item_id = created_id(post_form(editor, "/staff/powers/new", power_data()))
    assert get(app, PowerItem, item_id).workflow == ["受理", "审查", "决定", "送达"]
    detail = f"/staff/powers/{item_id}"
    post_action(editor, f"{detail}/publish", detail)
    post_form(editor, f"{detail}/edit", power_data(workflow_text="受理\n决定"))
    with app.app_context():
        [version] = db.session.scalars(select(ItemVersion).where(ItemVersion.kind == "powers"))
    assert version.changes["workflow"] == [["受理", "审查", "决定", "送达"], ["受理", "决定"]]
    assert version.summary == "修改：办理流程"


def test_blacklist_listing_sets_the_end_date_from_settings(app, editor):
    item_id = created_id(post_form(editor, "/staff/blacklist/new", blacklist_data()))
    entry = get(app, BlacklistEntry, item_id)
    assert entry.listed_on == date(2026, 11, 24) and entry.ends_on == date(2029, 11, 24)
    [listed] = events(app, "list")
    assert listed.summary["ends_on"] == "2029-11-24"
    duplicate = post_form(editor, "/staff/blacklist/new", blacklist_data())
    assert duplicate.status_code == 400
    assert "同一日期已有一条列入记录" in duplicate.get_data(as_text=True)


def test_blacklist_credit_code_is_required_and_checked(editor):
    response = post_form(editor, "/staff/blacklist/new", blacklist_data(uscc="91350100M00010"))
    assert response.status_code == 400
    assert "统一社会信用代码应为 18 位，您输入了 14 位" in response.get_data(as_text=True)


def test_publishing_twice_is_refused(app, editor):
    with app.app_context():
        item = factories.decision(published=True)
        db.session.commit()
        item_id, published_at = item.id, item.published_at
    detail = f"/staff/decisions/{item_id}"
    post_action(editor, f"{detail}/publish", detail)
    assert get(app, Decision, item_id).published_at == published_at
    assert "该条目已发布" in editor.get(detail).get_data(as_text=True)


def test_a_draft_cannot_be_withdrawn(app, editor):
    with app.app_context():
        item = factories.power(published=False)
        db.session.commit()
        item_id = item.id
    response = post_form(editor, f"/staff/powers/{item_id}/withdraw", {"reason": "错误录入的条目"})
    assert response.status_code == 303
    assert get(app, PowerItem, item_id).withdrawn_at is None


def test_unknown_items_are_404(editor):
    assert editor.get("/staff/decisions/999999").status_code == 404
    assert editor.get("/staff/decisions/999999/edit").status_code == 404
    assert editor.get("/staff/nonsense/1").status_code == 404
    assert editor.get("/staff/reports/1").status_code == 403  # reports are not an editor's


def test_the_list_filters_by_state_and_text(app, editor):
    with app.app_context():
        factories.decision(published=False, party_name="草稿企业甲")
        factories.decision(published=True, party_name="公开企业乙")
        db.session.commit()
    drafts = editor.get("/staff/decisions/?state=draft").get_data(as_text=True)
    assert "草稿企业甲" in drafts and "公开企业乙" not in drafts
    found = editor.get("/staff/decisions/?q=企业乙").get_data(as_text=True)
    assert "公开企业乙" in found and "草稿企业甲" not in found
    assert editor.get("/staff/decisions/?page=abc&state=nonsense").status_code == 200


def test_withdrawal_request_puts_a_three_working_day_deadline_on_the_home_page(app, editor):
    with app.app_context():
        item = factories.decision(published=True, party_name="待撤回企业")
        db.session.commit()
        item_id = item.id
    url = f"/staff/decisions/{item_id}/withdrawal-request"
    future = post_form(editor, url, {"changed_on": "2026-11-26", "reason": "复议撤销"})
    assert future.status_code == 400 and "不能晚于今天" in future.get_data(as_text=True)
    response = post_form(editor, url, {"changed_on": "2026-11-24", "reason": "复议机关撤销该决定"})
    assert response.status_code == 303
    assert get(app, Decision, item_id).withdrawal_requested_on == date(2026, 11, 24)
    home = editor.get("/staff/").get_data(as_text=True)
    row = re.search(r"<tr>\s*<td[^>]*>公开撤回</td>.*?</tr>", home, re.S).group(0)
    assert "待撤回企业" in row and "2026年11月27日" in row and "还剩 2 个工作日" in row
    [event] = events(app, "withdrawal_request")
    assert event.summary["due"] == "2026-11-27"


def test_editor_home_shows_overdue_items_first(app, editor):
    with app.app_context():
        factories.decision(published=False, party_name="按期企业",
                           decision_date=date(2026, 11, 20))  # due 12-01: 4 working days left
        factories.decision(published=False, party_name="逾期企业",
                           decision_date=date(2026, 11, 2))  # due 11-11: 10 working days late
        factories.decision(published=False, party_name="检查企业", decision_type="行政检查",
                           decision_date=date(2026, 11, 20))  # 20 working days: due 12-18
        factories.accident(published=True, enterprise_name="评估逾期企业",
                           title_text="评估逾期事故", approved_on=date(2025, 11, 20))
        factories.accident(published=True, title_text="评估已公开事故",
                           approved_on=date(2025, 11, 1),
                           assessment_published_on=date(2026, 10, 30))
        db.session.commit()
    html = editor.get("/staff/").get_data(as_text=True)
    overdue = html[html.index("已逾期（2）"):html.index("待公开的执法决定")]
    assert "逾期企业" in overdue and "已逾期 10 个工作日" in overdue
    assert "评估逾期事故" in overdue and "已逾期 5 天" in overdue
    assert "按期企业" not in overdue
    upcoming = html[html.index("待公开的执法决定"):]
    assert "还剩 4 个工作日" in upcoming and "还剩 17 个工作日" in upcoming
    assert upcoming.index("按期企业") < upcoming.index("检查企业")
    assert "评估已公开事故" not in html


def test_other_roles_see_no_agenda(app):
    client = app.test_client()
    login(client, roles=("handler",))
    html = client.get("/staff/").get_data(as_text=True)
    # No agenda section, and no drafts section (whose kinds list names 执法决定).
    assert 'class="agenda"' not in html and "已逾期" not in html
    assert 'id="drafts-title"' not in html


def test_a_clash_found_only_by_the_database_is_an_input_error(app, editor, monkeypatch):
    # Two editors saving the same 文号 at the same moment both pass the check before saving.
    from portal.services.publication import publishing

    created_id(post_form(editor, "/staff/decisions/new", decision_data()))
    monkeypatch.setattr(publishing, "_check_unique", lambda *args: None)
    response = post_form(editor, "/staff/decisions/new", decision_data(uscc=""))
    assert response.status_code == 400
    summary = response.get_data(as_text=True).split('class="error-summary"')[1]
    assert "与他人同时提交的内容冲突" in summary.split("</div>")[0]
    with app.app_context():
        assert len(db.session.scalars(select(Decision)).all()) == 1


def test_the_search_index_follows_each_step(app, editor):
    from search_index import SearchQuery

    def hits(q: str):
        with app.app_context():
            return app.extensions["search_index"].search(SearchQuery(q=q)).hits

    item_id = created_id(post_form(editor, "/staff/decisions/new", decision_data()))
    assert hits("西应急罚〔2026〕88号") == []  # drafts are never indexed
    detail = f"/staff/decisions/{item_id}"
    post_action(editor, f"{detail}/publish", detail)
    [hit] = hits("西应急罚〔2026〕88号")
    assert (hit.kind, hit.id, hit.withdrawn) == ("decisions", item_id, False)
    post_form(editor, f"{detail}/edit", decision_data(facts="经查，该公司擅自启用已关闭的澜沧江采区。"))
    assert [h.id for h in hits("澜沧江采区")] == [item_id]
    post_form(editor, f"{detail}/withdraw", {"reason": "该决定已被复议机关撤销"})
    [hit] = hits("西应急罚〔2026〕88号")
    assert hit.withdrawn is True  # still found, marked withdrawn like its page


def test_item_list_pages_keep_the_search_and_state(app, editor):
    with app.app_context():
        for n in range(25):
            factories.power(name=f"分页测试职权{n}")
        db.session.commit()
    first = editor.get("/staff/powers/?q=分页测试").get_data(as_text=True)
    assert "第 1 / 2 页" in first and "上一页" not in first
    next_link = first.split("下一页")[0].rsplit("href=", 1)[1]
    assert "page=2" in next_link and "q=" in next_link
    second = editor.get("/staff/powers/?q=分页测试&page=2").get_data(as_text=True)
    assert "第 2 / 2 页" in second and "下一页" not in second


def test_power_list_changes_and_licences_are_on_the_deadline_board(app, editor):
    from portal.domain.catalog import (
        DECISION_PUBLISH_WORKING_DAYS,
        POWER_CHANGE_PUBLISH_WORKING_DAYS,
    )

    assert DECISION_PUBLISH_WORKING_DAYS["行政许可"] == 7  # 国办发〔2018〕118号
    with app.app_context():
        # Entered on 11-10: 10 working days run out on 11-24, one working day before today.
        factories.power(published=False, name="逾期未公开的职权",
                        created_at=datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
        factories.power(published=False, name="今天录入的职权")
        factories.power(published=True, name="已公开的职权",
                        created_at=datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
        factories.decision(published=False, party_name="许可企业", decision_type="行政许可",
                           decision_date=date(2026, 11, 20))  # 7 working days: due 12-01
        db.session.commit()
    html = editor.get("/staff/").get_data(as_text=True)
    overdue = html[html.index("已逾期（1）"):html.index("待公开的执法决定")]
    assert "逾期未公开的职权" in overdue and "已逾期 1 个工作日" in overdue
    powers = html[html.index(f"待公开的权责清单调整（{POWER_CHANGE_PUBLISH_WORKING_DAYS} 个工作日）（1）"):]
    row = re.search(r"<tr>\s*<td[^>]*>公开权责清单调整</td>.*?</tr>", powers, re.S).group(0)
    assert "今天录入的职权" in row and "2026年12月9日" in row and "还剩 10 个工作日" in row
    assert "已公开的职权" not in html
    decisions = html[html.index("待公开的执法决定（7 / 20 个工作日）"):]
    row = re.search(r"<tr>\s*<td[^>]*>公开行政许可决定</td>.*?</tr>", decisions, re.S).group(0)
    assert "许可企业" in row and "2026年12月1日" in row and "还剩 4 个工作日" in row


# --- masking, checked on the published page (issue 14 §5) ---------------------------------------


def test_a_natural_persons_decision_is_published_masked(app, editor):
    facts = ("当事人张三丰（身份证号532801198503121230），手机 138  1234  5678、"
             "1391 2345 678，无证经营。")
    item_id = created_id(post_form(editor, "/staff/decisions/new", decision_data(
        uscc="", party_name="张三丰", party_address="西双版纳州景洪市嘎洒镇曼景法村12号",
        facts=facts)))
    detail = f"/staff/decisions/{item_id}"
    post_action(editor, f"{detail}/publish", detail)
    public = app.test_client()
    for url in (f"/decisions/{item_id}", f"/api/v1/decisions/{item_id}"):
        text = seen(public.get(url).get_data(as_text=True))
        for secret in ("张三丰", "曼景法村", "嘎洒镇", "532801198503121230", "13812345678",
                       "13912345678"):
            assert secret not in text, (url, secret)
    page = seen(public.get(f"/decisions/{item_id}").get_data(as_text=True))
    assert "张某" in page and "西双版纳州景洪市" in page
    assert "5328**************" in page and "138****5678" in page and "139****5678" in page


def test_an_enterprise_party_keeps_its_name_and_address(app, editor):
    item_id = created_id(post_form(editor, "/staff/decisions/new", decision_data(
        party_address="景洪市嘎洒镇曼景法村12号")))
    stored = get(app, Decision, item_id)
    assert stored.party_name == "景洪市澜沧江采石有限公司"
    assert stored.party_address == "景洪市嘎洒镇曼景法村12号"


def test_an_accident_report_is_masked_as_it_renders(app, editor):
    source = ("## 三、伤亡情况\n\n死者家属电话138**1234**5678，"
              "证人电话&#49;3912345678，[拨打](tel:13712345678)。\n\n"
              "身份证号**5328**01198503121230。\n")
    item_id = created_id(post_form(editor, "/staff/accidents/new",
                                   accident_data(report_source=source)))
    detail = f"/staff/accidents/{item_id}"
    post_action(editor, f"{detail}/publish", detail)
    public = app.test_client()
    for url in (f"/accidents/{item_id}", f"/api/v1/accidents/{item_id}", "/accidents.csv"):
        text = seen(public.get(url).get_data(as_text=True))
        for secret in ("13812345678", "13912345678", "13712345678", "532801198503121230"):
            assert secret not in text, (url, secret)
    page = public.get(f"/accidents/{item_id}").get_data(as_text=True)
    assert "拨打" in page and "137****5678" not in page.replace("tel:137****5678", "")


@pytest.mark.parametrize("decision_type", ["行政许可", "行政检查", "行政强制"])
def test_only_a_penalty_may_carry_a_fine(app, editor, decision_type):
    """The form refuses a fine on another type, with the input kept; so does the service."""
    from portal.domain.catalog import FINE_ONLY_ON_PENALTY
    from portal.services.publication import publishing

    data = decision_data(decision_type=decision_type, fine_yuan="5000",
                         party_name="保留的许可当事人")
    response = post_form(editor, "/staff/decisions/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert FINE_ONLY_ON_PENALTY in html and 'href="#fine_yuan"' in html
    assert 'value="保留的许可当事人"' in html
    created_id(post_form(editor, "/staff/decisions/new",
                         decision_data(decision_type=decision_type, fine_yuan="")))
    with app.app_context():
        with pytest.raises(publishing.ValuesInvalid) as refused:
            publishing.create_item("decisions", {**factories_values(decision_type),
                                                 "fine_yuan": Decimal("5000")})
        assert refused.value.errors == {"fine_yuan": FINE_ONLY_ON_PENALTY}
        item = db.session.scalars(select(Decision).where(
            Decision.decision_type == decision_type)).one()
        with pytest.raises(publishing.ValuesInvalid):
            publishing.edit_item(item, {"fine_yuan": Decimal("1")})


def factories_values(decision_type: str) -> dict:
    from datetime import date

    return {"document_no": "西应急许〔2026〕99号", "decision_type": decision_type,
            "party_name": "某某有限公司", "uscc": "", "party_address": "", "county": "景洪市",
            "sector": "非煤矿山", "facts": "某事", "legal_basis": "某法", "penalty": "某决定",
            "compliance": "", "remedy": "", "decision_date": date(2026, 11, 2),
            "department_name": "西双版纳州应急管理局"}
