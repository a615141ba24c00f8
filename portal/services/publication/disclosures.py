"""Queries behind the public pages: filtered, paged lists, one published item, latest items, facets.

Only published items are ever returned (a draft has ``published_at`` None); withdrawn items stay
in lists and keep their pages, marked.  The SQL is portable (SQLite and PostgreSQL).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, Select, extract, func, literal, select

from portal import fieldspec, kinds
from portal.domain import supervision as supervision_rules
from portal.domain.accidents import AccidentLevel
from portal.domain.blacklist import BlacklistStatus
from portal.domain.catalog import COUNTIES, SECTORS
from portal.extensions import db
from portal.labels import field_label
from portal.models import (
    DISCLOSURE_MODELS,
    AccidentReport,
    BlacklistEntry,
    Decision,
    Department,
    DisclosureMixin,
    ItemVersion,
    PowerItem,
    SupervisionItem,
    local_date,
    local_today,
)
from portal.services.publication.history import history
from portal.templating import format_yuan

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
KINDS: tuple[str, ...] = fieldspec.KINDS
MAX_ID = 2**31 - 1
# The statuses offered by the blacklist filter; "pending" (a listing date still ahead) is shown
# on an entry but not offered, as the regulator publishes entries on listing.
BLACKLIST_FILTER_STATUSES = (BlacklistStatus.ACTIVE, BlacklistStatus.EXPIRED, BlacklistStatus.REMOVED)


class DisclosureNotFound(LookupError):
    """No published item of that kind has that id (unknown, or still a draft)."""


class PageOutOfRange(ValueError):
    """The requested page is past the last one; ``last_page`` says where the list ends."""

    def __init__(self, requested: int, last_page: int) -> None:
        super().__init__(f"page {requested} is past the last page {last_page}")
        self.requested = requested
        self.last_page = last_page


@dataclass(frozen=True)
class ListFilters:
    """What a public list may be narrowed by; ``None`` means no restriction."""

    county: str | None = None
    sector: str | None = None
    year: int | None = None
    department_id: int | None = None
    power_type: str | None = None
    decision_type: str | None = None
    level: AccidentLevel | None = None
    status: BlacklistStatus | None = None
    # The compliance page's figures (portal.services.oversight.compliance): decisions or power items
    # published after their deadline, withdrawals by timeliness, accident assessments by state.
    late: bool | None = None
    withdrawal: str | None = None
    assessment: str | None = None
    # 督办事项: type, grade (重大/一般) and stage, or "overdue" (portal.domain.supervision).
    supervision_type: str | None = None
    grade: str | None = None
    stage: str | None = None


@dataclass(frozen=True)
class ItemPage:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page (0 when empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)


@dataclass(frozen=True)
class Facets:
    """The values a list can be filtered by, for the filter form's choices."""

    counties: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    departments: list[tuple[int, str]] = field(default_factory=list)


# Which optional filters each kind has (declared in portal.kinds): power items carry no county
# or sector.
KIND_FILTERS: dict[str, tuple[str, ...]] = {k.key: k.filters for k in kinds.KINDS}


def _model(kind: str) -> type[DisclosureMixin]:
    try:
        return DISCLOSURE_MODELS[kind]
    except KeyError:
        raise DisclosureNotFound(kind) from None


def _date_column(model: type[DisclosureMixin]) -> Any:
    """The column holding the item's decision or event date (its ``event_date``)."""
    return getattr(model, kinds.get(model.KIND).date_field)


def _year_clause(model: type[DisclosureMixin], year: int) -> ColumnElement[bool]:
    column = _date_column(model)
    if model is PowerItem:
        # A power item's date is its publication moment: the year is a Beijing-time year.
        start = datetime.combine(date(year, 1, 1), time(), LOCAL_ZONE).astimezone(UTC)
        end = datetime.combine(date(year + 1, 1, 1), time(), LOCAL_ZONE).astimezone(UTC)
    else:
        start, end = date(year, 1, 1), date(year + 1, 1, 1)
    return (column >= start) & (column < end)


def _published(model: type[DisclosureMixin]) -> Select[Any]:
    return select(model).where(model.published_at.is_not(None))


def _filtered(
    model: type[DisclosureMixin], filters: ListFilters, today: date
) -> Select[Any]:
    stmt = _published(model)
    if filters.year is not None:
        stmt = stmt.where(_year_clause(model, filters.year))
    if filters.department_id is not None:
        stmt = stmt.where(model.department_id == filters.department_id)  # type: ignore[attr-defined]
    if model is not PowerItem:
        if filters.county:
            stmt = stmt.where(model.county == filters.county)  # type: ignore[attr-defined]
        if filters.sector:
            stmt = stmt.where(model.sector == filters.sector)  # type: ignore[attr-defined]
    if model is PowerItem and filters.power_type:
        stmt = stmt.where(PowerItem.power_type == filters.power_type)
    if model is Decision and filters.decision_type:
        stmt = stmt.where(Decision.decision_type == filters.decision_type)
    if model is AccidentReport and filters.level is not None:
        stmt = stmt.where(AccidentReport.level == int(filters.level))
    if model is BlacklistEntry and filters.status is not None:
        stmt = stmt.where(BlacklistEntry.status_clause(filters.status, today))
    if model is SupervisionItem:
        stmt = _supervision_filtered(stmt, filters, today)
    stmt = _compliance_filtered(stmt, model, filters, today)
    return stmt


def _supervision_filtered(stmt: Select[Any], filters: ListFilters, today: date) -> Select[Any]:
    S = SupervisionItem
    if filters.supervision_type:
        stmt = stmt.where(S.supervision_type == filters.supervision_type)
    if filters.grade:
        stmt = stmt.where(S.grade == filters.grade)
    if filters.stage == supervision_rules.OVERDUE:
        stmt = stmt.where(S.overdue_clause(today))
    elif filters.stage:
        stmt = stmt.where(S.stage == filters.stage)
    return stmt


def _compliance_filtered(
    stmt: Select[Any], model: type[DisclosureMixin], filters: ListFilters, today: date
) -> Select[Any]:
    """The filters behind the compliance page's figures."""
    from portal.services.oversight import compliance

    if model is Decision and filters.late is not None:
        late = compliance.decision_late_clause()
        stmt = stmt.where(late if filters.late else compliance.decision_on_time_clause())
    if model is PowerItem and filters.late is not None:
        # Working-day deadlines are not stored: the (few) late ids are computed.
        ids = sorted(compliance.timeliness_ids("powers", "late", today, filters.department_id))
        stmt = stmt.where(PowerItem.id.in_(ids) if filters.late else PowerItem.id.not_in(ids))
    if model is Decision and filters.withdrawal:
        ids = compliance.timeliness_ids("decisions", filters.withdrawal, today,
                                       filters.department_id)
        stmt = stmt.where(Decision.id.in_(sorted(ids)))
    if model is AccidentReport and filters.assessment:
        stmt = stmt.where(compliance.assessment_clause(filters.assessment, today))
    return stmt


def _newest_first(stmt: Select[Any], model: type[DisclosureMixin]) -> Select[Any]:
    return stmt.order_by(_date_column(model).desc(), model.id.desc())


def list_published(
    kind: str,
    filters: ListFilters | None = None,
    *,
    page: int = 1,
    per_page: int | None = None,
    today: date | None = None,
) -> ItemPage:
    """Published items of ``kind`` matching ``filters``, newest first, one page of them.

    ``per_page`` defaults to ``Settings.page_size``; ``today`` (for the blacklist status)
    defaults to today's Beijing date.  Raises ``PageOutOfRange`` for a page past the last one
    (page 1 of an empty list is not out of range) and ``ValueError`` for a page below 1.
    """
    if page < 1:
        raise ValueError("page must be 1 or more")
    model = _model(kind)
    per_page = per_page or current_app.config["SETTINGS"].page_size
    stmt = _filtered(model, filters or ListFilters(), today or local_today())
    total = db.session.scalar(stmt.with_only_columns(func.count(), maintain_column_froms=True)) or 0
    pages = max(1, math.ceil(total / per_page))
    if page > pages:
        raise PageOutOfRange(page, pages)
    items = list(
        db.session.scalars(_newest_first(stmt, model).limit(per_page).offset((page - 1) * per_page))
    )
    return ItemPage(items=items, total=total, page=page, per_page=per_page)


def get_published(kind: str, item_id: int) -> DisclosureMixin:
    """The published item of ``kind`` with public id ``item_id``; drafts are not found."""
    model = _model(kind)
    # Ids are 32-bit integers on every database; a larger number cannot name an item (and
    # SQLite would refuse to bind it).
    if not 0 < item_id <= MAX_ID:
        raise DisclosureNotFound(f"{kind}/{item_id}")
    item = db.session.scalar(_published(model).where(model.id == item_id))
    if item is None:
        raise DisclosureNotFound(f"{kind}/{item_id}")
    return item


def item_kind_labels(refs: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """What each (kind, id) is called on its page, e.g. for the badges of a page of search hits.

    A decision is named after its type (行政检查决定 is no 行政处罚决定, as on its own page);
    other kinds take the kind's name.  One query per kind among ``refs`` (``item_facts``).
    """
    return {ref: facts.label for ref, facts in item_facts(refs).items()}


# What tells items apart beside their title (six power items may share one name): the number
# each kind is known by, and the responsible department.


@dataclass(frozen=True)
class ItemFacts:
    """What an item is called (a decision by its type), who is responsible for it, and the
    number it is known by ("" for none)."""

    label: str
    department: str
    number: str


def item_facts(refs: list[tuple[str, int]]) -> dict[tuple[str, int], ItemFacts]:
    """The name, department and number of each (kind, id), for a page of search hits: one
    query per kind among ``refs``."""
    wanted: dict[str, list[int]] = {}
    for kind, item_id in refs:
        if kind in DISCLOSURE_MODELS:
            wanted.setdefault(kind, []).append(item_id)
    facts = {}
    for kind, ids in wanted.items():
        model = DISCLOSURE_MODELS[kind]
        number_field = kinds.get(kind).number_field
        number = getattr(model, number_field) if number_field else None
        decision_type = Decision.decision_type if model is Decision else literal("")
        stmt = (select(model.id, Department.name,
                       number if number is not None else literal(""), decision_type)
                .join(Department, Department.id == model.department_id)
                .where(model.id.in_(ids)))
        for item_id, department, code, type_ in db.session.execute(stmt):
            label = fieldspec.decision_labels(type_)["kind"] if model is Decision else model.LABEL
            facts[kind, item_id] = ItemFacts(label, department or "", code or "")
    return facts


def latest_published(limit: int = 5) -> dict[str, list[Any]]:
    """The newest ``limit`` published items of every kind, by publication time."""
    latest: dict[str, list[Any]] = {}
    for kind, model in DISCLOSURE_MODELS.items():
        stmt = _LATEST_STATEMENTS.get((model, limit))
        if stmt is None:  # built once (a select is immutable): building cost a tenth of a query
            stmt = _published(model).order_by(model.published_at.desc(),
                                              model.id.desc()).limit(limit)
            _LATEST_STATEMENTS[model, limit] = stmt
        latest[kind] = list(db.session.scalars(stmt))
    return latest


_LATEST_STATEMENTS: dict[tuple[type, int], Select[Any]] = {}


def _ordered(present: list[str], vocabulary: tuple[str, ...]) -> list[str]:
    """The fixed vocabulary in its order, then any other value found in the data."""
    return list(vocabulary) + sorted(v for v in present if v and v not in vocabulary)


# Facets scan every published row of a kind (tens of ms at 20,000 rows), while they change only
# when items are published or edited: each process keeps them until the published set changes
# (count, latest publication, latest modification), and at most FACETS_MAX_AGE seconds so that
# a renamed department shows up too.
FACETS_MAX_AGE = 300.0


def facets(kind: str) -> Facets:
    """Filter choices for ``kind``: counties, sectors, years with items, issuing departments."""
    model = _model(kind)
    published = model.published_at.is_not(None)
    generation = (
        db.session.scalar(select(func.count()).select_from(model).where(published)),
        db.session.scalar(select(func.max(model.published_at))),
        db.session.scalar(select(func.max(model.modified_at)).where(published)),
    )
    cache: dict[str, tuple[Any, float, Facets]] = current_app.extensions.setdefault(
        "disclosure_facets", {}
    )
    cached = cache.get(kind)
    now = monotonic()
    if cached and cached[0] == generation and now - cached[1] < FACETS_MAX_AGE:
        return cached[2]
    result = _compute_facets(model)
    cache[kind] = (generation, now, result)
    return result


def _compute_facets(model: type[DisclosureMixin]) -> Facets:
    published = model.published_at.is_not(None)
    departments = [
        (row.id, row.name)
        for row in db.session.execute(
            select(Department.id, Department.name)
            .where(
                Department.id.in_(
                    select(model.department_id).where(published)  # type: ignore[attr-defined]
                )
            )
            .order_by(Department.name)
        )
    ]
    column = _date_column(model)
    if model is PowerItem:
        # Datetimes: take the Beijing years of the first and last publication.
        first, last = db.session.execute(
            select(func.min(column), func.max(column)).where(published)
        ).one()
        years = (
            list(range(_local_year(last), _local_year(first) - 1, -1)) if first and last else []
        )
        return Facets(years=years, departments=departments)
    years = sorted(
        (
            int(y)
            for y in db.session.scalars(select(extract("year", column)).where(published).distinct())
            if y is not None
        ),
        reverse=True,
    )
    counties = db.session.scalars(select(model.county).where(published).distinct())  # type: ignore[attr-defined]
    sectors = db.session.scalars(select(model.sector).where(published).distinct())  # type: ignore[attr-defined]
    return Facets(
        counties=_ordered(list(counties), COUNTIES),
        sectors=_ordered(list(sectors), SECTORS),
        years=years,
        departments=departments,
    )


def _local_year(moment: datetime) -> int:
    return moment.astimezone(LOCAL_ZONE).year


def type_choices(kind: str) -> tuple[str, ...]:
    """The type vocabulary of a kind's own type filter (power type, decision type)."""
    return kinds.get(kind).type_choices if kind in kinds.BY_KEY else ()


# --- facts derived for a detail page ------------------------------------------------------------


class AssessmentState(enum.StrEnum):
    """Where an accident's one-year assessment of remedial measures (整改评估) stands."""

    NOT_APPROVED = "not_approved"  # no 批复 yet, so no due date
    PENDING = "pending"  # due date ahead, not yet published
    OVERDUE = "overdue"  # due date passed, not published
    DONE = "done"  # published by the due date
    DONE_LATE = "done_late"  # published after the due date

    @property
    def label(self) -> str:
        return {
            "not_approved": "尚未批复",
            "pending": "未到期",
            "overdue": "已逾期未公开",
            "done": "已按期公开",
            "done_late": "已公开（逾期）",
        }[self.value]


def assessment_state(report: AccidentReport, today: date | None = None) -> AssessmentState:
    """The state of the report's 整改评估 on ``today`` (Beijing date by default)."""
    today = today or local_today()
    if report.assessment_due is None:
        return AssessmentState.NOT_APPROVED
    done = report.assessment_published_on
    if done is not None:
        return AssessmentState.DONE if done <= report.assessment_due else AssessmentState.DONE_LATE
    return AssessmentState.OVERDUE if today > report.assessment_due else AssessmentState.PENDING


def days_from_approval(report: AccidentReport) -> int | None:
    """Calendar days from the report's 批复 to its publication (Beijing dates), if both exist."""
    if report.approved_on is None or report.published_at is None:
        return None
    return (local_date(report.published_at) - report.approved_on).days


# --- the public history -------------------------------------------------------------------------

# Values of these fields are long texts or internal ids: say that they changed, not how.
_NOT_SHOWN = {"report_html", "summary", "facts", "legal_basis", "responsibilities",
              "accountability", "department_id", "enterprise_id", "remedy", "compliance"}
_SHORT_VALUE = 60


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str | None  # None when the value is not shown (long text, internal id)
    new: str | None


@dataclass(frozen=True)
class HistoryEntry:
    number: int
    changed_at: datetime
    summary: str
    changes: list[FieldChange]


_MONEY = {"fine_yuan", "direct_loss_yuan"}


def _display(kind: str, name: str, value: Any) -> str:
    if value is None or value == "":
        return "（空）"
    if name in _MONEY:
        try:
            return format_yuan(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    if isinstance(value, list):
        return " → ".join(str(v) for v in value)
    if name == "stage" and kind == "supervision":
        try:
            return supervision_rules.Stage(value).label
        except ValueError:
            return str(value)
    if name == "level" and kind == "accidents":
        try:
            return AccidentLevel(int(value)).label
        except ValueError:
            return str(value)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            day = date.fromisoformat(value)
            return f"{day.year}年{day.month}月{day.day}日"
        except ValueError:
            pass
    return str(value)


def _field_change(kind: str, name: str, old: Any, new: Any,
                  decision_type: str | None = None) -> FieldChange:
    label = field_label(kind, name, decision_type)
    if name in _NOT_SHOWN:
        return FieldChange(label, None, None)
    old_text, new_text = _display(kind, name, old), _display(kind, name, new)
    if len(old_text) > _SHORT_VALUE or len(new_text) > _SHORT_VALUE:
        return FieldChange(label, None, None)
    return FieldChange(label, old_text, new_text)


def _entry(kind: str, version: ItemVersion, decision_type: str | None = None) -> HistoryEntry:
    changes = [
        _field_change(kind, name, *(pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)),
                      decision_type=decision_type)
        for name, pair in (version.changes or {}).items()
    ]
    return HistoryEntry(version.number, version.changed_at, version.summary, changes)


def public_history(item: DisclosureMixin) -> list[HistoryEntry]:
    """The item's recorded versions, newest first, with field names in Chinese."""
    decision_type = getattr(item, "decision_type", None)  # a decision's fields follow its type
    return [_entry(item.KIND, v, decision_type) for v in history(db.session, item)]


# --- whole lists for the exports ----------------------------------------------------------------

EXPORT_BATCH = 500


def iter_published(
    kind: str, filters: ListFilters | None = None, *, batch_size: int = EXPORT_BATCH,
    today: date | None = None,
) -> Iterator[DisclosureMixin]:
    """Every published item of ``kind`` matching ``filters``, oldest id first, read in keyset
    batches so that a long export never holds the whole list in memory."""
    model = _model(kind)
    stmt = _filtered(model, filters or ListFilters(), today or local_today())
    last_id = 0
    while True:
        batch = list(db.session.scalars(
            stmt.where(model.id > last_id).order_by(model.id).limit(batch_size)
        ).unique())
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id
        # Forget the batch: the session would otherwise keep every row read so far.
        for item in batch:
            db.session.expunge(item)


def latest_filtered(kind: str, filters: ListFilters | None = None, *, limit: int) -> list[Any]:
    """The ``limit`` most recently published items of ``kind`` matching ``filters`` (feeds)."""
    model = _model(kind)
    stmt = _filtered(model, filters or ListFilters(), local_today())
    return list(db.session.scalars(
        stmt.order_by(model.published_at.desc(), model.id.desc()).limit(limit)
    ).unique())
