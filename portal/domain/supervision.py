"""挂牌督办 (DOMAIN.md §7): the stages of a supervised hazard or accident investigation, the
steps between them, and their deadlines.

Pure rules: no database, no Flask.  The calendar (``portal.domain.workdays.WorkingCalendar``) is
passed in, so the deadlines are tested with any 调休 schedule.

Stages: 挂牌 (listed) → 整改中 (rectifying) → 申请销号 (applied) → 验收合格 (passed) → 销号
(closed); a failed 现场审查 sends an applied item back to 整改中.  One extension (延期) while the
item is listed or under rectification.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta

from portal.domain.blacklist import add_years
from portal.domain.workdays import Deadline, WorkingCalendar

# --- configuration (figures of DOMAIN §7; local practice where marked) --------------------------

# The listing and the 销号 are published within this many working days (local practice, Qingdao).
PUBLISH_WORKING_DAYS = 5
# After an application for 销号, the regulator inspects on site within this many (calendar) days
# (国家安监总局令第16号 Art. 23).
INSPECTION_DAYS = 10
# The rectification period is at most this many years (local practice).
MAX_RECTIFICATION_YEARS = 1
# One extension: applied for within the last 20 working days before the deadline, decided within
# 10 working days of the application (local practice).
EXTENSION_WINDOW_WORKING_DAYS = 20
EXTENSION_DECISION_WORKING_DAYS = 10
# 事故查处督办: the county government completes the 督办事项 within 60 days of the notice
# (local practice, Henan).
ACCIDENT_SUPERVISION_DAYS = 60

HAZARD = "隐患挂牌督办"
ACCIDENT = "事故查处挂牌督办"
TYPES = (HAZARD, ACCIDENT)
GRADES = ("重大", "一般")
SOURCE_REPORT = "群众举报"


class Stage(enum.StrEnum):
    LISTED = "listed"
    RECTIFYING = "rectifying"
    APPLIED = "applied"
    PASSED = "passed"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS = {
    Stage.LISTED: "已挂牌",
    Stage.RECTIFYING: "整改中",
    Stage.APPLIED: "已申请销号，待现场审查",
    Stage.PASSED: "验收合格，待销号",
    Stage.CLOSED: "已销号",
}
# The list's status filter: each stage, and 逾期 (past the deadline, not closed).
OVERDUE = "overdue"
STATUS_CHOICES = (*((s.value, STAGE_LABELS[s]) for s in Stage), (OVERDUE, "逾期未销号"))


class Step(enum.StrEnum):
    """What can be recorded on an item; each is one row of its public timeline."""

    LISTED = "listed"  # 挂牌 (the notice)
    RECTIFYING = "rectifying"  # 整改中
    EXTENDED = "extended"  # 延期
    APPLIED = "applied"  # 申请销号
    PASSED = "passed"  # 现场审查/验收合格
    FAILED = "failed"  # 现场审查/验收不合格，退回整改
    CLOSED = "closed"  # 销号

    @property
    def label(self) -> str:
        return STEP_LABELS[self]


STEP_LABELS = {
    Step.LISTED: "挂牌督办",
    Step.RECTIFYING: "开始整改",
    Step.EXTENDED: "延期",
    Step.APPLIED: "申请销号",
    Step.PASSED: "现场审查合格",
    Step.FAILED: "现场审查不合格，退回整改",
    Step.CLOSED: "销号",
}
# From each stage, the steps that may follow, and the stage each leads to.
TRANSITIONS: dict[Stage, dict[Step, Stage]] = {
    Stage.LISTED: {Step.RECTIFYING: Stage.RECTIFYING, Step.EXTENDED: Stage.LISTED},
    Stage.RECTIFYING: {Step.APPLIED: Stage.APPLIED, Step.EXTENDED: Stage.RECTIFYING},
    Stage.APPLIED: {Step.PASSED: Stage.PASSED, Step.FAILED: Stage.RECTIFYING},
    Stage.PASSED: {Step.CLOSED: Stage.CLOSED},
    Stage.CLOSED: {},
}


class StepRefused(ValueError):
    """A step that the rules do not allow now; ``str()`` says why, for the editor.
    ``field`` names the form field at fault ("" for the step as a whole)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def next_stage(stage: Stage, step: Step) -> Stage:
    """The stage ``step`` leads to from ``stage``; ``StepRefused`` if it may not follow."""
    allowed = TRANSITIONS[stage]
    if step not in allowed:
        if stage is Stage.CLOSED:
            raise StepRefused("该督办事项已销号，不能再办理。")
        names = "、".join(s.label for s in allowed)
        raise StepRefused(f"当前状态为“{stage.label}”，下一步只能是：{names}。")
    return allowed[step]


def check_step_date(day: date, previous: date, today: date) -> None:
    """A step is dated on or after the one before it and not in the future."""
    if day < previous:
        raise StepRefused(f"日期不能早于上一环节（{previous:%Y-%m-%d}）。", "on")
    if day > today:
        raise StepRefused("日期不能晚于今天。", "on")


def listing_publish_due(calendar: WorkingCalendar, listed_on: date) -> Deadline:
    """The last day to publish a listing: 5 working days after the decision to list."""
    return calendar.add_working_days(listed_on, PUBLISH_WORKING_DAYS)


def closure_publish_due(calendar: WorkingCalendar, passed_on: date) -> Deadline:
    """The last day to publish the 销号 after the item passed its inspection."""
    return calendar.add_working_days(passed_on, PUBLISH_WORKING_DAYS)


def inspection_due(calendar: WorkingCalendar, applied_on: date) -> Deadline:
    """The last day of the on-site inspection after an application for 销号: 10 days, the last
    day moved off a rest day (民法典 Art. 203)."""
    return calendar.add_calendar_days(applied_on, INSPECTION_DAYS)


def default_deadline(calendar: WorkingCalendar, supervision_type: str, listed_on: date) -> date:
    """The deadline a notice sets unless it says otherwise: 60 days for an accident
    investigation; a hazard has none by default (the notice names one, at most a year)."""
    if supervision_type == ACCIDENT:
        return calendar.add_calendar_days(listed_on, ACCIDENT_SUPERVISION_DAYS).due
    return add_years(listed_on, MAX_RECTIFICATION_YEARS)


def latest_deadline(listed_on: date) -> date:
    """The latest rectification deadline a notice may set (a year after listing)."""
    return add_years(listed_on, MAX_RECTIFICATION_YEARS)


def check_deadline(listed_on: date, deadline: date) -> None:
    if deadline <= listed_on:
        raise StepRefused("整改（办理）期限须晚于挂牌日期。", "deadline")
    if deadline > latest_deadline(listed_on):
        raise StepRefused(
            f"整改期限最长 {MAX_RECTIFICATION_YEARS} 年（至 {latest_deadline(listed_on):%Y-%m-%d}）。",
            "deadline")


@dataclass(frozen=True)
class Extension:
    applied_on: date
    decided_on: date
    new_deadline: date


def check_extension(calendar: WorkingCalendar, *, deadline: date, already_extended: bool,
                    applied_on: date, decided_on: date, new_deadline: date) -> Extension:
    """One extension, applied for within the last 20 working days before the deadline (the
    deadline day included), decided within 10 working days of the application, to a later
    deadline."""
    if already_extended:
        raise StepRefused("每个督办事项只能延期一次。")
    if applied_on > deadline:
        raise StepRefused("延期申请须在整改期限届满前提出。", "applied_on")
    window_start = earliest_extension_application(calendar, deadline)
    if applied_on < window_start:
        raise StepRefused(
            f"延期申请须在期限届满前 {EXTENSION_WINDOW_WORKING_DAYS} 个工作日内提出"
            f"（{window_start:%Y-%m-%d} 起）。", "applied_on")
    if decided_on < applied_on:
        raise StepRefused("批准日期不能早于申请日期。", "on")
    latest = calendar.add_working_days(applied_on, EXTENSION_DECISION_WORKING_DAYS).due
    if decided_on > latest:
        raise StepRefused(
            f"延期申请须在 {EXTENSION_DECISION_WORKING_DAYS} 个工作日内决定（至 {latest:%Y-%m-%d}）。",
            "on")
    if new_deadline <= deadline:
        raise StepRefused("延长后的期限须晚于原期限。", "new_deadline")
    return Extension(applied_on, decided_on, new_deadline)


def earliest_extension_application(calendar: WorkingCalendar, deadline: date) -> date:
    """The first day on which an extension may be applied for: the deadline is then among the
    next 20 working days (counting the deadline itself when it is a working day)."""
    day = deadline
    counted = 0
    while True:
        if calendar.is_working_day(day):
            counted += 1
            if counted == EXTENSION_WINDOW_WORKING_DAYS:
                return day
        day -= timedelta(days=1)


def is_overdue(*, stage: Stage, due_on: date, applied_on: date | None, today: date) -> bool:
    """Past its deadline and not closed: not applied for 销号 by the deadline (an application
    made in time stops the clock while the regulator inspects)."""
    if stage is Stage.CLOSED:
        return False
    if stage in (Stage.LISTED, Stage.RECTIFYING):
        return today > due_on
    return applied_on is not None and applied_on > due_on
