"""Rewards for verified reports: a handler proposes, a different approver decides, staff
record the payment once the reporter has claimed (DOMAIN.md §3; amounts from
``portal.domain.rewards``).

States (``portal.models.REWARD_STATES``)::

    proposed ─approve→ approved ─(reporter claims)→ claimed ─record payment→ paid
        └─reject→ rejected (a handler may propose again: the same row, back to
                  proposed; each rejected proposal and its reason stay in reward_rejections)
    approved and not claimed after claim_due: expired (derived: ``reward_claims.is_expired``)

The reporter's claim itself (payment details or a claim slip) is ``portal.services.reporting.reward_claims``.
Each step is one transaction with its timeline step and its audit event; audit summaries carry
amounts, dates and states, never payment details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from portal import audit, tokens
from portal.domain import rewards as rules
from portal.extensions import db
from portal.models import REWARD_STATES, Report, Reward, RewardRejection, local_today
from portal.services.reporting import cases, reward_claims
from portal.working_days import period_end

MIN_REASON_LENGTH = 4
MAX_REFERENCE_LENGTH = 200
REWARDED_RESULTS = ("true", "partly")
HAZARD_KINDS = ("hazard", "violation")
# portal.staff.models.APPROVER, not imported: code the report side uses never imports portal.staff.
APPROVER = "approver"


class RewardError(Exception):
    """A reward step was refused; ``str()`` is a message for staff."""


class RewardNotFound(RewardError):
    pass


class RewardNotAllowed(RewardError):
    """The report cannot be rewarded (not verified as true, a duplicate, not first accepted,
    nothing to compute from, already proposed)."""


class RewardTransitionRefused(RewardError):
    """The reward is not in a state that allows this step."""


class ApproverRequired(RewardError):
    """Only someone with the approver role, who did not propose the reward, may decide it."""


class RewardValuesInvalid(RewardError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


def get_reward(reward_id: int) -> Reward:
    reward = db.session.get(Reward, reward_id)
    if reward is None:
        raise RewardNotFound("未找到该奖励。")
    return reward


def claim_days() -> int:
    return current_app.config["SETTINGS"].reward_claim_days


# ---------------------------------------------------------------- eligibility and amount


def hazard_fine(report: Report) -> Decimal | None:
    """The fine the hazard or violation part is rewarded from: the amount the handler recorded
    for that part, else (for a hazard or violation report) the linked decision's whole fine."""
    if report.hazard_fine_yuan is not None:
        return report.hazard_fine_yuan
    return report.decision.fine_yuan if report.decision else None


def parts(report: Report) -> list[str]:
    """The parts ``report`` is rewarded for (``rules.HAZARD_PART``, ``rules.CONCEALED_PART``):
    the part its kind names, and the other one where the handler recorded it (a fine for the
    hazard part, concealed deaths for the concealed part)."""
    found = []
    if report.kind in HAZARD_KINDS or report.hazard_fine_yuan is not None:
        found.append(rules.HAZARD_PART)
    if report.kind == "concealed_accident" or report.concealed_deaths:
        found.append(rules.CONCEALED_PART)
    return found


def compute(report: Report) -> rules.RewardAmount:
    """The amount the rules give ``report``, a report that handles its matter (not merged into
    another): each of its parts by its own rule — the hazard or violation part from the fine,
    the concealed part from the concealed deaths and the confirmed level — capped in all.
    ``RewardNotAllowed`` if a part has no base yet."""
    amounts = []
    try:
        for part in parts(report):
            if part == rules.HAZARD_PART:
                amounts.append((part, rules.fine_share(hazard_fine(report))))
            else:
                amounts.append((part, rules.concealed_accident(report.concealed_deaths,
                                                               report.confirmed_level)))
    except rules.RewardBaseMissing as exc:
        raise RewardNotAllowed(str(exc)) from exc
    return rules.combine(amounts)


def check_eligible(report: Report) -> rules.RewardAmount:
    """Why ``report`` may not be rewarded (``RewardNotAllowed``), or the amount it earns.

    A matter (a report and those merged into it as duplicates) is handled on the report the
    others were merged into: its verification, decision and parts decide whether and how much.
    The reward goes to the matter's first accepted report (``cases.first_accepted``), whether
    it was merged into another or others into it — exactly one report of a rewarded matter."""
    if report.purged_on is not None:
        raise RewardNotAllowed("该举报的内容已清除。")
    root = cases.matter_root(report)
    if root.verification_result not in REWARDED_RESULTS:
        if root is report:
            raise RewardNotAllowed("只有核查属实或部分属实的举报才能奖励。")
        raise RewardNotAllowed(
            f"本举报已并入 {root.number} 办理：只有该举报核查属实或部分属实才能奖励。")
    first = cases.first_accepted(cases.matter_reports(report))
    if first is not None and first.id != report.id:
        raise RewardNotAllowed(
            f"同一事项的举报 {first.number} 受理在先：同一事项只奖励最先受理的举报。"
        )
    if cases.has_live_reward(report):
        raise RewardNotAllowed("该举报已提出过奖励。")
    return compute(root)


# ---------------------------------------------------------------- steps


def _audit(reward: Reward, action: str, actor: Any, **summary: Any) -> None:
    audit.record(db.session, action, actor=actor, object_kind="reward", object_id=reward.id,
                 summary={"report": reward.report.number, "amount_yuan": reward.amount_yuan,
                          "status": reward.status, **summary})


def propose(report: Report, *, actor: Any, today: date | None = None) -> Reward:
    """A handler proposes the reward the rules give ``report``; an approver decides it."""
    cases.check_worker(report, actor)  # need-to-know: the report's handler proposes
    amount = check_eligible(report)
    today = today or local_today()
    cases.take_for_step(report, actor)
    values = {"status": "proposed", "amount_yuan": amount.amount_yuan, "basis": amount.basis,
              "proposed_by_id": actor.id, "proposed_on": today, "decided_by_id": None,
              "decided_on": None, "rejection_reason": None}
    reward = report.reward
    if reward is None:
        reward = Reward(report=report, **values)
        db.session.add(reward)
    else:  # one reward per report: a rejected one is proposed again in place (its
        # rejection stays on record in ``reward.rejections``)
        for name, value in values.items():
            setattr(reward, name, value)
    db.session.flush()
    _audit(reward, "reward_propose", actor, basis=amount.basis)
    db.session.commit()
    return reward


def _check_approver(reward: Reward, actor: Any) -> None:
    if APPROVER not in actor.roles:
        raise ApproverRequired("只有具有奖励审批角色的人员才能审批奖励。")
    if reward.proposed_by_id == actor.id:
        raise ApproverRequired("奖励须由提出人以外的审批人员审批：您提出了这项奖励。")
    if reward.status != "proposed":
        raise RewardTransitionRefused(f"该奖励当前为“{reward.status_label}”，不能审批。")


def approve(reward: Reward, *, actor: Any, today: date | None = None) -> date:
    """Approve a proposed reward; the reporter may claim it within the configured number of
    days (the next working day if the last is a rest day: 民法典 Art. 203).  Returns the last
    day to claim."""
    _check_approver(reward, actor)
    today = today or local_today()
    due = period_end(today, claim_days()).due
    reward.status = "approved"
    reward.decided_by_id = actor.id
    reward.decided_on = today
    reward.claim_period_end = today + timedelta(days=claim_days())
    reward.claim_due = due
    reward.report.add_event(
        "reward_approved", today,
        f"奖励 {rules.yuan(reward.amount_yuan)}，请于{cases.cn_date(due)}前凭回执码申领。",
    )
    _audit(reward, "reward_approve", actor, claim_due=due)
    db.session.commit()
    return due


def reject(reward: Reward, *, actor: Any, reason: str, today: date | None = None) -> None:
    """Reject a proposed reward with a reason.  The reason is for staff (on the reward); the
    reporter's timeline says only that the proposal was not approved (``REWARD_REJECTED_NOTE``)."""
    _check_approver(reward, actor)
    reason = (reason or "").strip()
    if not MIN_REASON_LENGTH <= len(reason) <= cases.MAX_TEXT_LENGTH:
        raise RewardValuesInvalid(
            {"reason": f"请填写驳回理由（{MIN_REASON_LENGTH}–{cases.MAX_TEXT_LENGTH} 个字）。"}
        )
    today = today or local_today()
    reward.status = "rejected"
    reward.decided_by_id = actor.id
    reward.decided_on = today
    reward.rejection_reason = reason
    # Kept as it stood: a new proposal resets the reward row, not this record.
    reward.rejections.append(RewardRejection(
        amount_yuan=reward.amount_yuan, basis=reward.basis, proposed_by_id=reward.proposed_by_id,
        proposed_on=reward.proposed_on, rejected_by_id=actor.id, rejected_on=today, reason=reason,
    ))
    reward.report.add_event("reward_rejected", today)
    _audit(reward, "reward_reject", actor)
    db.session.commit()


def record_payment(
    reward: Reward, *, actor: Any, paid_on: date | None, reference: str,
    today: date | None = None,
) -> None:
    """Record that a claimed reward was paid (by transfer or at the counter)."""
    if reward.status != "claimed":
        raise RewardTransitionRefused(
            f"该奖励当前为“{reward.status_label}”：举报人申领后才能登记发放。"
        )
    cases.require_payer(reward, actor)  # need-to-know: only the payer reads payment details
    today = today or local_today()
    errors = {}
    reference = (reference or "").strip()
    if not reference:
        errors["reference"] = "请填写转账流水号或领取凭证编号。"
    elif len(reference) > MAX_REFERENCE_LENGTH:
        errors["reference"] = f"不能超过 {MAX_REFERENCE_LENGTH} 个字。"
    if paid_on is None:
        errors["paid_on"] = "请填写发放日期。"
    elif paid_on > today or (reward.claimed_on and paid_on < reward.claimed_on):
        errors["paid_on"] = "发放日期须在申领之后、不晚于今天。"
    if errors:
        raise RewardValuesInvalid(errors)
    assert paid_on is not None
    reward.status = "paid"
    reward.paid_on = paid_on
    reward.paid_by_id = actor.id
    reward.payment_reference = reference
    reward.report.add_event("reward_paid", paid_on, f"奖励 {rules.yuan(reward.amount_yuan)} 已发放。")
    _audit(reward, "reward_pay", actor, paid_on=paid_on, claim_method=reward.claim_method)
    db.session.commit()


# ---------------------------------------------------------------- lists


@dataclass(frozen=True)
class RewardPage:
    items: list[Reward]
    total: int
    page: int
    pages: int


def list_rewards(*, status: str = "", page: int = 1, page_size: int = 20) -> RewardPage:
    """Rewards by state, oldest decision first for what waits on staff, newest otherwise."""
    conditions = [Reward.status == status] if status in REWARD_STATES else []
    total = db.session.scalar(select(func.count()).select_from(Reward).where(*conditions)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    order = (Reward.id,) if status in ("proposed", "claimed") else (Reward.id.desc(),)
    items = list(db.session.scalars(
        select(Reward).where(*conditions).order_by(*order)
        .offset((page - 1) * page_size).limit(page_size)
    ))
    return RewardPage(items, total, page, pages)


def counts() -> dict[str, int]:
    """How many rewards are in each state (for the staff home)."""
    rows = db.session.execute(select(Reward.status, func.count()).group_by(Reward.status))
    return {status: n for status, n in rows}


def check_slip_at_counter(slip: str, *, actor: Any) -> Reward:
    """Check a claim slip a reporter shows at the counter; audited whatever the answer.

    Raises ``portal.tokens.TokenExpired`` or ``TokenInvalid`` (see
    ``reward_claims.check_claim_slip``)."""
    try:
        reward = reward_claims.check_claim_slip(slip)
    except tokens.TokenInvalid as exc:
        result = "expired" if isinstance(exc, tokens.TokenExpired) else "invalid"
        audit.record(db.session, "reward_slip_check", actor=actor, object_kind="reward",
                     summary={"result": result})
        db.session.commit()
        raise
    audit.record(db.session, "reward_slip_check", actor=actor, object_kind="reward",
                 object_id=reward.id, summary={"result": "genuine", "report": reward.report_id})
    db.session.commit()
    return reward
