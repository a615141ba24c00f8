"""Handling a report in the back office: accept or decline, ask, extend, verify, link, close.

Each step is one transaction: the report's new state, a timeline step the reporter sees
(``Report.add_event``) and an audit event (``portal.audit``).  The audit summary carries states,
dates and codes only, never the report's words nor what staff write to the reporter: those stay
encrypted in the report's own tables.  Report text never goes into any search index; candidate
duplicates are found by the keyed digests of the enterprise's credit code and name, and the
county.

Need-to-know (DESIGN.md §3, issue 13 §4), checked here for every caller, not only in templates:

- A report is assigned to one handler (``Report.handler_id``): automatically at submission by
  its county (``reports.submit``; the handler of that county with the fewest open cases), or
  by hand.  Any handler may *take* an unassigned report (``take``, audited); the assigned
  handler or an administrator may hand it to another handler (``assign``, audited); nobody
  assigns a report to themselves except by taking an unassigned one.
- Only the assigned handler reads the report's content (``open_report`` → ``CONTENT``),
  its photos and messages, and works it; a step on an unassigned report takes it first.
- An approver sees, for a report with a reward, what the decision needs (``REWARD``: the
  enterprise, verification result, concealed deaths and level, decision and fine, matter,
  amount) — never the report's words, photos, messages, contact details or payment details.
- Anyone else with access to the queue (other handlers, approvers, administrators) sees the
  queue line only (``LINE``: number, kind, county, status, dates, deadline, who has it).
- Payment details: only the assigned handler, and only while the approved reward is claimed
  and waits for payment (``payment_details_for``); that handler records the payment.

States (``portal.models.REPORT_STATES``)::

    received ─accept→ accepted ─verify→ verified ─close→ closed ─(reporter)→ reopened
        └─decline→ declined                                     reopened ─accept again→ accepted
    any open state ─duplicate→ closed (closed_as "duplicate")     reopened ─close again→ closed
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, or_, select

from portal import audit
from portal.credentials import site_keys
from portal.domain.accidents import AccidentLevel
from portal.domain.catalog import REPORT_EXTENSION_DAYS, REPORT_VERIFICATION_DAYS
from portal.extensions import db
from portal.models import (
    CLOSED_AS,
    REPORT_KINDS,
    REPORT_STATES,
    VERIFICATION_RESULTS,
    Decision,
    Report,
    ReportMessage,
    ReportPhoto,
    local_today,
)
from portal.services.reporting import reports
from portal.working_days import period_end

MIN_REASON_LENGTH = 4
MAX_TEXT_LENGTH = 2000
MAX_MESSAGE_LENGTH = 5000
# Deaths a concealed-accident report can plausibly record (guards the arithmetic, not the law).
MAX_CONCEALED_DEATHS = 10_000
# States in which the report is still being worked on (the queue shows them first).
OPEN_STATES = ("received", "accepted", "verified", "reopened")
# Closing after verification: what the handler may say, by what verification found.
CLOSE_OUTCOMES_TRUE = ("rectified", "handled")
CLOSE_OUTCOMES_FALSE = ("unfounded",)

DUPLICATE_NOTE = ("经核查，您的举报与此前收到的另一举报反映的是同一事项，已合并办理，本举报办结。"
                  "按照举报奖励办法，同一事项只奖励最先受理的举报。")


class CaseError(Exception):
    """A step on a report was refused; ``str()`` is a message for the handler."""


class ReportNotFound(CaseError):
    pass


class CaseTransitionRefused(CaseError):
    """The report is not in a state that allows this step (e.g. accepting it twice)."""


class AccessDenied(CaseError):
    """The actor may not see or do this on this report (need-to-know)."""


class CaseValuesInvalid(CaseError):
    """Values the step needs are missing or wrong; ``errors`` maps form fields to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


# ---------------------------------------------------------------- reading


def get_report(report_id: int) -> Report:
    """The report with ``report_id`` or ``ReportNotFound``."""
    report = db.session.get(Report, report_id)
    if report is None:
        raise ReportNotFound("未找到该举报。")
    return report


def get_photo(report: Report, photo_id: int) -> ReportPhoto:
    """A photo of ``report`` (sent with it or with a later message) or ``ReportNotFound``."""
    photo = db.session.get(ReportPhoto, photo_id)
    if photo is None or photo.report_id != report.id:
        raise ReportNotFound("未找到该照片。")
    return photo


def deadline(report: Report) -> date | None:
    """The date the next step is due: acceptance while received, verification while accepted
    or reopened; nothing otherwise."""
    if report.status == "received":
        return report.acceptance_due
    if report.status in ("accepted", "reopened"):
        return report.verification_due
    return None


def _deadline_column() -> Any:
    return case(
        (Report.status == "received", Report.acceptance_due),
        (Report.status.in_(("accepted", "reopened")), Report.verification_due),
        else_=None,
    )


# portal.staff.models' role names, not imported: code the report side uses never imports
# portal.staff (see portal.services.reporting.rewards).
HANDLER, APPROVER, ADMIN = "handler", "approver", "admin"
# What of a report an actor may see (``access_level``).
LINE, REWARD, CONTENT = "line", "reward", "content"


@dataclass(frozen=True)
class CaseLine:
    """What anyone with the queue may see of a report: no word of its content."""

    id: int
    number: str
    kind: str
    kind_label: str
    county: str
    status: str
    status_label: str
    received_on: date
    handler_id: int | None
    purged: bool
    # The language of the pages the report was made on (portal.i18n): the office finds a
    # translator by it.
    language: str = "zh"

    @classmethod
    def of(cls, report: Report) -> CaseLine:
        return cls(report.id, report.number, report.kind, report.kind_label, report.county,
                   report.status, report.status_label, report.received_on, report.handler_id,
                   report.purged_on is not None, report.language or "zh")


@dataclass(frozen=True)
class QueueRow:
    report: CaseLine
    due: date | None
    days_left: int | None

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int


def queue(
    *, status: str = "", kind: str = "", page: int = 1, page_size: int = 20,
    today: date | None = None, handler_id: int | None = None, unassigned: bool = False,
) -> QueuePage:
    """Queue lines (``CaseLine``: never content), the most urgent first: those with a deadline
    by that date (so overdue ones lead), then the rest newest first.  ``status`` "open" means
    any open state; ``handler_id`` keeps one handler's reports, ``unassigned`` those of none."""
    today = today or local_today()
    conditions: list[Any] = []
    if handler_id is not None:
        conditions.append(Report.handler_id == handler_id)
    elif unassigned:
        conditions.append(Report.handler_id.is_(None))
    if status == "open":
        conditions.append(Report.status.in_(OPEN_STATES))
    elif status in REPORT_STATES:
        conditions.append(Report.status == status)
    if kind in REPORT_KINDS:
        conditions.append(Report.kind == kind)
    due = _deadline_column()
    total = db.session.scalar(select(func.count()).select_from(Report).where(*conditions)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    reports = db.session.scalars(
        select(Report)
        .where(*conditions)
        # NULL deadlines last on every database (PostgreSQL sorts NULL first when descending
        # and last when ascending; SQLite the other way round): sort on "has none" first.
        .order_by(case((due.is_(None), 1), else_=0), due, Report.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    rows = []
    for report in reports:
        when = deadline(report)
        rows.append(QueueRow(CaseLine.of(report), when,
                             None if when is None else (when - today).days))
    return QueuePage(rows, total, page, pages)


def candidate_duplicates(report: Report) -> list[Report]:
    """Other reports of the same enterprise (same credit code or same name, by their keyed
    digests) in the same county, oldest first.  Nothing else is compared: no report text."""
    # The digests under every secret key in use, so reports stored before a key rotation
    # still meet those after it.
    names, codes = {report.name_digest}, {report.uscc_digest}
    for key in site_keys()[1:]:
        name, code = reports.enterprise_digests(report.enterprise_name, report.uscc, secret_key=key)
        names.add(name)
        codes.add(code)
    same: list[Any] = []
    if codes - {None}:
        same.append(Report.uscc_digest.in_(codes - {None}))
    if names - {None}:
        same.append(Report.name_digest.in_(names - {None}))
    if not same:
        return []
    return list(db.session.scalars(
        select(Report)
        .where(Report.id != report.id, Report.county == report.county, or_(*same))
        .order_by(Report.id)
    ))


def find_decision(document_no: str) -> Decision | None:
    """The enforcement decision with this 文号 (exactly, after trimming)."""
    return db.session.scalar(select(Decision).where(Decision.document_no == document_no.strip()))


def matter_root(report: Report) -> Report:
    """The report the matter is handled on: ``report`` itself, or the one it was merged into.
    Its verification, linked decision and recorded parts are the matter's."""
    return report.duplicate_of or report


def matter_reports(report: Report) -> list[Report]:
    """The report and those linked to it as duplicates (the whole matter), oldest first."""
    root = matter_root(report)
    return [root, *db.session.scalars(
        select(Report).where(Report.duplicate_of_id == root.id).order_by(Report.id)
    )]


def has_live_reward(report: Report) -> bool:
    """A reward proposed, approved, claimed or paid (not rejected) for ``report``."""
    return report.reward is not None and report.reward.status != "rejected"


def _acceptance_order(report: Report) -> tuple[date, int, int]:
    assert report.accepted_on is not None
    # Acceptance is recorded by date only.  On one date, a report that already has a live reward
    # was accepted first (a reward is proposed only for the first accepted report, so any report
    # accepted the same day was accepted after it); otherwise the one received first.
    return (report.accepted_on, 0 if has_live_reward(report) else 1, report.id)


def first_accepted(reports: list[Report]) -> Report | None:
    """The report of a matter accepted first (by acceptance date, then see
    ``_acceptance_order``): the one report of the matter that may be rewarded."""
    accepted = [r for r in reports if r.accepted_on is not None]
    return min(accepted, key=_acceptance_order) if accepted else None


def _live_reward_in(reports: list[Report]) -> Report | None:
    return next((r for r in reports if has_live_reward(r)), None)


# ---------------------------------------------------------------- helpers


def _reason(value: str | None, field: str, what: str) -> str:
    text = (value or "").strip()
    if len(text) < MIN_REASON_LENGTH:
        raise CaseValuesInvalid({field: f"请填写{what}（至少 {MIN_REASON_LENGTH} 个字）。"})
    if len(text) > MAX_TEXT_LENGTH:
        raise CaseValuesInvalid({field: f"{what}不能超过 {MAX_TEXT_LENGTH} 个字。"})
    return text


def _require(report: Report, *states: str, doing: str) -> None:
    if report.purged_on is not None:
        raise CaseTransitionRefused("该举报的内容已按保存期限清除，不能再办理。")
    if report.status not in states:
        raise CaseTransitionRefused(f"该举报当前状态为“{report.status_label}”，不能{doing}。")


def _audit(report: Report, action: str, actor: Any, **summary: Any) -> None:
    audit.record(db.session, action, actor=actor, object_kind="report", object_id=report.id,
                 summary={"number": report.number, "status": report.status, **summary})


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# ---------------------------------------------------------------- need-to-know


def is_assigned(report: Report, actor: Any) -> bool:
    """``actor`` is the handler the report is assigned to (and still holds the role)."""
    return report.handler_id is not None and report.handler_id == actor.id and (
        HANDLER in actor.roles)


def access_level(report: Report, actor: Any) -> str:
    """``CONTENT`` for the assigned handler, ``REWARD`` for an approver once the report has a
    reward to decide, ``LINE`` for everyone else."""
    if is_assigned(report, actor):
        return CONTENT
    if APPROVER in actor.roles and report.reward is not None:
        return REWARD
    return LINE


def require_content(report: Report, actor: Any) -> None:
    """``AccessDenied`` unless ``actor`` may read the report's content."""
    if not is_assigned(report, actor):
        raise AccessDenied("只有承办该举报的人员才能查看举报内容。")


def check_worker(report: Report, actor: Any) -> None:
    """``AccessDenied`` unless ``actor`` may work the report: a handler, and the report is
    """
    if HANDLER not in actor.roles:
        raise AccessDenied("只有举报处理人员才能办理举报。")
    if report.handler_id is not None and report.handler_id != actor.id:
        raise AccessDenied("该举报由其他人员承办：请由承办人办理，或请承办人、管理员改派。")


def take_for_step(report: Report, actor: Any) -> None:
    """Take an unassigned report for ``actor`` inside the caller's step (audited; the step
    commits)."""
    if report.handler_id is None:
        report.handler_id = actor.id
        _audit(report, "report_take", actor)


def take(report: Report, *, actor: Any) -> None:
    """A handler takes an unassigned report: from now on they read and work it (audited)."""
    if HANDLER not in actor.roles:
        raise AccessDenied("只有举报处理人员才能承办举报。")
    if report.handler_id == actor.id:
        raise CaseTransitionRefused("您已承办该举报。")
    if report.handler_id is not None:
        raise CaseTransitionRefused("该举报已由其他人员承办：请由承办人或管理员改派。")
    take_for_step(report, actor)
    db.session.commit()


def assignable_handlers() -> list[Any]:
    """Active accounts holding the handler role, by name (the choices for ``assign``)."""
    from portal.staff.models import StaffRole, StaffUser

    return list(db.session.scalars(
        select(StaffUser).join(StaffRole, StaffRole.user_id == StaffUser.id)
        .where(StaffRole.role == HANDLER, StaffUser.active.is_(True))
        .order_by(StaffUser.username)
    ))


def assign(report: Report, *, actor: Any, handler_id: int | None) -> Any:
    """Hand the report to another handler.  Allowed to an administrator and to the handler
    who has it; never to oneself (taking an unassigned report is ``take``).  Returns the new
    handler's account."""
    if ADMIN not in actor.roles and not is_assigned(report, actor):
        raise AccessDenied("只有承办人或管理员才能改派举报。")
    target = next((h for h in assignable_handlers() if h.id == handler_id), None)
    if target is None:
        raise CaseValuesInvalid({"handler_id": "请选择一位启用中的举报处理人员。"})
    if target.id == actor.id:
        raise CaseValuesInvalid({"handler_id": "不能把举报指派给自己：未分配的举报可直接承办。"})
    if target.id == report.handler_id:
        raise CaseValuesInvalid({"handler_id": "该举报已由此人承办。"})
    before = report.handler_id
    report.handler_id = target.id
    _audit(report, "report_assign", actor, handler=[before, target.id])
    db.session.commit()
    return target


def handler_for_county(county: str) -> int | None:
    """The handler new reports of ``county`` go to: among active handlers with that county,
    the one with the fewest open reports, then the oldest account.  None if nobody has it."""
    from portal.staff.models import StaffCounty, StaffRole, StaffUser

    open_cases = (
        select(func.count()).select_from(Report)
        .where(Report.handler_id == StaffUser.id, Report.status.in_(OPEN_STATES))
        .scalar_subquery()
    )
    return db.session.scalar(
        select(StaffUser.id)
        .join(StaffRole, StaffRole.user_id == StaffUser.id)
        .join(StaffCounty, StaffCounty.user_id == StaffUser.id)
        .where(StaffRole.role == HANDLER, StaffCounty.county == county,
               StaffUser.active.is_(True))
        .order_by(open_cases, StaffUser.id)
        .limit(1)
    )


def handler_names(ids: set[int | None]) -> dict[int, str]:
    """Display names of the handlers with these ids (for queue lines)."""
    from portal.staff.models import StaffUser

    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.name for u in db.session.scalars(
        select(StaffUser).where(StaffUser.id.in_(wanted)))}


@dataclass(frozen=True)
class CasePage:
    """A report as ``actor`` may see it: ``report`` only at ``CONTENT``, ``reward_report`` (the
    report, for the reward fields the template shows) only at ``REWARD``."""

    level: str
    line: CaseLine
    due: date | None
    report: Report | None = None
    reward_report: Report | None = None


def open_report(report: Report, *, actor: Any) -> CasePage:
    """The report page's data for ``actor``.  Showing content (or the reward summary) is one
    audited view of the report: exactly one ``report_view`` event per call, which also
    covers the thumbnails the page shows (their links are made by this view)."""
    level = access_level(report, actor)
    page = CasePage(level, CaseLine.of(report), deadline(report))
    if level == CONTENT:
        record_view(report, actor=actor)
        return CasePage(level, page.line, page.due, report=report)
    if level == REWARD:
        record_view(report, actor=actor, page="reward_summary")
        return CasePage(level, page.line, page.due, reward_report=report)
    return page


def record_view(report: Report, *, actor: Any, page: str = "report") -> None:
    """Write to the audit log that ``actor`` opened the report (every time: DESIGN.md §3)."""
    _audit(report, "report_view", actor, page=page)
    db.session.commit()


def photo_for(report: Report, photo_id: int, *, actor: Any) -> ReportPhoto:
    """A photo of the report, for its assigned handler only (``AccessDenied`` otherwise)."""
    require_content(report, actor)
    return get_photo(report, photo_id)


def record_photo_view(report: Report, photo: ReportPhoto, *, actor: Any) -> None:
    """Write to the audit log that ``actor`` opened one of the report's photos (the full photo,
    or a thumbnail without a fresh link from a view of the page)."""
    _audit(report, "report_photo_view", actor, photo=photo.id)
    db.session.commit()


def may_see_reward(report: Report, actor: Any) -> bool:
    """Approvers (any reward) and the report's assigned handler see a reward's page."""
    return APPROVER in actor.roles or is_assigned(report, actor)


def may_pay(reward: Any, actor: Any) -> bool:
    """Who records the payment: the report's assigned handler, once the approved reward has
    been claimed (payment details are theirs to read then, and no one else's)."""
    return reward.status == "claimed" and is_assigned(reward.report, actor)


def require_payer(reward: Any, actor: Any) -> None:
    """``AccessDenied`` unless ``actor`` may record the payment of ``reward``."""
    if not is_assigned(reward.report, actor):
        raise AccessDenied("奖励由承办该举报的人员在举报人申领后登记发放。")


def payment_details_for(reward: Any, *, actor: Any) -> str | None:
    """The reporter's payment details if ``actor`` may read them now (``may_pay``), else None.
    Reading them is an audited view of the report."""
    if not (may_pay(reward, actor) and reward.payment_details):
        return None
    record_view(reward.report, actor=actor, page="reward_payment_details")
    return reward.payment_details


# ---------------------------------------------------------------- finding by number

NUMBER_PATTERN = re.compile(r"^JB(\d{4})-?(\d{1,12})$")


class NumberInvalid(CaseError):
    """Not a report number at all (the format is JB2026-000008)."""


def find_by_number(text: str) -> Report:
    """The report with this number (``JB2026-000008``; case, full-width characters, spaces
    and leading zeros do not matter).  ``NumberInvalid`` for something that is not a number,
    ``ReportNotFound`` for a number no report has."""
    raw = unicodedata.normalize("NFKC", text or "")
    compact = "".join(ch for ch in raw if not ch.isspace()).upper()
    match = NUMBER_PATTERN.match(compact)
    if match is None:
        raise NumberInvalid("举报编号的格式为 JB2026-000008。")
    year, row_id = int(match.group(1)), int(match.group(2))
    report = db.session.get(Report, row_id) if 0 < row_id <= reports.MAX_ROW_ID else None
    if report is None or report.received_on.year != year:
        raise ReportNotFound(f"没有编号为 JB{year}-{row_id:06d} 的举报。")
    return report


# ---------------------------------------------------------------- transitions


def accept(report: Report, *, actor: Any, today: date | None = None) -> date:
    """Accept a received report: verification is due ``REPORT_VERIFICATION_DAYS`` later (the
    next working day if that is a rest day).  Returns that date."""
    check_worker(report, actor)
    _require(report, "received", doing="受理")
    today = today or local_today()
    # No reward can be proposed in this report's matter yet: a received report is either on its
    # own or the one the others were merged into, which must be verified before any reward.
    start_verification(report, today)
    due = report.verification_due
    assert due is not None
    take_for_step(report, actor)
    report.status = "accepted"
    report.accepted_on = today
    report.handler_id = actor.id
    report.add_event("accepted", today, f"核查期限：{cn_date(due)}前。")
    _audit(report, "report_accept", actor, accepted_on=today, verification_due=due,
           on_time=report.acceptance_due is None or today <= report.acceptance_due)
    db.session.commit()
    return due


def start_verification(report: Report, start: date) -> None:
    """Set the deadlines of a verification starting on ``start`` (the caller records the step
    and commits): ``REPORT_VERIFICATION_DAYS`` calendar days from ``start``, the stored due date
    being its last day moved off a rest day (民法典 Art. 203)."""
    deadline = period_end(start, REPORT_VERIFICATION_DAYS)
    report.verification_period_end = start + timedelta(days=REPORT_VERIFICATION_DAYS)
    report.verification_due = deadline.due


def decline(report: Report, *, actor: Any, reason: str, today: date | None = None) -> None:
    """Decline a received report with a reason the reporter reads at follow-up."""
    check_worker(report, actor)
    _require(report, "received", doing="作不予受理")
    reason = _reason(reason, "reason", "不予受理的理由")
    today = today or local_today()
    take_for_step(report, actor)
    report.status = "declined"
    report.decline_reason = reason
    report.handler_id = actor.id
    report.add_event("declined", today, reason)
    _audit(report, "report_decline", actor, declined_on=today)
    db.session.commit()


def send_message(report: Report, *, actor: Any, body: str, today: date | None = None) -> None:
    """A message or question to the reporter, who reads it (and may answer) at follow-up."""
    check_worker(report, actor)
    if report.purged_on is not None:
        raise CaseTransitionRefused("该举报的内容已按保存期限清除，不能再发送消息。")
    text = (body or "").strip()
    if not text:
        raise CaseValuesInvalid({"body": "请填写消息内容。"})
    if len(text) > MAX_MESSAGE_LENGTH:
        raise CaseValuesInvalid({"body": f"消息不能超过 {MAX_MESSAGE_LENGTH} 个字。"})
    take_for_step(report, actor)
    report.messages.append(ReportMessage(
        sent_on=today or local_today(), author="staff", staff_id=actor.id, body=text,
    ))
    _audit(report, "report_message", actor, length=len(text))
    db.session.commit()


def extend(
    report: Report, *, actor: Any, days: int | None, reason: str, today: date | None = None
) -> date:
    """Extend verification once, by at most ``REPORT_EXTENSION_DAYS``, with a reason the
    reporter is told.  Returns the new deadline.

    The extension lengthens the one verification period: its days are added to the period's
    last day by the calendar (not to that day moved off a rest day), and the new last day is
    moved off a rest day in its turn (民法典 Art. 203)."""
    check_worker(report, actor)
    _require(report, "accepted", doing="延长核查期限")
    if report.extension_reason is not None:
        raise CaseTransitionRefused("核查期限只能延长一次，本举报已延长过。")
    errors = {}
    if days is None or not 1 <= days <= REPORT_EXTENSION_DAYS:
        errors["days"] = f"延长天数须为 1–{REPORT_EXTENSION_DAYS} 天。"
    try:
        reason = _reason(reason, "reason", "延期理由")
    except CaseValuesInvalid as exc:
        errors |= exc.errors
    if errors:
        raise CaseValuesInvalid(errors)
    assert days is not None and report.verification_due is not None
    take_for_step(report, actor)
    before = report.verification_due
    # Reports accepted before the period's end was stored: their due date was never moved.
    end = report.verification_period_end or before
    deadline = period_end(end, days)
    due = deadline.due
    report.verification_period_end = end + timedelta(days=days)
    report.verification_due = due
    report.extension_reason = reason
    report.add_event("extended", today or local_today(), f"{reason}（核查期限延至{cn_date(due)}）")
    _audit(report, "report_extend", actor, days=days, verification_due=[before, due])
    db.session.commit()
    return due


def verify(
    report: Report, *, actor: Any, result: str, concealed_deaths: int | None = None,
    confirmed_level: int | None = None, today: date | None = None,
) -> None:
    """Record what verification found (属实 / 部分属实 / 不属实) and, where the report
    revealed a concealed accident (its kind, or a hazard or violation report that also did), the
    concealed deaths and the finally confirmed level (the concealed part's reward base)."""
    check_worker(report, actor)
    _require(report, "accepted", doing="登记核查结果")
    errors = {}
    if result not in VERIFICATION_RESULTS:
        errors["result"] = "请选择核查结果。"
    if concealed_deaths is not None and not 0 <= concealed_deaths <= MAX_CONCEALED_DEATHS:
        errors["concealed_deaths"] = "请填写 0 或正整数。"
    if confirmed_level is not None and confirmed_level not in set(AccidentLevel):
        errors["confirmed_level"] = "请选择事故等级。"
    if concealed_deaths and confirmed_level is None and "confirmed_level" not in errors:
        errors["confirmed_level"] = "登记了瞒报死亡人数的，请选择最终认定的事故等级。"
    if confirmed_level is not None and not concealed_deaths and "concealed_deaths" not in errors:
        errors["concealed_deaths"] = "选择了事故等级的，请填写核实的瞒报死亡人数。"
    if errors:
        raise CaseValuesInvalid(errors)
    today = today or local_today()
    take_for_step(report, actor)
    report.status = "verified"
    report.verification_result = result
    report.verified_on = today
    report.concealed_deaths = concealed_deaths
    report.confirmed_level = confirmed_level
    report.add_event("verified", today, f"核查结果：{VERIFICATION_RESULTS[result]}。")
    _audit(report, "report_verify", actor, result=result, verified_on=today,
           on_time=report.verification_due is None or today <= report.verification_due,
           concealed_deaths=concealed_deaths, confirmed_level=confirmed_level)
    db.session.commit()


def link_decision(
    report: Report, *, actor: Any, document_no: str, hazard_fine_yuan: Decimal | None = None,
    today: date | None = None,
) -> Decision:
    """Link the enforcement decision (by its 文号) that followed the report: its fine is the
    base of the hazard or violation part.  ``hazard_fine_yuan``: the part of that fine imposed
    for the reported hazard or violation, where it is not the whole fine (the decision also
    punishes a concealed accident) or the report is of a concealed accident that also showed
    a hazard.  Returns the decision."""
    check_worker(report, actor)
    _require(report, "accepted", "verified", "closed", "reopened", doing="关联处罚决定")
    if report.closed_as == "duplicate":
        raise CaseTransitionRefused("重复举报已合并到先前的举报办理，请在先前的举报上关联决定。")
    number = (document_no or "").strip()
    if not number:
        raise CaseValuesInvalid({"document_no": "请填写处罚决定文号。"})
    decision = find_decision(number)
    if decision is None:
        raise CaseValuesInvalid({"document_no": "没有这个文号的处罚决定：请先在“执法决定”中录入。"})
    if decision.is_withdrawn:
        raise CaseValuesInvalid({"document_no": "该决定已撤回，不能作为处理结果。"})
    if hazard_fine_yuan is not None:
        if not hazard_fine_yuan.is_finite() or hazard_fine_yuan < 0:
            raise CaseValuesInvalid({"hazard_fine_yuan": "请填写 0 或正数金额（元）。"})
        if decision.fine_yuan is None or hazard_fine_yuan > decision.fine_yuan:
            raise CaseValuesInvalid({"hazard_fine_yuan": "不能超过该决定的罚款金额。"})
    if _live_reward_in(matter_reports(report)) is not None:
        raise CaseTransitionRefused("已提出奖励，不能再更改关联的处罚决定。")
    take_for_step(report, actor)
    before = report.decision.document_no if report.decision else None
    report.decision = decision
    report.hazard_fine_yuan = hazard_fine_yuan
    report.add_event("decision_linked", today or local_today(),
                     f"处罚决定：{decision.document_no}")
    _audit(report, "report_link_decision", actor, decision=decision.id,
           document_no=[before, decision.document_no],
           hazard_fine_yuan=None if hazard_fine_yuan is None else str(hazard_fine_yuan))
    db.session.commit()
    return decision


def mark_duplicate(
    report: Report, *, actor: Any, original_id: int | None, today: date | None = None
) -> Report:
    """Close ``report`` as the same matter as an earlier report; its reporter is told so and
    that only the first accepted report of a matter is rewarded.  Returns the original."""
    check_worker(report, actor)
    _require(report, *OPEN_STATES, doing="标记为重复举报")
    original = db.session.get(Report, original_id) if original_id else None
    if original is None or original.id == report.id:
        raise CaseValuesInvalid({"original_id": "请选择先前的举报。"})
    if original.id > report.id:
        raise CaseValuesInvalid({"original_id": "只能合并到先收到的举报。"})
    if original.duplicate_of_id is not None:
        original = original.duplicate_of  # the matter's first report, so chains stay one deep
        assert original is not None
    if original.status == "declined":
        raise CaseValuesInvalid({"original_id": "先前的举报未予受理，不能合并到它。"})
    own = matter_reports(report)
    if _live_reward_in(own) is not None:
        # Its reward was computed from this report's verification; merged, the matter would be
        # handled on the original, with another verification.
        raise CaseTransitionRefused("本举报（或并入它的举报）已提出奖励，不能再标记为重复举报。")
    combined = matter_reports(original) + own
    holder = _live_reward_in(combined)
    first = first_accepted(combined)
    if holder is not None and first is not holder:
        assert first is not None
        # Only the first accepted report of a matter is rewarded: merged, the reward proposed
        # for the original's matter would go to the wrong report.
        raise CaseTransitionRefused(
            f"{original.number} 所在事项已为 {holder.number} 提出奖励，而 {first.number} 受理在先："
            f"请先由审批人员驳回该奖励，再合并。")
    today = today or local_today()
    take_for_step(report, actor)
    report.duplicate_of = original
    report.status = "closed"
    report.closed_as = "duplicate"
    report.closed_on = today
    # Its own duplicates follow it to the matter's first report.
    for other in db.session.scalars(select(Report).where(Report.duplicate_of_id == report.id)):
        other.duplicate_of = original
    report.add_event("duplicate", today, DUPLICATE_NOTE)
    _audit(report, "report_duplicate", actor, duplicate_of=original.id,
           original_number=original.number)
    db.session.commit()
    return original


def close(
    report: Report, *, actor: Any, closed_as: str, note: str = "", today: date | None = None
) -> None:
    """Close a verified report: rectified or handled if it was (partly) true, unfounded if not."""
    check_worker(report, actor)
    _require(report, "verified", doing="办结")
    allowed = CLOSE_OUTCOMES_FALSE if report.verification_result == "false" else CLOSE_OUTCOMES_TRUE
    if closed_as not in allowed:
        labels = "、".join(CLOSED_AS[c] for c in allowed)
        raise CaseValuesInvalid({"closed_as": f"按核查结果，办结方式只能是：{labels}。"})
    note = (note or "").strip()
    if len(note) > MAX_TEXT_LENGTH:
        raise CaseValuesInvalid({"note": f"说明不能超过 {MAX_TEXT_LENGTH} 个字。"})
    today = today or local_today()
    take_for_step(report, actor)
    report.status = "closed"
    report.closed_as = closed_as
    report.closed_on = today
    text = f"办结：{CLOSED_AS[closed_as]}。" + (note if note else "")
    report.add_event("closed", today, text)
    _audit(report, "report_close", actor, closed_as=closed_as, closed_on=today)
    db.session.commit()


def handle_reopening(
    report: Report, *, actor: Any, outcome: str, note: str, today: date | None = None
) -> date | None:
    """The reporter said a report closed as rectified is not fixed.  Either verify again
    (accepted, with a new verification deadline, which is returned) or close it again; either
    way with a note the reporter reads."""
    check_worker(report, actor)
    _require(report, "reopened", doing="处理重新反映")
    note = _reason(note, "note", "给举报人的说明")
    today = today or local_today()
    if outcome in ("accept", "close"):
        take_for_step(report, actor)
    if outcome == "accept":
        start_verification(report, today)
        due = report.verification_due
        assert due is not None
        report.status = "accepted"
        # A new verification: its own result and its own one extension.
        report.verification_result = None
        report.verified_on = None
        report.extension_reason = None
        report.closed_on = None
        report.closed_as = None
        report.handler_id = actor.id
        report.add_event("reopen_handled", today, f"重新核查，期限：{cn_date(due)}前。{note}")
        _audit(report, "report_reopen", actor, outcome=outcome, verification_due=due)
        db.session.commit()
        return due
    if outcome == "close":
        report.status = "closed"
        report.closed_on = today
        report.closed_as = report.closed_as or "rectified"
        report.add_event("reopen_handled", today, f"经复查，维持办结。{note}")
        _audit(report, "report_reopen", actor, outcome=outcome, closed_on=today)
        db.session.commit()
        return None
    raise CaseValuesInvalid({"outcome": "请选择处理方式。"})



def home_counts(today: date | None = None) -> dict[str, int]:
    """Open reports and how many of them are past their deadline (for the staff home)."""
    today = today or local_today()
    due = _deadline_column()
    open_count = db.session.scalar(
        select(func.count()).select_from(Report).where(Report.status.in_(OPEN_STATES))) or 0
    overdue = db.session.scalar(
        select(func.count()).select_from(Report).where(due.is_not(None), due < today)) or 0
    return {"open": open_count, "overdue": overdue}
