"""The publishing workflow for the four kinds: create (draft), edit, publish, withdraw.

Every change is one transaction: the item, its public history (``history.record_version``) and
the audit event commit together; the search index follows after commit (``portal.search_sync``).
Published items are never deleted: a withdrawn item keeps its page, marked, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from portal import audit, fieldspec, kinds
from portal.domain.blacklist import listing_end
from portal.domain.catalog import (
    ACCIDENT_ASSESSMENT_YEARS,
    FINE_ONLY_ON_PENALTY,
    POWER_CHANGE_PUBLISH_WORKING_DAYS,
    WITHDRAWAL_PUBLISH_WORKING_DAYS,
    decision_deadline_figures,
    fine_allowed,
)
from portal.domain.masking import mask_personal_data
from portal.domain.workdays import Deadline
from portal.extensions import db
from portal.labels import item_labels
from portal.models import (
    DISCLOSURE_MODELS,
    AccidentReport,
    BlacklistEntry,
    Decision,
    Department,
    DisclosureMixin,
    Enterprise,
    PowerItem,
    local_date,
    local_today,
    utcnow,
)
from portal.sanitize import markdown_to_html
from portal.services.publication import history
from portal.working_days import working_calendar

KINDS = fieldspec.KINDS

# Fields the model derives on flush (never typed in); a change to them is shown in the history.
DERIVED_FIELDS = {k.key: k.derived_columns for k in kinds.KINDS}
MIN_REASON_LENGTH = 4


class PublishingError(Exception):
    """A workflow step was refused; ``str()`` is a message for the editor."""


class ItemNotFound(PublishingError):
    pass


class TransitionRefused(PublishingError):
    """The item is not in a state that allows this step (e.g. publishing a withdrawn item)."""


class ValuesInvalid(PublishingError):
    """Values clash with stored data; ``errors`` maps form fields to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


@dataclass
class Saved:
    item: DisclosureMixin
    changes: dict[str, list[Any]] = field(default_factory=dict)
    masked: list[str] = field(default_factory=list)  # labels of fields where data was masked


# ---------------------------------------------------------------- reading


def get_item(kind: str, item_id: int) -> DisclosureMixin:
    """The item of ``kind`` with ``item_id`` (drafts included) or ``ItemNotFound``."""
    model = DISCLOSURE_MODELS.get(kind)
    item = db.session.get(model, item_id) if model else None
    if item is None:
        raise ItemNotFound("未找到该条目。")
    return item


STATES = {"draft": "草稿", "published": "已发布", "withdrawn": "已撤回"}


@dataclass(frozen=True)
class ItemPage:
    items: list[DisclosureMixin]
    total: int
    page: int
    pages: int


def list_items(
    kind: str, *, state: str = "", query: str = "", page: int = 1, page_size: int = 20
) -> ItemPage:
    """Items of ``kind`` for the back office, newest first, filtered by state and a text."""
    model = DISCLOSURE_MODELS[kind]
    conditions: list[Any] = []
    if state == "draft":
        conditions.append(model.published_at.is_(None))
    elif state == "published":
        conditions += [model.published_at.is_not(None), model.withdrawn_at.is_(None)]
    elif state == "withdrawn":
        conditions.append(model.withdrawn_at.is_not(None))
    query = query.strip()
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        columns = [getattr(model, name) for name in kinds.get(kind).staff_search]
        conditions.append(or_(*(c.like(pattern, escape="\\") for c in columns)))
    total = db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    items = list(
        db.session.scalars(
            select(model)
            .where(*conditions)
            .order_by(model.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).unique()
    )
    return ItemPage(items, total, page, pages)


# ---------------------------------------------------------------- preparing values


def _department(name: str) -> Department:
    name = name.strip()
    dept = db.session.scalar(select(Department).where(Department.name == name))
    if dept is None:
        dept = Department(name=name)
        db.session.add(dept)
    return dept


def _enterprise(uscc: str | None, values: dict[str, Any], name: str) -> Enterprise | None:
    if not uscc:
        return None
    ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
    if ent is None:
        ent = Enterprise(
            uscc=uscc,
            name=name,
            county=values.get("county", ""),
            sector=values.get("sector", ""),
            address=values.get("party_address", ""),
        )
        db.session.add(ent)
    return ent


def _prepare(kind: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Split form values into plain column values and relations; derive stored forms.

    Returns (columns, relations, labels of masked fields).
    """
    # Every free-text field of the spec, before anything is stored or rendered: the editor's
    # Markdown is masked in its source (with escaped asterisks), then rendered.
    values, masked = fieldspec.mask_values(kind, values)
    relations: dict[str, Any] = {}
    if "department_name" in values:
        relations["department"] = _department(values.pop("department_name"))
    if kind == "decisions":
        values["uscc"] = values.get("uscc") or None
        relations["enterprise"] = _enterprise(values["uscc"], values, values["party_name"])
    elif kind == "accidents":
        values["uscc"] = values.get("uscc") or None
        relations["enterprise"] = _enterprise(values["uscc"], values, values["enterprise_name"])
        if "report_source" in values:
            report = fieldspec.field("accidents", "report_html")
            assert report is not None
            values["report_html"] = report.mask(markdown_to_html(values["report_source"] or ""))
    elif kind == "blacklist":
        relations["enterprise"] = _enterprise(values["uscc"], values, values["enterprise_name"])
        values["ends_on"] = listing_end(values["listed_on"], listing_duration_years())
    return values, relations, masked


def listing_duration_years() -> int:
    """How long a blacklist listing lasts (configured; 应急管理部令第11号 says 3 years)."""
    return current_app.config["SETTINGS"].blacklist_years


def _check_unique(kind: str, values: dict[str, Any], item_id: int | None) -> None:
    model = DISCLOSURE_MODELS[kind]
    checks: list[tuple[str, Any, str]] = []
    if kind == "powers":
        checks.append(("code", PowerItem.code == values["code"], "该编码已被其他条目使用。"))
    elif kind == "decisions":
        checks.append(
            ("document_no", Decision.document_no == values["document_no"], "该文号已存在。")
        )
    elif kind == "blacklist":
        checks.append(
            (
                "listed_on",
                (BlacklistEntry.uscc == values["uscc"])
                & (BlacklistEntry.listed_on == values["listed_on"]),
                "该企业在同一日期已有一条列入记录。",
            )
        )
    errors = {}
    for field_name, condition, message in checks:
        stmt = select(model.id).where(condition)
        if item_id is not None:
            stmt = stmt.where(model.id != item_id)
        if db.session.scalar(stmt.limit(1)) is not None:
            errors[field_name] = message
    if errors:
        raise ValuesInvalid(errors)


@contextmanager
def _clash_is_an_input_error() -> Iterator[None]:
    """A clash with a concurrent change (the same 文号, code or listing saved a moment earlier)
    is for the editor to resolve, not a server error."""
    try:
        yield
    except IntegrityError as exc:
        db.session.rollback()
        raise ValuesInvalid({"": "保存时与他人同时提交的内容冲突，请核对后重试。"}) from exc


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# ---------------------------------------------------------------- transitions


def _check_fine(kind: str, values: dict[str, Any], item: Any = None) -> None:
    """Only a 行政处罚 carries a fine: refuse one on a licence, an inspection or a coercive
    measure (the values given, completed by the item's own where they leave one out)."""
    if kind != "decisions":
        return
    decision_type = values.get("decision_type", getattr(item, "decision_type", None))
    fine = values.get("fine_yuan", getattr(item, "fine_yuan", None))
    if fine is not None and not fine_allowed(decision_type):
        raise ValuesInvalid({"fine_yuan": FINE_ONLY_ON_PENALTY})


def create_item(kind: str, values: dict[str, Any]) -> Saved:
    """Create a draft of ``kind`` from validated form values; drafts are not public."""
    model = DISCLOSURE_MODELS[kind]
    _check_fine(kind, values)
    columns, relations, masked = _prepare(kind, values)
    _check_unique(kind, columns, None)
    item = model(**columns, **relations)
    with _clash_is_an_input_error():
        db.session.add(item)
        db.session.flush()
        action = "list" if kind == "blacklist" else "create"
        summary: dict[str, Any] = {"title": item.title}
        if kind == "blacklist":
            summary |= {"grounds": item.grounds, "listed_on": item.listed_on,
                        "ends_on": item.ends_on}
        audit.record(db.session, action, object_kind=kind, object_id=item.id, summary=summary)
        db.session.commit()
    return Saved(item, masked=masked)


def _refuse_if_withdrawn(item: DisclosureMixin) -> None:
    if item.is_withdrawn:
        raise TransitionRefused("该条目已撤回，不能再修改或发布。")


def edit_item(item: DisclosureMixin, values: dict[str, Any]) -> Saved:
    """Apply edited values.  On a published item the earlier version goes to its history."""
    _refuse_if_withdrawn(item)
    kind = item.KIND
    _check_fine(kind, values, item)
    columns, relations, masked = _prepare(kind, values)
    _check_unique(kind, columns, item.id)
    derived_before = {name: getattr(item, name) for name in DERIVED_FIELDS[kind]}
    changes = history.apply_changes(item, columns)
    for name, related in relations.items():
        old = getattr(item, name)
        if old is not related:
            setattr(item, name, related)
            if name == "department":
                changes["department"] = [old.name if old else None, related.name]
    with _clash_is_an_input_error():
        db.session.flush()
        for name, before in derived_before.items():
            after = getattr(item, name)
            if after != before:
                changes[name] = [_jsonable(before), _jsonable(after)]
        # The Markdown source is the editor's; the public history shows the rendered text.
        changes.pop("report_source", None)
        if not changes:
            db.session.rollback()
            return Saved(item, masked=masked)
        labels = item_labels(item)  # a decision's fields are named after its type
        summary = "修改：" + "、".join(labels.get(name, name) for name in changes)
        history.record_version(db.session, item, changes, summary)
        audit.record(
            db.session,
            "edit",
            object_kind=kind,
            object_id=item.id,
            summary={"published": item.is_published, "changes": changes},
        )
        db.session.commit()
    return Saved(item, changes=changes, masked=masked)


def publish_item(item: DisclosureMixin) -> None:
    """Make a draft public now."""
    _refuse_if_withdrawn(item)
    if item.is_published:
        raise TransitionRefused("该条目已发布。")
    if isinstance(item, AccidentReport) and item.approved_on is None:
        raise TransitionRefused("事故调查报告须在批复后公开：请先填写批复日期。")
    now = utcnow()
    item.published_at = now
    item.modified_at = now
    summary: dict[str, Any] = {"title": item.title}
    if isinstance(item, Decision):
        summary["on_time"] = item.published_on_time
        summary["publish_due"] = item.publish_due
    audit.record(db.session, "publish", object_kind=item.KIND, object_id=item.id, summary=summary)
    db.session.commit()


def withdraw_item(item: DisclosureMixin, *, reason: str) -> None:
    """Withdraw a published item: its page stays, marked, with ``reason``; history keeps it."""
    reason = require_reason(reason, "撤回理由")
    if not item.is_published:
        raise TransitionRefused("草稿尚未公开，无需撤回。")
    _refuse_if_withdrawn(item)
    summary: dict[str, Any] = {"reason": reason}
    values: dict[str, Any] = {"withdrawn_at": utcnow(), "withdrawn_reason": reason}
    if isinstance(item, Decision):
        # Every withdrawn decision has the day it was changed or revoked, from which its
        # timeliness is judged (compliance.withdrawal_state): recorded beforehand
        # (request_withdrawal), or else it is the day of the withdrawal itself.
        changed_on = item.withdrawal_requested_on or local_today()
        if item.withdrawal_requested_on is None:
            values["withdrawal_requested_on"] = changed_on
        due = withdrawal_due(changed_on)
        summary |= {"due": due, "on_time": local_today() <= due}
    record_change(
        item, values,
        history_summary=f"撤回：{reason}", action="withdraw", audit_summary=summary,
    )


def require_reason(reason: str | None, what: str) -> str:
    """The trimmed reason, or ``ValuesInvalid`` on the reason field naming ``what`` is missing."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ValuesInvalid({"reason": f"请填写{what}（至少 {MIN_REASON_LENGTH} 个字）。"})
    # Reasons are published (withdrawal, removal, the public history): free text, so masked.
    return mask_personal_data(reason)


def record_change(
    item: DisclosureMixin, values: dict[str, Any], *, history_summary: str, action: str,
    audit_summary: dict[str, Any],
) -> None:
    """Apply a state change to a published item with its public version and audit event,
    all in one transaction."""
    changes = history.apply_changes(item, values)
    history.record_version(db.session, item, changes, history_summary)
    audit.record(db.session, action, object_kind=item.KIND, object_id=item.id,
                 summary=audit_summary)
    db.session.commit()


def power_change_deadline(item: PowerItem) -> Deadline:
    """When a power-list change must be public: within POWER_CHANGE_PUBLISH_WORKING_DAYS working
    days (local practice) of the day the change was entered (the draft's creation day)."""
    return working_calendar().add_working_days(
        local_date(item.created_at), POWER_CHANGE_PUBLISH_WORKING_DAYS
    )


def withdrawal_due(changed_on: date) -> date:
    return working_calendar().add_working_days(changed_on, WITHDRAWAL_PUBLISH_WORKING_DAYS).due


def request_withdrawal(decision: Decision, *, changed_on: date, reason: str) -> date:
    """Record that a published decision was changed, revoked or declared void on ``changed_on``.

    Its withdrawal is then due within 3 working days (行政处罚法 Art. 48) and shows on the
    editors' deadlines until published.  Returns the due date.
    """
    reason = require_reason(reason, "变更或撤销情况")
    if changed_on > local_today():
        raise ValuesInvalid({"changed_on": "日期不能晚于今天。"})
    if not decision.is_published:
        raise TransitionRefused("草稿尚未公开：直接修改草稿即可。")
    _refuse_if_withdrawn(decision)
    decision.withdrawal_requested_on = changed_on
    decision.withdrawal_request_reason = reason
    due = withdrawal_due(changed_on)
    audit.record(
        db.session,
        "withdrawal_request",
        object_kind="decisions",
        object_id=decision.id,
        summary={"changed_on": changed_on, "reason": reason, "due": due},
    )
    db.session.commit()
    return due


# ---------------------------------------------------------------- deadlines


@dataclass(frozen=True)
class AgendaRow:
    kind: str
    item: DisclosureMixin
    task: str
    due: date
    days_left: int  # negative when overdue
    working_days: bool  # days_left counts working days (else calendar days)
    provisional: bool = False

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def days_text(self) -> str:
        unit = "个工作日" if self.working_days else "天"
        if self.days_left < 0:
            return f"已逾期 {-self.days_left} {unit}"
        if self.days_left == 0:
            return "今天到期"
        return f"还剩 {self.days_left} {unit}"


@dataclass(frozen=True)
class AgendaSection:
    key: str
    title: str
    rows: list[AgendaRow]
    total: int


@dataclass(frozen=True)
class Agenda:
    overdue: list[AgendaRow]
    sections: list[AgendaSection]
    drafts: dict[str, int]


def _working_days_left(today: date, due: date) -> int:
    # working_days_between counts working days after ``today`` up to ``due``; a deadline that
    # is today or in the past on a holiday counts from the next working day backwards.
    calendar = working_calendar()
    if due >= today:
        return calendar.working_days_between(today, due)
    return -max(1, calendar.working_days_between(due, today))


def agenda(today: date | None = None, *, limit: int = 50) -> Agenda:
    """What editors must publish and by when, overdue first (DOMAIN.md §1)."""
    today = today or local_today()
    unpublished = (
        select(Decision)
        .where(Decision.published_at.is_(None), Decision.publish_due.is_not(None))
        .order_by(Decision.publish_due, Decision.id)
    )
    withdrawals = (
        select(Decision)
        .where(
            Decision.withdrawal_requested_on.is_not(None),
            Decision.withdrawn_at.is_(None),
            Decision.published_at.is_not(None),
        )
        .order_by(Decision.withdrawal_requested_on, Decision.id)
    )
    assessments = (
        select(AccidentReport)
        .where(
            AccidentReport.published_at.is_not(None),
            AccidentReport.withdrawn_at.is_(None),
            AccidentReport.assessment_due.is_not(None),
            AccidentReport.assessment_published_on.is_(None),
        )
        .order_by(AccidentReport.assessment_due, AccidentReport.id)
    )

    def count(stmt: Any) -> int:
        return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0

    def rows(stmt: Any, make: Any) -> list[AgendaRow]:
        return [make(item) for item in db.session.scalars(stmt.limit(limit)).unique()]

    def decision_row(item: Decision) -> AgendaRow:
        assert item.publish_due is not None
        return AgendaRow(
            "decisions", item, f"公开{item.decision_type}决定", item.publish_due,
            _working_days_left(today, item.publish_due), True, item.publish_due_provisional,
        )

    def withdrawal_row(item: Decision) -> AgendaRow:
        assert item.withdrawal_requested_on is not None
        deadline = working_calendar().add_working_days(
            item.withdrawal_requested_on, WITHDRAWAL_PUBLISH_WORKING_DAYS
        )
        return AgendaRow(
            "decisions", item, "公开撤回", deadline.due,
            _working_days_left(today, deadline.due), True, deadline.provisional,
        )

    def power_row(item: PowerItem) -> AgendaRow:
        deadline = power_change_deadline(item)
        return AgendaRow(
            "powers", item, "公开权责清单调整", deadline.due,
            _working_days_left(today, deadline.due), True, deadline.provisional,
        )

    def assessment_row(item: AccidentReport) -> AgendaRow:
        assert item.assessment_due is not None
        return AgendaRow(
            "accidents", item, "公开整改评估", item.assessment_due,
            (item.assessment_due - today).days, False,
        )

    power_drafts = (
        select(PowerItem)
        .where(PowerItem.published_at.is_(None))
        .order_by(PowerItem.created_at, PowerItem.id)
    )
    specs = [
        ("decisions", f"待公开的执法决定（{decision_deadline_figures()} 个工作日）", unpublished,
         decision_row, Decision.publish_due),
        ("withdrawals", f"待公开的撤回（{WITHDRAWAL_PUBLISH_WORKING_DAYS} 个工作日）", withdrawals,
         withdrawal_row, None),
        ("powers", f"待公开的权责清单调整（{POWER_CHANGE_PUBLISH_WORKING_DAYS} 个工作日）",
         power_drafts, power_row, None),
        ("assessments", f"待公开的事故整改评估（批复后 {ACCIDENT_ASSESSMENT_YEARS} 年）",
         assessments, assessment_row, AccidentReport.assessment_due),
    ]
    overdue: list[AgendaRow] = []
    sections = []
    for key, title, stmt, make, due_column in specs:
        if due_column is not None:
            late = rows(stmt.where(due_column < today), make)
            current = rows(stmt.where(due_column >= today), make)
            total = count(stmt.where(due_column >= today))
        else:
            # Withdrawal and power-change deadlines are computed in working days, not stored:
            # split in Python, over every such item (they are few: drafts and pending requests).
            every = [make(item) for item in db.session.scalars(stmt).unique()]
            every.sort(key=lambda r: (r.due, r.item.id))
            late = [r for r in every if r.overdue][:limit]
            current = [r for r in every if not r.overdue]
            total = len(current)
            current = current[:limit]
        overdue += late
        sections.append(AgendaSection(key, title, current, total))
    overdue.sort(key=lambda r: (r.due, r.kind, r.item.id))
    drafts = {
        kind: db.session.scalar(
            select(func.count()).select_from(model).where(model.published_at.is_(None))
        )
        or 0
        for kind, model in DISCLOSURE_MODELS.items()
    }
    return Agenda(overdue, sections, drafts)
