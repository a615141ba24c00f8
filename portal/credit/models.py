"""信用修复 applications (DOMAIN.md §8): an enterprise asks for early removal from the blacklist.

Not anonymous, but personal: the applicant's name, role, contact, what they wrote and their
documents are encrypted with ``PORTAL_DATA_KEY`` (one key purpose per column) and erased by
``purge-reports`` once the case has been closed for the retention period.  What stays in clear
is what the queue, the deadline and the public state need: the entry, the department, dates and
states.  The access code is stored only as its Argon2id digest (``portal.receipts``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import EncryptedBytes, EncryptedText
from portal.models import Base, BlacklistEntry, Department, local_today

# State → what staff and the applicant read.  "draft" is the form before check-your-answers.
REPAIR_STATES: dict[str, str] = {
    "draft": "未提交",
    "submitted": "已收到，待受理",
    "under_review": "审核中",
    "more_requested": "待申请人补充材料",
    "proposed": "已提出审核意见，待批准",
    "granted": "准予信用修复",
    "refused": "不予信用修复",
    "revoked": "信用修复已撤销（以欺骗手段取得）",
}
# States in which the application is still being handled: the entry shows 审核中.
OPEN_STATES = frozenset({"submitted", "under_review", "more_requested", "proposed"})
CLOSED_STATES = frozenset({"granted", "refused", "revoked"})
REPAIR_EVENT_KINDS: dict[str, str] = {
    "submitted": "提交申请",
    "accepted": "受理并开始审核",
    "question": "审核人员要求补充材料",
    "reply": "申请人补充",
    "proposed": "提出审核意见",
    "returned": "审核意见退回重审",
    "granted": "准予信用修复，移出名单",
    "refused": "不予信用修复",
    "revoked": "撤销信用修复，恢复列入",
}
DOCUMENT_KINDS: dict[str, str] = {"commitment": "信用承诺书", "evidence": "证明材料"}


class RepairApplication(Base):
    """One 信用修复 application for one blacklist entry."""

    __tablename__ = "repair_applications"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL while a draft: the code is made when the application is sent.
    access_digest: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    entry_id: Mapped[int] = mapped_column(ForeignKey("blacklist_entries.id"), index=True)
    # The department that listed the entry: it handles the application.
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    created_on: Mapped[date] = mapped_column(Date, default=local_today)
    received_on: Mapped[date | None] = mapped_column(Date, index=True)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    due_provisional: Mapped[bool] = mapped_column(default=False)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    applicant_name: Mapped[str] = mapped_column(EncryptedText("repair.applicant_name"))
    applicant_role: Mapped[str] = mapped_column(EncryptedText("repair.applicant_role"))
    contact: Mapped[str | None] = mapped_column(EncryptedText("repair.contact"))
    penalty_done: Mapped[str] = mapped_column(EncryptedText("repair.penalty_done"))
    rectification: Mapped[str] = mapped_column(EncryptedText("repair.rectification"))
    # The proposal (four eyes: whoever proposes does not approve).
    proposed_outcome: Mapped[str | None] = mapped_column(String(10))  # "grant" or "refuse"
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    proposed_on: Mapped[date | None] = mapped_column(Date)
    decision_no: Mapped[str | None] = mapped_column(String(80))  # 决定文号
    reasons: Mapped[str | None] = mapped_column(EncryptedText("repair.reasons"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_on: Mapped[date | None] = mapped_column(Date, index=True)
    revoked_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date, index=True)
    purged_on: Mapped[date | None] = mapped_column(Date)

    entry: Mapped[BlacklistEntry] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    events: Mapped[list[RepairEvent]] = relationship(
        back_populates="application", order_by="RepairEvent.id", cascade="all, delete-orphan"
    )
    documents: Mapped[list[RepairDocument]] = relationship(
        back_populates="application", order_by="RepairDocument.id", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        """申请编号."""
        day = self.received_on or self.created_on
        return f"XF{day:%Y}-{self.id:06d}"

    @property
    def status_label(self) -> str:
        return REPAIR_STATES.get(self.status, self.status)

    @property
    def shows_on_public_pages(self) -> bool:
        """Its state shows on the entry's public page once sent (``portal.page_cache``)."""
        return self.status != "draft"

    @property
    def title(self) -> str:
        return f"{self.number} {self.entry.enterprise_name}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def decided_on_time(self) -> bool | None:
        if self.decided_on is None or self.due_on is None:
            return None
        return self.decided_on <= self.due_on

    def add_event(self, kind: str, on: date, note: str | None = None,
                  author: str = "staff") -> RepairEvent:
        if kind not in REPAIR_EVENT_KINDS:
            raise ValueError(f"unknown repair event {kind!r}")
        event = RepairEvent(kind=kind, occurred_on=on, note=note, author=author)
        self.events.append(event)
        return event


class RepairEvent(Base):
    """One step of an application's timeline, as the applicant and staff both see it."""

    __tablename__ = "repair_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("repair_applications.id", ondelete="CASCADE"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(10), default="staff")  # "applicant" or "staff"
    note: Mapped[str | None] = mapped_column(EncryptedText("repair_events.note"))
    application: Mapped[RepairApplication] = relationship(back_populates="events")

    @property
    def label(self) -> str:
        return REPAIR_EVENT_KINDS.get(self.kind, self.kind)


class RepairDocument(Base):
    """An attachment: a PDF checked by ``portal.pdfs`` or an image re-encoded by
    ``portal.images``; encrypted in the database, never a plain file."""

    __tablename__ = "repair_documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("repair_applications.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("repair_events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # DOCUMENT_KINDS
    media_type: Mapped[str] = mapped_column(String(30))
    size: Mapped[int] = mapped_column(Integer)
    added_on: Mapped[date] = mapped_column(Date)
    data: Mapped[bytes] = mapped_column(EncryptedBytes("repair_documents.data"), deferred=True)
    application: Mapped[RepairApplication] = relationship(back_populates="documents")

    @property
    def kind_label(self) -> str:
        return DOCUMENT_KINDS.get(self.kind, self.kind)

    @property
    def extension(self) -> str:
        return {"application/pdf": "pdf", "image/png": "png"}.get(self.media_type, "jpg")


# ---------------------------------------------------------------------------------------------
# Objections (异议, DOMAIN.md §8): a party that finds a published record about itself wrong.

OBJECTION_STATES: dict[str, str] = {
    "draft": "未提交",
    "submitted": "异议处理中",
    "upheld": "异议成立，已更正",
    "rejected": "异议不成立",
}
OBJECTION_OPEN_STATES = frozenset({"submitted"})


class Objection(Base):
    """An objection to one published item (a decision, accident report or blacklist entry that
    names an enterprise).  Personal content encrypted, purged like 信用修复 applications."""

    __tablename__ = "objections"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    access_digest: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    kind: Mapped[str] = mapped_column(String(20), index=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    created_on: Mapped[date] = mapped_column(Date, default=local_today)
    received_on: Mapped[date | None] = mapped_column(Date, index=True)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    due_provisional: Mapped[bool] = mapped_column(default=False)
    applicant_name: Mapped[str] = mapped_column(EncryptedText("objection.applicant_name"))
    contact: Mapped[str | None] = mapped_column(EncryptedText("objection.contact"))
    what_is_wrong: Mapped[str] = mapped_column(EncryptedText("objection.what_is_wrong"))
    should_read: Mapped[str] = mapped_column(EncryptedText("objection.should_read"))
    # The record's last change when the objection was sent: "upheld" needs a later correction.
    item_modified_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(EncryptedText("objection.answer"))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    answered_on: Mapped[date | None] = mapped_column(Date, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date, index=True)
    purged_on: Mapped[date | None] = mapped_column(Date)
    department: Mapped[Department] = relationship(lazy="joined")

    @property
    def number(self) -> str:
        day = self.received_on or self.created_on
        return f"YY{day:%Y}-{self.id:06d}"

    @property
    def status_label(self) -> str:
        return OBJECTION_STATES.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OBJECTION_OPEN_STATES

    @property
    def shows_on_public_pages(self) -> bool:
        return self.status != "draft"

    @property
    def title(self) -> str:
        return f"{self.number}（{OBJECTION_STATES.get(self.status, self.status)}）"

    @property
    def answered_on_time(self) -> bool | None:
        if self.answered_on is None or self.due_on is None:
            return None
        return self.answered_on <= self.due_on
