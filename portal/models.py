"""SQLAlchemy 2 typed models: the database is the single source of truth.

Keep the SQL portable: the suite runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    event,
    or_,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry, relationship

from portal.domain import blacklist as blacklist_rules
from portal.domain.accidents import AccidentLevel, classify

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use portal.models.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING),
        type_annotation_map={datetime: UTCDateTime(), Decimal: Numeric(16, 2)},
    )


class Department(Base):
    """责任单位: the body that issues an item."""

    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    def __str__(self) -> str:
        return self.name


class Enterprise(Base):
    __tablename__ = "enterprises"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码, checked
    county: Mapped[str] = mapped_column(String(40), default="")
    sector: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(300), default="")

    def __str__(self) -> str:
        return self.name


class DisclosureMixin:
    """Columns and state shared by the four published kinds.

    ``id`` is the public id in the permalink ``/<kind>/<id>``: never reused (SQLite
    AUTOINCREMENT, PostgreSQL identity), never changed.  An item is a draft until
    ``published_at`` is set; a withdrawn item keeps its page, marked, with the reason.
    """

    KIND: ClassVar[str]
    LABEL: ClassVar[str]
    __table_args__: Any = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def title(self) -> str:
        raise NotImplementedError

    @property
    def event_date(self) -> date | None:
        """The decision or event date shown on the page and used for the year filter."""
        raise NotImplementedError

    @property
    def url_path(self) -> str:
        return f"/{self.KIND}/{self.id}"


class PowerItem(DisclosureMixin, Base):
    """权责清单 item."""

    __tablename__ = "power_items"
    KIND = "powers"
    LABEL = "权责清单"

    code: Mapped[str] = mapped_column(String(40), unique=True)  # 序号 / 编码
    name: Mapped[str] = mapped_column(String(200))
    power_type: Mapped[str] = mapped_column(String(20), index=True)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    responsibilities: Mapped[str] = mapped_column(Text, default="")
    accountability: Mapped[str] = mapped_column(Text, default="")
    workflow: Mapped[list[str]] = mapped_column(JSON, default=list)
    remarks: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[Department] = relationship(lazy="joined")

    @property
    def title(self) -> str:
        return self.name

    @property
    def event_date(self) -> date | None:
        return self.published_at.date() if self.published_at else None


class Decision(DisclosureMixin, Base):
    """行政处罚决定 and other enforcement decisions (行政处罚法 Art. 59)."""

    __tablename__ = "decisions"
    KIND = "decisions"
    LABEL = "行政处罚决定"

    document_no: Mapped[str] = mapped_column(String(80), unique=True)  # 文号
    decision_type: Mapped[str] = mapped_column(String(20), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    party_name: Mapped[str] = mapped_column(String(200))  # masked if a natural person
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    party_address: Mapped[str] = mapped_column(String(300), default="")
    county: Mapped[str] = mapped_column(String(40), index=True, default="")
    sector: Mapped[str] = mapped_column(String(40), index=True, default="")
    facts: Mapped[str] = mapped_column(Text, default="")  # 违法事实和证据
    legal_basis: Mapped[str] = mapped_column(Text, default="")  # 违反的规定和处罚依据
    penalty: Mapped[str] = mapped_column(Text, default="")  # 处罚种类和内容
    fine_yuan: Mapped[Decimal | None]
    compliance: Mapped[str] = mapped_column(Text, default="")  # 履行方式和期限
    remedy: Mapped[str] = mapped_column(Text, default="")  # 申请复议、提起诉讼的途径和期限
    decision_date: Mapped[date] = mapped_column(Date, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    # Set from decision_type and decision_date by the working calendar; never typed in.
    publish_due: Mapped[date | None] = mapped_column(Date, index=True)
    publish_due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # The day the decision was changed, revoked or declared void, while the withdrawal is not yet
    # published: the withdrawal is due within 3 working days of it (行政处罚法 Art. 48).
    withdrawal_requested_on: Mapped[date | None] = mapped_column(Date, index=True)
    withdrawal_request_reason: Mapped[str | None] = mapped_column(Text)
    department: Mapped[Department] = relationship(lazy="joined")
    enterprise: Mapped[Enterprise | None] = relationship(lazy="joined")

    @property
    def title(self) -> str:
        return f"{self.party_name}{self.decision_type}决定（{self.document_no}）"

    @property
    def event_date(self) -> date | None:
        return self.decision_date

    @property
    def published_on_time(self) -> bool | None:
        """True/False once published; None while a draft or without a deadline."""
        if self.published_at is None or self.publish_due is None:
            return None
        return local_date(self.published_at) <= self.publish_due


class AccidentReport(DisclosureMixin, Base):
    """事故调查报告 (安全生产法 Art. 86): published in full after 批复."""

    __tablename__ = "accident_reports"
    KIND = "accidents"
    LABEL = "事故调查报告"

    title_text: Mapped[str] = mapped_column("title", String(200))
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    county: Mapped[str] = mapped_column(String(40), index=True, default="")
    sector: Mapped[str] = mapped_column(String(40), index=True, default="")
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200), default="")
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    deaths: Mapped[int] = mapped_column(default=0)
    serious_injuries: Mapped[int] = mapped_column(default=0)
    direct_loss_yuan: Mapped[Decimal] = mapped_column(default=Decimal(0))
    # Derived from the three figures above by the rule of 国务院令第493号 Art. 3; never typed in.
    level: Mapped[int] = mapped_column(SmallInteger, index=True, default=AccidentLevel.GENERAL)
    summary: Mapped[str] = mapped_column(Text, default="")
    report_html: Mapped[str] = mapped_column(Text, default="")  # sanitised by portal.sanitize
    report_source: Mapped[str | None] = mapped_column(Text)  # the editor's Markdown, if entered so
    approved_on: Mapped[date | None] = mapped_column(Date)  # 批复
    assessment_due: Mapped[date | None] = mapped_column(Date, index=True)
    assessment_published_on: Mapped[date | None] = mapped_column(Date)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    department: Mapped[Department] = relationship(lazy="joined")
    enterprise: Mapped[Enterprise | None] = relationship(lazy="joined")

    @property
    def title(self) -> str:
        return self.title_text

    @property
    def event_date(self) -> date | None:
        return self.occurred_on

    @property
    def accident_level(self) -> AccidentLevel:
        return AccidentLevel(self.level)

    def derive(self) -> None:
        self.level = int(
            classify(
                deaths=self.deaths or 0,
                serious_injuries=self.serious_injuries or 0,
                direct_loss_yuan=self.direct_loss_yuan or Decimal(0),
            )
        )
        if self.approved_on is not None:
            from portal.domain.blacklist import add_years
            from portal.domain.catalog import ACCIDENT_ASSESSMENT_YEARS

            self.assessment_due = add_years(self.approved_on, ACCIDENT_ASSESSMENT_YEARS)
        else:
            self.assessment_due = None


class BlacklistEntry(DisclosureMixin, Base):
    """严重失信主体名单 entry (应急管理部令第11号); its status follows from its dates."""

    __tablename__ = "blacklist_entries"
    __table_args__ = (
        UniqueConstraint("uscc", "listed_on"),
        {"sqlite_autoincrement": True},
    )
    KIND = "blacklist"
    LABEL = "严重失信主体名单"

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    county: Mapped[str] = mapped_column(String(40), index=True, default="")
    sector: Mapped[str] = mapped_column(String(40), index=True, default="")
    grounds: Mapped[str] = mapped_column(Text)  # 列入事由
    basis: Mapped[str] = mapped_column(Text, default="")  # 列入依据 / 决定文书
    listed_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date] = mapped_column(Date, index=True)  # listed_on + configured duration
    removed_on: Mapped[date | None] = mapped_column(Date, index=True)  # early removal
    removal_reason: Mapped[str | None] = mapped_column(Text)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    department: Mapped[Department] = relationship(lazy="joined")
    enterprise: Mapped[Enterprise] = relationship(lazy="joined")

    @property
    def title(self) -> str:
        return f"{self.enterprise_name}（{self.uscc}）"

    @property
    def event_date(self) -> date | None:
        return self.listed_on

    def status(self, today: date | None = None) -> blacklist_rules.BlacklistStatus:
        return blacklist_rules.status(
            listed_on=self.listed_on,
            ends_on=self.ends_on,
            removed_on=self.removed_on,
            today=today or local_today(),
        )

    @classmethod
    def status_clause(cls, status: blacklist_rules.BlacklistStatus, today: date) -> Any:
        """SQL condition equivalent to ``status(today) == status``."""
        not_removed = or_(cls.removed_on.is_(None), cls.removed_on > today)
        S = blacklist_rules.BlacklistStatus
        return {
            S.REMOVED: and_(cls.removed_on.is_not(None), cls.removed_on <= today),
            S.PENDING: and_(not_removed, cls.listed_on > today),
            S.EXPIRED: and_(not_removed, cls.listed_on <= today, cls.ends_on <= today),
            S.ACTIVE: and_(not_removed, cls.listed_on <= today, cls.ends_on > today),
        }[status]


class ItemVersion(Base):
    """An earlier state of a published item: the public "history" on its page."""

    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("kind", "item_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    summary: Mapped[str] = mapped_column(Text, default="")  # e.g. "修改：罚款金额"
    # {field: [old, new]} for what changed, JSON-safe values only.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


DISCLOSURE_MODELS: dict[str, type[DisclosureMixin]] = {
    m.KIND: m for m in (PowerItem, Decision, AccidentReport, BlacklistEntry)
}


# The portal's civil time zone: dates shown and deadlines counted are Beijing dates.
def local_date(moment: datetime) -> date:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Shanghai")).date()


def local_today() -> date:
    return local_date(utcnow())


@event.listens_for(AccidentReport, "before_insert")
@event.listens_for(AccidentReport, "before_update")
def _derive_accident(mapper: Any, connection: Any, target: AccidentReport) -> None:
    target.derive()


@event.listens_for(Decision, "before_insert")
@event.listens_for(Decision, "before_update")
def _derive_decision_deadline(mapper: Any, connection: Any, target: Decision) -> None:
    from portal.working_days import decision_publish_deadline

    deadline = decision_publish_deadline(target.decision_type, target.decision_date)
    target.publish_due = deadline.due if deadline else None
    target.publish_due_provisional = bool(deadline and deadline.provisional)
