"""督办事项 (挂牌督办, DOMAIN.md §7): the steps of a published item, its public timeline, the
draft opened from a verified report, and an enterprise's items for its credit record.

The stage machine and the deadlines are rules in ``portal.domain.supervision``; this module
applies them to the database: each step is validated, dated no earlier than the one before,
written to the item's timeline and public history, audited, and told to the reporter whose
report led to the item (in their timeline, never on the public page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from portal import audit, fieldspec
from portal.domain import supervision as rules
from portal.domain.catalog import COUNTIES
from portal.domain.masking import mask_personal_data
from portal.extensions import db
from portal.models import (
    VERIFICATION_RESULTS,
    Report,
    SupervisionItem,
    SupervisionStep,
    local_today,
    utcnow,
)
from portal.services.publication import history
from portal.working_days import working_calendar

MAX_NOTE_LENGTH = 2000
# The credit record lists closed items for this many years after their 销号 (issue 15 §4).
CREDIT_CLOSED_YEARS = 3
# Report results from which a 督办 may be opened (属实, 部分属实).
OPENING_RESULTS = ("true", "partly")


class SupervisionError(Exception):
    """A step was refused; ``errors`` maps form fields ("" for the step) to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class TimelineEntry:
    label: str
    on: date
    note: str
    step: str


def timeline(item: SupervisionItem) -> list[TimelineEntry]:
    """The item's stages in order, from its listing: what the public page shows."""
    entries = [TimelineEntry(rules.Step.LISTED.label, item.listed_on, "", rules.Step.LISTED.value)]
    for step in item.steps:
        entries.append(TimelineEntry(step.label, step.occurred_on, step.note, step.step))
    return entries


def last_step_date(item: SupervisionItem) -> date:
    """The date of the latest step (the listing for a new item): no step may be dated before."""
    return max([item.listed_on, *(s.occurred_on for s in item.steps)])


def allowed_steps(item: SupervisionItem) -> list[rules.Step]:
    """The steps that may be recorded now (none on a draft or a withdrawn item)."""
    if not item.is_published or item.is_withdrawn:
        return []
    steps = list(rules.TRANSITIONS[item.current_stage])
    if item.extended_deadline is not None and rules.Step.EXTENDED in steps:
        steps.remove(rules.Step.EXTENDED)
    return steps


def record_step(
    item: SupervisionItem, step: rules.Step, *, on: date | None, note: str = "",
    actor: Any = None, today: date | None = None, applied_on: date | None = None,
    new_deadline: date | None = None, reason: str = "",
) -> SupervisionStep:
    """Record ``step`` on a published item, dated ``on``.

    Refused (``SupervisionError``) on a draft or withdrawn item, for a step that may not follow
    the current stage (no skipping), for a date before the previous step or after today, and for
    an extension outside its rules (once, applied for in the last 20 working days before the
    deadline, decided within 10 working days, to a later deadline)."""
    today = today or local_today()
    if not item.is_published:
        raise SupervisionError({"": "督办事项发布后才能办理后续环节。"})
    if item.is_withdrawn:
        raise SupervisionError({"": "该督办事项已撤回，不能再办理。"})
    if on is None:
        raise SupervisionError({"on": "请填写日期。"})
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise SupervisionError({"note": f"说明不能超过 {MAX_NOTE_LENGTH} 个字。"})
    stage = item.current_stage
    try:
        new_stage = rules.next_stage(stage, step)
        rules.check_step_date(on, last_step_date(item), today)
        extension = None
        if step is rules.Step.EXTENDED:
            if applied_on is None or new_deadline is None:
                raise rules.StepRefused("请填写延期申请日期和延长后的期限。")
            extension = rules.check_extension(
                working_calendar(), deadline=item.deadline,
                already_extended=item.extended_deadline is not None,
                applied_on=applied_on, decided_on=on, new_deadline=new_deadline)
            if new_deadline > rules.latest_deadline(item.deadline):
                raise rules.StepRefused("延长后的期限过远，请核对。", "new_deadline")
            if applied_on < last_step_date(item):
                raise rules.StepRefused("延期申请日期不能早于上一环节。", "applied_on")
    except rules.StepRefused as exc:
        raise SupervisionError({exc.field: str(exc)}) from None
    reason = mask_personal_data((reason or "").strip())
    if step is rules.Step.EXTENDED and len(reason) < 4:
        raise SupervisionError({"reason": "请填写延期理由（至少 4 个字）。"})
    note = mask_personal_data(note)

    values: dict[str, Any] = {"stage": new_stage.value}
    if step is rules.Step.APPLIED:
        values["applied_on"] = on
    elif step is rules.Step.PASSED:
        values["passed_on"] = on
    elif step is rules.Step.FAILED:
        values["passed_on"] = None
    elif step is rules.Step.CLOSED:
        values["closed_on"] = on
    elif extension is not None:
        values |= {"extension_applied_on": extension.applied_on,
                   "extended_deadline": extension.new_deadline, "extension_reason": reason}
        if not note:
            note = f"经申请，整改（办理）期限延长至{_cn(extension.new_deadline)}。理由：{reason}"
    changes = history.apply_changes(item, values)
    row = SupervisionStep(step=step.value, occurred_on=on, note=note)
    item.steps.append(row)
    item.derive()
    history.record_version(db.session, item, changes, f"办理进程：{step.label}")
    item.modified_at = utcnow()
    audit.record(db.session, "supervision_step", actor=actor, object_kind=item.KIND,
                 object_id=item.id, summary={"step": step.value, "on": on.isoformat(),
                                             "stage": [stage.value, new_stage.value]})
    _tell_reporters(item, step, on)
    db.session.commit()
    return row


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# The steps a reporter whose report led to the item is told of, in their own timeline.
_REPORTER_STEPS = {
    rules.Step.RECTIFYING: "supervision_rectifying",
    rules.Step.CLOSED: "supervision_closed",
}


def _tell_reporters(item: SupervisionItem, step: rules.Step, on: date) -> None:
    kind = _REPORTER_STEPS.get(step)
    if kind is None:
        return
    for report in db.session.scalars(select(Report).where(Report.supervision_id == item.id)):
        report.add_event(kind, on, f"督办事项 {item.notice_no}：{step.label}。")


def tell_reporters_listed(item: SupervisionItem) -> None:
    """On publication: the reporters whose reports led to the item see that it is listed (the
    caller commits)."""
    for report in db.session.scalars(select(Report).where(Report.supervision_id == item.id)):
        report.add_event("supervision_listed", local_today(),
                         f"督办事项 {item.notice_no} 已挂牌督办并公开。")


# --- the loop from a verified report ------------------------------------------------------------


def may_open_from(report: Report) -> bool:
    """Whether a 督办 draft may be opened from ``report``: verified 属实 or 部分属实, not a
    duplicate, and none opened from it yet."""
    return (report.verification_result in OPENING_RESULTS and report.supervision_id is None
            and report.closed_as != "duplicate"
            and report.status in ("verified", "closed", "reopened"))


def defaults_from_report(report: Report) -> dict[str, Any]:
    """What a 督办 draft takes over from a report: the enterprise, its credit code and the
    county (the sector is chosen by staff; the report has none).  Nothing of the reporter's
    words, photos, dates or number."""
    return {
        "supervision_type": rules.ACCIDENT if report.kind == "concealed_accident" else rules.HAZARD,
        "enterprise_name": report.enterprise_name or "",
        "uscc": report.uscc or "",
        "county": report.county or "",
    }


def open_from_report(report: Report, values: dict[str, Any], *, actor: Any,
                     on: date | None = None) -> SupervisionItem:
    """Create a 督办 draft from a verified report with the values staff typed (the publishing
    service validates and masks them like any draft); the report keeps the link and its
    reporter is told.  The item records only that its source was a citizen's report."""
    from portal.services.publication import publishing

    if not may_open_from(report):
        result = VERIFICATION_RESULTS.get(report.verification_result or "", "未核查")
        raise SupervisionError({"": f"核查结果为“{result}”或已开启督办的举报不能再开启督办。"})
    saved = publishing.create_item("supervision", values)
    item = saved.item
    assert isinstance(item, SupervisionItem)
    item.from_report = True
    report.supervision_id = item.id
    report.add_event("supervision_opened", on or local_today(), "已提请挂牌督办。")
    audit.record(db.session, "supervision_open_from_report", actor=actor, object_kind="report",
                 object_id=report.id, summary={"supervision": item.id})
    db.session.commit()
    return item


def for_report(report: Report) -> SupervisionItem | None:
    """The published item a report led to (None while a draft, or if there is none)."""
    item = report.supervision
    return item if item is not None and item.is_published else None


def open_per_county() -> list[tuple[str, int]]:
    """Published 督办事项 not yet removed (销号) nor withdrawn, per county, for the map."""
    S = SupervisionItem
    rows = db.session.execute(
        select(S.county, func.count()).where(
            S.published_at.is_not(None), S.withdrawn_at.is_(None), S.stage != "closed")
        .group_by(S.county))
    found = {county: int(n) for county, n in rows if county}
    return [(c, found.get(c, 0)) for c in COUNTIES] + sorted(
        (c, n) for c, n in found.items() if c not in COUNTIES)


# --- the enterprise's record ---------------------------------------------------------------------


def for_enterprise(uscc: str, today: date | None = None) -> list[SupervisionItem]:
    """The enterprise's published 督办事项: open ones, and those closed within the last 3 years,
    newest first.  Withdrawn ones are listed too (marked by the page)."""
    S = SupervisionItem
    stmt = (
        select(S)
        .where(S.uscc == uscc, on_credit_record(today))
        .order_by(S.listed_on.desc(), S.id.desc())
    )
    return list(db.session.scalars(stmt))


def on_credit_record(today: date | None = None) -> Any:
    """SQL condition: the item is on an enterprise's credit record (published; open, or closed
    within the last 3 years).  The record and the search by name use the same condition, so a
    name found leads to a record that lists the item."""
    today = today or local_today()
    since = today - timedelta(days=365 * CREDIT_CLOSED_YEARS + 1)
    S = SupervisionItem
    return (S.published_at.is_not(None)
            & or_(S.closed_on.is_(None), S.closed_on >= since))


def spec_labels() -> dict[str, str]:
    return {f.name: f.label for f in fieldspec.SPECS["supervision"].fields}
