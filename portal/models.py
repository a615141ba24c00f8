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
    LargeBinary,
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

from portal import kinds
from portal.crypto import EncryptedBytes, EncryptedText
from portal.domain import blacklist as blacklist_rules
from portal.domain import supervision as supervision_rules
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
    LABEL = kinds.get("powers").label

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
    """行政执法决定: 行政处罚 (行政处罚法 Art. 59), 行政许可, 行政检查 and 行政强制 decisions."""

    __tablename__ = "decisions"
    KIND = "decisions"
    LABEL = kinds.get("decisions").label

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
    LABEL = kinds.get("accidents").label

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
            from portal.working_days import assessment_due

            self.assessment_due = assessment_due(self.approved_on)
        else:
            self.assessment_due = None


class BlacklistEntry(DisclosureMixin, Base):
    """严重失信主体名单 entry (应急管理部令第11号); its status follows from its dates."""

    __tablename__ = "blacklist_entries"
    __table_args__ = (
        # One listing a day per subject: the body, or each of its persons by name.
        UniqueConstraint("uscc", "listed_on", "person_name"),
        {"sqlite_autoincrement": True},
    )
    KIND = "blacklist"
    LABEL = kinds.get("blacklist").label

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    county: Mapped[str] = mapped_column(String(40), index=True, default="")
    sector: Mapped[str] = mapped_column(String(40), index=True, default="")
    grounds: Mapped[str] = mapped_column(Text)  # 列入事由
    basis: Mapped[str] = mapped_column(Text, default="")  # 列入依据 / 决定文书
    listed_on: Mapped[date] = mapped_column(Date, index=True)
    # The last day the listing is active (inclusive), counted per 民法典 Arts. 201–202.
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    removed_on: Mapped[date | None] = mapped_column(Date, index=True)  # early removal
    removal_reason: Mapped[str | None] = mapped_column(Text)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    # blacklist_rules.SUBJECT_TYPES.  For a person, ``enterprise_name`` and ``uscc`` are the body
    # they belong to; the ID number is stored masked only (DOMAIN §1), never an address.
    subject_type: Mapped[str] = mapped_column(String(20), index=True,
                                              default=blacklist_rules.ENTERPRISE)
    person_name: Mapped[str] = mapped_column(String(60), default="", index=True)
    person_role: Mapped[str] = mapped_column(String(60), default="")
    person_id_masked: Mapped[str] = mapped_column(String(18), default="")
    department: Mapped[Department] = relationship(lazy="joined")
    enterprise: Mapped[Enterprise] = relationship(lazy="joined")

    @property
    def is_person(self) -> bool:
        return self.subject_type == blacklist_rules.PERSON

    @property
    def subject_type_label(self) -> str:
        return blacklist_rules.SUBJECT_TYPES.get(self.subject_type, self.subject_type)

    @property
    def subject_name(self) -> str:
        """Who is listed: the person's name, or the body's."""
        return self.person_name if self.is_person else self.enterprise_name

    @property
    def title(self) -> str:
        if self.is_person:
            return f"{self.person_name}（{self.enterprise_name}{self.person_role}）"
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
            S.EXPIRED: and_(not_removed, cls.listed_on <= today, cls.ends_on < today),
            S.ACTIVE: and_(not_removed, cls.listed_on <= today, cls.ends_on >= today),
        }[status]


class SupervisionItem(DisclosureMixin, Base):
    """督办事项 (挂牌督办, DOMAIN.md §7): a hazard or an accident investigation put under public
    supervision, with the fields of its 督办通知书 and the timeline of its stages.

    ``department`` is the 挂牌单位 (who listed it); ``responsible_unit`` the 责任单位 (who must
    act).  ``from_report`` is all the item says of a citizen's report behind it (来源：群众举报):
    the link lives on the report (``Report.supervision_id``), never here."""

    __tablename__ = "supervision_items"
    KIND = "supervision"
    LABEL = kinds.get("supervision").label

    notice_no: Mapped[str] = mapped_column(String(80), unique=True)  # 督办通知书编号
    supervision_type: Mapped[str] = mapped_column(String(20), index=True)  # 隐患/事故查处挂牌督办
    grade: Mapped[str] = mapped_column(String(10), index=True)  # 重大 / 一般
    title_text: Mapped[str] = mapped_column("title", String(200))  # the hazard or the accident
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200), default="")
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    accident_id: Mapped[int | None] = mapped_column(ForeignKey("accident_reports.id"), index=True)
    county: Mapped[str] = mapped_column(String(40), index=True, default="")
    sector: Mapped[str] = mapped_column(String(40), index=True, default="")
    responsible_unit: Mapped[str] = mapped_column(String(200), default="")  # 责任单位
    requirements_source: Mapped[str | None] = mapped_column(Text)  # 督办事项, the editor's Markdown
    requirements_html: Mapped[str] = mapped_column(Text, default="")  # sanitised
    lifting: Mapped[str] = mapped_column(Text, default="")  # 解除方式和程序
    listed_on: Mapped[date] = mapped_column(Date, index=True)  # 挂牌日期 (the notice's date)
    deadline: Mapped[date] = mapped_column(Date)  # 整改期限 / 办理期限 as the notice set it
    extension_applied_on: Mapped[date | None] = mapped_column(Date)
    extended_deadline: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    # The deadline in force (extended or not), for the overdue filter; set on flush.
    due_on: Mapped[date] = mapped_column(Date, index=True)
    stage: Mapped[str] = mapped_column(String(20), index=True, default="listed")
    applied_on: Mapped[date | None] = mapped_column(Date, index=True)  # the last application
    passed_on: Mapped[date | None] = mapped_column(Date, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date, index=True)
    from_report: Mapped[bool] = mapped_column(Boolean, default=False)
    # The listing's publication deadline (5 working days after listed_on); set on flush.
    publish_due: Mapped[date | None] = mapped_column(Date, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    department: Mapped[Department] = relationship(lazy="joined")
    enterprise: Mapped[Enterprise | None] = relationship(lazy="joined")
    accident: Mapped[AccidentReport | None] = relationship()
    steps: Mapped[list[SupervisionStep]] = relationship(
        back_populates="item", order_by="SupervisionStep.id", cascade="all, delete-orphan"
    )
    photos: Mapped[list[SupervisionPhoto]] = relationship(
        back_populates="item", order_by="SupervisionPhoto.id", cascade="all, delete-orphan"
    )

    @property
    def title(self) -> str:
        return self.title_text

    @property
    def event_date(self) -> date | None:
        return self.listed_on

    @property
    def current_stage(self) -> supervision_rules.Stage:
        return supervision_rules.Stage(self.stage)

    @property
    def source(self) -> str:
        return supervision_rules.SOURCE_REPORT if self.from_report else ""

    def overdue(self, today: date | None = None) -> bool:
        return supervision_rules.is_overdue(
            stage=self.current_stage, due_on=self.due_on or self.deadline,
            applied_on=self.applied_on, today=today or local_today())

    @property
    def is_overdue(self) -> bool:
        """Overdue today (Beijing date): past the deadline in force and not applied for 销号."""
        return self.overdue()

    def status_label(self, today: date | None = None) -> str:
        label = self.current_stage.label
        return f"{label}（已逾期）" if self.overdue(today) else label

    @classmethod
    def overdue_clause(cls, today: date) -> Any:
        """SQL condition equivalent to ``overdue(today)``."""
        S = supervision_rules.Stage
        return and_(
            cls.stage != S.CLOSED.value,
            or_(
                and_(cls.stage.in_((S.LISTED.value, S.RECTIFYING.value)), cls.due_on < today),
                and_(cls.stage.in_((S.APPLIED.value, S.PASSED.value)), cls.applied_on > cls.due_on),
            ),
        )

    def derive(self) -> None:
        from portal.working_days import working_calendar

        self.due_on = self.extended_deadline or self.deadline
        if self.listed_on is not None:
            self.publish_due = supervision_rules.listing_publish_due(
                working_calendar(), self.listed_on).due


class SupervisionStep(Base):
    """One dated step of a 督办事项's public timeline (挂牌, 整改中, 延期, 申请销号, 现场审查, 销号),
    with the note staff wrote for the public."""

    __tablename__ = "supervision_steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_items.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    item: Mapped[SupervisionItem] = relationship(back_populates="steps")

    @property
    def label(self) -> str:
        return supervision_rules.Step(self.step).label


PHOTO_PHASES = {"before": "整改前", "after": "整改后"}


class SupervisionPhoto(Base):
    """A rectification photo (整改前 / 整改后) of a 督办事项, uploaded by staff on one of its
    stages and shown on its public page.

    Re-encoded by ``portal.images`` (pixels only: no EXIF, GPS, XMP, comment or profile), the
    original not kept.  Stored in the database like every file of the portal, never a plain
    file; not encrypted, unlike a report's photos: it is published, and a public page must not
    pay a decryption per thumbnail.  Only staff uploads land here: a report's photos are never
    copied (no code path reads ``ReportPhoto`` into this table).  ``step_id`` is the stage it was
    taken for (``None``: the listing, 挂牌); ``caption`` is public and the image's alt text."""

    __tablename__ = "supervision_photos"
    # A photo's address is cached by browsers: an id is never reused for another photo.
    __table_args__ = {"sqlite_autoincrement": True}
    shows_on_public_pages: ClassVar[bool] = True  # a change is a new page generation
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_items.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int | None] = mapped_column(
        ForeignKey("supervision_steps.id", ondelete="SET NULL"))
    phase: Mapped[str] = mapped_column(String(10))  # PHOTO_PHASES
    caption: Mapped[str] = mapped_column(String(200))
    taken_on: Mapped[date] = mapped_column(Date)  # the stage's date, as the page shows it
    added_on: Mapped[date] = mapped_column(Date)
    media_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    # Deferred: a page that lists photos reads neither image, only their sizes.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    thumbnail_media_type: Mapped[str] = mapped_column(String(20))
    thumbnail_width: Mapped[int] = mapped_column(Integer)
    thumbnail_height: Mapped[int] = mapped_column(Integer)
    item: Mapped[SupervisionItem] = relationship(back_populates="photos")
    step: Mapped[SupervisionStep | None] = relationship()

    @property
    def phase_label(self) -> str:
        return PHOTO_PHASES.get(self.phase, self.phase)


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


# Key → model of every published kind, in the registry's order (portal.kinds).
DISCLOSURE_MODELS: dict[str, type[DisclosureMixin]] = {
    k.key: globals()[k.model_name] for k in kinds.KINDS
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


@event.listens_for(SupervisionItem, "before_insert")
@event.listens_for(SupervisionItem, "before_update")
def _derive_supervision(mapper: Any, connection: Any, target: SupervisionItem) -> None:
    target.derive()


@event.listens_for(Decision, "before_insert")
@event.listens_for(Decision, "before_update")
def _derive_decision_deadline(mapper: Any, connection: Any, target: Decision) -> None:
    from portal.working_days import decision_publish_deadline

    deadline = decision_publish_deadline(target.decision_type, target.decision_date)
    target.publish_due = deadline.due if deadline else None
    target.publish_due_provisional = bool(deadline and deadline.provisional)


# ---------------------------------------------------------------------------------------------
# Anonymous reports (举报), DESIGN.md §3.  Nothing here identifies the reporter: no address, no
# user agent, no time of day (dates only; ids and the order of rows are the only sequence).  The
# report's words are encrypted with PORTAL_DATA_KEY, one key purpose per column; what stays in
# clear is what triage and the statistics need (kind, county, dates, states, amounts).
# ---------------------------------------------------------------------------------------------

REPORT_KINDS: dict[str, str] = {
    "hazard": "重大事故隐患",
    "violation": "安全生产非法违法行为",
    "concealed_accident": "瞒报谎报事故",
}

# Report states.  received → accepted | declined;  accepted → verified (result recorded) →
# closed;  closed as rectified → reopened (the reporter says it is not fixed) → accepted again.
# A report linked as a duplicate of an earlier one is closed with ``duplicate_of`` set.
REPORT_STATES: dict[str, str] = {
    "received": "已收到，待受理",
    "accepted": "已受理，核查中",
    "declined": "不予受理",
    "verified": "已核查",
    "closed": "已办结",
    "reopened": "举报人反映仍未整改，待处理",
}
VERIFICATION_RESULTS: dict[str, str] = {"true": "属实", "partly": "部分属实", "false": "不属实"}
CLOSED_AS: dict[str, str] = {
    "rectified": "已整改",
    "handled": "已依法处理",
    "unfounded": "经核查不属实",
    "duplicate": "与先前举报为同一事项",
}
# Timeline steps (``ReportEvent.kind``) and how the reporter sees them.  The follow-up page
# shows every step; the back office too.
REPORT_EVENT_KINDS: dict[str, str] = {
    "received": "举报已收到",
    "accepted": "已受理，进入核查",
    "declined": "不予受理",
    "extended": "核查期限延长",
    "verified": "核查完毕",
    "decision_linked": "已依法作出处理决定",
    "duplicate": "与先前举报为同一事项",
    "closed": "已办结",
    "reopened": "举报人反映仍未整改",
    "reopen_handled": "已处理举报人的重新反映",
    "deadline_moved": "期限按正式节假日安排调整",
    "supervision_opened": "已提请挂牌督办",
    "supervision_listed": "督办事项已挂牌公开",
    "supervision_rectifying": "督办事项整改中",
    "supervision_closed": "督办事项已销号",
    "reward_approved": "奖励已批准",
    "reward_rejected": "奖励未获批准",
    "reward_claimed": "已申领奖励",
    "reward_paid": "奖励已发放",
}
# Steps whose note the reporter never sees: what they are told is fixed.  An approver's reason
# for rejecting a reward is an internal note between staff (kept on the reward, for staff); the
# reporter is told neutrally that the proposal was not approved and is being reviewed.
REWARD_REJECTED_NOTE = "奖励提议经审批未获批准，承办人员将进行复核。"
REPORT_EVENT_FIXED_NOTES: dict[str, str] = {"reward_rejected": REWARD_REJECTED_NOTE}
REWARD_STATES: dict[str, str] = {
    "proposed": "已提出，待审批",
    "approved": "已批准，可领取",
    "rejected": "未批准",
    "claimed": "已申领，待发放",
    "paid": "已发放",
}


class Report(Base):
    """One anonymous report.  ``receipt_digest`` (Argon2id of the receipt code with the site-wide
    salt) is how the code alone finds its report; the code itself is never stored."""

    __tablename__ = "reports"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_digest: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="received")
    received_on: Mapped[date] = mapped_column(Date, index=True)
    county: Mapped[str] = mapped_column(String(40), default="")
    enterprise_name: Mapped[str] = mapped_column(EncryptedText("reports.enterprise_name"))
    uscc: Mapped[str | None] = mapped_column(EncryptedText("reports.uscc"))
    # Keyed digests of the normalised credit code and name: candidate duplicates are found by
    # these (and the county), never by putting report text into a search index.
    uscc_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    name_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    place: Mapped[str] = mapped_column(EncryptedText("reports.place"))
    description: Mapped[str] = mapped_column(EncryptedText("reports.description"))
    seen_since: Mapped[str] = mapped_column(EncryptedText("reports.seen_since"))
    # Only if the reporter asked to be called back; erasable by the reporter at any time.
    contact: Mapped[str | None] = mapped_column(EncryptedText("reports.contact"))
    # The language of the pages it was made on (portal.i18n: zh, en, lo, my), so that the office
    # can find a translator.  In clear: a triage fact like the kind and the county.
    language: Mapped[str] = mapped_column(String(5), default="zh", server_default="zh")

    acceptance_due: Mapped[date | None] = mapped_column(Date, index=True)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    decline_reason: Mapped[str | None] = mapped_column(EncryptedText("reports.decline_reason"))
    verification_due: Mapped[date | None] = mapped_column(Date, index=True)
    # The last day of the verification period by the calendar alone (acceptance + 60 days, plus
    # the extension); ``verification_due`` is this moved off a rest day (民法典 Art. 203), and
    # is recomputed from it when a year's official schedule is added.
    verification_period_end: Mapped[date | None] = mapped_column(Date)
    # Set once: the one extension (up to 30 days), with the reason the reporter sees.
    extension_reason: Mapped[str | None] = mapped_column(EncryptedText("reports.extension_reason"))
    verification_result: Mapped[str | None] = mapped_column(String(10))
    verified_on: Mapped[date | None] = mapped_column(Date)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    # The 督办事项 opened from this report (DOMAIN §7), if any: the link is kept here, on the
    # report's side, so nothing on the public item points back to a report.
    supervision_id: Mapped[int | None] = mapped_column(
        ForeignKey("supervision_items.id"), index=True)
    # The enforcement decision that followed (its fine is the reward's base), if any.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), index=True)
    # The fine imposed for the hazard or violation part, where it is not the linked decision's
    # whole fine (the decision also punishes concealment; a concealed-accident report that also
    # showed a hazard).  None: the linked decision's fine, for a hazard or violation report.
    hazard_fine_yuan: Mapped[Decimal | None]
    # The concealed part (any kind of report: a hazard report may also reveal concealed deaths):
    # deaths concealed and the finally confirmed level (AccidentLevel: 1 一般 … 4 特别重大, the
    # numbers accident reports use).
    concealed_deaths: Mapped[int | None] = mapped_column(Integer)
    confirmed_level: Mapped[int | None] = mapped_column(SmallInteger)
    closed_on: Mapped[date | None] = mapped_column(Date, index=True)
    closed_as: Mapped[str | None] = mapped_column(String(20))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    # Set by purge-reports: the content columns are emptied, the counts for statistics stay.
    purged_on: Mapped[date | None] = mapped_column(Date)

    duplicate_of: Mapped[Report | None] = relationship(remote_side=[id])
    decision: Mapped[Decision | None] = relationship()
    supervision: Mapped[SupervisionItem | None] = relationship()
    events: Mapped[list[ReportEvent]] = relationship(
        back_populates="report", order_by="ReportEvent.id", cascade="all, delete-orphan"
    )
    messages: Mapped[list[ReportMessage]] = relationship(
        back_populates="report", order_by="ReportMessage.id", cascade="all, delete-orphan"
    )
    photos: Mapped[list[ReportPhoto]] = relationship(
        back_populates="report", order_by="ReportPhoto.id", cascade="all, delete-orphan",
        foreign_keys="ReportPhoto.report_id",
    )
    reward: Mapped[Reward | None] = relationship(back_populates="report", cascade="all")

    @property
    def number(self) -> str:
        """The report's number, shown with the receipt code and in the back office."""
        return f"JB{self.received_on:%Y}-{self.id:06d}"

    @property
    def kind_label(self) -> str:
        return REPORT_KINDS.get(self.kind, self.kind)

    def add_event(self, kind: str, on: date, note: str | None = None) -> ReportEvent:
        """Append a step to the timeline (the caller commits)."""
        if kind not in REPORT_EVENT_KINDS:
            raise ValueError(f"unknown report event {kind!r}")
        event = ReportEvent(kind=kind, occurred_on=on, note=note)
        self.events.append(event)
        return event

    @property
    def status_label(self) -> str:
        return REPORT_STATES.get(self.status, self.status)


class ReportEvent(Base):
    """One step of a report's timeline, as both sides see it (dates only)."""

    __tablename__ = "report_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))  # received, accepted, declined, extended, …
    # What the reporter is told with this step (a reason, a result), encrypted.
    note: Mapped[str | None] = mapped_column(EncryptedText("report_events.note"))
    report: Mapped[Report] = relationship(back_populates="events")

    @property
    def label(self) -> str:
        return REPORT_EVENT_KINDS.get(self.kind, self.kind)

    @property
    def reporter_note(self) -> str | None:
        """The note as the reporter is shown it (the timeline on both sides shows this).

        A step of ``REPORT_EVENT_FIXED_NOTES`` always shows its fixed text, also when an older
        row stored something else as its note."""
        return REPORT_EVENT_FIXED_NOTES.get(self.kind, self.note)


class ReportMessage(Base):
    """A message between the reporter and the handler."""

    __tablename__ = "report_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    sent_on: Mapped[date] = mapped_column(Date)
    author: Mapped[str] = mapped_column(String(10))  # "reporter" or "staff"
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    body: Mapped[str] = mapped_column(EncryptedText("report_messages.body"))
    report: Mapped[Report] = relationship(back_populates="messages")
    photos: Mapped[list[ReportPhoto]] = relationship(
        order_by="ReportPhoto.id", foreign_keys="ReportPhoto.message_id", viewonly=True
    )


class ReportDraft(Base):
    """A report between its form and its check-your-answers step: encrypted, and with its photos
    deleted by ``purge-reports`` within a day if never sent.  Its id is a random token kept in
    the session; the hour it was made is all the time it carries."""

    __tablename__ = "report_drafts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_hour: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[str] = mapped_column(EncryptedText("report_drafts.payload"))  # JSON fields


class ReportPhoto(Base):
    """A photo, re-encoded without metadata, encrypted, in the database (never a plain file).

    It belongs to a draft until the report is sent, then to the report (and to the message it
    came with, for photos added at follow-up)."""

    __tablename__ = "report_photos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    draft_id: Mapped[str | None] = mapped_column(
        ForeignKey("report_drafts.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_messages.id", ondelete="CASCADE"), index=True
    )
    media_type: Mapped[str] = mapped_column(String(20))  # of the re-encoded image
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Deferred: a page that lists photos must not fetch and decrypt megabytes per photo.
    data: Mapped[bytes] = mapped_column(EncryptedBytes("report_photos.data"), deferred=True)
    # Made from the same pixels at upload (portal.images); NULL for photos stored before 0011.
    thumbnail: Mapped[bytes | None] = mapped_column(
        EncryptedBytes("report_photos.thumbnail"), deferred=True
    )
    thumbnail_media_type: Mapped[str | None] = mapped_column(String(20))
    report: Mapped[Report | None] = relationship(back_populates="photos", foreign_keys=[report_id])


class Reward(Base):
    """The reward for a verified report (安全生产领域举报奖励办法).  Amounts are whole yuan.

    A handler proposes, a different approver decides; the reporter claims with the receipt code
    (payment details, encrypted, or a signed claim slip shown at the counter); staff record the
    payment.  Expiry is derived: approved and not claimed after ``claim_due``."""

    __tablename__ = "rewards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="proposed")
    amount_yuan: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(200), default="")  # how the amount was computed
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    proposed_on: Mapped[date] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_on: Mapped[date | None] = mapped_column(Date, index=True)
    # Staff-only, and it may quote the report: encrypted like the report's own reasons.
    rejection_reason: Mapped[str | None] = mapped_column(
        EncryptedText("rewards.rejection_reason")
    )
    claim_due: Mapped[date | None] = mapped_column(Date)
    # Approval + the claim period by the calendar alone; ``claim_due`` is it moved off a rest
    # day (民法典 Art. 203).
    claim_period_end: Mapped[date | None] = mapped_column(Date)
    claimed_on: Mapped[date | None] = mapped_column(Date)
    claim_method: Mapped[str | None] = mapped_column(String(20))  # "transfer" or "in_person"
    payment_details: Mapped[str | None] = mapped_column(EncryptedText("rewards.payment_details"))
    # The keyed hash of the current claim slip's code (32 hex; a slip signed before the short
    # form: its 16-hex nonce).  A new slip, or erasure, replaces it and voids the old slip.
    slip_nonce: Mapped[str | None] = mapped_column(String(32))
    paid_on: Mapped[date | None] = mapped_column(Date, index=True)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    payment_reference: Mapped[str | None] = mapped_column(
        EncryptedText("rewards.payment_reference")
    )
    report: Mapped[Report] = relationship(back_populates="reward")
    # Every rejected proposal, oldest first: proposing again reuses this row, not the record.
    rejections: Mapped[list[RewardRejection]] = relationship(
        back_populates="reward", cascade="all, delete-orphan", order_by="RewardRejection.id"
    )

    @property
    def status_label(self) -> str:
        return REWARD_STATES.get(self.status, self.status)


class RewardRejection(Base):
    """A reward proposal an approver rejected, as it stood, with the approver's reason.

    A report has one reward row, and a handler may propose again after a rejection, which
    resets that row to "proposed"; these rows keep each rejected proposal on record for staff.
    Never edited.  The reason is internal: the reporter is never shown it."""

    __tablename__ = "reward_rejections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"), index=True)
    amount_yuan: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(200), default="")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    proposed_on: Mapped[date] = mapped_column(Date)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    rejected_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(EncryptedText("reward_rejections.reason"))
    reward: Mapped[Reward] = relationship(back_populates="rejections")


class DataGeneration(Base):
    """One row whose number goes up with every transaction that changes a disclosure.

    Public pages are cached per generation (``portal.page_cache``): every worker on every host
    reads this number at each request, so a publication shows everywhere at once.
    """

    __tablename__ = "data_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditCertificate(Base):
    """A credit certificate (信用记录查询证明) as issued: its number and what it said.

    ``snapshot`` is the JSON of the enterprise's status at ``issued_at`` (listings, counts), so
    that the number alone verifies what was printed, whatever changed since.  Rows are never
    edited; ``verification_code`` is the signed code printed in the QR code.
    """

    __tablename__ = "credit_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # XSBN-7KQ2-XM9D
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    verification_code: Mapped[str] = mapped_column(Text)
