"""Rewards: propose, approve or reject (four eyes), record payment; the duplicate rule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.domain.accidents import AccidentLevel
from portal.extensions import db
from portal.models import local_today
from portal.services.reporting import cases, reward_claims, rewards
from portal.services.reporting.rewards import (
    ApproverRequired,
    RewardNotAllowed,
    RewardTransitionRefused,
    RewardValuesInvalid,
)
from tests import factories
from tests.staff.conftest import make_staff


@pytest.fixture
def staff(app_ctx):
    return {
        "handler": make_staff("handler", username="handler.zhao"),
        "approver": make_staff("approver", username="approver.qian"),
        "both": make_staff("handler", "approver", username="both.sun"),
    }


def verified(fine: int | None = 52_000, result: str = "true", **fields):
    report = factories.accepted_report(**fields)
    report.status = "verified"
    report.verification_result = result
    report.verified_on = local_today()
    if fine is not None:
        report.decision = factories.decision(fine_yuan=Decimal(fine))
    db.session.commit()
    return report


def reward_actions() -> list[str]:
    return list(db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_kind == "reward").order_by(AuditEvent.seq)
    ))


def test_propose_computes_the_amount_from_the_linked_fine(staff):
    report = verified(fine=52_000)
    reward = rewards.propose(report, actor=staff["handler"])
    assert (reward.status, reward.amount_yuan, reward.basis) == (
        "proposed", 7_800, "罚款 ¥52,000 × 15% = ¥7,800")
    assert (reward.proposed_by_id, reward.proposed_on) == (staff["handler"].id, local_today())
    assert reward_actions() == ["reward_propose"]


def test_propose_for_a_concealed_accident_uses_deaths_and_level(staff):
    report = verified(fine=None, kind="concealed_accident", concealed_deaths=3,
                      confirmed_level=AccidentLevel.LARGER)
    assert rewards.propose(report, actor=staff["handler"]).amount_yuan == 120_000


@pytest.mark.parametrize("result", ["false", None])
def test_only_a_report_verified_as_true_is_rewarded(staff, result):
    report = verified(result=result)
    with pytest.raises(RewardNotAllowed, match="属实"):
        rewards.propose(report, actor=staff["handler"])
    assert report.reward is None and reward_actions() == []


def test_partly_true_is_rewarded(staff):
    assert rewards.propose(verified(result="partly"), actor=staff["handler"]).amount_yuan == 7_800


def test_no_decision_no_reward_yet(staff):
    with pytest.raises(RewardNotAllowed, match="处罚决定"):
        rewards.propose(verified(fine=None), actor=staff["handler"])


def test_a_reward_is_proposed_once(staff):
    report = verified()
    rewards.propose(report, actor=staff["handler"])
    with pytest.raises(RewardNotAllowed, match="已提出"):
        rewards.propose(report, actor=staff["handler"])


def test_only_the_first_accepted_report_of_a_matter_is_rewarded(staff):
    first = verified(accepted_on=date(2026, 10, 5))
    later = factories.accepted_report(accepted_on=date(2026, 10, 9))
    db.session.commit()
    cases.mark_duplicate(later, actor=staff["handler"], original_id=first.id)
    # The duplicate accepted later is not rewarded; its reporter was told why.
    with pytest.raises(RewardNotAllowed, match=f"{first.number} 受理在先"):
        rewards.propose(later, actor=staff["handler"])
    assert "只奖励最先受理的举报" in later.events[-1].note
    assert rewards.propose(first, actor=staff["handler"]).amount_yuan == 7_800


def test_a_later_received_report_accepted_first_is_rewarded_when_merged(staff):
    # Issue 13 §5: A was received first, B later; B was accepted first (10-02), A later (10-09)
    # and the matter handled on A.  Merged, the reward goes to B, from A's verification and fine.
    a = factories.accepted_report(accepted_on=date(2026, 10, 9))
    b = factories.accepted_report(accepted_on=date(2026, 10, 2))
    db.session.commit()
    cases.mark_duplicate(b, actor=staff["handler"], original_id=a.id)
    cases.verify(a, actor=staff["handler"], result="true")
    decision = factories.decision(fine_yuan=Decimal(52_000))
    db.session.commit()
    cases.link_decision(a, actor=staff["handler"], document_no=decision.document_no)
    with pytest.raises(RewardNotAllowed, match=f"{b.number} 受理在先"):
        rewards.propose(a, actor=staff["handler"])
    reward = rewards.propose(b, actor=staff["handler"])
    assert (reward.report_id, reward.amount_yuan, reward.basis) == (
        b.id, 7_800, "罚款 ¥52,000 × 15% = ¥7,800")
    # Once proposed, the matter's facts are fixed: no new decision on A.
    with pytest.raises(cases.CaseTransitionRefused):
        cases.link_decision(a, actor=staff["handler"], document_no=decision.document_no)


def test_a_merged_report_waits_for_the_matter_to_be_verified(staff):
    a = factories.report()
    b = verified()  # verified on its own before it was merged
    db.session.commit()
    cases.mark_duplicate(b, actor=staff["handler"], original_id=a.id)
    with pytest.raises(RewardNotAllowed, match=f"已并入 {a.number}"):
        rewards.propose(b, actor=staff["handler"])


def test_a_merge_that_would_move_a_proposed_reward_is_refused(staff):
    # B was accepted (10-02) before A (10-09) but merged only after A's reward was proposed.
    a = verified(accepted_on=date(2026, 10, 9))
    b = factories.accepted_report(accepted_on=date(2026, 10, 2))
    db.session.commit()
    reward = rewards.propose(a, actor=staff["handler"])
    with pytest.raises(cases.CaseTransitionRefused, match="驳回该奖励"):
        cases.mark_duplicate(b, actor=staff["handler"], original_id=a.id)
    assert b.duplicate_of_id is None
    rewards.reject(reward, actor=staff["approver"], reason="同一事项另有受理在先的举报。")
    cases.mark_duplicate(b, actor=staff["handler"], original_id=a.id)
    assert rewards.propose(b, actor=staff["handler"]).amount_yuan == 7_800


def test_on_the_same_acceptance_date_the_report_holding_the_reward_stays_first(staff):
    # O received first; N and H later.  H, accepted 10-02, was merged into O and rewarded; N,
    # also accepted 10-02 (received before H), is merged afterwards: the reward stays with H.
    o = factories.report()
    n = factories.accepted_report(accepted_on=date(2026, 10, 2))
    h = factories.accepted_report(accepted_on=date(2026, 10, 2))
    db.session.commit()
    cases.mark_duplicate(h, actor=staff["handler"], original_id=o.id)
    cases.accept(o, actor=staff["handler"], today=date(2026, 10, 5))
    cases.verify(o, actor=staff["handler"], result="true", today=date(2026, 10, 20))
    decision = factories.decision(fine_yuan=Decimal(52_000))
    db.session.commit()
    cases.link_decision(o, actor=staff["handler"], document_no=decision.document_no)
    rewards.propose(h, actor=staff["handler"])
    cases.mark_duplicate(n, actor=staff["handler"], original_id=o.id)
    assert cases.first_accepted(cases.matter_reports(o)) is h
    with pytest.raises(RewardNotAllowed, match=f"{h.number} 受理在先"):
        rewards.propose(n, actor=staff["handler"])


def test_without_a_reward_the_same_date_goes_to_the_report_received_first(staff):
    a = factories.report()
    b = factories.accepted_report(accepted_on=date(2026, 10, 9))
    db.session.commit()
    cases.mark_duplicate(b, actor=staff["handler"], original_id=a.id)
    cases.accept(a, actor=staff["handler"], today=date(2026, 10, 9))
    assert cases.first_accepted(cases.matter_reports(a)) is a


# ---------------------------------------------------------------- both parts


def test_a_hazard_report_that_also_revealed_concealed_deaths_is_rewarded_for_both(staff):
    report = factories.accepted_report(kind="hazard")
    decision = factories.decision(fine_yuan=Decimal(52_000))
    db.session.commit()
    cases.verify(report, actor=staff["handler"], result="true", concealed_deaths=2,
                 confirmed_level=AccidentLevel.LARGER)
    cases.link_decision(report, actor=staff["handler"], document_no=decision.document_no,
                        hazard_fine_yuan=Decimal(20_000))
    reward = rewards.propose(report, actor=staff["handler"])
    # 15 % of ¥20,000 = ¥3,000; 2 × ¥40,000 = ¥80,000; ¥83,000 in all.
    assert reward.amount_yuan == 83_000
    assert reward.basis == ("隐患或违法行为：罚款 ¥20,000 × 15% = ¥3,000；"
                            "瞒报事故：瞒报死亡 2 人 × ¥40,000（较大事故）= ¥80,000；合计 ¥83,000")


def test_a_concealed_accident_report_that_also_showed_a_hazard(staff):
    report = factories.accepted_report(kind="concealed_accident")
    decision = factories.decision(fine_yuan=Decimal(1_500_000))
    db.session.commit()
    cases.verify(report, actor=staff["handler"], result="true", concealed_deaths=1,
                 confirmed_level=AccidentLevel.GENERAL)
    # The decision's fine alone is the concealment's: it is not a hazard fine.
    cases.link_decision(report, actor=staff["handler"], document_no=decision.document_no)
    assert rewards.check_eligible(report).amount_yuan == 30_000
    # The handler records the part of the fine imposed for the hazard: 15 % of ¥10,000 is
    # ¥1,500, raised to the ¥3,000 minimum; plus 1 × ¥30,000.
    cases.link_decision(report, actor=staff["handler"], document_no=decision.document_no,
                        hazard_fine_yuan=Decimal(10_000))
    amount = rewards.check_eligible(report)
    assert amount.amount_yuan == 33_000
    assert amount.basis == ("隐患或违法行为：罚款 ¥10,000 × 15% = ¥1,500，低于最低奖励，按 ¥3,000；"
                            "瞒报事故：瞒报死亡 1 人 × ¥30,000（一般事故）= ¥30,000；合计 ¥33,000")


def test_both_parts_are_capped_in_all(staff):
    report = factories.accepted_report(kind="violation")
    decision = factories.decision(fine_yuan=Decimal(200_000))
    db.session.commit()
    cases.verify(report, actor=staff["handler"], result="partly", concealed_deaths=5,
                 confirmed_level=AccidentLevel.EXTRAORDINARY)
    cases.link_decision(report, actor=staff["handler"], document_no=decision.document_no)
    # ¥30,000 (15 % of ¥200,000) + ¥300,000 (5 × ¥60,000) = ¥330,000, capped at ¥300,000.
    amount = rewards.check_eligible(report)
    assert amount.amount_yuan == 300_000
    assert amount.basis.endswith("合计 ¥330,000，超过最高奖励，按 ¥300,000")


def test_the_hazard_fine_cannot_exceed_the_decisions_fine(staff):
    report = factories.accepted_report()
    decision = factories.decision(fine_yuan=Decimal(50_000))
    db.session.commit()
    for amount in (Decimal("50000.01"), Decimal(-1), Decimal("NaN")):
        with pytest.raises(cases.CaseValuesInvalid) as refused:
            cases.link_decision(report, actor=staff["handler"], document_no=decision.document_no,
                                hazard_fine_yuan=amount)
        assert "hazard_fine_yuan" in refused.value.errors
    assert report.decision is None


def test_approve_by_another_approver_opens_the_claim_period(app, staff):
    report = verified()
    reward = rewards.propose(report, actor=staff["handler"])
    assert app.config["SETTINGS"].reward_claim_days == 60
    # 60 days after 2026-08-04 is Saturday 10-03, in the National Day holiday (10-01..10-07):
    # the last day to claim moves to Thursday 10-08 (民法典 Art. 203).
    due = rewards.approve(reward, actor=staff["approver"], today=date(2026, 8, 4))
    assert due == date(2026, 10, 8)
    assert (reward.status, reward.decided_by_id, reward.claim_due) == (
        "approved", staff["approver"].id, due)
    assert report.events[-1].kind == "reward_approved"
    assert "¥7,800" in report.events[-1].note
    assert reward_actions() == ["reward_propose", "reward_approve"]


def test_the_proposer_cannot_decide_even_with_the_approver_role(staff):
    report = verified()
    reward = rewards.propose(report, actor=staff["both"])
    with pytest.raises(ApproverRequired, match="提出人以外"):
        rewards.approve(reward, actor=staff["both"])
    with pytest.raises(ApproverRequired):
        rewards.reject(reward, actor=staff["both"], reason="金额计算有误")
    with pytest.raises(ApproverRequired, match="审批角色"):
        rewards.approve(reward, actor=staff["handler"])
    assert reward.status == "proposed"
    rewards.approve(reward, actor=staff["approver"])
    assert reward.status == "approved"


def test_reject_needs_a_reason_and_can_be_proposed_again(staff):
    report = verified()
    reward = rewards.propose(report, actor=staff["handler"])
    with pytest.raises(RewardValuesInvalid):
        rewards.reject(reward, actor=staff["approver"], reason=" ")
    rewards.reject(reward, actor=staff["approver"], reason="举报人为该企业安全管理人员，不予奖励。")
    assert (reward.status, reward.rejection_reason) == ("rejected", "举报人为该企业安全管理人员，不予奖励。")
    assert report.events[-1].kind == "reward_rejected"
    with pytest.raises(RewardTransitionRefused):
        rewards.approve(reward, actor=staff["approver"])
    again = rewards.propose(report, actor=staff["handler"])
    assert again.id == reward.id and again.status == "proposed" and again.rejection_reason is None
    assert reward_actions() == ["reward_propose", "reward_reject", "reward_propose"]


def test_proposing_again_keeps_each_rejected_proposal_and_its_reason(staff):
    report = verified(fine=52_000)
    first_day, second_day = date(2026, 10, 12), date(2026, 10, 19)
    reward = rewards.propose(report, actor=staff["handler"], today=first_day)
    rewards.reject(reward, actor=staff["approver"], reason="罚款尚未缴纳，暂缓奖励。",
                   today=first_day)
    report.decision.fine_yuan = Decimal(60_000)
    db.session.commit()
    # Only the report's handler proposes: the case is handed over, and back (need-to-know).
    cases.assign(report, actor=staff["handler"], handler_id=staff["both"].id)
    rewards.propose(report, actor=staff["both"], today=second_day)
    rewards.reject(reward, actor=staff["approver"], reason="举报前监管部门已在查处。",
                   today=second_day)
    cases.assign(report, actor=staff["both"], handler_id=staff["handler"].id)
    rewards.propose(report, actor=staff["handler"])
    db.session.expire_all()
    kept = [(r.amount_yuan, r.proposed_by_id, r.proposed_on, r.rejected_by_id, r.rejected_on,
             r.reason) for r in reward.rejections]
    assert kept == [
        (7_800, staff["handler"].id, first_day, staff["approver"].id, first_day,
         "罚款尚未缴纳，暂缓奖励。"),
        (9_000, staff["both"].id, second_day, staff["approver"].id, second_day,
         "举报前监管部门已在查处。"),
    ]
    assert reward.rejections[1].basis == "罚款 ¥60,000 × 15% = ¥9,000"
    assert (reward.status, reward.rejection_reason) == ("proposed", None)


def test_payment_is_recorded_only_once_claimed(staff):
    report = verified()
    reward = rewards.propose(report, actor=staff["handler"])
    with pytest.raises(RewardTransitionRefused):
        rewards.record_payment(reward, actor=staff["handler"], paid_on=local_today(), reference="X1")
    rewards.approve(reward, actor=staff["approver"])
    with pytest.raises(RewardTransitionRefused, match="申领后"):
        rewards.record_payment(reward, actor=staff["handler"], paid_on=local_today(), reference="X1")
    # The reporter claims (citizen side): by transfer, with encrypted payment details.
    reward.status, reward.claimed_on, reward.claim_method = "claimed", local_today(), "transfer"
    reward.payment_details = "中国农业银行 6228 0000 0000 0000 000 张某"
    db.session.commit()
    for paid_on, reference in [(None, "X1"), (local_today(), " "),
                               (local_today() + timedelta(days=1), "X1"),
                               (local_today() - timedelta(days=1), "X1")]:
        with pytest.raises(RewardValuesInvalid):
            rewards.record_payment(reward, actor=staff["handler"], paid_on=paid_on,
                                   reference=reference)
    rewards.record_payment(reward, actor=staff["handler"], paid_on=local_today(),
                           reference="NX20261130-0042")
    assert (reward.status, reward.paid_by_id, reward.payment_reference) == (
        "paid", staff["handler"].id, "NX20261130-0042")
    assert report.events[-1].kind == "reward_paid"
    summaries = " ".join(str(e.summary) for e in db.session.scalars(select(AuditEvent)))
    assert "6228" not in summaries and "NX20261130" not in summaries
    assert reward_actions()[-1] == "reward_pay"


@pytest.mark.parametrize(("approved_on", "due"), [
    (date(2026, 4, 2), date(2026, 6, 1)),  # Monday 06-01: stays
    (date(2025, 12, 17), date(2026, 2, 24)),  # Sunday 02-15, Spring Festival to 02-23
    (date(2026, 8, 11), date(2026, 10, 10)),  # Saturday 10-10, a swapped working day: stays
])
def test_the_claim_period_ends_on_a_working_day(staff, approved_on, due):
    reward = rewards.propose(verified(), actor=staff["handler"])
    assert rewards.approve(reward, actor=staff["approver"], today=approved_on) == due
    assert reward_claims.is_claimable(reward, due)
    assert reward_claims.is_expired(reward, due + timedelta(days=1))


def test_expiry_is_derived_from_the_claim_deadline(staff):
    reward = rewards.propose(verified(), actor=staff["handler"])
    due = rewards.approve(reward, actor=staff["approver"])
    assert not reward_claims.is_expired(reward, due)
    assert reward_claims.is_expired(reward, due + timedelta(days=1))
    reward.status, reward.claimed_on = "claimed", due
    assert not reward_claims.is_expired(reward, due + timedelta(days=1))
