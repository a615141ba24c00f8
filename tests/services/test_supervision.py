"""督办事项 through the services: drafts, publication, each step with its refusals, history and
audit, the list filters (逾期 included), the staff agenda and the credit record."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.domain import supervision as rules
from portal.domain.supervision import Step
from portal.extensions import db
from portal.models import ItemVersion, SupervisionItem
from portal.services.enterprises import credit
from portal.services.publication import disclosures, publishing, supervision
from portal.services.publication.disclosures import ListFilters
from tests import factories

TODAY = date(2026, 11, 20)


def values(**overrides):
    return {
        "notice_no": "西安督〔2026〕1号",
        "supervision_type": rules.HAZARD,
        "grade": "重大",
        "title_text": "测试化工有限公司液氨储罐区重大事故隐患",
        "enterprise_name": "测试化工有限公司",
        "uscc": factories.credit_code(901),
        "accident_id": None,
        "county": "景洪市",
        "sector": "危险化学品",
        "responsible_unit": "测试化工有限公司",
        "requirements_source": "1. 立即**停用**储罐区；\n2. 联系人电话 13812345678。",
        "lifting": "整改完成后申请销号，10 日内现场审查。",
        "listed_on": date(2026, 9, 1),
        "deadline": date(2026, 12, 31),
        "department_name": "西双版纳州应急管理局",
    } | overrides


def published(**overrides) -> SupervisionItem:
    item = publishing.create_item("supervision", values(**overrides)).item
    publishing.publish_item(item)
    return item


@pytest.fixture
def clock():
    with time_machine.travel("2026-11-20 10:00 +0800", tick=False):
        yield


def test_draft_is_masked_rendered_and_has_its_deadlines(app_ctx, clock):
    item = publishing.create_item("supervision", values()).item
    assert not item.is_published
    assert "13812345678" not in item.requirements_html
    assert "<strong>停用</strong>" in item.requirements_html
    assert item.publish_due == date(2026, 9, 8)  # 5 working days after Tue 1 Sep
    assert item.due_on == date(2026, 12, 31)
    assert item.enterprise is not None and item.enterprise.uscc == item.uscc
    with pytest.raises(publishing.ValuesInvalid):
        publishing.create_item("supervision", values())  # the same notice number


def test_an_accident_investigation_gets_60_days_and_must_name_an_existing_accident(app_ctx, clock):
    accident = factories.accident()
    db.session.commit()
    item = publishing.create_item("supervision", values(
        notice_no="西安委督〔2026〕2号", supervision_type=rules.ACCIDENT, grade="一般",
        accident_id=accident.id, deadline=None, listed_on=date(2026, 8, 1))).item
    assert item.deadline == date(2026, 9, 30)
    with pytest.raises(publishing.ValuesInvalid) as refused:
        publishing.create_item("supervision", values(notice_no="x", accident_id=999999))
    assert "accident_id" in refused.value.errors


def test_steps_run_in_order_with_history_audit_and_no_skipping(app_ctx, clock):
    item = published()
    with pytest.raises(supervision.SupervisionError):
        supervision.record_step(item, Step.APPLIED, on=date(2026, 9, 10))  # skipping 整改
    with pytest.raises(supervision.SupervisionError) as before:
        supervision.record_step(item, Step.RECTIFYING, on=date(2026, 8, 31))  # before listing
    assert "on" in before.value.errors
    with pytest.raises(supervision.SupervisionError):
        supervision.record_step(item, Step.RECTIFYING, on=TODAY + timedelta(days=1))
    supervision.record_step(item, Step.RECTIFYING, on=date(2026, 9, 5), note="企业已停用储罐区")
    with pytest.raises(supervision.SupervisionError):
        supervision.record_step(item, Step.APPLIED, on=date(2026, 9, 4))  # before 整改
    supervision.record_step(item, Step.APPLIED, on=date(2026, 10, 20))
    supervision.record_step(item, Step.FAILED, on=date(2026, 10, 26), note="围堰仍有渗漏")
    assert item.stage == "rectifying" and item.passed_on is None
    supervision.record_step(item, Step.APPLIED, on=date(2026, 11, 2))
    supervision.record_step(item, Step.PASSED, on=date(2026, 11, 6))
    supervision.record_step(item, Step.CLOSED, on=date(2026, 11, 9))
    assert item.stage == "closed" and item.closed_on == date(2026, 11, 9)
    with pytest.raises(supervision.SupervisionError, match="已销号"):
        supervision.record_step(item, Step.RECTIFYING, on=date(2026, 11, 10))
    assert [e.label for e in supervision.timeline(item)] == [
        "挂牌督办", "开始整改", "申请销号", "现场审查不合格，退回整改", "申请销号", "现场审查合格", "销号"]
    summaries = list(db.session.scalars(select(ItemVersion.summary).where(
        ItemVersion.kind == "supervision", ItemVersion.item_id == item.id)))
    assert "办理进程：销号" in summaries and len(summaries) == 6
    steps = list(db.session.scalars(select(AuditEvent.summary).where(
        AuditEvent.action == "supervision_step")))
    assert len(steps) == 6 and steps[-1]["stage"] == ["passed", "closed"]


def test_a_draft_or_withdrawn_item_takes_no_step(app_ctx, clock):
    draft = publishing.create_item("supervision", values()).item
    with pytest.raises(supervision.SupervisionError, match="发布后"):
        supervision.record_step(draft, Step.RECTIFYING, on=date(2026, 9, 5))
    item = published(notice_no="西安督〔2026〕9号")
    publishing.withdraw_item(item, reason="挂牌决定被撤销")
    with pytest.raises(supervision.SupervisionError, match="已撤回"):
        supervision.record_step(item, Step.RECTIFYING, on=date(2026, 9, 5))


def test_one_extension_within_its_window(app_ctx, clock):
    item = published(deadline=date(2026, 11, 30))
    supervision.record_step(item, Step.RECTIFYING, on=date(2026, 9, 5))
    with pytest.raises(supervision.SupervisionError) as early:
        supervision.record_step(item, Step.EXTENDED, on=date(2026, 10, 10),
                                applied_on=date(2026, 10, 9), new_deadline=date(2027, 1, 31),
                                reason="雨季无法施工")
    assert "applied_on" in early.value.errors
    supervision.record_step(item, Step.EXTENDED, on=date(2026, 11, 10),
                            applied_on=date(2026, 11, 5), new_deadline=date(2027, 1, 31),
                            reason="雨季无法施工")
    assert item.due_on == date(2027, 1, 31) and item.extension_reason == "雨季无法施工"
    assert Step.EXTENDED not in supervision.allowed_steps(item)
    with pytest.raises(supervision.SupervisionError, match="只能延期一次"):
        supervision.record_step(item, Step.EXTENDED, on=date(2026, 11, 12),
                                applied_on=date(2026, 11, 12), new_deadline=date(2027, 2, 1),
                                reason="再次延期")


def test_overdue_filter_matches_the_rule(app_ctx, clock):
    late = published(notice_no="A1", deadline=date(2026, 11, 19))
    on_day = published(notice_no="A2", deadline=date(2026, 11, 20))
    applied_in_time = published(notice_no="A3", deadline=date(2026, 11, 1))
    supervision.record_step(applied_in_time, Step.RECTIFYING, on=date(2026, 9, 2))
    supervision.record_step(applied_in_time, Step.APPLIED, on=date(2026, 11, 1))
    found = disclosures.list_published("supervision", ListFilters(stage="overdue"), per_page=50)
    assert [i.id for i in found.items] == [late.id]
    for item in (late, on_day, applied_in_time):
        assert item.overdue(TODAY) is (item is late)
    assert disclosures.list_published(
        "supervision", ListFilters(stage="applied"), per_page=50).total == 1
    assert disclosures.list_published(
        "supervision", ListFilters(grade="一般"), per_page=50).total == 0


def test_agenda_lists_publication_and_inspection_deadlines_overdue_first(app_ctx, clock):
    publishing.create_item("supervision", values(notice_no="D1", listed_on=date(2026, 11, 2)))
    item = published(notice_no="D2")
    supervision.record_step(item, Step.RECTIFYING, on=date(2026, 9, 5))
    supervision.record_step(item, Step.APPLIED, on=date(2026, 11, 16))
    agenda = publishing.agenda(TODAY)
    sections = {s.key: s for s in agenda.sections}
    assert [r.item.notice_no for r in agenda.overdue] == ["D1"]  # due 9 Nov, not published
    inspection = sections["supervision-inspection"].rows
    assert [(r.item.notice_no, r.due) for r in inspection] == [("D2", date(2026, 11, 26))]


def test_credit_record_lists_open_items_and_the_certificate_says_a_major_hazard_is_open(
        app_ctx, clock):
    item = published()
    record = credit.record_for(item.uscc)
    assert record.open_supervision == [item]
    snapshot = record.snapshot(item.published_at)
    assert snapshot["major_hazards"][0]["notice_no"] == item.notice_no
    assert snapshot["counts"]["supervision_open"] == 1
    old = published(notice_no="OLD", uscc=item.uscc, listed_on=date(2022, 1, 4),
                    deadline=date(2022, 6, 1))
    old.stage, old.closed_on = "closed", date(2022, 6, 1)
    db.session.commit()
    assert old not in credit.record_for(item.uscc).supervision  # closed over 3 years ago
