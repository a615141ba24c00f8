"""Staff accounts, their roles, and the append-only, hash-chained audit log."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.crypto import EncryptedText
from portal.models import Base, utcnow

EDITOR = "editor"
HANDLER = "handler"
APPROVER = "approver"
ADMIN = "admin"
# The key label of the encrypted TOTP secrets (portal.crypto); never changes once data is stored.
TOTP_SECRET_PURPOSE = "staff_users.totp_secret"  # noqa: S105 - a key label, not a secret
# Role → label shown in the back office (DESIGN.md §4).
ROLES: dict[str, str] = {
    EDITOR: "编辑（发布、修改、撤回公开信息）",
    HANDLER: "举报处理",
    APPROVER: "奖励审批",
    ADMIN: "系统管理员（账户）",
}


def new_session_token() -> str:
    return secrets.token_hex(16)


class StaffRole(Base):
    __tablename__ = "staff_roles"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class StaffUser(Base):
    """A member of staff.  Accounts are disabled, never deleted: the audit log refers to them."""

    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)  # lower case
    display_name: Mapped[str] = mapped_column(String(80), default="")
    password_hash: Mapped[str] = mapped_column(String(255))  # Argon2id, encoded with its parameters
    # Encrypted at rest with PORTAL_DATA_KEY: a copy of the database alone yields no second factor.
    totp_secret: Mapped[str] = mapped_column(EncryptedText(TOTP_SECRET_PURPOSE))
    # None until the holder has shown one valid code (enrolment); sign-in needs a confirmed secret.
    totp_confirmed_at: Mapped[datetime | None]
    # The last TOTP time step accepted, so that one code cannot be used twice.
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the id kept in the session cookie; rotating it ends every session of the account
    # (sign-out, disable, password or TOTP reset).
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    role_rows: Mapped[list[StaffRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=StaffRole.role
    )

    # Flask-Login protocol.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def set_roles(self, roles: set[str] | frozenset[str] | list[str]) -> None:
        wanted = set(roles)
        unknown = wanted - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        self.role_rows = [r for r in self.role_rows if r.role in wanted] + [
            StaffRole(role=r) for r in sorted(wanted - self.roles)
        ]

    def has_any_role(self, roles: set[str] | frozenset[str]) -> bool:
        return bool(self.roles & set(roles))

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()


class AuditEvent(Base):
    """One staff action.  Append-only: ``hash`` covers ``prev_hash`` and the event's own fields.

    ``seq`` is the position in the chain (1, 2, 3, …); it is unique, so two writers can never
    both append the same position.  See ``portal.staff.audit``.
    """

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    actor: Mapped[str] = mapped_column(String(80))  # username then, or "system" for commands
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_kind: Mapped[str] = mapped_column(String(40), default="", index=True)
    object_id: Mapped[str] = mapped_column(String(40), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditLogImmutable(RuntimeError):
    """Something tried to change or delete an audit event: the log is append-only."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditLogImmutable(f"audit event {target.seq} cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditLogImmutable(f"audit event {target.seq} cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: Any) -> None:
    # Bulk UPDATE/DELETE statements skip the mapper events above; refuse them here too.
    if (state.is_update or state.is_delete) and any(
        m.class_ is AuditEvent for m in state.all_mappers
    ):
        raise AuditLogImmutable("audit events cannot be changed or deleted")
