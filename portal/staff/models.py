"""Staff accounts and their roles (the audit log is ``portal.audit``)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import EncryptedText
from portal.models import Base, Department, utcnow

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
# Roles a second administrator must confirm before they take effect (issue 13 §4): handler and
# approver read reports; admin confirms the others' grants, so an administrator who could make
# a second administrator alone (knowing its first password) could also confirm alone.
CONFIRMED_ROLES: frozenset[str] = frozenset({HANDLER, APPROVER, ADMIN})
# A pending grant's states.
GRANT_PENDING, GRANT_CONFIRMED, GRANT_CANCELLED = "pending", "confirmed", "cancelled"


def new_session_token() -> str:
    return secrets.token_hex(16)


class StaffRole(Base):
    __tablename__ = "staff_roles"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class StaffCounty(Base):
    """A county (``portal.domain.catalog.COUNTIES``) whose new reports go to this handler."""

    __tablename__ = "staff_counties"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    county: Mapped[str] = mapped_column(String(40), primary_key=True)


class StaffRoleGrant(Base):
    """A role proposed for an account by one administrator, in force only once a different
    administrator (not the account's holder) confirms it.  Kept after the decision."""

    __tablename__ = "staff_role_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=GRANT_PENDING, index=True)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None]
    proposed_by: Mapped[StaffUser | None] = relationship(foreign_keys=[proposed_by_id])

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)


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
    # The department (责任单位) the holder works for: only its staff take the steps of a 信用修复
    # application about an entry it listed or answer an objection to a record it published
    # (``portal.services.enterprises.casework``).  None: not set yet (accounts made before
    # departments were recorded) — such an account sees those cases read-only.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    department: Mapped[Department | None] = relationship(lazy="joined")
    role_rows: Mapped[list[StaffRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=StaffRole.role
    )
    county_rows: Mapped[list[StaffCounty]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=StaffCounty.county
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

    @property
    def counties(self) -> frozenset[str]:
        """Counties whose new reports are assigned to this account (as a handler)."""
        return frozenset(r.county for r in self.county_rows)

    def set_counties(self, counties: set[str] | frozenset[str] | list[str]) -> None:
        wanted = set(counties)
        self.county_rows = [r for r in self.county_rows if r.county in wanted] + [
            StaffCounty(county=c) for c in sorted(wanted - self.counties)
        ]

    def has_any_role(self, roles: set[str] | frozenset[str]) -> bool:
        return bool(self.roles & set(roles))

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()
