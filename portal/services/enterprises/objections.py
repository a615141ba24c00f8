"""Objections (异议, DOMAIN.md §8): a party that finds a published record about itself wrong.

Any published, not withdrawn decision, accident report or blacklist entry that names an
enterprise (a credit code) may be objected to.  The form is kept as a draft, checked, then sent:
it gets its number (异议编号) and an access code (``portal.receipts``), and a deadline of
``objection_answer_working_days`` working days (local practice: 15).  While it runs the record's
page says 异议处理中 (nothing about who objected or what they wrote).  Staff answer: the
objection holds — the editor corrects the record through the normal edit, so the old text stays
in its public history, and the answer tells the applicant — or it does not, with reasons.  The
applicant reads the answer with the code.  Every step is audited; personal content is purged
with 信用修复 applications after the retention period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from portal import audit
from portal.credit.models import OBJECTION_OPEN_STATES, Objection
from portal.extensions import db
from portal.models import DISCLOSURE_MODELS, Department, local_today
from portal.services.enterprises import access_cases, departments
from portal.services.enterprises.access_cases import AccessCodeNotFound, ApplicationInvalid
from portal.services.enterprises.repair import TEXT_MAX, StepRefused
from portal.translation import lazy_gettext as _l
from portal.working_days import working_calendar

# The kinds whose items name an enterprise and may be objected to.
OBJECTION_KINDS = ("decisions", "accidents", "blacklist")
NAME_MAX = 60
CONTACT_MAX = 120
FIELDS = ("applicant_name", "contact", "what_is_wrong", "should_read")

__all__ = ["AccessCodeNotFound", "ApplicationInvalid", "StepRefused"]


class NotObjectable(Exception):
    """The item does not exist, is not public, is withdrawn or names no enterprise."""


def answer_working_days() -> int:
    return current_app.config["SETTINGS"].objection_answer_working_days


def objectable(kind: str, item_id: int) -> Any:
    """The published item ``kind``/``item_id`` if it may be objected to; ``NotObjectable``."""
    if kind not in OBJECTION_KINDS:
        raise NotObjectable(kind)
    item = db.session.get(DISCLOSURE_MODELS[kind], item_id)
    if item is None or not item.is_published or item.is_withdrawn or not getattr(item, "uscc", None):
        raise NotObjectable(item_id)
    return item


def open_objection(kind: str, item_id: int) -> Objection | None:
    return db.session.scalars(select(Objection).where(
        Objection.kind == kind, Objection.item_id == item_id,
        Objection.status.in_(OBJECTION_OPEN_STATES)).limit(1)).first()


def public_state(kind: str, item_id: int) -> str | None:
    """异议处理中 while an objection runs; None otherwise (a correction shows in the history)."""
    return "异议处理中" if open_objection(kind, item_id) is not None else None


def clean_fields(values: dict[str, Any]) -> dict[str, str]:
    """The form's values trimmed and checked; ``ApplicationInvalid`` naming each problem."""
    return access_cases.clean_fields(values, FIELDS, (
        ("applicant_name", _l("提出人姓名或单位"), NAME_MAX),
        ("contact", _l("联系电话或电子邮箱"), CONTACT_MAX),
        ("what_is_wrong", _l("哪里有误"), TEXT_MAX),
        ("should_read", _l("应当如何更正及依据"), TEXT_MAX)))


def save_draft(draft: Objection | None, kind: str, item_id: int,
               values: dict[str, Any]) -> Objection:
    """Keep the form as a draft (whatever its fields) for the check step."""
    item = objectable(kind, item_id)
    if draft is None or (draft.kind, draft.item_id) != (kind, item_id):
        draft = Objection(status="draft", kind=kind, item_id=item_id,
                          department_id=item.department_id, created_on=local_today())
        db.session.add(draft)
    for name in FIELDS:
        setattr(draft, name, str(values.get(name) or "").replace("\x00", "").strip()[:TEXT_MAX])
    db.session.commit()
    return draft


def get_draft(draft_id: Any) -> Objection | None:
    return access_cases.get_draft(Objection, draft_id)


def item_of(objection: Objection) -> Any:
    return db.session.get(DISCLOSURE_MODELS[objection.kind], objection.item_id)


def submit(draft: Objection) -> tuple[Objection, str]:
    """Send a checked draft: its number, deadline and a fresh access code (returned once)."""
    clean_fields({name: getattr(draft, name) for name in FIELDS})
    item = objectable(draft.kind, draft.item_id)
    draft.item_modified_at = item.modified_at
    code = access_cases.send(draft, answer_working_days())
    audit.record(db.session, "objection_submit", actor_name=audit.ANONYMOUS_ACTOR,
                 object_kind="objection", object_id=draft.id,
                 summary={"kind": draft.kind, "item": draft.item_id, "due": draft.due_on})
    db.session.commit()
    return draft, code


def find_by_code(raw: str) -> Objection:
    """The objection whose access code is in ``raw`` (one Argon2id hash, right or wrong)."""
    return access_cases.find_by_code(Objection, raw)


# ---------------------------------------------------------------- staff


def get(objection_id: int) -> Objection:
    found = db.session.get(Objection, objection_id)
    if found is None or found.status == "draft":
        raise LookupError(objection_id)
    return found


def queue(*, open_only: bool = True) -> list[Objection]:
    """Objections, open ones by default, by deadline (so overdue first)."""
    stmt = select(Objection).where(Objection.status != "draft")
    if open_only:
        stmt = stmt.where(Objection.status.in_(OBJECTION_OPEN_STATES))
    return list(db.session.scalars(stmt.order_by(Objection.due_on, Objection.id)).unique())


def answer_refusal(objection: Objection, actor: Any) -> str | None:
    """Why ``actor`` may not answer ``objection`` (not of the department that published the
    record), or None.  The page shows it; ``answer`` checks it."""
    return departments.refusal(actor, objection.department_id, objection.department.name, "异议")


def applicant_refusal(objection: Objection, actor: Any) -> str | None:
    """Why ``actor`` may not read who sent ``objection`` and how to reach them (not of the
    department that answers it, or of none), or None.  The page shows it instead of them."""
    return departments.applicant_refusal(actor, objection.department_id,
                                         objection.department.name, "异议")


@dataclass(frozen=True)
class Applicant:
    name: str
    contact: str | None


def applicant(objection: Objection, *, actor: Any) -> Applicant:
    """Who sent ``objection`` and how to reach them, for staff of the department that answers
    it; anyone else is refused (``StepRefused``) and the attempt audited."""
    reason = applicant_refusal(objection, actor)
    if reason is not None:
        audit.record(db.session, "objection_applicant_refused", actor=actor,
                     object_kind="objection", object_id=objection.id,
                     summary={"number": objection.number, "department": objection.department_id,
                              "actor_department": getattr(actor, "department_id", None)})
        db.session.commit()
        raise StepRefused(reason)
    return Applicant(objection.applicant_name, objection.contact)


def answer(objection: Objection, *, actor: Any, upheld: bool, text: str) -> None:
    """Answer the applicant.  If the objection holds, the record must have been corrected first
    (through the normal edit: its history keeps the old text): it is refused otherwise.  Only
    staff of the department that published the record answer (``answer_refusal``)."""
    reason = answer_refusal(objection, actor)
    if reason is not None:
        audit.record(db.session, "objection_refused", actor=actor, object_kind="objection",
                     object_id=objection.id,
                     summary={"number": objection.number, "department": objection.department_id,
                              "actor_department": getattr(actor, "department_id", None)})
        db.session.commit()
        raise StepRefused(reason)
    if not objection.is_open:
        raise StepRefused("该异议已答复。")
    text = (text or "").strip()
    if len(text) < 4:
        raise ApplicationInvalid({"text": "请填写答复（至少 4 个字）。"})
    item = item_of(objection)
    if upheld and (item is None or objection.item_modified_at is None
                   or item.modified_at <= objection.item_modified_at):
        raise StepRefused("异议成立的，请先通过“修改”更正该条公开信息（原内容保留在修改记录中），再答复。")
    today = local_today()
    objection.status = "upheld" if upheld else "rejected"
    objection.answer = text[:TEXT_MAX]
    objection.answered_by_id = actor.id
    objection.answered_on = today
    objection.closed_on = today
    audit.record(db.session, "objection_answer", actor=actor, object_kind="objection",
                 object_id=objection.id,
                 summary={"number": objection.number, "upheld": upheld,
                          "on_time": objection.answered_on_time})
    db.session.commit()


def record_view(objection: Objection, *, actor: Any) -> None:
    audit.record(db.session, "objection_view", actor=actor, object_kind="objection",
                 object_id=objection.id, summary={"number": objection.number})
    db.session.commit()


@dataclass(frozen=True)
class PurgeResult:
    drafts: int
    objections: int


def purge(*, now: datetime | None = None) -> PurgeResult:
    """Unsent drafts after a day; the personal content of answered objections after the
    retention period (the kind, item, dates and outcome stay)."""
    swept = access_cases.sweep(Objection, now)
    for objection in swept.due:
        objection.applicant_name = ""
        objection.contact = None
        objection.what_is_wrong = ""
        objection.should_read = ""
        objection.answer = None if objection.answer is None else ""
        objection.access_digest = None
        objection.purged_on = swept.today
    db.session.commit()
    return PurgeResult(swept.drafts, len(swept.due))


def days_left(objection: Objection, today: date | None = None) -> int:
    today = today or local_today()
    if objection.due_on is None:
        return 0
    calendar = working_calendar()
    if objection.due_on >= today:
        return calendar.working_days_between(today, objection.due_on)
    return -max(1, calendar.working_days_between(objection.due_on, today))


def agenda_rows(today: date, *, make_row: Any, days_left: Any) -> tuple[list[Any], list[Any]]:
    """The editors' agenda rows of open objections: (overdue, the rest), by deadline."""
    from flask import url_for

    late, current = [], []
    for objection in queue(open_only=True):
        if objection.due_on is None:
            continue
        row = make_row("objections", objection, "答复异议", objection.due_on,
                       days_left(today, objection.due_on), True, objection.due_provisional,
                       url_for("staff.objection_detail", objection_id=objection.id))
        (late if row.overdue else current).append(row)
    return late, current


@dataclass(frozen=True)
class DepartmentTimeliness:
    department: str
    answered: int
    on_time: int  # answered on or before the deadline (``Objection.answered_on_time``)
    open_overdue: int  # not answered and past the deadline


def timeliness(today: date | None = None) -> list[DepartmentTimeliness]:
    """Per department that published the records: objections answered, of which within the
    deadline, and unanswered ones already past it (for /compliance, beside 信用修复)."""
    today = today or local_today()
    answered = Objection.answered_on.is_not(None)
    rows = db.session.execute(
        select(
            Department.name,
            func.sum(case((answered, 1), else_=0)),
            func.sum(case((answered & (Objection.answered_on <= Objection.due_on), 1), else_=0)),
            func.sum(case((Objection.status.in_(OBJECTION_OPEN_STATES) & (Objection.due_on < today), 1), else_=0)),
        )
        .join(Department, Department.id == Objection.department_id)
        .where(Objection.status != "draft")
        .group_by(Department.name)
        .order_by(Department.name)
    ).all()
    return [DepartmentTimeliness(name, int(a or 0), int(o or 0), int(late or 0))
            for name, a, o, late in rows]
