"""Statistics of the published data and of reports, computed by SQL aggregates (``/stats``).

Every figure is a count or a sum over published, not withdrawn items (a withdrawn decision was
revoked or changed, so it no longer stands), or over reports and rewards.  Reports are only ever
counted by month, never broken down by kind, county or enterprise, so no row describes one
report; reward amounts are summed by year and shown only where enough rewards were paid that
year that no single reward can be read off (DOMAIN.md §3: the reward is confidential).

Month and year extraction goes through ``portal.sql_dates`` so the same SQL runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from time import monotonic
from typing import Any

from flask import current_app
from flask_babel import LazyString
from markupsafe import escape
from sqlalchemy import ColumnElement, and_, case, func, or_, select

from portal import kinds
from portal.domain.accidents import AccidentLevel
from portal.domain.blacklist import SUBJECT_TYPES, BlacklistStatus
from portal.domain.catalog import COUNTIES, DECISION_TYPES, PENALTY_DECISION, SECTORS
from portal.extensions import db
from portal.i18n import COUNTY_LATIN, DEFAULT, current_language, native_digits

# Flask-Babel's gettext costs tens of µs a call, and /stats says a few hundred strings: the
# project's fast ones, under the names `make extract-messages` looks for.
from portal.i18n import lazy_say as _l
from portal.i18n import say as _
from portal.models import (
    AccidentReport,
    BlacklistEntry,
    Decision,
    DisclosureMixin,
    Report,
    Reward,
    SupervisionItem,
    local_today,
)
from portal.sql_dates import month_of, year_of
from portal.translation import lazy_ngettext, ngettext

# Without a year filter the monthly tables cover this many months, ending with the current one.
MONTHS_WITHOUT_YEAR = 24
# A year's total of rewards paid is shown only when at least this many were paid that year, so
# that no one reward's amount can be read off the table.
MIN_REWARDS_FOR_A_SUM = 3
# Reward states in which the reward was granted (approved, then perhaps claimed and paid).
GRANTED_REWARD_STATES = ("approved", "claimed", "paid")
# A chart of at most this many rows has every figure in its text alternative.
ALT_TEXT_MAX_ROWS = 12

Value = int | Decimal | None
Month = tuple[int, int]


class Unit:
    """A count's unit: said alone (a heading, a chart's axis: ``str(unit)``, "cases") and with a
    number (``unit.count(n)``: "1 case", "2 cases"; one form in Lao and Burmese and Chinese).
    ``count`` takes the ngettext call itself, whose literal strings ``make extract-messages``
    reads."""

    __slots__ = ("name", "_count")

    def __init__(self, name: Any, count: Callable[[Value, str], str]) -> None:
        self.name = name  # lazy
        self._count = count

    def __str__(self) -> str:
        return str(self.name)

    def __html__(self) -> str:
        return str(escape(str(self.name)))

    def count(self, value: Value) -> str:
        """``value`` with this unit, its digits as the reader's (``shown_number``).  gettext
        chooses a form by an integer: a sum of money that is not whole takes the plural's."""
        n = value if isinstance(value, int) else (
            int(value) if value is not None and value == int(value) else 2)
        return self._count(n, shown_number(value))


CASES = Unit(_l("起"), lambda n, shown: ngettext("%(num)s 起", "%(num)s 起", n, num=shown))
PEOPLE = Unit(_l("人"), lambda n, shown: ngettext("%(num)s 人", "%(num)s 人", n, num=shown))
PIECES = Unit(_l("件"), lambda n, shown: ngettext("%(num)s 件", "%(num)s 件", n, num=shown))
ENTRIES = Unit(_l("条"), lambda n, shown: ngettext("%(num)s 条", "%(num)s 条", n, num=shown))
MATTERS = Unit(_l("项"), lambda n, shown: ngettext("%(num)s 项", "%(num)s 项", n, num=shown))
PAYMENTS = Unit(_l("笔"), lambda n, shown: ngettext("%(num)s 笔", "%(num)s 笔", n, num=shown))
YUAN = Unit(_l("元"), lambda n, shown: ngettext("%(num)s 元", "%(num)s 元", n, num=shown))


@dataclass(frozen=True)
class Column:
    label: Any  # a lazy string: said in the reader's language (Chinese in the CSV and charts)
    unit: Unit
    money: bool = False


@dataclass(frozen=True)
class Said:
    """A table's words as one language says them (``StatTable.said``)."""

    title: str
    label_header: str
    columns: list[tuple[str, str]]  # (label, unit)
    labels: list[str]  # each row's: ours said, data as it is
    note: str
    alt: str


@dataclass(frozen=True)
class StatTable:
    """One statistic: its rows (a label and one value per column), drawn as one chart."""

    key: str  # the URL slug: /stats/<key>.csv, /stats/<key>.svg
    title: Any  # lazy, like every word of ours below; a row's label is data (a str) or ours
    label_header: Any
    columns: tuple[Column, ...]
    rows: list[tuple[str, tuple[Value, ...]]]
    chart: str = "bar"  # "bar" (columns), "barh" (horizontal bars), "line"
    plotted: tuple[int, ...] = (0,)  # which columns the chart draws (same unit)
    note: Any = ""
    tick_labels: list[str] = field(default_factory=list)  # short labels for the chart's axis
    # The words said in each language, kept with the table (which is cached until the data
    # changes): a page says each lazy word once per language, not once per cell and request.
    _said: dict[str, Said] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def said(self) -> Said:
        """The table's words in the reader's language."""
        language = current_language()
        found = self._said.get(language)
        if found is None:
            found = Said(
                title=str(self.title), label_header=str(self.label_header),
                columns=[(str(c.label), str(c.unit)) for c in self.columns],
                labels=[label if isinstance(label, str) else str(label) for label, _ in self.rows],
                note=str(self.note), alt=self.alt_text())
            self._said[language] = found
        return found

    @property
    def is_empty(self) -> bool:
        return not any(v for _, values in self.rows for v in values)

    def column_total(self, index: int) -> Value:
        values = [values[index] for _, values in self.rows]
        if any(v is None for v in values):
            return None
        return sum(values, Decimal(0) if self.columns[index].money else 0)  # type: ignore[arg-type]

    def alt_text(self) -> str:
        """A text alternative of the chart, in the reader's language: what it shows and its main
        figures (a chart of rows named by untranslated data, e.g. sectors, gives its totals)."""
        kind = {"bar": _("柱状图"), "barh": _("条形图"), "line": _("折线图")}[self.chart]
        if not self.rows or self.is_empty:
            return _("%(kind)s：%(title)s。没有数据。", kind=kind, title=self.title)
        parts = [_("%(kind)s：%(title)s", kind=kind, title=self.title)]
        labels = [label_text(label) for label, _values in self.rows]
        named = None not in labels
        for index in self.plotted:
            column = self.columns[index]
            count = column.unit.count
            pairs = [(labels[n], values[index]) for n, (_label, values) in enumerate(self.rows)
                     if values[index] is not None]
            if not pairs:
                continue
            top_label, top = max(pairs, key=lambda p: p[1])  # type: ignore[arg-type,return-value]
            if self.chart == "line" and named:
                first_label, first = pairs[0]
                last_label, last = pairs[-1]
                parts.append(_("%(column)s从%(first)s的 %(a)s到%(last)s的 %(b)s，"
                               "最多为%(top)s的 %(c)s", column=column.label,
                               first=first_label, a=count(first), last=last_label,
                               b=count(last), top=top_label, c=count(top)))
            elif len(pairs) <= ALT_TEXT_MAX_ROWS and named:
                listed = _("、").join(_("%(label)s %(count)s", label=label, count=count(v))
                                     for label, v in pairs if v)
                parts.append(_("%(column)s：%(listed)s", column=column.label,
                               listed=listed or _("均为 0")))
            else:
                total = sum(v for _label, v in pairs)  # type: ignore[misc]
                if named:
                    parts.append(_("%(column)s合计 %(total)s，最多为%(top)s（%(n)s）",
                                   column=column.label, total=count(total), top=top_label,
                                   n=count(top)))
                else:
                    parts.append(_("%(column)s合计 %(total)s", column=column.label,
                                   total=count(total)))
        return _("；").join(parts) + _("。详细数据见图下的表格。")


def label_text(label: Any) -> str | None:
    """A row's label as plain text in the reader's language: ours (lazy) as said; a published
    word (a county, a decision type) by its romanisation or translation; None for data that
    has neither (a sector: the table shows it in Chinese, marked)."""
    if not isinstance(label, str):
        return str(label)
    if current_language() == DEFAULT:
        return label
    if label in COUNTY_LATIN:
        return COUNTY_LATIN[label]
    from portal.published_words import TERMS

    found = TERMS.get(label)
    said = str(found) if found is not None else ""
    return said if said and "<" not in said else None


def shown_number(value: Value) -> str:
    """``plain_number`` with the locale's digits (Burmese in Burmese)."""
    return native_digits(plain_number(value))


def plain_number(value: Value) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:,}"


# --- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The months covered by the monthly tables and the date range of every table."""

    year: int | None
    months: tuple[Month, ...]
    start: date | None  # first day included (None: from the beginning)
    end: date | None  # first day excluded

    @property
    def description(self) -> str:
        if self.year is not None:
            return year_label(self.year)
        return _l("全部年份")

    @property
    def months_description(self) -> str:
        return _l("%(start)s至%(end)s", start=month_label(self.months[0]),
                  end=month_label(self.months[-1]))


def period(year: int | None, today: date | None = None) -> Period:
    """The period for ``year`` (its months up to the current one), or the last
    ``MONTHS_WITHOUT_YEAR`` months for the monthly tables and all time for the others."""
    today = today or local_today()
    current = (today.year, today.month)
    if year is not None:
        months = tuple((year, m) for m in range(1, 13) if (year, m) <= current) or ((year, 1),)
        return Period(year, months, date(year, 1, 1), date(year + 1, 1, 1))
    months_list = []
    y, m = current
    for _month in range(MONTHS_WITHOUT_YEAR):
        months_list.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return Period(None, tuple(reversed(months_list)), None, None)


def _month_start(month: Month) -> date:
    return date(month[0], month[1], 1)


def _month_end(month: Month) -> date:
    y, m = month
    return (date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)) - timedelta(days=1)


def month_label(month: Month) -> Any:
    """2026年3月; "March 2026" in English (lazy: said in the reader's language)."""

    def said() -> str:
        if current_language() == DEFAULT:
            return f"{month[0]}年{month[1]}月"
        from flask_babel import format_date

        return native_digits(format_date(date(month[0], month[1], 1), "LLLL y"))

    return LazyString(said)


def year_label(year: int) -> Any:
    """2026年; 2026 elsewhere (lazy)."""
    return LazyString(lambda: f"{year}年" if current_language() == DEFAULT
                      else native_digits(str(year)))


def _tick(month: Month) -> str:
    return f"{month[0]}-{month[1]:02d}"


# --- queries ------------------------------------------------------------------------------------


def _public(model: type[DisclosureMixin]) -> ColumnElement[bool]:
    return and_(model.published_at.is_not(None), model.withdrawn_at.is_(None))


def withdrawn_decision_clause() -> ColumnElement[bool]:
    """A withdrawal (``compliance.withdrawal_state``): a published decision, withdrawn."""
    return and_(Decision.published_at.is_not(None), Decision.withdrawn_at.is_not(None))


def _within(column: Any, start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def _monthly(column: Any, months: tuple[Month, ...], *conditions: Any,
             values: Iterable[Any] = ()) -> dict[Month, tuple[Any, ...]]:
    """``{(year, month): (count, *values)}`` of rows whose ``column`` falls in ``months``."""
    y, m = year_of(column), month_of(column)
    stmt = (
        select(y, m, func.count(), *values)
        .where(*conditions, column >= _month_start(months[0]),
               column <= _month_end(months[-1]))
        .group_by(y, m)
    )
    return {(int(row[0]), int(row[1])): tuple(row[2:]) for row in db.session.execute(stmt)}


def _grouped(key: Any, *conditions: Any, values: Iterable[Any] = ()) -> dict[Any, tuple[Any, ...]]:
    stmt = select(key, func.count(), *values).where(*conditions).group_by(key)
    return {row[0]: tuple(row[1:]) for row in db.session.execute(stmt)}


def _ordered_keys(found: Iterable[Any], vocabulary: Iterable[Any]) -> list[Any]:
    """The fixed vocabulary in its order, then any other value found in the data."""
    vocabulary = list(vocabulary)
    return vocabulary + sorted(k for k in found if k not in vocabulary and k not in ("", None))


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


# --- accidents ----------------------------------------------------------------------------------


def accidents_by_month(p: Period) -> StatTable:
    found = _monthly(
        AccidentReport.occurred_on, p.months, _public(AccidentReport),
        values=[func.coalesce(func.sum(AccidentReport.deaths), 0)],
    )
    rows = [(month_label(mo), (int(found.get(mo, (0, 0))[0]), int(found.get(mo, (0, 0))[1])))
            for mo in p.months]
    return StatTable(
        "accidents-by-month", _l("各月生产安全事故（%(period)s，按发生日期）", period=p.months_description), _l("月份"),
        (Column(_l("事故起数"), CASES), Column(_l("死亡人数"), PEOPLE)), rows,
        tick_labels=[_tick(mo) for mo in p.months],
        note=_l("按已公开的事故调查报告统计；调查报告在政府批复后公开，近几个月的数字会随之增加。"),
    )


def _accident_conditions(p: Period) -> list[Any]:
    return [_public(AccidentReport), *_within(AccidentReport.occurred_on, p.start, p.end)]


def _accident_values() -> list[Any]:
    return [func.coalesce(func.sum(AccidentReport.deaths), 0),
            func.coalesce(func.sum(AccidentReport.serious_injuries), 0),
            func.coalesce(func.sum(AccidentReport.direct_loss_yuan), 0)]


_ACCIDENT_COLUMNS = (Column(_l("事故起数"), CASES), Column(_l("死亡人数"), PEOPLE),
                     Column(_l("重伤人数"), PEOPLE),
                     Column(_l("直接经济损失"), YUAN, money=True))


def _accident_row(values: tuple[Any, ...] | None) -> tuple[Value, ...]:
    count, deaths, injuries, loss = values or (0, 0, 0, 0)
    return (int(count), int(deaths), int(injuries), _money(loss))


def accidents_by_level(p: Period) -> StatTable:
    found = _grouped(AccidentReport.level, *_accident_conditions(p), values=_accident_values())
    levels = sorted(AccidentLevel, reverse=True)  # 特别重大 first, as the rules list them
    rows = [(level.label, _accident_row(found.get(int(level)))) for level in levels]
    return StatTable("accidents-by-level", _l("生产安全事故按等级（%(period)s）", period=p.description), _l("事故等级"),
                     _ACCIDENT_COLUMNS, rows, chart="barh")


def accidents_by_county(p: Period) -> StatTable:
    found = _grouped(AccidentReport.county, *_accident_conditions(p), values=_accident_values())
    rows = [(county, _accident_row(found.get(county)))
            for county in _ordered_keys(found, COUNTIES)]
    return StatTable("accidents-by-county", _l("生产安全事故按县（市、区）（%(period)s）", period=p.description),
                     _l("县（市、区）"), _ACCIDENT_COLUMNS, rows, chart="barh")


def accidents_by_sector(p: Period) -> StatTable:
    found = _grouped(AccidentReport.sector, *_accident_conditions(p), values=_accident_values())
    rows = [(sector, _accident_row(found.get(sector)))
            for sector in _ordered_keys(found, SECTORS)]
    return StatTable("accidents-by-sector", _l("生产安全事故按行业领域（%(period)s）", period=p.description),
                     _l("行业领域"), _ACCIDENT_COLUMNS, rows, chart="barh")


# --- decisions and fines ------------------------------------------------------------------------

_DECISION_COLUMNS = (Column(_l("决定数"), PIECES), Column(_l("罚款金额合计"), YUAN, money=True))


def _decision_conditions(p: Period) -> list[Any]:
    return [_public(Decision), *_within(Decision.decision_date, p.start, p.end)]


# Fines are counted on penalty decisions only (a fine is a penalty, 行政处罚法 Art. 9): an
# amount typed on another type before the rule was enforced is no fine.
_PENALTY = Decision.decision_type == PENALTY_DECISION
_FINES = func.coalesce(func.sum(case((_PENALTY, Decision.fine_yuan), else_=None)), 0)


def _decision_row(values: tuple[Any, ...] | None) -> tuple[Value, ...]:
    count, fines = values or (0, 0)
    return (int(count), _money(fines))


def decisions_by_sector(p: Period) -> StatTable:
    found = _grouped(Decision.sector, *_decision_conditions(p), values=[_FINES])
    rows = [(sector, _decision_row(found.get(sector)))
            for sector in _ordered_keys(found, SECTORS)]
    return StatTable("decisions-by-sector", _l("行政执法决定按行业领域（%(period)s，按决定日期）", period=p.description),
                     _l("行业领域"), _DECISION_COLUMNS, rows, chart="barh")


def decisions_by_type(p: Period) -> StatTable:
    found = _grouped(Decision.decision_type, *_decision_conditions(p), values=[_FINES])
    rows = [(kind, _decision_row(found.get(kind)))
            for kind in _ordered_keys(found, DECISION_TYPES)]
    # Withdrawals by the definition /compliance and the list's withdrawal filter use.
    withdrawn = db.session.scalar(select(func.count()).select_from(Decision).where(
        withdrawn_decision_clause(), *_within(Decision.decision_date, p.start, p.end))) or 0
    note = (lazy_ngettext("另有 %(num)s 件已撤回的决定不计入（撤回是否及时见“公开时效”）。",
                          "另有 %(num)s 件已撤回的决定不计入（撤回是否及时见“公开时效”）。",
                          withdrawn) if withdrawn else "")
    return StatTable("decisions-by-type", _l("行政执法决定按决定类型（%(period)s）", period=p.description), _l("决定类型"),
                     _DECISION_COLUMNS, rows, chart="barh", note=note)


def fines_by_year(p: Period) -> StatTable:
    year = year_of(Decision.decision_date)
    found = _grouped(year, *_decision_conditions(p), _PENALTY, Decision.fine_yuan > 0,
                     values=[_FINES])
    years = sorted(int(y) for y in found) if p.year is None else [p.year]
    rows = [(year_label(y), _decision_row(found.get(y))) for y in years]
    return StatTable(
        "fines-by-year", _l("罚款按年度（%(period)s，按决定日期）", period=p.description), _l("年度"),
        (Column(_l("处以罚款的决定数"), PIECES), Column(_l("罚款金额合计"), YUAN, money=True)),
        rows, plotted=(1,), note=_l("只统计处以罚款的行政处罚决定；金额为决定书载明的罚款数额。"),
    )


# --- blacklist ----------------------------------------------------------------------------------


def blacklist_active(p: Period, today: date | None = None) -> StatTable:
    """Entries active at each month end (today for the current month), one SQL query."""
    today = today or local_today()
    ends = [min(_month_end(mo), today) for mo in p.months]
    B = BlacklistEntry
    columns = [
        func.coalesce(func.sum(case(
            (and_(B.listed_on <= day, B.ends_on >= day,
                  or_(B.removed_on.is_(None), B.removed_on > day)), 1),
            else_=0,
        )), 0)
        for day in ends
    ]
    counts = db.session.execute(select(*columns).where(_public(B))).one()
    rows = [
        (_l("%(month)s（截至今日）", month=month_label(mo))
         if day == today and day != _month_end(mo) else _l("%(month)s月末", month=month_label(mo)),
         (int(count),))
        for mo, day, count in zip(p.months, ends, counts, strict=True)
    ]
    return StatTable(
        "blacklist-active", _l("严重失信主体名单公示中的条目数（%(period)s，各月月末）",
                               period=p.months_description),
        _l("时点"), (Column(_l("公示中条目数"), ENTRIES),), rows, chart="line",
        tick_labels=[_tick(mo) for mo in p.months],
        note=_l("公示中：已列入、未期满且未提前移出（信用修复）的条目。"),
    )


def blacklist_by_subject(p: Period, today: date | None = None) -> StatTable:
    """Entries listed in the period by subject type (生产经营单位, 机构, 有关人员), and of those
    the ones active today."""
    today = today or local_today()
    B = BlacklistEntry
    active = func.coalesce(func.sum(case((B.status_clause(BlacklistStatus.ACTIVE, today), 1),
                                         else_=0)), 0)
    found = _grouped(B.subject_type, _public(B), *_within(B.listed_on, p.start, p.end),
                     values=[active])
    rows = [(SUBJECT_TYPES.get(key, key), (int(found.get(key, (0, 0))[0]),
                                           int(found.get(key, (0, 0))[1])))
            for key in _ordered_keys(found, SUBJECT_TYPES)]
    return StatTable(
        "blacklist-by-subject", _l("严重失信主体名单按主体类型（%(period)s，按列入日期）", period=p.description),
        _l("主体类型"), (Column(_l("列入条目数"), ENTRIES), Column(_l("其中今日仍在公示"), ENTRIES)),
        rows, chart="barh",
        note=_l("有关人员：生产经营单位或安全评价、认证、检测、检验机构的有关责任人员。"),
    )


# --- 挂牌督办 -------------------------------------------------------------------------------------

_SUPERVISION_COLUMNS = (Column(_l("督办中"), MATTERS), Column(_l("其中逾期"), MATTERS),
                        Column(_l("已销号"), MATTERS))


def supervision_by_county(p: Period, today: date | None = None) -> StatTable:
    """督办事项 listed in the period, by county: still open, of which overdue, and closed."""
    today = today or local_today()
    S = SupervisionItem
    open_ = S.stage != "closed"
    found = _grouped(
        S.county, _public(S), *_within(S.listed_on, p.start, p.end),
        values=(func.coalesce(func.sum(case((open_, 1), else_=0)), 0),
                func.coalesce(func.sum(case((S.overdue_clause(today), 1), else_=0)), 0)),
    )
    rows = []
    for county in _ordered_keys(found, COUNTIES):
        total, open_count, overdue = found.get(county, (0, 0, 0))
        rows.append((county, (int(open_count), int(overdue), int(total) - int(open_count))))
    return StatTable(
        "supervision-by-county", _l("挂牌督办事项按县（市、区）（%(period)s挂牌）", period=p.description),
        _l("县（市、区）"), _SUPERVISION_COLUMNS, rows, chart="barh", plotted=(0, 1, 2),
        note=_l("逾期：超过整改（办理）期限仍未申请销号的督办事项。"),
    )


# --- reports and rewards ------------------------------------------------------------------------


def reports_by_month(p: Period) -> StatTable:
    """Reports received, accepted, verified and rewarded, and rewards paid, per month: counts
    only, never broken down further."""
    months = p.months
    received = _monthly(Report.received_on, months)
    accepted = _monthly(Report.accepted_on, months, Report.accepted_on.is_not(None))
    verified = _monthly(Report.verified_on, months, Report.verified_on.is_not(None))
    rewarded = _monthly(Reward.decided_on, months, Reward.decided_on.is_not(None),
                        Reward.status.in_(GRANTED_REWARD_STATES))
    paid = _monthly(Reward.paid_on, months, Reward.paid_on.is_not(None),
                    Reward.status == "paid")
    sources = (received, accepted, verified, rewarded, paid)
    rows = [(month_label(mo), tuple(int(s.get(mo, (0,))[0]) for s in sources)) for mo in months]
    return StatTable(
        "reports-by-month", _l("举报办理情况（%(period)s，各月件数）", period=p.months_description), _l("月份"),
        (Column(_l("收到"), PIECES), Column(_l("受理"), PIECES), Column(_l("核查完毕"), PIECES),
         Column(_l("批准奖励"), PIECES), Column(_l("奖励发放"), PAYMENTS)),
        rows, plotted=(0, 1, 2), tick_labels=[_tick(mo) for mo in months],
        note=_l("只公布各月件数，不公布任何一件举报的内容、类别、地点或举报人信息。"),
    )


def rewards_by_year(p: Period) -> StatTable:
    year = year_of(Reward.paid_on)
    found = _grouped(year, Reward.paid_on.is_not(None), Reward.status == "paid",
                     *_within(Reward.paid_on, p.start, p.end),
                     values=[func.coalesce(func.sum(Reward.amount_yuan), 0)])
    years = sorted(int(y) for y in found) if p.year is None else [p.year]
    rows = []
    for y in years:
        count, amount = found.get(y, (0, 0))
        shown = _money(amount) if int(count) >= MIN_REWARDS_FOR_A_SUM or not count else None
        rows.append((year_label(y), (int(count), shown)))
    return StatTable(
        "rewards-by-year", _l("举报奖励发放（%(period)s，按发放日期）", period=p.description), _l("年度"),
        (Column(_l("发放笔数"), PAYMENTS), Column(_l("发放金额合计"), YUAN, money=True)), rows,
        note=_l("一年内发放少于 %(n)s 笔时不公布金额（显示为“—”），以免推知单笔奖励。",
                n=MIN_REWARDS_FOR_A_SUM),
    )


# --- the page -----------------------------------------------------------------------------------

# The tables of each published kind that has a section (its ``stats_title`` in portal.kinds).
KIND_TABLES: dict[str, tuple[Callable[[Period], StatTable], ...]] = {
    "accidents": (accidents_by_month, accidents_by_level, accidents_by_county, accidents_by_sector),
    "decisions": (decisions_by_sector, decisions_by_type, fines_by_year),
    "blacklist": (blacklist_active, blacklist_by_subject),
    "supervision": (supervision_by_county,),
}
# The sections' titles (portal.kinds' stats_title) in the reader's language.
# (挂牌督办 as a heading is the kind's name, 督办事项, elsewhere: its catalog entry is the event.)
SECTION_TITLES = {"accidents": _l("生产安全事故"), "decisions": _l("行政执法决定和罚款"),
                  "blacklist": _l("严重失信主体名单"),
                  "supervision": LazyString(lambda: "挂牌督办" if current_language() == DEFAULT
                                            else _("督办事项"))}
# Sections in the order of the page: the kinds' (most telling first), then reports.
SECTION_ORDER = ("accidents", "decisions", "blacklist", "supervision")
SECTIONS: tuple[tuple[str, str, tuple[Callable[[Period], StatTable], ...]], ...] = (
    *((k.key, SECTION_TITLES.get(k.key, k.stats_title), KIND_TABLES[k.key])
      for k in sorted((k for k in kinds.KINDS if k.stats_title),
                      key=lambda k: (SECTION_ORDER + kinds.KEYS).index(k.key))),
    ("reports", _l("举报和奖励"), (reports_by_month, rewards_by_year)),
)


def _key(fn: Callable[[Period], StatTable]) -> str:
    """A table's URL key is its function's name: ``accidents_by_month`` → ``accidents-by-month``."""
    return fn.__name__.replace("_", "-")


TABLE_KEYS: dict[str, Callable[[Period], StatTable]] = {
    _key(fn): fn for _, _, fns in SECTIONS for fn in fns
}


# Tables are kept per process until the data changes (``_generation``), and at most this long.
CACHE_MAX_AGE = 300.0


def _generation() -> tuple[Any, ...]:
    """Changes whenever a counted item is published, edited, withdrawn or imported, or a report
    or reward changes state (every state change sets a date counted here)."""
    parts: list[Any] = []
    for model in (Decision, AccidentReport, BlacklistEntry, SupervisionItem):
        parts.extend(db.session.execute(select(
            func.count(), func.max(model.modified_at), func.max(model.published_at),
            func.max(model.withdrawn_at),
        ).select_from(model).where(model.published_at.is_not(None))).one())
    parts.extend(db.session.execute(select(
        func.count(), func.max(Report.id), func.count(Report.accepted_on),
        func.count(Report.verified_on)).select_from(Report)).one())
    parts.extend(db.session.execute(select(
        func.count(), func.count(Reward.decided_on), func.count(Reward.paid_on),
        func.sum(case((Reward.status.in_(GRANTED_REWARD_STATES), 1), else_=0)),
    ).select_from(Reward)).one())
    return tuple(parts)


def tables_version() -> tuple[Any, ...]:
    """What the tables follow besides the date: the data (``_generation``) and the window of
    ``CACHE_MAX_AGE`` seconds they are kept in.  A page drawn from them (``/stats``) is kept
    by the page cache under this, so it is redrawn exactly when its tables may be."""
    return _generation(), int(monotonic() // CACHE_MAX_AGE)


def _tables(year: int | None, today: date | None) -> dict[str, StatTable]:
    today = today or local_today()
    key = (year, today, _generation())
    cache: dict[int | None, tuple[Any, float, dict[str, StatTable]]] = (
        current_app.extensions.setdefault("statistics_cache", {}))
    cached = cache.get(year)
    now = monotonic()
    if cached and cached[0] == key and now - cached[1] < CACHE_MAX_AGE:
        return cached[2]
    p = period(year, today)
    tables = {}
    for _section, _title, fns in SECTIONS:
        for fn in fns:
            result = fn(p)
            tables[result.key] = result
    cache[year] = (key, now, tables)
    return tables


def all_tables(year: int | None, today: date | None = None) -> list[tuple[str, str, list[StatTable]]]:
    """Every statistic for ``year`` (None: all years), grouped in sections."""
    tables = _tables(year, today)
    return [(key, title, [tables[_key(fn)] for fn in fns]) for key, title, fns in SECTIONS]


def table(key: str, year: int | None, today: date | None = None) -> StatTable:
    """One statistic by its URL key; ``KeyError`` for an unknown key."""
    if key not in TABLE_KEYS:
        raise KeyError(key)
    return _tables(year, today)[key]


def available_years() -> list[int]:
    """Years with any decision, accident, listing or report, newest first."""
    years: set[int] = set()
    for column, model in ((Decision.decision_date, Decision),
                          (AccidentReport.occurred_on, AccidentReport),
                          (BlacklistEntry.listed_on, BlacklistEntry)):
        first, last = db.session.execute(
            select(func.min(column), func.max(column)).where(_public(model))
        ).one()
        if first and last:
            years.update(range(first.year, last.year + 1))
    first, last = db.session.execute(
        select(func.min(Report.received_on), func.max(Report.received_on))
    ).one()
    if first and last:
        years.update(range(first.year, last.year + 1))
    return sorted(years, reverse=True)
