"""信用修复: applications for early removal from the blacklist (DOMAIN.md §4, §8).

The journey.  The listed body may apply once the listing has run ``blacklist_min_months_before
_removal`` months (``eligibility``; the first day is the one ``blacklist_admin`` already uses
for early removal).  The form is saved as a draft (status ``draft``) with its documents, shown
for checking, then sent: it gets its 申请编号 and an access code (``portal.receipts``: only
the Argon2id digest is stored), and its deadline of ``repair_decision_working_days`` working
days from receipt (DOMAIN §8).  With the code the applicant follows the case, answers
questions and adds documents.

Staff of the department that listed the entry accept it for review, ask for more, and propose
a decision; a different account approves it (four eyes).  A grant removes the entry early
through ``blacklist_admin.remove_early`` (its public history says 信用修复 and the decision's
number); a refusal gives reasons the applicant reads.  A grant obtained by fraud is revoked and
the listing restored (``blacklist_admin.reinstate``).  Every step is an audit event.

Public: only the state (``public_state``) — never who applied or what they wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import case, delete, func, select

from portal import audit, images, pdfs
from portal.credit.models import (
    CLOSED_STATES,
    OPEN_STATES,
    RepairApplication,
    RepairDocument,
)
from portal.domain import credit_code
from portal.domain.blacklist import PERSON, BlacklistStatus
from portal.domain.masking import mask_personal_data
from portal.extensions import db
from portal.models import BlacklistEntry, Department, local_today
from portal.services.enterprises import access_cases, blacklist_admin, departments
from portal.services.enterprises.access_cases import (  # noqa: F401 - part of this interface
    AccessCodeNotFound,
    ApplicationInvalid,
)
from portal.services.publication.publishing import TransitionRefused, ValuesInvalid
from portal.translation import lazy_gettext as _l
from portal.working_days import working_calendar

MAX_DOCUMENTS = 10
TEXT_MAX = 2000
DECISION_NO_MAX = 80
ROLE_MAX = 60
NAME_MAX = 60
CONTACT_MAX = 120


# Base of the errors this module raises; ``str()`` is a message for the person.  Shared with
# objections, as are ApplicationInvalid and AccessCodeNotFound (imported above).
RepairError = access_cases.CaseError


class NotEligible(RepairError):
    """The entry cannot be the subject of an application (not active, too early, one open)."""


class StepRefused(RepairError):
    """The step does not fit the application's state, or the account may not take it."""


class DocumentRejected(RepairError):
    """An attachment is not a PDF or image we accept."""


class DocumentsBusy(RepairError):
    """Every image decode slot is taken: try again shortly."""


# ---------------------------------------------------------------- settings and eligibility


def decision_working_days() -> int:
    return current_app.config["SETTINGS"].repair_decision_working_days


@dataclass(frozen=True)
class Eligibility:
    """Whether ``entry`` may be the subject of an application on ``today``."""

    eligible: bool
    from_date: date  # the first day an application is possible
    reason: str = ""  # why not, when not eligible (for the page)
    open_application: bool = False


def eligibility(entry: BlacklistEntry, today: date | None = None) -> Eligibility:
    """12 months on the list (configured), counted like the listing (民法典 Arts. 201–202):
    a listing of 2025-01-01 may be applied for from 2026-01-02; one of 2024-02-29 from
    2025-03-01.  Only an active, published entry without an open application qualifies."""
    today = today or local_today()
    start = blacklist_admin.earliest_removal_date(entry)
    if not entry.is_published or entry.is_withdrawn or entry.status(today) is not BlacklistStatus.ACTIVE:
        return Eligibility(False, start, _l("该条目不在公示期内，无需申请信用修复。"))
    if open_application_for(entry) is not None:
        return Eligibility(False, start, _l("该条目已有信用修复申请正在审核。"),
                           open_application=True)
    if today < start:
        return Eligibility(False, start, _l("列入满 %(months)s 个月后方可申请信用修复。",
                                            months=blacklist_admin.minimum_months_before_removal()))
    return Eligibility(True, start)


def open_application_for(entry: BlacklistEntry) -> RepairApplication | None:
    return db.session.scalars(
        select(RepairApplication).where(RepairApplication.entry_id == entry.id,
                                        RepairApplication.status.in_(OPEN_STATES)).limit(1)
    ).first()


def active_entry_for(raw_code: str, today: date | None = None) -> BlacklistEntry:
    """The published active entry of the credit code in ``raw_code``; ``ApplicationInvalid``
    on the ``uscc`` field otherwise (a wrong check character named as such)."""
    today = today or local_today()
    try:
        code = credit_code.parse(raw_code or "").value
    except credit_code.CreditCodeInvalid as exc:
        raise ApplicationInvalid({"uscc": str(exc)}) from None
    entry = db.session.scalars(
        select(BlacklistEntry).where(
            BlacklistEntry.uscc == code,
            # The listed body applies; a person's entry is not found by the body's code here.
            BlacklistEntry.subject_type != PERSON,
            BlacklistEntry.published_at.is_not(None),
            BlacklistEntry.withdrawn_at.is_(None),
            BlacklistEntry.status_clause(BlacklistStatus.ACTIVE, today),
        ).order_by(BlacklistEntry.listed_on.desc())
    ).first()
    if entry is None:
        raise ApplicationInvalid({"uscc": _l("该统一社会信用代码不在公示中的严重失信主体名单上，无需申请信用修复。")})
    return entry


@dataclass(frozen=True)
class PublicOutcome:
    """Where an entry's 信用修复 stands, for its public pages: ``status`` is ``open``,
    ``granted``, ``refused`` or ``revoked``; the decision's number and date when decided.
    The pages word it in the reader's language (portal.published_words.repair_state_text)."""

    status: str
    decision_no: str | None = None
    decided_on: date | None = None


def public_outcome(entry: BlacklistEntry) -> PublicOutcome | None:
    """The entry's latest 信用修复 as the public may see it: open while one is under review,
    else the last decision; None when there never was one.  Nothing about the applicant."""
    latest = db.session.scalars(
        select(RepairApplication).where(
            RepairApplication.entry_id == entry.id,
            RepairApplication.status.in_(OPEN_STATES | CLOSED_STATES),
        ).order_by(RepairApplication.id.desc()).limit(1)
    ).first()
    if latest is None:
        return None
    if latest.status in OPEN_STATES:
        return PublicOutcome("open")
    if latest.status in ("granted", "refused"):
        return PublicOutcome(latest.status, latest.decision_no, latest.decided_on)
    return PublicOutcome("revoked", latest.decision_no, latest.decided_on)


def public_state(entry: BlacklistEntry) -> str | None:
    """What the entry's public page says about 信用修复, in Chinese: 审核中 while one is open,
    else the last decision's outcome; None when there never was one."""
    outcome = public_outcome(entry)
    if outcome is None:
        return None
    if outcome.status == "open":
        return "信用修复申请审核中"
    if outcome.status == "granted":
        return f"准予信用修复（{outcome.decision_no}），已提前移出"
    if outcome.status == "refused":
        return f"信用修复申请不予通过（{outcome.decided_on:%Y年%m月%d日}）"
    return "信用修复已撤销，恢复列入"


# ---------------------------------------------------------------- documents


@dataclass(frozen=True)
class Upload:
    """An attachment as it came: its bytes and the kind the applicant chose."""

    data: bytes
    kind: str  # "commitment" or "evidence"


@dataclass(frozen=True)
class CleanDocument:
    data: bytes
    media_type: str
    kind: str


def clean_document(upload: Upload) -> CleanDocument:
    """A PDF checked by ``portal.pdfs`` or an image re-encoded by ``portal.images``; the type
    is decided by the bytes.  ``DocumentRejected`` / ``DocumentsBusy`` otherwise."""
    if upload.data.startswith(b"%PDF-"):
        try:
            return CleanDocument(pdfs.check(upload.data).data, "application/pdf", upload.kind)
        except pdfs.PdfRejected as exc:
            raise DocumentRejected(str(exc)) from None
    try:
        image = images.clean(upload.data)
    except images.ImageRejected as exc:
        raise DocumentRejected(str(_l("%(problem)s只接受 PDF 或图片（%(formats)s）。", problem=exc,
                                      formats=images.SHOWN_FORMATS))) from None
    except images.DecoderBusy:
        raise DocumentsBusy(str(_l("系统繁忙，附件暂未处理，请稍后再提交。"))) from None
    return CleanDocument(image.data, image.media_type, upload.kind)


def _attach(application: RepairApplication, documents: list[CleanDocument], on: date,
            event_id: int | None = None) -> None:
    if len(application.documents) + len(documents) > MAX_DOCUMENTS:
        raise ApplicationInvalid({"documents": _l("附件最多 %(n)s 份。", n=MAX_DOCUMENTS)})
    for doc in documents:
        application.documents.append(RepairDocument(
            kind=doc.kind, media_type=doc.media_type, size=len(doc.data), added_on=on,
            data=doc.data, event_id=event_id))


# ---------------------------------------------------------------- the applicant's side

FIELDS = ("uscc", "applicant_name", "applicant_role", "contact", "penalty_done", "rectification")


def clean_fields(values: dict[str, Any]) -> dict[str, str]:
    """The form's values trimmed and checked; ``ApplicationInvalid`` naming each problem."""
    return access_cases.clean_fields(values, FIELDS, (
        ("applicant_name", _l("申请人姓名"), NAME_MAX),
        ("applicant_role", _l("申请人职务"), ROLE_MAX),
        ("contact", _l("联系电话或电子邮箱"), CONTACT_MAX),
        ("penalty_done", _l("行政处罚履行情况"), TEXT_MAX),
        ("rectification", _l("整改情况"), TEXT_MAX)))


def _earliest(day: date) -> str:
    """"最早可于…申请。" in the reader's language (the Chinese as the pages always wrote it)."""
    from portal.i18n import DEFAULT, current_language, format_date

    if current_language() == DEFAULT:
        return f"最早可于 {day:%Y年%m月%d日} 申请。"
    return str(_l("最早可于 %(date)s 申请。", date=format_date(day)))


def save_draft(draft: RepairApplication | None, values: dict[str, Any],
               documents: list[CleanDocument], *,
               remove_document_ids: set[int] = frozenset()) -> RepairApplication:  # type: ignore[assignment]
    """Keep the form as a draft with its documents (so a file is never chosen twice), whether
    or not every field is right yet.  The entry must be active and eligible."""
    entry = active_entry_for(values.get("uscc") or "")
    verdict = eligibility(entry)
    if not verdict.eligible and not (draft is not None and draft.entry_id == entry.id
                                     and not verdict.open_application):
        raise ApplicationInvalid({"uscc": str(verdict.reason) + (
            _earliest(verdict.from_date) if verdict.from_date > local_today() else "")})
    today = local_today()
    if draft is None:
        draft = RepairApplication(status="draft", entry=entry, department_id=entry.department_id,
                                  created_on=today)
        db.session.add(draft)
    draft.entry = entry
    draft.department_id = entry.department_id
    for name in FIELDS[1:]:
        setattr(draft, name, str(values.get(name) or "").replace("\x00", "").strip()[:TEXT_MAX])
    for doc in list(draft.documents):
        if doc.id in remove_document_ids:
            draft.documents.remove(doc)
    _attach(draft, documents, today)
    db.session.commit()
    return draft


def get_draft(draft_id: Any) -> RepairApplication | None:
    return access_cases.get_draft(RepairApplication, draft_id)


def draft_values(draft: RepairApplication) -> dict[str, str]:
    return {"uscc": draft.entry.uscc} | {name: getattr(draft, name) or "" for name in FIELDS[1:]}


def discard_draft(draft: RepairApplication) -> None:
    db.session.delete(draft)
    db.session.commit()


def submit(draft: RepairApplication) -> tuple[RepairApplication, str]:
    """Send a checked draft: its number, its deadline and a fresh access code (returned once,
    canonical; only its digest is kept)."""
    clean_fields(draft_values(draft))
    if not any(d.kind == "commitment" for d in draft.documents):
        raise ApplicationInvalid({"documents": _l("请上传签署的信用承诺书。")})
    entry = draft.entry
    verdict = eligibility(entry)
    if not verdict.eligible:
        raise NotEligible(verdict.reason)
    code = access_cases.send(draft, decision_working_days())
    draft.add_event("submitted", draft.received_on, author="applicant")
    audit.record(db.session, "repair_submit", actor_name=audit.ANONYMOUS_ACTOR,
                 object_kind="repair", object_id=draft.id,
                 summary={"entry": entry.id, "due": draft.due_on})
    db.session.commit()
    return draft, code


def find_by_code(raw: str) -> RepairApplication:
    """The application whose access code is in ``raw`` (one Argon2id hash, right or wrong)."""
    return access_cases.find_by_code(RepairApplication, raw)


def add_reply(application: RepairApplication, body: str, documents: list[CleanDocument]) -> None:
    """The applicant answers a question or adds documents; an application asked for more goes
    back to review."""
    body = (body or "").replace("\x00", "").strip()
    if not application.is_open:
        raise StepRefused(str(_l("该申请已办结，不能再补充。")))
    if not body and not documents:
        raise ApplicationInvalid({"body": _l("请填写补充说明或选择附件。")})
    if len(body) > TEXT_MAX:
        raise ApplicationInvalid({"body": _l("补充说明不超过 %(n)s 个字。", n=TEXT_MAX)})
    today = local_today()
    event = application.add_event("reply", today, body or "（补充附件）", author="applicant")
    db.session.flush()
    _attach(application, documents, today, event_id=event.id)
    if application.status == "more_requested":
        application.status = "under_review"
    audit.record(db.session, "repair_reply", actor_name=audit.ANONYMOUS_ACTOR,
                 object_kind="repair", object_id=application.id,
                 summary={"documents": len(documents)})
    db.session.commit()


# ---------------------------------------------------------------- the staff side


def get(application_id: int) -> RepairApplication:
    found = db.session.get(RepairApplication, application_id)
    if found is None or found.status == "draft":
        raise LookupError(application_id)
    return found


@dataclass(frozen=True)
class QueueRow:
    application: RepairApplication
    days_left: int  # working days; negative when overdue

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def _working_days_left(today: date, due: date) -> int:
    calendar = working_calendar()
    if due >= today:
        return calendar.working_days_between(today, due)
    return -max(1, calendar.working_days_between(due, today))


def queue(*, open_only: bool = True, today: date | None = None) -> list[QueueRow]:
    """Applications (open ones by default), overdue first, then by deadline."""
    today = today or local_today()
    stmt = select(RepairApplication).where(RepairApplication.status != "draft")
    if open_only:
        stmt = stmt.where(RepairApplication.status.in_(OPEN_STATES))
    rows = [QueueRow(a, _working_days_left(today, a.due_on) if a.due_on else 0)
            for a in db.session.scalars(stmt.order_by(RepairApplication.due_on,
                                                      RepairApplication.id)).unique()]
    rows.sort(key=lambda r: (not r.overdue, r.application.due_on or today, r.application.id))
    return rows


def _audit(application: RepairApplication, action: str, actor: Any, **summary: Any) -> None:
    audit.record(db.session, action, actor=actor, object_kind="repair",
                 object_id=application.id, summary={"number": application.number, **summary})


def step_refusal(application: RepairApplication, actor: Any) -> str | None:
    """Why ``actor`` may not take steps on ``application`` (not of the department that listed
    the entry), or None.  The page shows it; every step checks it."""
    return departments.refusal(actor, application.department_id, application.department.name,
                               "信用修复申请")


def _own_department(application: RepairApplication, actor: Any, step: str) -> None:
    """Refuse (and audit the attempt) a step by staff of another department or of none."""
    reason = step_refusal(application, actor)
    if reason is not None:
        _audit(application, "repair_refused", actor, step=step,
               department=application.department_id,
               actor_department=getattr(actor, "department_id", None))
        db.session.commit()
        raise StepRefused(reason)


def _require(application: RepairApplication, *states: str) -> None:
    if application.status not in states:
        raise StepRefused(f"该申请当前状态为“{application.status_label}”，不能办理这一步。")


def accept(application: RepairApplication, *, actor: Any) -> None:
    """受理: the review begins (the deadline runs from receipt either way)."""
    _own_department(application, actor, "accept")
    _require(application, "submitted")
    today = local_today()
    application.status = "under_review"
    application.accepted_on = today
    application.add_event("accepted", today)
    _audit(application, "repair_accept", actor)
    db.session.commit()


def ask_more(application: RepairApplication, *, actor: Any, question: str) -> None:
    """Ask the applicant for more (they read it with their code)."""
    _own_department(application, actor, "ask")
    _require(application, "under_review", "more_requested")
    question = (question or "").strip()
    if len(question) < 4:
        raise ApplicationInvalid({"question": "请写明需要补充的内容（至少 4 个字）。"})
    today = local_today()
    application.status = "more_requested"
    application.add_event("question", today, question[:TEXT_MAX])
    _audit(application, "repair_ask", actor)
    db.session.commit()


def propose(application: RepairApplication, *, actor: Any, outcome: str, decision_no: str,
            reasons: str) -> None:
    """Propose the decision: grant (with the decision's number) or refuse (with reasons)."""
    _own_department(application, actor, "propose")
    _require(application, "under_review")
    decision_no = (decision_no or "").strip()
    reasons = (reasons or "").strip()
    errors: dict[str, str] = {}
    if outcome not in ("grant", "refuse"):
        errors["outcome"] = "请选择准予或不予信用修复。"
    if not decision_no or len(decision_no) > DECISION_NO_MAX:
        errors["decision_no"] = "请填写决定文号。"
    if len(reasons) < 4:
        errors["reasons"] = "请填写理由（至少 4 个字）。"
    if outcome == "grant" and not errors:
        verdict_day = blacklist_admin.earliest_removal_date(application.entry)
        if local_today() < verdict_day:
            errors["outcome"] = f"最早可于 {verdict_day:%Y年%m月%d日} 移出。"
    if errors:
        raise ApplicationInvalid(errors)
    today = local_today()
    application.status = "proposed"
    application.proposed_outcome = outcome
    application.proposed_by_id = actor.id
    application.proposed_on = today
    application.decision_no = decision_no
    application.reasons = reasons[:TEXT_MAX]
    application.add_event("proposed", today)
    _audit(application, "repair_propose", actor, outcome=outcome, decision_no=decision_no)
    db.session.commit()


def _not_the_proposer(application: RepairApplication, actor: Any) -> None:
    if application.proposed_by_id == actor.id:
        raise StepRefused("提出审核意见的人员不能批准自己的意见，须由另一位人员批准。")


def return_proposal(application: RepairApplication, *, actor: Any, note: str) -> None:
    """The approver sends the proposal back to review."""
    _own_department(application, actor, "return")
    _require(application, "proposed")
    _not_the_proposer(application, actor)
    note = (note or "").strip()
    if len(note) < 4:
        raise ApplicationInvalid({"note": "请写明退回的理由（至少 4 个字）。"})
    application.status = "under_review"
    application.add_event("returned", local_today())
    _audit(application, "repair_return", actor, note=note)
    db.session.commit()


def approve(application: RepairApplication, *, actor: Any) -> None:
    """Approve the proposal (a different account): a grant removes the entry early through the
    blacklist's own removal (its history says 信用修复 and the decision's number)."""
    _own_department(application, actor, "approve")
    _require(application, "proposed")
    _not_the_proposer(application, actor)
    today = local_today()
    entry = application.entry
    if application.proposed_outcome == "grant":
        try:
            # remove_early commits the entry's change with its own audit event and history.
            blacklist_admin.remove_early(
                entry, removed_on=today,
                reason=f"信用修复，决定文号 {application.decision_no}")
        except (TransitionRefused, ValuesInvalid) as exc:
            db.session.rollback()
            message = exc.errors if isinstance(exc, ValuesInvalid) else str(exc)
            raise StepRefused(f"不能移出：{message}") from None
        application.status = "granted"
        application.add_event("granted", today, f"决定文号：{application.decision_no}。")
    else:
        application.status = "refused"
        application.add_event("refused", today, application.reasons)
    application.decided_by_id = actor.id
    application.decided_on = today
    application.closed_on = today
    _audit(application, "repair_decide", actor, outcome=application.status,
           decision_no=application.decision_no, on_time=application.decided_on_time)
    db.session.commit()


def revoke(application: RepairApplication, *, actor: Any, reason: str) -> None:
    """Revoke a grant obtained by fraud: the listing is restored (its history says so)."""
    _own_department(application, actor, "revoke")
    _require(application, "granted")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ApplicationInvalid({"reason": "请写明撤销的理由（至少 4 个字）。"})
    try:
        blacklist_admin.reinstate(application.entry,
                                  reason=f"信用修复（{application.decision_no}）以欺骗手段取得：{reason}")
    except TransitionRefused as exc:
        db.session.rollback()
        raise StepRefused(str(exc)) from None
    today = local_today()
    application.status = "revoked"
    application.revoked_on = today
    application.closed_on = today
    application.add_event("revoked", today, mask_personal_data(reason))
    _audit(application, "repair_revoke", actor, reason=reason)
    db.session.commit()


def document_of(application: RepairApplication, document_id: int) -> RepairDocument | None:
    for doc in application.documents:
        if doc.id == document_id:
            return doc
    return None


def document_refusal(application: RepairApplication, actor: Any) -> str | None:
    """Why ``actor`` may not download ``application``'s documents (not of the department that
    listed the entry, or of none), or None.  The page shows it instead of the links."""
    return departments.document_refusal(actor, application.department_id,
                                        application.department.name, "信用修复申请")


def view_document(application: RepairApplication, document: RepairDocument, *, actor: Any) -> bytes:
    """A document's bytes for staff of the deciding department, with an audit event; anyone
    else is refused (``StepRefused``), and the attempt is audited too."""
    reason = document_refusal(application, actor)
    if reason is not None:
        _audit(application, "repair_document_refused", actor, document=document.id,
               department=application.department_id,
               actor_department=getattr(actor, "department_id", None))
        db.session.commit()
        raise StepRefused(reason)
    _audit(application, "repair_document_view", actor, document=document.id)
    db.session.commit()
    return document.data


def staff_names(ids: set[int | None]) -> dict[int, str]:
    from portal.staff.models import StaffUser

    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.name for u in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(wanted)))}


# ---------------------------------------------------------------- retention, statistics


@dataclass(frozen=True)
class PurgeResult:
    drafts: int
    applications: int


def purge(*, now: datetime | None = None) -> PurgeResult:
    """Delete drafts older than a day; erase the personal content (applicant, contact, texts,
    notes, documents) of applications closed more than ``report_retention_years`` ago.  Kept:
    the entry, the department, dates, states and the decision's number (the statistics and
    the public state need them)."""
    swept = access_cases.sweep(RepairApplication, now)
    for application in swept.due:
        application.applicant_name = ""
        application.applicant_role = ""
        application.contact = None
        application.penalty_done = ""
        application.rectification = ""
        application.reasons = None if application.reasons is None else ""
        application.access_digest = None
        for event in application.events:
            event.note = None
        db.session.execute(delete(RepairDocument).where(
            RepairDocument.application_id == application.id))
        db.session.expire(application, ["documents"])
        application.purged_on = swept.today
    if swept.drafts or swept.due:
        audit.record(db.session, "repair_purge", actor_name=audit.SYSTEM_ACTOR,
                     object_kind="repair",
                     summary={"drafts": swept.drafts, "applications": len(swept.due),
                              "cutoff": swept.cutoff})
    db.session.commit()
    return PurgeResult(swept.drafts, len(swept.due))


@dataclass(frozen=True)
class DepartmentTimeliness:
    department: str
    decided: int
    on_time: int
    open_overdue: int


def timeliness(today: date | None = None) -> list[DepartmentTimeliness]:
    """Per department: applications decided, of which within the deadline, and open ones
    already past it (for /compliance)."""
    today = today or local_today()
    A = RepairApplication
    decided = A.decided_on.is_not(None)
    rows = db.session.execute(
        select(
            Department.name,
            func.sum(case((decided, 1), else_=0)),
            func.sum(case((decided & (A.decided_on <= A.due_on), 1), else_=0)),
            func.sum(case((A.status.in_(OPEN_STATES) & (A.due_on < today), 1), else_=0)),
        )
        .join(Department, Department.id == A.department_id)
        .where(A.status != "draft")
        .group_by(Department.name)
        .order_by(Department.name)
    ).all()
    return [DepartmentTimeliness(name, int(d or 0), int(o or 0), int(late or 0))
            for name, d, o, late in rows]


def agenda_rows(today: date, *, make_row: Any, days_left: Any) -> tuple[list[Any], list[Any]]:
    """The editors' agenda rows of open applications: (overdue, the rest), by deadline."""
    from flask import url_for

    late, current = [], []
    for application in db.session.scalars(
        select(RepairApplication).where(RepairApplication.status.in_(OPEN_STATES),
                                        RepairApplication.due_on.is_not(None))
        .order_by(RepairApplication.due_on, RepairApplication.id)
    ).unique():
        assert application.due_on is not None
        row = make_row("repair", application, f"决定信用修复申请（{application.status_label}）",
                       application.due_on, days_left(today, application.due_on), True,
                       application.due_provisional,
                       url_for("staff.repair_detail", application_id=application.id))
        (late if row.overdue else current).append(row)
    return late, current
