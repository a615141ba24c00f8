"""Demo reports: about 200 anonymous reports in every state, so every page has something to show.

Built through the real services (``reports.submit``, ``cases``, ``rewards``, ``reward_claims``)
with dates spread over the past year, handled by two demo staff accounts that cannot sign in.
Every text starts with 【演示数据】.  Receipt codes are derived from the secret key and the
report's position (demo only), so ``demo_receipt_codes`` can print two of them again for a
visitor to try the follow-up; no code is stored.
"""

from __future__ import annotations

import random
import secrets
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select

from portal import receipts
from portal.domain.accidents import AccidentLevel
from portal.domain.catalog import COUNTIES, PENALTY_DECISION
from portal.extensions import db
from portal.models import Decision, Report, local_date, local_today
from portal.services.demo.published import DEFAULT_SEED, DEMO_MARK
from portal.services.reporting import cases, reports, reward_claims, rewards
from portal.staff.models import APPROVER, HANDLER, StaffUser

DEMO_REPORTS = 200
HANDLER_NAME, APPROVER_NAME = "demo-handler", "demo-approver"
# The reports whose codes `make run` prints: one with a handler's question, one with a reward
# to claim (their positions in the script below).
QUESTION_REPORT, REWARD_REPORT = 17, 7
# The report (closed as rectified) from which `flask demo` opens a 督办 item that runs to 销号
# (portal.services.demo.supervision): its code is the third printed.
SUPERVISION_REPORT = 14

# One step of the script per report, in turn (report i follows SCRIPT[i % len(SCRIPT)]).
SCRIPT = (
    "received", "received_overdue", "declined", "accepted", "accepted_overdue", "extended",
    "reward_proposed", "reward_approved", "reward_claimed_transfer", "reward_claimed_in_person",
    "reward_paid", "reward_rejected", "reward_expired", "duplicate", "closed_rectified",
    "closed_unfounded", "reopened", "question", "concealed_paid", "verified_partly",
)
PLACES = ("厂区东侧仓库", "采场边坡下方", "二号车间", "储罐区", "施工现场基坑边", "办公楼地下室",
          "装卸码头", "村后山采区")
SEEN = ("2026年10月起", "上个月", "约两周前", "今年雨季以来", "最近三天")
WORDS = {
    "hazard": ("储罐区围堰破损，雨水混着油污外流，无人处理。", "采场边坡出现裂缝，仍安排工人在坡下作业。",
               "有限空间作业没有检测气体，也没有监护人。"),
    "violation": ("安全生产许可证已过期仍在生产。", "夜间超能力生产，工人连续工作十几个小时。",
                  "特种作业人员无证上岗，电焊工没有操作证。"),
    "concealed_accident": ("上周一名工人从高处坠落身亡，企业没有上报。",
                           "车间爆燃造成两人死亡，企业对外说是意外受伤。"),
}


@dataclass(frozen=True)
class DemoCode:
    number: str
    code: str
    what: str


def demo_code(secret_key: str, position: int) -> str:
    """The receipt code of demo report ``position`` (grouped): the same on every run."""
    rng = random.Random(f"{secret_key}:demo-report:{position}")
    random_part = "".join(rng.choice(receipts.ALPHABET) for _ in range(receipts.RANDOM_CHARS))
    return receipts.with_check(secret_key, random_part)


def _staff(username: str, role: str, display_name: str) -> StaffUser:
    from portal.staff import accounts

    user = accounts.find(username)
    if user is None:
        # A random password nobody knows and a disabled account: it only signs the demo's steps.
        user = accounts.create_account(username=username, password=secrets.token_urlsafe(24),
                                       roles={role}, display_name=display_name,
                                       totp_confirmed=True, actor_name="system")
        user.active = False
        db.session.commit()
    return user


def load_demo_reports(count: int = DEMO_REPORTS, *, seed: int = DEFAULT_SEED,
                      today: date | None = None) -> int:
    """Add ``count`` demo reports (once: none if reports exist); returns how many there are."""
    existing = db.session.scalar(select(func.count()).select_from(Report)) or 0
    if existing:
        return existing
    today = today or local_today()
    secret = current_app.config["SECRET_KEY"]
    rng = random.Random(seed)
    handler = _staff(HANDLER_NAME, HANDLER, "演示办理人员")
    approver = _staff(APPROVER_NAME, APPROVER, "演示审批人员")
    fined = _FinedDecisions(today)
    originals: list[Report] = []
    for position in range(count):
        step = SCRIPT[position % len(SCRIPT)]
        kind = "concealed_accident" if step == "concealed_paid" else rng.choice(
            ("hazard", "hazard", "violation"))
        # Recent enough for what it still waits for; older for what is long done.
        age = {"received": rng.randint(0, 5), "received_overdue": rng.randint(30, 40),
               "accepted": rng.randint(8, 30), "accepted_overdue": rng.randint(80, 120),
               "question": rng.randint(7, 20), "extended": rng.randint(55, 70),
               "reward_approved": rng.randint(30, 60), "reward_claimed_in_person": rng.randint(31, 60),
               "reward_expired": rng.randint(200, 300)}.get(step, rng.randint(30, 360))
        received = today - timedelta(days=age)
        # The decision the report led to: made after it was received (never before).
        decision = fined.after(received, rng)
        report, _ = reports.submit({
            "kind": kind,
            "enterprise_name": decision.party_name if decision else "西双版纳演示企业（演示）",
            "uscc": (decision.uscc or "") if decision else "",
            "county": decision.county if decision and decision.county in COUNTIES
            else rng.choice(COUNTIES),
            "place": f"{DEMO_MARK}{rng.choice(PLACES)}",
            "description": f"{DEMO_MARK}{rng.choice(WORDS[kind])}",
            "seen_since": rng.choice(SEEN),
            "contact": f"{DEMO_MARK}请工作日下午回电" if rng.random() < 0.2 else "",
        }, today=received)
        report.receipt_digest = receipts.digest(receipts.normalize(demo_code(secret, position)),
                                                secret)
        db.session.commit()
        # The decision is linked once it is public: later steps wait for it if need be.
        shift = max(0, (fined.published_on(decision) - received).days - LINK_AFTER_DAYS
                    ) if decision else 0
        _play(step, report, decision, originals, handler, approver, received, today, rng, shift)
        if report.status not in ("received", "declined"):
            originals.append(report)
    return count


# Days after receipt on which the handler links the decision (later if it is not public yet).
LINK_AFTER_DAYS = 24
# How long after a report its decision is looked for first (decided within the verification).
DECIDED_WITHIN_DAYS = 20


class _FinedDecisions:
    """The published, not withdrawn penalty decisions with a fine, by decision date: the demo
    reports link one made on or after the report's receipt, so that no date contradicts
    another (a report received in 2026 did not lead to a decision of 2022)."""

    def __init__(self, today: date) -> None:
        rows = db.session.execute(
            select(Decision.id, Decision.decision_date, Decision.published_at)
            .where(Decision.published_at.is_not(None), Decision.withdrawn_at.is_(None),
                   Decision.decision_type == PENALTY_DECISION, Decision.fine_yuan > 0)
            .order_by(Decision.decision_date, Decision.id)
        ).all()
        self.rows = [(decided, local_date(published), i) for i, decided, published in rows
                     if local_date(published) <= today]
        self.days = [decided for decided, _, _ in self.rows]

    def after(self, received: date, rng: random.Random) -> Decision | None:
        """One decided within ``DECIDED_WITHIN_DAYS`` of ``received`` (at random), else the
        first decided after it; None if there is none."""
        start = bisect_left(self.days, received)
        end = bisect_right(self.days, received + timedelta(days=DECIDED_WITHIN_DAYS))
        if start >= len(self.rows):
            return None
        index = rng.randrange(start, end) if end > start else start
        return db.session.get(Decision, self.rows[index][2])

    @staticmethod
    def published_on(decision: Decision) -> date:
        assert decision.published_at is not None
        return local_date(decision.published_at)


def _play(step: str, report: Report, decision: Decision | None, originals: list[Report],
          handler: StaffUser, approver: StaffUser, received: date, today: date,
          rng: random.Random, shift: int = 0) -> None:
    """Take ``report`` through the handling ``step`` names, with plausible dates; the steps
    from the decision's link on come ``shift`` days later (the decision was not public yet)."""
    def on(days: int) -> date:
        return min(received + timedelta(days=days + (shift if days >= LINK_AFTER_DAYS else 0)),
                   today)

    if step in ("received", "received_overdue"):
        return
    if step == "declined":
        cases.decline(report, actor=handler, today=on(3),
                      reason=f"{DEMO_MARK}所反映的问题不属于安全生产监管职责，已告知向住建部门反映。")
        return
    # A duplicate of a report accepted no later than itself: merging one accepted earlier into a
    # matter whose reward is proposed would move the reward, and is refused (the first accepted
    # report of a matter is rewarded).
    original = next((o for o in reversed(originals)
                     if o.accepted_on is not None and o.accepted_on <= on(2)), None)
    if step == "duplicate" and original is not None:
        cases.accept(report, actor=handler, today=on(2))
        cases.mark_duplicate(report, actor=handler, original_id=original.id, today=on(5))
        return
    cases.accept(report, actor=handler, today=on(2))
    if step in ("accepted", "accepted_overdue", "duplicate"):
        return
    if step == "question":
        cases.send_message(report, actor=handler, today=on(4),
                           body=f"{DEMO_MARK}请问您看到的储罐区在厂区哪一侧？方便的话请补充一张照片。")
        reports.add_reply(report, f"{DEMO_MARK}在厂区东侧，靠近围墙。", today=on(6))
        return
    if step == "extended":
        cases.extend(report, actor=handler, days=30, today=on(50),
                     reason=f"{DEMO_MARK}需要会同市场监管部门联合检查，延长核查期限。")
        return
    if step == "closed_unfounded":
        cases.verify(report, actor=handler, result="false", today=on(20))
        cases.close(report, actor=handler, closed_as="unfounded", today=on(22),
                    note=f"{DEMO_MARK}现场检查未发现所反映的问题。")
        return
    if step == "concealed_paid":
        cases.verify(report, actor=handler, result="true", concealed_deaths=rng.randint(1, 2),
                     confirmed_level=int(AccidentLevel.GENERAL), today=on(25))
    else:
        result = "partly" if step == "verified_partly" else "true"
        cases.verify(report, actor=handler, result=result, today=on(20))
    if step == "verified_partly":
        return
    if step in ("closed_rectified", "reopened"):
        cases.close(report, actor=handler, closed_as="rectified", today=on(30),
                    note=f"{DEMO_MARK}企业已按要求整改，复查合格。")
        if step == "reopened":
            reports.reopen(report, f"{DEMO_MARK}复查后又恢复原样，问题仍然存在。", today=on(40))
        return
    if report.kind != "concealed_accident":
        if decision is None:
            return
        cases.link_decision(report, actor=handler, document_no=decision.document_no,
                            today=on(LINK_AFTER_DAYS))
    reward = rewards.propose(report, actor=handler, today=on(26))
    if step == "reward_proposed":
        return
    if step == "reward_rejected":
        rewards.reject(reward, actor=approver, today=on(28),
                       reason=f"{DEMO_MARK}举报前监管部门已在查处该问题，不予奖励。")
        return
    rewards.approve(reward, actor=approver, today=on(28))
    if step in ("reward_approved", "reward_expired"):
        return
    if step == "reward_claimed_in_person":
        reward_claims.issue_claim_slip(reward, today=on(30))
        return
    reward_claims.claim_by_transfer(reward, f"{DEMO_MARK}开户行：演示银行；账号：6222 0000 0000 0000",
                                    today=on(30))
    if step in ("reward_paid", "concealed_paid"):
        # The report's handler pays (need-to-know: only the payer reads payment details).
        rewards.record_payment(reward, actor=handler, paid_on=on(35), today=on(35),
                               reference=f"{DEMO_MARK}转账流水 {rng.randint(10**9, 10**10)}")


def demo_receipt_codes() -> list[DemoCode]:
    """The receipt codes of three demo reports, to print for a visitor (demo only)."""
    secret = current_app.config["SECRET_KEY"]
    found = []
    for position, what in ((QUESTION_REPORT, "办理人员提了问题"), (REWARD_REPORT, "奖励已批准，可申领"),
                           (SUPERVISION_REPORT, "举报促成挂牌督办，已销号，可反映仍未整改")):
        code = demo_code(secret, position)
        try:
            report = reports.find_by_receipt(code)
        except reports.ReceiptNotFound:
            continue
        if position == SUPERVISION_REPORT and report.supervision_id is None:
            continue
        found.append(DemoCode(report.number, code, what))
    return found
