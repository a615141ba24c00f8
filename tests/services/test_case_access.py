"""Need-to-know in the service layer (issue 13 §4): assignment by county and by hand, taking a
case, who reads content, who sees payment details and pays, finding a report by its number,
and one audit event per view."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from portal.models import ReportPhoto, local_today
from portal.services.reporting import cases, reports, rewards
from portal.services.reporting.cases import AccessDenied, CaseTransitionRefused, CaseValuesInvalid
from tests import factories
from tests.staff.conftest import make_staff

FIELDS = {"kind": "hazard", "enterprise_name": "勐海县某茶厂", "uscc": "", "county": "勐海县",
          "place": "烘干车间", "description": "烘干机旁堆放柴油桶，无人看管。", "seen_since": "上周",
          "contact": ""}


@pytest.fixture
def staff(app_ctx):
    return {
        "li": make_staff("handler", username="handler.li"),
        "wang": make_staff("handler", username="handler.wang"),
        "approver": make_staff("approver", username="approver.qian"),
        "admin": make_staff("admin", username="admin.zhao"),
    }


def actions(report_id: int) -> list[str]:
    return list(db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_kind == "report", AuditEvent.object_id == str(report_id))
        .order_by(AuditEvent.seq)))


# ---------------------------------------------------------------- assignment


def test_a_new_report_goes_to_the_handler_of_its_county_with_fewest_open_cases(staff):
    staff["li"].set_counties({"勐海县", "景洪市"})
    staff["wang"].set_counties({"勐海县"})
    db.session.commit()
    first, _ = reports.submit(FIELDS)
    assert first.handler_id == staff["li"].id  # a tie: the older account
    second, _ = reports.submit(FIELDS)
    assert second.handler_id == staff["wang"].id  # li has one open case now
    elsewhere, _ = reports.submit(FIELDS | {"county": "勐腊县"})
    assert elsewhere.handler_id is None  # nobody has that county: any handler may take it
    # Not audited: an audit event's time would date the reporter's visit (DESIGN.md §3).
    assert db.session.scalars(select(AuditEvent)).all() == []


def test_a_disabled_handler_or_one_without_the_role_gets_no_new_report(staff):
    staff["li"].set_counties({"勐海县"})
    staff["li"].active = False
    staff["approver"].set_counties({"勐海县"})
    db.session.commit()
    report, _ = reports.submit(FIELDS)
    assert report.handler_id is None


def test_any_handler_takes_an_unassigned_report_once_audited(staff):
    report = factories.report()
    db.session.commit()
    with pytest.raises(AccessDenied):
        cases.take(report, actor=staff["approver"])
    cases.take(report, actor=staff["li"])
    assert report.handler_id == staff["li"].id
    assert actions(report.id) == ["report_take"]
    with pytest.raises(CaseTransitionRefused, match="其他人员承办"):
        cases.take(report, actor=staff["wang"])
    assert report.handler_id == staff["li"].id


def test_reassignment_by_the_handler_or_an_administrator_never_to_oneself(staff):
    report = factories.report(handler_id=staff["li"].id)
    db.session.commit()
    with pytest.raises(AccessDenied):
        cases.assign(report, actor=staff["wang"], handler_id=staff["wang"].id)
    with pytest.raises(AccessDenied):
        cases.assign(report, actor=staff["approver"], handler_id=staff["wang"].id)
    with pytest.raises(CaseValuesInvalid):  # not a handler
        cases.assign(report, actor=staff["li"], handler_id=staff["approver"].id)
    cases.assign(report, actor=staff["li"], handler_id=staff["wang"].id)
    assert report.handler_id == staff["wang"].id
    cases.assign(report, actor=staff["admin"], handler_id=staff["li"].id)
    assert report.handler_id == staff["li"].id
    both = make_staff("admin", "handler", username="admin.handler")
    with pytest.raises(CaseValuesInvalid, match="不能把举报指派给自己"):
        cases.assign(report, actor=both, handler_id=both.id)
    assert actions(report.id) == ["report_assign", "report_assign"]


STEPS = {
    "accept": lambda r, a: cases.accept(r, actor=a),
    "decline": lambda r, a: cases.decline(r, actor=a, reason="不属于安全生产领域的问题"),
    "message": lambda r, a: cases.send_message(r, actor=a, body="请补充照片"),
    "extend": lambda r, a: cases.extend(r, actor=a, days=10, reason="需要联合检查"),
    "verify": lambda r, a: cases.verify(r, actor=a, result="true"),
    "decision": lambda r, a: cases.link_decision(r, actor=a, document_no="西应急罚〔2026〕1号"),
    "duplicate": lambda r, a: cases.mark_duplicate(r, actor=a, original_id=1),
    "close": lambda r, a: cases.close(r, actor=a, closed_as="rectified"),
    "reopen": lambda r, a: cases.handle_reopening(r, actor=a, outcome="close", note="维持办结"),
    "propose": lambda r, a: rewards.propose(r, actor=a),
}


@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize("who", ["wang", "approver", "admin"])
def test_only_the_assigned_handler_works_a_report(staff, step, who):
    report = factories.accepted_report(handler_id=staff["li"].id)
    db.session.commit()
    before = report.status
    with pytest.raises(AccessDenied):
        STEPS[step](report, staff[who])
    db.session.rollback()
    assert (report.status, report.handler_id, actions(report.id)) == (before, staff["li"].id, [])


def test_a_refused_step_on_an_unassigned_report_takes_nothing(staff):
    report = factories.report()
    db.session.commit()
    with pytest.raises(CaseValuesInvalid):
        cases.decline(report, actor=staff["li"], reason="短")
    assert report.handler_id is None and actions(report.id) == []
    cases.decline(report, actor=staff["li"], reason="不属于安全生产领域的问题")
    assert report.handler_id == staff["li"].id
    assert actions(report.id) == ["report_take", "report_decline"]


# ---------------------------------------------------------------- what each one sees


def test_only_the_assigned_handler_opens_the_content_and_each_opening_is_one_event(staff):
    report = factories.report(handler_id=staff["li"].id, contact="13800000000")
    report.photos.append(ReportPhoto(media_type="image/png", width=1, height=1, data=b"png"))
    db.session.commit()
    page = cases.open_report(report, actor=staff["li"])
    assert page.level == cases.CONTENT and page.report is report
    assert actions(report.id) == ["report_view"]
    for who in ("wang", "approver", "admin"):
        page = cases.open_report(report, actor=staff[who])
        assert (page.level, page.report, page.reward_report) == (cases.LINE, None, None)
        assert not hasattr(page.line, "description") and not hasattr(page.line, "contact")
        with pytest.raises(AccessDenied):
            cases.photo_for(report, report.photos[0].id, actor=staff[who])
    assert actions(report.id) == ["report_view"]  # a queue line is no view of the content
    assert cases.photo_for(report, report.photos[0].id, actor=staff["li"]).data == b"png"


def claimed_reward(handler, approver):
    report = factories.accepted_report(status="verified", verification_result="true",
                                       verified_on=local_today(), handler_id=handler.id)
    report.decision = factories.decision(fine_yuan=Decimal(52_000))
    db.session.commit()
    reward = rewards.propose(report, actor=handler)
    rewards.approve(reward, actor=approver)
    reward.status, reward.claimed_on, reward.claim_method = "claimed", local_today(), "transfer"
    reward.payment_details = "农业银行 6228480000000000000 张某"
    db.session.commit()
    return reward


def test_an_approver_sees_the_reward_summary_not_the_content(staff):
    reward = claimed_reward(staff["li"], staff["approver"])
    page = cases.open_report(reward.report, actor=staff["approver"])
    assert (page.level, page.report) == (cases.REWARD, None)
    assert page.reward_report is reward.report
    assert actions(reward.report.id)[-1] == "report_view"
    assert cases.payment_details_for(reward, actor=staff["approver"]) is None


def test_payment_details_only_for_the_assigned_handler_who_pays_after_the_claim(staff):
    reward = claimed_reward(staff["li"], staff["approver"])
    for who in ("wang", "approver", "admin"):
        assert cases.payment_details_for(reward, actor=staff[who]) is None
        with pytest.raises(AccessDenied):
            rewards.record_payment(reward, actor=staff[who], paid_on=local_today(),
                                   reference="NX-1")
    assert cases.payment_details_for(reward, actor=staff["li"]) == "农业银行 6228480000000000000 张某"
    rewards.record_payment(reward, actor=staff["li"], paid_on=local_today(), reference="NX-1")
    assert reward.status == "paid"
    assert cases.payment_details_for(reward, actor=staff["li"]) is None  # paid: no longer needed


# ---------------------------------------------------------------- by number


def test_find_a_report_by_its_number(staff):
    report = factories.report(received_on=date(2026, 10, 13))
    db.session.commit()
    number = report.number
    for typed in (number, number.lower(), f"  {number} ", number.replace("-", ""),
                  "ＪＢ" + number[2:], f"JB2026-{report.id}"):
        assert cases.find_by_number(typed) is report
    with pytest.raises(cases.ReportNotFound, match="没有编号为"):
        cases.find_by_number(f"JB2025-{report.id:06d}")  # right id, wrong year
    with pytest.raises(cases.ReportNotFound):
        cases.find_by_number("JB2026-999999")
    with pytest.raises(cases.ReportNotFound):
        cases.find_by_number("JB2026-2147483648")  # past the integer range: no database error
    for junk in ("", "2026-000008", "JB26-8", "JB2026-", "<script>", "JB2026-00000x"):
        with pytest.raises(cases.NumberInvalid):
            cases.find_by_number(junk)
