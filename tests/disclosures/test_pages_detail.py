"""Permanent pages of published items: every field, timeliness, withdrawal, history, flowchart."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from portal import fieldspec
from portal.extensions import db
from portal.services.publication.history import apply_changes, record_version
from tests import factories
from tests.disclosures.pages_html import assert_accessible_page


def page(client, item) -> str:
    response = client.get(item.url_path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert_accessible_page(html)
    return html


def facts(html: str) -> dict[str, str]:
    """The page's <dt>/<dd> pairs, tags removed, whitespace collapsed."""
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", html, flags=re.S)
    return {dt: " ".join(re.sub(r"<[^>]+>", " ", dd).split()) for dt, dd in pairs}


def test_power_item_shows_its_fields_and_draws_its_workflow(app_ctx, client):
    item = factories.power(code="XSBN-XK-0001", name="危险化学品经营许可",
                           power_type="行政许可", remarks="涉及剧毒化学品的另行审批",
                           workflow=["申请", "受理", "审查", "决定", "送达"])
    db.session.commit()
    html = page(client, item)
    f = facts(html)
    assert f["编码"] == "XSBN-XK-0001"
    assert f["职权类型"] == "行政许可"
    assert f["实施主体（责任单位）"] == "西双版纳州应急管理局"
    for heading in ("实施依据", "责任事项", "追责情形", "办理流程图", "备注"):
        assert f">{heading}</h2>" in html
    assert "《中华人民共和国安全生产法》第一百零二条" in html
    assert "涉及剧毒化学品的另行审批" in html
    chart = html.split('<ol class="flowchart"')[1].split("</ol>")[0]
    steps = re.findall(
        r'<li class="flow-step"><span class="flow-no">(\d+)</span><span class="flow-text">([^<]+)</span></li>',
        chart,
    )
    assert steps == [("1", "申请"), ("2", "受理"), ("3", "审查"), ("4", "决定"), ("5", "送达")]
    assert 'aria-label="办理流程，共 5 步"' in chart


def test_power_item_without_workflow_says_so(app_ctx, client):
    item = factories.power(workflow=[])
    db.session.commit()
    html = page(client, item)
    assert 'class="flowchart"' not in html and "（未公布流程）" in html


def test_decision_shows_every_field_and_an_on_time_badge(app_ctx, client):
    item = factories.decision(
        document_no="西应急罚〔2026〕88号", party_address="景洪市嘎洒镇某村",
        compliance="自收到本决定书之日起十五日内缴纳罚款", remedy="六十日内申请行政复议或六个月内提起行政诉讼",
        fine_yuan=Decimal("35000"), decision_date=date(2026, 3, 2),
        published_at=datetime(2026, 3, 4, 2, tzinfo=UTC),
    )
    db.session.commit()
    html = page(client, item)
    f = facts(html)
    assert f["文号"] == "西应急罚〔2026〕88号"
    assert f["当事人"] == item.party_name
    assert f["统一社会信用代码"] == item.uscc
    assert f'href="/credit?code={item.uscc}"' in html
    assert f["当事人地址"] == "景洪市嘎洒镇某村"
    assert f["县（市、区）"] == "景洪市" and f["行业领域"] == "非煤矿山"
    assert f["决定机关（责任单位）"] == "西双版纳州应急管理局"
    assert f["决定日期"] == "2026年3月2日"
    assert f["应公开期限"] == "2026年3月11日前"  # 7 working days after Monday 2 March
    assert f["实际公开日期"] == "2026年3月4日"
    assert f["公开时效"] == "按时公开"
    assert "罚款金额：<strong>3.5 万元</strong>" in html
    for text in ("经查，该公司未按规定", "自收到本决定书之日起十五日内缴纳罚款", "六十日内申请行政复议"):
        assert text in html
    assert f["首次公开"] == "2026年3月4日 10:00"


def test_decision_published_after_its_deadline_is_marked_late(app_ctx, client):
    item = factories.decision(decision_date=date(2026, 3, 2),
                              published_at=datetime(2026, 4, 20, 2, tzinfo=UTC))
    db.session.commit()
    html = page(client, item)
    assert facts(html)["公开时效"] == "逾期公开"
    assert '<span class="badge badge-bad">逾期公开</span>' in html


def test_decision_with_a_provisional_deadline_is_marked(app_ctx, client):
    # No official 调休 schedule exists yet for 2035: the deadline is counted Monday–Friday.
    item = factories.decision(decision_date=date(2035, 3, 5),
                              published_at=datetime(2035, 3, 6, 2, tzinfo=UTC))
    db.session.commit()
    assert item.publish_due_provisional
    html = page(client, item)
    due = facts(html)["应公开期限"]
    assert "暂定" in due and "暂按周一至周五推算" in due


@time_machine.travel(datetime(2026, 11, 28, 4, tzinfo=UTC), tick=False)
def test_accident_shows_level_investigation_and_an_overdue_assessment(app_ctx, client):
    item = factories.accident(
        deaths=4, serious_injuries=2, direct_loss_yuan=Decimal("5200000"),
        occurred_on=date(2025, 2, 10), approved_on=date(2025, 5, 1),
        published_at=datetime(2025, 5, 6, 2, tzinfo=UTC),
    )
    db.session.commit()
    html = page(client, item)
    f = facts(html)
    assert f["事故单位"] == item.enterprise_name
    assert f["事故发生日期"] == "2025年2月10日"
    assert f["死亡人数"] == "4 人" and f["重伤人数（含急性工业中毒）"] == "2 人"
    assert f["直接经济损失"] == "520 万元"
    assert f["事故等级"].startswith("较大事故")
    assert f["调查组织"] == "设区的市级人民政府"
    assert f["批复日期"] == "2025年5月1日"
    assert f["报告公开日期"] == "2025年5月6日 （批复后第 5 日公开）"
    # A year after 批复 is 2026-05-01, in the Labour Day holiday (05-01..05-05): due 05-06.
    assert f["整改评估期限"] == "2026年5月6日前（批复后 1 年内） 已逾期未公开"
    assert '<span class="badge badge-bad">已逾期未公开</span>' in html


@time_machine.travel(datetime(2026, 11, 28, 4, tzinfo=UTC), tick=False)
@pytest.mark.parametrize(
    "approved_on,published_on,expected",
    [
        (date(2026, 8, 20), None, "未到期"),
        (date(2025, 5, 1), date(2026, 4, 1), "已按期公开"),
        (date(2025, 5, 1), date(2026, 6, 1), "已公开（逾期）"),
        (None, None, "尚未批复"),
    ],
)
def test_accident_assessment_states(app_ctx, client, approved_on, published_on, expected):
    item = factories.accident(approved_on=approved_on, assessment_published_on=published_on)
    db.session.commit()
    html = page(client, item)
    assert facts(html)["整改评估期限"].endswith(expected)
    if published_on:
        assert facts(html)["整改评估公开日期"] == f"{published_on.year}年{published_on.month}月{published_on.day}日"


def test_accident_report_text_is_sanitised(app_ctx, client):
    item = factories.accident(
        report_html='<h2>二、事故经过</h2><p style="color:red" onclick="x()">经过<script>alert(1)</script></p>'
                    '<a href="javascript:alert(1)">链接</a>'
    )
    db.session.commit()
    html = page(client, item)
    report = html.split('<div class="report-text">')[1].split("</div>")[0]
    assert "<h2>二、事故经过</h2>" in report
    assert "<script" not in report and "onclick" not in report and "style=" not in report
    assert "javascript:" not in report


@time_machine.travel(datetime(2026, 11, 28, 4, tzinfo=UTC), tick=False)
def test_blacklist_entry_shows_status_period_and_early_removal(app_ctx, client):
    active = factories.blacklist_entry(listed_on=date(2026, 3, 1), basis="西应急罚〔2026〕3号")
    removed = factories.blacklist_entry(listed_on=date(2024, 1, 10), removed_on=date(2025, 6, 1),
                                        removal_reason="完成信用修复，经审核同意提前移出")
    db.session.commit()
    f = facts(page(client, active))
    assert f["失信主体名称"] == active.enterprise_name
    assert f["统一社会信用代码"] == active.uscc
    assert f["列入事由"] == "瞒报、谎报生产安全事故"
    assert f["列入依据"] == "西应急罚〔2026〕3号"
    assert f["作出决定的部门（责任单位）"] == "西双版纳州应急管理局"
    assert f["当前状态"] == "公示中"
    assert f["列入日期"] == "2026年3月1日"
    assert f["公示期满日期"] == "2029年3月1日 （期满自动移出）"
    assert f["可申请信用修复日期"] == "2027年3月2日起"  # 12 months run through 3-1
    assert "提前移出日期" not in f
    f = facts(page(client, removed))
    assert f["当前状态"] == "已提前移出（信用修复）"
    assert f["提前移出日期"] == "2025年6月1日"
    assert f["提前移出理由"] == "完成信用修复，经审核同意提前移出"


def test_detail_page_has_breadcrumb_and_permanent_link(app_ctx, client):
    item = factories.decision()
    db.session.commit()
    html = page(client, item)
    crumbs = html.split('<nav class="breadcrumb" aria-label="当前位置">')[1].split("</nav>")[0]
    assert '<a href="/">首页</a>' in crumbs and '<a href="/decisions">行政执法决定</a>' in crumbs
    assert f'<li aria-current="page">{item.title}</li>' in crumbs
    assert facts(html)["永久链接"] == f"http://localhost/decisions/{item.id}"
    assert '<a href="/decisions" aria-current="page">' in html


def test_withdrawn_item_keeps_its_page_marked_with_reason_and_date(app_ctx, client):
    item = factories.decision(withdrawn_at=datetime(2026, 10, 12, 3, tzinfo=UTC),
                              withdrawn_reason="该决定已被行政复议机关撤销")
    db.session.commit()
    html = page(client, item)
    notice = html.split('<div class="withdrawn-notice" role="note">')[1].split("</div>")[0]
    assert "本条信息已于2026年10月12日撤回" in notice
    assert "撤回理由：该决定已被行政复议机关撤销" in notice
    # At the top: before the item's facts.
    assert html.index("withdrawn-notice") < html.index("基本信息")
    assert item.facts in html


def test_item_not_withdrawn_has_no_notice(app_ctx, client):
    item = factories.accident()
    db.session.commit()
    assert "withdrawn-notice" not in page(client, item)


def test_history_lists_versions_with_chinese_field_names(app_ctx, client):
    item = factories.decision(fine_yuan=Decimal("50000"), decision_date=date(2026, 9, 28))
    db.session.commit()
    with time_machine.travel(datetime(2026, 10, 20, 2, tzinfo=UTC), tick=False):
        changes = apply_changes(item, {"fine_yuan": Decimal("30000"), "facts": "更正后的违法事实"})
        record_version(db.session, item, changes, "更正罚款金额")
        db.session.commit()
    with time_machine.travel(datetime(2026, 11, 2, 2, tzinfo=UTC), tick=False):
        changes = apply_changes(item, {"decision_date": date(2026, 9, 29), "penalty": "警告，罚款"})
        record_version(db.session, item, changes, "更正决定日期")
        db.session.commit()
    html = page(client, item)
    history = html.split('<section class="history"')[1].split("</section>")[0]
    assert history.index("2026年11月2日 10:00") < history.index("2026年10月20日 10:00")
    assert "更正罚款金额" in history and "更正决定日期" in history
    assert "<del>5 万元</del> 改为 <ins>3 万元</ins>" in history
    assert "违法事实和证据</span>：" in history and "内容已修改" in history
    assert "<del>2026年9月28日</del> 改为 <ins>2026年9月29日</ins>" in history
    assert "<del>罚款</del> 改为 <ins>警告，罚款</ins>" in history
    assert "fine_yuan" not in history and "decision_date" not in history
    assert facts(html)["最后修改"] == "2026年11月2日 10:00"


def test_item_without_versions_says_it_was_not_changed(app_ctx, client):
    item = factories.blacklist_entry()
    db.session.commit()
    assert "本条信息公开后未作修改。" in page(client, item)


@pytest.mark.parametrize("kind", ["powers", "decisions", "accidents", "blacklist"])
def test_drafts_and_unknown_ids_are_not_found(app_ctx, client, kind):
    make = {"powers": factories.power, "decisions": factories.decision,
            "accidents": factories.accident, "blacklist": factories.blacklist_entry}[kind]
    draft = make(published=False)
    db.session.commit()
    for path in (f"/{kind}/{draft.id}", f"/{kind}/999999", f"/{kind}/0"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "页面不存在" in response.get_data(as_text=True)


def test_an_id_of_another_kind_is_not_found(app_ctx, client):
    item = factories.decision()
    db.session.commit()
    assert client.get(f"/powers/{item.id}").status_code == 404


@pytest.mark.parametrize(("decision_type", "kind_label", "basis_label", "content_label"), [
    ("行政检查", "行政检查决定", "检查和处理的依据", "处理决定的内容"),
    ("行政强制", "行政强制决定", "实施行政强制的依据", "行政强制措施的种类和内容"),
    ("行政处罚", "行政处罚决定", "违反的规定和处罚依据", "处罚种类和内容"),
    ("行政许可", "行政许可决定", "许可依据", "许可决定的内容"),
])
def test_decision_labels_follow_its_type(app_ctx, client, decision_type, kind_label, basis_label,
                                         content_label):
    item = factories.decision(decision_type=decision_type, fine_yuan=None)
    db.session.commit()
    html = client.get(f"/decisions/{item.id}").get_data(as_text=True)
    assert f'<p class="item-kind">{kind_label}</p>' in html
    assert f'<h2 id="basis-heading">{basis_label}</h2>' in html
    assert f'<h2 id="penalty-heading">{content_label}</h2>' in html
    facts_label = fieldspec.decision_labels(decision_type)["facts"]
    assert f'<h2 id="facts-heading">{facts_label}</h2>' in html
    if decision_type != "行政处罚":
        assert "违法事实" not in html
        assert "处罚" not in html.split('<article')[1].split('<section class="publication"')[0]
