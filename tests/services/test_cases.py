"""Handling a report: every transition, allowed and refused, with its timeline step and audit event."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.domain.accidents import AccidentLevel
from portal.domain.catalog import REPORT_EXTENSION_DAYS
from portal.extensions import db
from portal.models import REPORT_STATES, local_today
from portal.services.reporting import cases
from portal.services.reporting.cases import CaseTransitionRefused, CaseValuesInvalid
from tests import factories
from tests.staff.conftest import make_staff


@pytest.fixture
def handler(app_ctx):
    return make_staff("handler", username="handler.li")


def audit_actions(report_id: int, *, takes: bool = False) -> list[str]:
    """The report's audit actions; without ``report_take`` (a step on an unassigned report
    takes it first: tested in test_case_access.py) unless ``takes``."""
    return [action for action in db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_kind == "report", AuditEvent.object_id == str(report_id))
        .order_by(AuditEvent.seq)
    ) if takes or action != "report_take"]


def timeline(report) -> list[tuple[str, str | None]]:
    return [(e.kind, e.note) for e in report.events]


def test_accept_sets_the_verification_deadline(handler):
    report = factories.report()
    db.session.commit()
    today = local_today()
    due = cases.accept(report, actor=handler)
    assert (report.status, report.accepted_on, report.verification_due) == ("accepted", today, due)
    assert report.handler_id == handler.id
    assert timeline(report)[-1][0] == "accepted"
    assert audit_actions(report.id) == ["report_accept"]


# 60 calendar days after acceptance, counted by hand on the official 2026 calendar; a last day
# that is a rest day moves to the next working day (民法典 Art. 203).
@pytest.mark.parametrize(("accepted_on", "due"), [
    (date(2026, 4, 2), date(2026, 6, 1)),  # a Monday: stays
    (date(2026, 6, 2), date(2026, 8, 3)),  # Saturday 08-01 → Monday
    (date(2026, 4, 1), date(2026, 6, 1)),  # Sunday 05-31 → Monday
    (date(2026, 8, 4), date(2026, 10, 8)),  # Saturday 10-03 in the National Day holiday → 10-08
    (date(2026, 3, 3), date(2026, 5, 6)),  # Saturday 05-02 in the Labour Day holiday → 05-06
    (date(2025, 12, 17), date(2026, 2, 24)),  # Sunday 02-15, Spring Festival 02-15..02-23
    (date(2026, 8, 11), date(2026, 10, 10)),  # Saturday 10-10 is a swapped working day: stays
    (date(2026, 7, 22), date(2026, 9, 20)),  # Sunday 09-20 is a swapped working day: stays
])
def test_verification_is_due_sixty_days_later_moved_off_a_rest_day(handler, accepted_on, due):
    report = factories.report(received_on=accepted_on)
    db.session.commit()
    assert cases.accept(report, actor=handler, today=accepted_on) == due
    assert report.verification_due == due
    assert f"核查期限：{due.year}年{due.month}月{due.day}日前" in report.events[-1].note


@pytest.mark.parametrize("status", sorted(set(REPORT_STATES) - {"received"}))
def test_only_a_received_report_can_be_accepted_or_declined(handler, status):
    report = factories.report(status=status)
    db.session.commit()
    with pytest.raises(CaseTransitionRefused):
        cases.accept(report, actor=handler)
    with pytest.raises(CaseTransitionRefused):
        cases.decline(report, actor=handler, reason="不属于安全生产领域")
    assert audit_actions(report.id) == []


def test_decline_needs_a_reason_that_the_reporter_sees(handler):
    report = factories.report()
    db.session.commit()
    with pytest.raises(CaseValuesInvalid) as refused:
        cases.decline(report, actor=handler, reason="  太短 ")
    assert "reason" in refused.value.errors
    assert report.status == "received"
    cases.decline(report, actor=handler, reason="所反映问题属于市场监管部门职责，已告知转交。")
    assert report.status == "declined"
    assert timeline(report)[-1] == ("declined", "所反映问题属于市场监管部门职责，已告知转交。")
    assert audit_actions(report.id) == ["report_decline"]


def test_the_audit_log_never_holds_what_staff_write_to_the_reporter(handler):
    report = factories.report()
    db.session.commit()
    cases.decline(report, actor=handler, reason="保密的不予受理理由文字")
    cases.send_message(report, actor=handler, body="保密的问题文字：裂缝有多宽？")
    summaries = " ".join(str(e.summary) for e in db.session.scalars(select(AuditEvent)))
    assert "保密" not in summaries
    assert report.description not in summaries


def test_messages_go_to_the_reporter(handler):
    report = factories.accepted_report()
    db.session.commit()
    with pytest.raises(CaseValuesInvalid):
        cases.send_message(report, actor=handler, body="   ")
    with pytest.raises(CaseValuesInvalid):
        cases.send_message(report, actor=handler, body="问" * (cases.MAX_MESSAGE_LENGTH + 1))
    cases.send_message(report, actor=handler, body="请问裂缝大约有多宽？")
    message = report.messages[-1]
    assert (message.author, message.staff_id, message.body) == ("staff", handler.id, "请问裂缝大约有多宽？")
    assert audit_actions(report.id) == ["report_message"]


def test_extend_once_by_at_most_the_limit_with_a_reason(handler):
    report = factories.report(received_on=date(2026, 10, 1))
    db.session.commit()
    cases.accept(report, actor=handler, today=date(2026, 10, 1))
    assert report.verification_due == date(2026, 11, 30)  # a Monday
    for days in (0, REPORT_EXTENSION_DAYS + 1, None):
        with pytest.raises(CaseValuesInvalid) as refused:
            cases.extend(report, actor=handler, days=days, reason="需要委托检测机构检测边坡")
        assert "days" in refused.value.errors
    with pytest.raises(CaseValuesInvalid) as refused:
        cases.extend(report, actor=handler, days=10, reason="")
    assert "reason" in refused.value.errors
    due = cases.extend(report, actor=handler, days=REPORT_EXTENSION_DAYS,
                       reason="需要委托检测机构检测边坡")
    assert due == date(2026, 12, 30)  # 30 days after 11-30, a Wednesday
    assert report.verification_due == due
    kind, note = timeline(report)[-1]
    assert kind == "extended" and "需要委托检测机构检测边坡" in note and f"{due.year}年" in note
    with pytest.raises(CaseTransitionRefused, match="只能延长一次"):
        cases.extend(report, actor=handler, days=1, reason="再延长一次试试")
    assert audit_actions(report.id) == ["report_accept", "report_extend"]


@pytest.mark.parametrize(("accepted_on", "days", "due"), [
    # Accepted 08-04: 60 days end Saturday 10-03 (National Day), moved to 10-08.  The extension
    # lengthens the period: 10-03 + 30 days = Monday 11-02 (not 10-08 + 30).
    (date(2026, 8, 4), 30, date(2026, 11, 2)),
    # Accepted 06-02: 60 days end Saturday 08-01 (moved to 08-03); + 7 = Saturday 08-08 → 08-10.
    (date(2026, 6, 2), 7, date(2026, 8, 10)),
    # Accepted 08-04 (end 10-03); + 7 = Saturday 10-10, a swapped working day: stays.
    (date(2026, 8, 4), 7, date(2026, 10, 10)),
])
def test_an_extension_lengthens_the_period_and_moves_its_last_day(handler, accepted_on, days,
                                                                  due):
    report = factories.report(received_on=accepted_on)
    db.session.commit()
    cases.accept(report, actor=handler, today=accepted_on)
    assert cases.extend(report, actor=handler, days=days, reason="需要委托检测机构检测边坡",
                        today=accepted_on) == due
    assert report.verification_due == due


def test_extend_is_refused_before_acceptance(handler):
    report = factories.report()
    db.session.commit()
    with pytest.raises(CaseTransitionRefused):
        cases.extend(report, actor=handler, days=5, reason="需要委托检测")


@pytest.mark.parametrize("result", ["true", "partly", "false"])
def test_verify_records_the_result(handler, result):
    report = factories.accepted_report()
    db.session.commit()
    cases.verify(report, actor=handler, result=result)
    assert (report.status, report.verification_result, report.verified_on) == (
        "verified", result, local_today())
    assert timeline(report)[-1][0] == "verified"
    assert audit_actions(report.id) == ["report_verify"]


def test_verify_refuses_bad_values_and_wrong_states(handler):
    report = factories.accepted_report()
    received = factories.report()
    db.session.commit()
    with pytest.raises(CaseValuesInvalid):
        cases.verify(report, actor=handler, result="maybe")
    with pytest.raises(CaseValuesInvalid) as refused:  # deaths need the confirmed level
        cases.verify(report, actor=handler, result="true", concealed_deaths=2)
    assert "confirmed_level" in refused.value.errors
    with pytest.raises(CaseValuesInvalid) as refused:  # and a level needs the deaths
        cases.verify(report, actor=handler, result="true", confirmed_level=AccidentLevel.GENERAL)
    assert "concealed_deaths" in refused.value.errors
    with pytest.raises(CaseTransitionRefused):
        cases.verify(received, actor=handler, result="true")
    cases.verify(report, actor=handler, result="true")
    with pytest.raises(CaseTransitionRefused):
        cases.verify(report, actor=handler, result="false")


def test_verify_a_concealed_accident_records_deaths_and_level(handler):
    report = factories.accepted_report(kind="concealed_accident")
    db.session.commit()
    with pytest.raises(CaseValuesInvalid):
        cases.verify(report, actor=handler, result="true", concealed_deaths=-1)
    with pytest.raises(CaseValuesInvalid):
        cases.verify(report, actor=handler, result="true", confirmed_level=9)
    cases.verify(report, actor=handler, result="true", concealed_deaths=2,
                 confirmed_level=AccidentLevel.LARGER)
    assert (report.concealed_deaths, report.confirmed_level) == (2, 2)


def test_link_a_decision_by_its_document_number(handler):
    report = factories.accepted_report()
    decision = factories.decision(document_no="西应急罚〔2026〕88号", fine_yuan=Decimal(52000))
    withdrawn = factories.decision(document_no="西应急罚〔2026〕89号", withdrawn_at=factories.utcnow(),
                                   withdrawn_reason="已撤销")
    received = factories.report()
    db.session.commit()
    with pytest.raises(CaseValuesInvalid):
        cases.link_decision(report, actor=handler, document_no="西应急罚〔2026〕999号")
    with pytest.raises(CaseValuesInvalid):
        cases.link_decision(report, actor=handler, document_no=withdrawn.document_no)
    with pytest.raises(CaseTransitionRefused):
        cases.link_decision(received, actor=handler, document_no=decision.document_no)
    cases.link_decision(report, actor=handler, document_no=" 西应急罚〔2026〕88号 ")
    assert report.decision_id == decision.id
    assert timeline(report)[-1] == ("decision_linked", "处罚决定：西应急罚〔2026〕88号")
    assert audit_actions(report.id) == ["report_link_decision"]


def test_candidate_duplicates_by_credit_code_or_name_in_the_same_county(handler):
    report = factories.report(uscc_digest="u1", name_digest="n1")
    same_code = factories.report(uscc_digest="u1", name_digest="n2")
    same_name = factories.report(uscc_digest=None, name_digest="n1")
    other_county = factories.report(uscc_digest="u1", name_digest="n1", county="勐海县")
    unrelated = factories.report(uscc_digest="u2", name_digest="n2")
    no_digests = factories.report()
    db.session.commit()
    assert cases.candidate_duplicates(report) == [same_code, same_name]
    assert cases.candidate_duplicates(same_code) == [report, unrelated]  # code, then name n2
    assert cases.candidate_duplicates(no_digests) == []
    assert other_county not in cases.candidate_duplicates(report)
    assert unrelated not in cases.candidate_duplicates(report)


def test_mark_duplicate_closes_it_and_tells_the_reporter(handler):
    original = factories.accepted_report()
    report = factories.report()
    db.session.commit()
    with pytest.raises(CaseValuesInvalid):
        cases.mark_duplicate(report, actor=handler, original_id=report.id)
    with pytest.raises(CaseValuesInvalid):
        cases.mark_duplicate(report, actor=handler, original_id=None)
    with pytest.raises(CaseValuesInvalid):  # a later report is not "earlier"
        cases.mark_duplicate(original, actor=handler, original_id=report.id)
    cases.mark_duplicate(report, actor=handler, original_id=original.id)
    assert (report.status, report.closed_as, report.duplicate_of_id) == (
        "closed", "duplicate", original.id)
    kind, note = timeline(report)[-1]
    assert kind == "duplicate" and "同一事项" in note and "只奖励最先受理的举报" in note
    assert original.number not in note  # the reporter learns nothing about the other report
    assert audit_actions(report.id) == ["report_duplicate"]
    with pytest.raises(CaseTransitionRefused):
        cases.mark_duplicate(report, actor=handler, original_id=original.id)


def test_a_duplicate_of_a_duplicate_joins_the_first_report(handler):
    first = factories.accepted_report()
    second = factories.report()
    third = factories.report()
    db.session.commit()
    cases.mark_duplicate(second, actor=handler, original_id=first.id)
    cases.mark_duplicate(third, actor=handler, original_id=second.id)
    assert third.duplicate_of_id == first.id
    assert cases.matter_reports(third) == [first, second, third]


def test_close_by_what_verification_found(handler):
    true_report = factories.accepted_report()
    false_report = factories.accepted_report()
    db.session.commit()
    with pytest.raises(CaseTransitionRefused):
        cases.close(true_report, actor=handler, closed_as="rectified")
    cases.verify(true_report, actor=handler, result="true")
    cases.verify(false_report, actor=handler, result="false")
    with pytest.raises(CaseValuesInvalid):
        cases.close(true_report, actor=handler, closed_as="unfounded")
    with pytest.raises(CaseValuesInvalid):
        cases.close(false_report, actor=handler, closed_as="rectified")
    with pytest.raises(CaseValuesInvalid):
        cases.close(true_report, actor=handler, closed_as="duplicate")
    cases.close(true_report, actor=handler, closed_as="rectified", note="企业已完成边坡治理。")
    cases.close(false_report, actor=handler, closed_as="unfounded")
    assert (true_report.status, true_report.closed_as) == ("closed", "rectified")
    assert timeline(true_report)[-1] == ("closed", "办结：已整改。企业已完成边坡治理。")
    assert false_report.closed_as == "unfounded"
    assert audit_actions(true_report.id) == ["report_verify", "report_close"]


def test_a_reopened_report_is_verified_again(handler):
    report = factories.accepted_report(accepted_on=date(2026, 6, 1))
    db.session.commit()
    cases.verify(report, actor=handler, result="true", today=date(2026, 7, 1))
    cases.close(report, actor=handler, closed_as="rectified", today=date(2026, 7, 2))
    with pytest.raises(CaseTransitionRefused):
        cases.handle_reopening(report, actor=handler, outcome="accept", note="重新核查边坡")
    report.status = "reopened"  # the reporter said "not actually fixed" (citizen side)
    report.add_event("reopened", local_today())
    db.session.commit()
    with pytest.raises(CaseValuesInvalid):
        cases.handle_reopening(report, actor=handler, outcome="accept", note="")
    with pytest.raises(CaseValuesInvalid):
        cases.handle_reopening(report, actor=handler, outcome="ignore", note="不予处理的说明")
    due = cases.handle_reopening(report, actor=handler, outcome="accept",
                                 note="已安排重新现场核查。", today=date(2026, 8, 4))
    assert due == date(2026, 10, 8)  # 60 days: Saturday 10-03, in the National Day holiday
    assert (report.status, report.verification_due, report.verification_result) == (
        "accepted", due, None)
    assert report.accepted_on == date(2026, 6, 1)  # the first acceptance decides the reward
    assert timeline(report)[-1][0] == "reopen_handled"
    assert "已安排重新现场核查。" in timeline(report)[-1][1]
    assert audit_actions(report.id)[-1] == "report_reopen"


def test_a_reopened_report_can_be_closed_again_with_a_note(handler):
    report = factories.accepted_report(status="reopened", closed_as="rectified")
    db.session.commit()
    assert cases.handle_reopening(report, actor=handler, outcome="close",
                                  note="复查照片显示已整改到位。") is None
    assert (report.status, report.closed_as, report.closed_on) == ("closed", "rectified", local_today())
    assert timeline(report)[-1] == ("reopen_handled", "经复查，维持办结。复查照片显示已整改到位。")


def test_a_purged_report_cannot_be_worked_on(handler):
    report = factories.report(purged_on=local_today())
    db.session.commit()
    with pytest.raises(CaseTransitionRefused, match="清除"):
        cases.accept(report, actor=handler)
    with pytest.raises(CaseTransitionRefused):
        cases.send_message(report, actor=handler, body="还在吗？")


def test_views_of_content_are_audited(handler):
    from portal.models import ReportPhoto

    report = factories.report()
    report.photos.append(ReportPhoto(media_type="image/png", width=1, height=1, data=b"png"))
    db.session.commit()
    cases.record_view(report, actor=handler)
    cases.record_photo_view(report, report.photos[0], actor=handler)
    assert audit_actions(report.id) == ["report_view", "report_photo_view"]
    with pytest.raises(cases.ReportNotFound):
        cases.get_photo(factories.report(), report.photos[0].id)
