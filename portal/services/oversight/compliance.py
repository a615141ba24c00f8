"""The regulator's own compliance with its publication deadlines (``/compliance``).

Computed from the data, never typed in: per issuing department, how many decisions were
published within their deadline (DOMAIN.md §1: 7 working days for 行政处罚 and 行政许可, 20 for
the other decisions; ``Decision.publish_due``), the median time to publish in working days,
withdrawals published within 3 working days of the change (行政处罚法 Art. 48), power-list
changes published within 10 working days (local practice), and accident assessments overdue;
and, for the whole office, report verifications overdue.  Each figure has a matching filter on
the public lists (``timeliness_ids`` and the SQL conditions here), so it links to its items.
"""

from __future__ import annotations

import statistics as pystats
from dataclasses import dataclass, field
from datetime import date, timedelta
from time import monotonic
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select

from portal.audit import AuditEvent
from portal.domain.catalog import (
    POWER_CHANGE_PUBLISH_WORKING_DAYS,
    WITHDRAWAL_PUBLISH_WORKING_DAYS,
)
from portal.extensions import db
from portal.models import (
    AccidentReport,
    Decision,
    Department,
    PowerItem,
    Report,
    SupervisionItem,
    local_today,
)
from portal.sql_dates import local_day
from portal.working_days import working_calendar

# Report states in which a verification is under way (accepted, or accepted again on reopening).
VERIFYING_STATES = ("accepted", "reopened")
# Figures are kept until the data changes (see ``_generation``) and at most this many seconds.
CACHE_MAX_AGE = 300.0


def decision_late_clause() -> ColumnElement[bool]:
    """Published after ``publish_due`` (the Beijing date of publication is compared)."""
    return and_(Decision.published_at.is_not(None), Decision.publish_due.is_not(None),
                local_day(Decision.published_at) > Decision.publish_due)


def decision_on_time_clause() -> ColumnElement[bool]:
    """Published on or before ``publish_due``."""
    return and_(Decision.published_at.is_not(None), Decision.publish_due.is_not(None),
                local_day(Decision.published_at) <= Decision.publish_due)


def assessment_clause(state: str, today: date) -> ColumnElement[bool]:
    """Accident reports whose 整改评估 is ``overdue`` (due passed, not published), was published
    ``late`` or ``on_time``."""
    A = AccidentReport
    due = A.assessment_due.is_not(None)
    return {
        "overdue": and_(due, A.assessment_published_on.is_(None), A.assessment_due < today),
        "late": and_(due, A.assessment_published_on > A.assessment_due),
        "on_time": and_(due, A.assessment_published_on <= A.assessment_due),
    }[state]


ASSESSMENT_STATES = {"overdue": "逾期未公开", "late": "逾期公开", "on_time": "按期公开"}
WITHDRAWAL_STATES = {"on_time": "按期撤回", "late": "逾期撤回", "overdue": "逾期未撤回"}


def withdrawal_state(changed_on: date | None, withdrawn_day: date | None,
                     today: date) -> str | None:
    """The one definition of a decision's withdrawal and its timeliness (行政处罚法 Art. 48;
    DOMAIN.md §1), used by /compliance, the list filter (``/decisions?withdrawal=``), the API
    and CSV that take the same filter, and checked against the demo data.

    A withdrawal is a published decision with ``withdrawn_at`` set; it is due within
    ``WITHDRAWAL_PUBLISH_WORKING_DAYS`` working days of ``changed_on``, the day the decision was
    changed, revoked or declared unlawful or void (``withdrawal_requested_on``).  A withdrawal
    stored without that day counts from the withdrawal day itself (``withdraw_item`` records it
    so).  ``on_time``/``late``: withdrawn by/after the due day; ``overdue``: changed, not
    withdrawn, and the due day has passed; None: nothing to judge yet."""
    changed_on = changed_on or withdrawn_day
    if changed_on is None:
        return None
    due = working_calendar().add_working_days(changed_on, WITHDRAWAL_PUBLISH_WORKING_DAYS).due
    if withdrawn_day is not None:
        return "on_time" if withdrawn_day <= due else "late"
    return "overdue" if today > due else None


def _withdrawal_rows() -> Select[Any]:
    """(id, department, change day, withdrawal day) of every published decision that was
    withdrawn or is to be withdrawn."""
    D = Decision
    return select(D.id, D.department_id, D.withdrawal_requested_on, local_day(D.withdrawn_at)).where(
        D.published_at.is_not(None),
        or_(D.withdrawal_requested_on.is_not(None), D.withdrawn_at.is_not(None)))


def _power_due(created_day: date) -> date:
    return working_calendar().add_working_days(created_day, POWER_CHANGE_PUBLISH_WORKING_DAYS).due


def timeliness_ids(kind: str, state: str, today: date | None = None,
                  department_id: int | None = None) -> set[int]:
    """Ids behind the figures that need working-day arithmetic, for the list filters:
    ``("decisions", "on_time"|"late"|"overdue")`` withdrawals in that state, and
    ``("powers", "late")`` power items published after their 10 working days."""
    today = today or local_today()
    if kind == "decisions":
        stmt = _withdrawal_rows()
        if department_id is not None:
            stmt = stmt.where(Decision.department_id == department_id)
        return {i for i, _dept, changed, withdrawn in db.session.execute(stmt)
                if withdrawal_state(changed, withdrawn, today) == state}
    if kind == "powers" and state == "late":
        stmt = select(PowerItem.id, local_day(PowerItem.created_at),
                      local_day(PowerItem.published_at)).where(PowerItem.published_at.is_not(None))
        if department_id is not None:
            stmt = stmt.where(PowerItem.department_id == department_id)
        return {i for i, created, published in db.session.execute(stmt)
                if published > _power_due(created)}
    raise ValueError(f"no such figure: {kind} {state}")


@dataclass
class DepartmentFigures:
    """One department's figures; ``None`` medians where nothing was published."""

    department_id: int
    name: str
    decisions_published: int = 0
    decisions_on_time: int = 0
    decisions_late: int = 0
    decisions_overdue_unpublished: int = 0
    median_working_days: float | None = None
    withdrawals_on_time: int = 0
    withdrawals_late: int = 0
    withdrawals_overdue: int = 0
    powers_published: int = 0
    powers_late: int = 0
    powers_overdue_unpublished: int = 0
    assessments_on_time: int = 0
    assessments_late: int = 0
    assessments_overdue: int = 0
    # 督办事项 listed by this department (挂牌单位): open, of which overdue; listings published
    # within 5 working days or late; drafts past their publication deadline.
    supervision_open: int = 0
    supervision_overdue: int = 0
    supervision_listed_on_time: int = 0
    supervision_listed_late: int = 0
    supervision_unpublished_overdue: int = 0
    delays: list[int] = field(default_factory=list, repr=False)

    @property
    def decisions_due(self) -> int:
        """Decisions whose deadline has a verdict: published, or unpublished past the due day."""
        return self.decisions_published + self.decisions_overdue_unpublished

    @property
    def on_time_share(self) -> float | None:
        """Decisions published within their deadline, of those due (None when none are)."""
        return self.decisions_on_time / self.decisions_due if self.decisions_due else None

    @property
    def powers_on_time(self) -> int:
        return self.powers_published - self.powers_late

    @property
    def withdrawals(self) -> int:
        return self.withdrawals_on_time + self.withdrawals_late + self.withdrawals_overdue

    @property
    def has_powers(self) -> bool:
        return bool(self.powers_published or self.powers_overdue_unpublished)

    @property
    def has_assessments(self) -> bool:
        return bool(self.assessments_on_time or self.assessments_late or self.assessments_overdue)

    @property
    def has_supervision(self) -> bool:
        return bool(self.supervision_open or self.supervision_listed_on_time
                    or self.supervision_listed_late or self.supervision_unpublished_overdue)

    @property
    def has_anything(self) -> bool:
        return bool(self.has_supervision or self.decisions_due or self.withdrawals or self.powers_published
                    or self.powers_overdue_unpublished or self.assessments_on_time
                    or self.assessments_late or self.assessments_overdue)


@dataclass(frozen=True)
class ReportFigures:
    """Report verifications for the whole office (reports are not tied to a department)."""

    verifying: int  # accepted, not yet verified
    overdue: int  # of those, past their verification due date
    verified_on_time: int
    verified_late: int


@dataclass(frozen=True)
class Compliance:
    departments: list[DepartmentFigures]
    reports: ReportFigures
    today: date

    @property
    def totals(self) -> DepartmentFigures:
        total = DepartmentFigures(0, "合计")
        for d in self.departments:
            for name in ("decisions_published", "decisions_on_time", "decisions_late",
                         "decisions_overdue_unpublished", "withdrawals_on_time",
                         "withdrawals_late", "withdrawals_overdue", "powers_published",
                         "powers_late", "powers_overdue_unpublished", "assessments_on_time",
                         "assessments_late", "assessments_overdue", "supervision_open",
                         "supervision_overdue", "supervision_listed_on_time",
                         "supervision_listed_late", "supervision_unpublished_overdue"):
                setattr(total, name, getattr(total, name) + getattr(d, name))
            total.delays.extend(d.delays)
        total.median_working_days = _median(total.delays)
        return total


def _median(values: list[int]) -> float | None:
    return float(pystats.median(values)) if values else None


class _WorkingDayIndex:
    """Working days between many pairs of dates: one pass over the calendar, then lookups."""

    def __init__(self, first: date, last: date) -> None:
        calendar = working_calendar()
        self.first = first
        self.cumulative: list[int] = []
        count, day = 0, first
        while day <= last:
            count += calendar.is_working_day(day) if day > first else 0
            self.cumulative.append(count)
            day += timedelta(days=1)

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if end ≤ start)."""
        if end <= start:
            return 0
        return (self.cumulative[(end - self.first).days]
                - self.cumulative[(start - self.first).days])


def _departments() -> dict[int, DepartmentFigures]:
    return {i: DepartmentFigures(i, name)
            for i, name in db.session.execute(select(Department.id, Department.name))}


def _decision_figures(figures: dict[int, DepartmentFigures], today: date) -> None:
    D = Decision
    published_day = local_day(D.published_at)
    on_time = func.sum(case((published_day <= D.publish_due, 1), else_=0))
    for dept, published, in_time in db.session.execute(
        select(D.department_id, func.count(), on_time)
        .where(D.published_at.is_not(None), D.publish_due.is_not(None))
        .group_by(D.department_id)
    ):
        f = figures[dept]
        f.decisions_published, f.decisions_on_time = int(published), int(in_time or 0)
        f.decisions_late = f.decisions_published - f.decisions_on_time
    for dept, overdue in db.session.execute(
        select(D.department_id, func.count())
        .where(D.published_at.is_(None), D.publish_due < today)
        .group_by(D.department_id)
    ):
        figures[dept].decisions_overdue_unpublished = int(overdue)
    rows = db.session.execute(
        select(D.department_id, D.decision_date, published_day)
        .where(D.published_at.is_not(None), D.publish_due.is_not(None))
    ).all()
    if rows:
        first = min(min(r[1], r[2]) for r in rows)
        last = max(max(r[1], r[2]) for r in rows)
        index = _WorkingDayIndex(first, last)
        for dept, decided, published in rows:
            figures[dept].delays.append(index.between(decided, published))
    for f in figures.values():
        f.median_working_days = _median(f.delays)


def _withdrawal_figures(figures: dict[int, DepartmentFigures], today: date) -> None:
    for _id, dept, changed, withdrawn in db.session.execute(_withdrawal_rows()):
        state = withdrawal_state(changed, withdrawn, today)
        if state is not None:
            name = f"withdrawals_{state}"
            setattr(figures[dept], name, getattr(figures[dept], name) + 1)


def _power_figures(figures: dict[int, DepartmentFigures], today: date) -> None:
    P = PowerItem
    for dept, created, published in db.session.execute(
        select(P.department_id, local_day(P.created_at), local_day(P.published_at))
    ):
        due = _power_due(created)
        f = figures[dept]
        if published is not None:
            f.powers_published += 1
            f.powers_late += published > due
        elif today > due:
            f.powers_overdue_unpublished += 1


def _assessment_figures(figures: dict[int, DepartmentFigures], today: date) -> None:
    A = AccidentReport
    # Published reports, withdrawn ones included, as on the public list the figures link to.
    public = A.published_at.is_not(None)
    columns = [func.sum(case((assessment_clause(state, today), 1), else_=0))
               for state in ("on_time", "late", "overdue")]
    for dept, on_time, late, overdue in db.session.execute(
        select(A.department_id, *columns).where(public).group_by(A.department_id)
    ):
        f = figures[dept]
        f.assessments_on_time, f.assessments_late, f.assessments_overdue = (
            int(on_time or 0), int(late or 0), int(overdue or 0))


def _supervision_figures(figures: dict[int, DepartmentFigures], today: date) -> None:
    S = SupervisionItem
    # Published items, withdrawn ones excluded from the open counts (a withdrawn item is no
    # longer under supervision) but kept in the publication timeliness, as for decisions.
    live = and_(S.published_at.is_not(None), S.withdrawn_at.is_(None))
    published_day = local_day(S.published_at)
    columns = [
        func.sum(case((and_(live, S.stage != "closed"), 1), else_=0)),
        func.sum(case((and_(live, S.overdue_clause(today)), 1), else_=0)),
        func.sum(case((and_(S.published_at.is_not(None), published_day <= S.publish_due), 1),
                      else_=0)),
        func.sum(case((and_(S.published_at.is_not(None), published_day > S.publish_due), 1),
                      else_=0)),
        func.sum(case((and_(S.published_at.is_(None), S.publish_due < today), 1), else_=0)),
    ]
    for dept, *values in db.session.execute(
        select(S.department_id, *columns).group_by(S.department_id)
    ):
        f = figures[dept]
        (f.supervision_open, f.supervision_overdue, f.supervision_listed_on_time,
         f.supervision_listed_late, f.supervision_unpublished_overdue) = (int(v or 0) for v in values)


def report_figures(today: date | None = None) -> ReportFigures:
    """Verifications under way and overdue, and those done on time or late (all reports)."""
    today = today or local_today()
    R = Report
    verifying = and_(R.status.in_(VERIFYING_STATES), R.verified_on.is_(None))
    row = db.session.execute(select(
        func.sum(case((verifying, 1), else_=0)),
        func.sum(case((and_(verifying, R.verification_due < today), 1), else_=0)),
        func.sum(case((and_(R.verified_on.is_not(None), R.verified_on <= R.verification_due),
                       1), else_=0)),
        func.sum(case((and_(R.verified_on.is_not(None), R.verified_on > R.verification_due),
                       1), else_=0)),
    )).one()
    return ReportFigures(*(int(v or 0) for v in row))


def _generation() -> tuple[Any, ...]:
    """Changes whenever an item is created, published, edited or withdrawn."""
    parts: list[Any] = []
    for model in (Decision, PowerItem, AccidentReport, SupervisionItem):
        parts.extend(db.session.execute(select(
            func.count(), func.max(model.modified_at), func.max(model.published_at),
            func.max(model.withdrawn_at), func.max(model.created_at),
        ).select_from(model)).one())
    parts.extend(db.session.execute(select(
        func.count(), func.max(Decision.withdrawal_requested_on)).select_from(Decision)).one())
    parts.append(db.session.scalar(select(func.count()).select_from(Department)))
    return tuple(parts)


# The audit log's head: one read of its unique ``seq`` index's last entry.
_AUDIT_HEAD = select(func.max(AuditEvent.seq))


def page_version() -> tuple[Any, ...]:
    """What ``/compliance`` follows besides what the page cache keys every page by (the data
    generation, which any change of a published item, 信用修复 application or objection bumps,
    and the Beijing date): the page is kept under it (``public_page(also_keyed_by=…)``) and
    redrawn when a figure may have changed.

    - Reports, which bump no data generation (they are not public): their figures change only by
      a member of staff's step (accept, extend, verify, reopen, purge…), and every change of
      state is an audit event (DESIGN §4), so the audit log's head is their version — one
      indexed read, where the figures themselves would be a scan of every report on every hit.
      It also moves with every other staff action, which only redraws the page a little more
      often than needed.
    - The date, stated again here: "overdue" and "not yet published" count what is past its
      deadline *today*, which changes at midnight without any write."""
    return local_today(), db.session.scalar(_AUDIT_HEAD)


def compliance(today: date | None = None) -> Compliance:
    """Every department's figures (those with anything to judge), by name, and the reports'."""
    today = today or local_today()
    key = (today, _generation())
    cache: dict[str, tuple[Any, float, list[DepartmentFigures]]] = current_app.extensions.setdefault(
        "compliance_cache", {})
    cached = cache.get("departments")
    now = monotonic()
    if cached and cached[0] == key and now - cached[1] < CACHE_MAX_AGE:
        departments = cached[2]
    else:
        figures = _departments()
        _decision_figures(figures, today)
        _withdrawal_figures(figures, today)
        _power_figures(figures, today)
        _assessment_figures(figures, today)
        _supervision_figures(figures, today)
        departments = sorted((f for f in figures.values() if f.has_anything),
                             key=lambda f: f.name)
        cache["departments"] = (key, now, departments)
    return Compliance(departments, report_figures(today), today)

