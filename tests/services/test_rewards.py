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
from portal.services import cases, reward_claims, rewards
from portal.services.rewards import (
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
    # The duplicate is not rewarded, whatever verification found; its reporter was told why.
    later.verification_result = "true"
    db.session.commit()
    with pytest.raises(RewardNotAllowed, match="重复举报"):
        rewards.propose(later, actor=staff["handler"])
    assert "只奖励最先受理的举报" in later.events[-1].note
    assert rewards.propose(first, actor=staff["handler"]).amount_yuan == 7_800


def test_a_duplicate_accepted_before_its_original_blocks_the_original(staff):
    # Received first but accepted later than a report of the same matter: not the first accepted.
    original = verified(accepted_on=date(2026, 10, 9))
    duplicate = factories.accepted_report(accepted_on=date(2026, 10, 2))
    db.session.commit()
    cases.mark_duplicate(duplicate, actor=staff["handler"], original_id=original.id)
    with pytest.raises(RewardNotAllowed, match=f"{duplicate.number} 受理在先"):
        rewards.propose(original, actor=staff["handler"])


def test_approve_by_another_approver_opens_the_claim_period(app, staff):
    report = verified()
    reward = rewards.propose(report, actor=staff["handler"])
    due = rewards.approve(reward, actor=staff["approver"])
    assert due == local_today() + timedelta(days=app.config["SETTINGS"].reward_claim_days)
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


def test_expiry_is_derived_from_the_claim_deadline(staff):
    reward = rewards.propose(verified(), actor=staff["handler"])
    due = rewards.approve(reward, actor=staff["approver"])
    assert not reward_claims.is_expired(reward, due)
    assert reward_claims.is_expired(reward, due + timedelta(days=1))
    reward.status, reward.claimed_on = "claimed", due
    assert not reward_claims.is_expired(reward, due + timedelta(days=1))
