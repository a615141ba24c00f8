"""Recompute stored due dates when a year's official schedule is added.

A due date that runs into a year the calendar library only estimates is counted Monday–Friday
(less the holidays it estimates) and is provisional (``portal.domain.workdays``).  When an
administrator adds that year's official schedule (``PORTAL_WORKDAY_CALENDAR_FILE``, published
each November) — or a newer library brings it — the stored dates must follow:
``flask --app portal recompute-deadlines`` lists every due date that changes and updates it,
one audit event per date.

What is stored and recomputed, each from what it was computed from:

- a decision's publication deadline (working days from the decision date; its provisional flag);
- an accident's assessment deadline (a year after 批复, moved off a rest day);
- a report's acceptance deadline (working days from receipt);
- a report's verification deadline and a reward's claim deadline (calendar days; only the last
  day depends on the calendar, moved off a rest day: from the stored calendar end).

Only dates on or after the first day the library does not know officially can change, so only
those rows are read.  Nothing else about a report or a decision changes; where the reporter was
told a date that still matters (verification under way, a reward not yet claimed), the report's
timeline says the date moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from portal import audit
from portal.domain.catalog import REPORT_ACCEPTANCE_WORKING_DAYS
from portal.extensions import db
from portal.models import AccidentReport, Decision, Report, Reward, local_today
from portal.working_days import (
    assessment_due,
    decision_publish_deadline,
    off_rest_day,
    working_calendar,
)


@dataclass(frozen=True)
class DueDateChange:
    """One stored due date that the calendar now puts elsewhere."""

    object_kind: str  # "decisions", "accidents", "report", "reward" (the audit log's kinds)
    object_id: int
    label: str  # the 文号 or the report's number, for the list an administrator reads
    what: str  # which deadline, in words
    before: date | None
    after: date | None
    provisional_before: bool = False
    provisional_after: bool = False


def _cn(day: date | None) -> str:
    return "—" if day is None else f"{day.year}年{day.month}月{day.day}日"


def describe(change: DueDateChange) -> str:
    """One line for the command's output."""
    flag = ""
    if change.provisional_before != change.provisional_after:
        flag = "（暂定 → 正式）" if change.provisional_before else "（正式 → 暂定）"
    return f"{change.label} {change.what}：{_cn(change.before)} → {_cn(change.after)}{flag}"


def _decision_changes(since: date) -> list[tuple[Decision, DueDateChange]]:
    found = []
    for item in db.session.scalars(
        select(Decision).where(or_(Decision.publish_due >= since,
                                   Decision.publish_due_provisional.is_(True)))
        .order_by(Decision.id)
    ):
        deadline = decision_publish_deadline(item.decision_type, item.decision_date)
        due = deadline.due if deadline else None
        provisional = bool(deadline and deadline.provisional)
        if (due, provisional) != (item.publish_due, item.publish_due_provisional):
            found.append((item, DueDateChange(
                "decisions", item.id, item.document_no or f"决定 {item.id}", "公开期限",
                item.publish_due, due, item.publish_due_provisional, provisional)))
    return found


def _accident_changes(since: date) -> list[tuple[AccidentReport, DueDateChange]]:
    found = []
    for item in db.session.scalars(
        select(AccidentReport).where(AccidentReport.assessment_due >= since)
        .order_by(AccidentReport.id)
    ):
        assert item.approved_on is not None
        due = assessment_due(item.approved_on)
        if due != item.assessment_due:
            found.append((item, DueDateChange("accidents", item.id, item.title_text,
                                              "整改评估期限", item.assessment_due, due)))
    return found


def _report_changes(since: date) -> list[tuple[Report, str, DueDateChange]]:
    calendar = working_calendar()
    found = []
    for report in db.session.scalars(
        select(Report).where(or_(Report.acceptance_due >= since,
                                 Report.verification_due >= since,
                                 Report.verification_period_end >= since))
        .order_by(Report.id)
    ):
        if report.acceptance_due is not None and report.acceptance_due >= since:
            due = calendar.add_working_days(report.received_on,
                                            REPORT_ACCEPTANCE_WORKING_DAYS).due
            if due != report.acceptance_due:
                found.append((report, "acceptance_due", DueDateChange(
                    "report", report.id, report.number, "受理期限", report.acceptance_due, due)))
        # Reports accepted before the calendar end was stored keep their date: it was never
        # moved, and there is nothing to recompute it from.
        if report.verification_period_end is not None:
            due = off_rest_day(report.verification_period_end).due
            if due != report.verification_due:
                found.append((report, "verification_due", DueDateChange(
                    "report", report.id, report.number, "核查期限", report.verification_due,
                    due)))
    return found


def _reward_changes(since: date) -> list[tuple[Reward, DueDateChange]]:
    found = []
    for reward in db.session.scalars(
        select(Reward).where(Reward.claim_period_end >= since).order_by(Reward.id)
    ):
        assert reward.claim_period_end is not None
        due = off_rest_day(reward.claim_period_end).due
        if due != reward.claim_due:
            found.append((reward, DueDateChange(
                "reward", reward.id, reward.report.number, "奖励申领期限", reward.claim_due, due)))
    return found


def _summary(change: DueDateChange) -> dict[str, object]:
    summary: dict[str, object] = {"what": change.what, "due": [change.before, change.after]}
    if change.provisional_before != change.provisional_after:
        summary["provisional"] = [change.provisional_before, change.provisional_after]
    return summary


def recompute_deadlines(*, apply: bool = True, today: date | None = None) -> list[DueDateChange]:
    """Every stored due date the working calendar now puts elsewhere; with ``apply`` (the
    default) each is updated, with an audit event, in one transaction.  Returns the changes."""
    today = today or local_today()
    since = working_calendar().first_unofficial_day
    decisions = _decision_changes(since)
    accidents = _accident_changes(since)
    reports = _report_changes(since)
    rewards = _reward_changes(since)
    changes = ([c for _, c in decisions] + [c for _, c in accidents]
               + [c for _, _, c in reports] + [c for _, c in rewards])
    if not apply or not changes:
        return changes
    for item, change in decisions:
        # The model derives both from the decision's type and date on update; set them so the
        # row is written.
        item.publish_due, item.publish_due_provisional = change.after, change.provisional_after
    for accident, change in accidents:
        accident.assessment_due = change.after  # derived again on update, to the same date
    for report, column, change in reports:
        setattr(report, column, change.after)
        # The reporter was told the verification date: say it moved while it still matters.
        if column == "verification_due" and report.status == "accepted":
            report.add_event("deadline_moved", today, f"核查期限调整为{_cn(change.after)}。")
    for reward, change in rewards:
        reward.claim_due = change.after
        if reward.status == "approved":
            reward.report.add_event("deadline_moved", today,
                                    f"奖励申领期限调整为{_cn(change.after)}。")
    for change in changes:
        audit.record(db.session, "deadline_recompute", actor_name=audit.SYSTEM_ACTOR,
                     object_kind=change.object_kind, object_id=change.object_id,
                     summary=_summary(change))
    db.session.commit()
    return changes
