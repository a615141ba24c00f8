"""Staff accounts: creation, sign-in with password and TOTP, roles, disabling, resets.

Roles (issue 13 §4, DESIGN.md §3 "no one grants themselves a role"): nobody changes their own
roles or counties; a role in ``CONFIRMED_ROLES`` (handler and approver read reports, admin
confirms grants) given from the back office is a pending ``StaffRoleGrant`` until a second
administrator, neither its proposer nor its holder, confirms it.  Removing a role takes effect
at once.  The ``create-staff`` command (an operator on the server, who could change the
database anyway) grants directly, audited as "system".

Every change is an audit event in the same transaction.  Sign-in failures are all one error,
``SignInFailed``, whatever the cause, so nothing tells an attacker which part was wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal import audit, credentials
from portal.credentials import PasswordTooWeak
from portal.domain.catalog import COUNTIES
from portal.extensions import db
from portal.models import Department, utcnow
from portal.staff.models import (
    ADMIN,
    CONFIRMED_ROLES,
    GRANT_CANCELLED,
    GRANT_CONFIRMED,
    GRANT_PENDING,
    ROLES,
    StaffRole,
    StaffRoleGrant,
    StaffUser,
)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")

__all__ = ["PasswordTooWeak"]


class AccountError(Exception):
    """An account change was refused; ``str()`` is a message for the user."""


class UsernameInvalid(AccountError):
    pass


class UsernameTaken(AccountError):
    pass


class LastAdmin(AccountError):
    """The change would leave no active administrator."""


class OwnAccount(AccountError):
    """Nobody changes their own roles or counties, nor confirms a grant to themselves."""


class GrantRefused(AccountError):
    """The grant cannot be confirmed or withdrawn by this administrator (or not any more)."""


class SignInFailed(Exception):
    """Wrong username, password or code, disabled account: deliberately one error for all."""


def normalize_username(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw or "").strip().lower()


def check_username(raw: str) -> str:
    """The normalised username; raise ``UsernameInvalid`` if it breaks the naming rule."""
    name = normalize_username(raw)
    if not USERNAME_PATTERN.match(name):
        raise UsernameInvalid("用户名为 3–40 位小写字母、数字或 . _ -，以字母或数字开头。")
    return name


def find(username: str) -> StaffUser | None:
    return db.session.scalar(
        select(StaffUser).where(StaffUser.username == normalize_username(username))
    )


def _checked_roles(roles: set[str] | list[str] | tuple[str, ...]) -> set[str]:
    wanted = set(roles)
    unknown = wanted - set(ROLES)
    if unknown:
        raise AccountError("未知角色：" + "、".join(sorted(unknown)))
    return wanted


def create_account(
    *,
    username: str,
    password: str,
    roles: set[str] | list[str] | tuple[str, ...],
    display_name: str = "",
    totp_confirmed: bool = False,
    actor_name: str | None = None,
    actor: StaffUser | None = None,
    department_id: int | None = None,
) -> StaffUser:
    """Create an account with a fresh TOTP secret.

    ``actor``: the administrator creating it in the back office; the roles of
    ``CONFIRMED_ROLES`` among ``roles`` are then pending grants another administrator confirms.
    Without ``actor`` the caller is an operator on the server (``create-staff``, the demo data)
    who could write the database directly anyway: every role is granted at once.

    ``totp_confirmed``: the secret was handed over already (the command prints it); otherwise
    the holder enrols at first sign-in by scanning the code and entering one valid code.
    """
    wanted = _checked_roles(roles)
    name = check_username(username)
    department = _checked_department(department_id)
    if find(name) is not None:
        raise UsernameTaken("该用户名已被使用。")
    credentials.check_password_policy(password)
    user = StaffUser(
        username=name,
        display_name=display_name.strip(),
        password_hash=credentials.hash_password(password),
        totp_secret=credentials.new_totp_secret(),
        totp_confirmed_at=utcnow() if totp_confirmed else None,
        active=True,
        department=department,
    )
    pending = wanted & CONFIRMED_ROLES if actor is not None else set()
    user.set_roles(wanted - pending)
    db.session.add(user)
    db.session.flush()
    summary: dict[str, object] = {"username": name, "roles": sorted(user.roles)}
    if pending:
        summary["pending_roles"] = sorted(pending)
    if department is not None:
        summary["department"] = department.name
    audit.record(
        db.session,
        "account_create",
        actor=actor,
        actor_name=None if actor is not None else (actor_name or audit.SYSTEM_ACTOR),
        object_kind="staff_user",
        object_id=user.id,
        summary=summary,
    )
    for role in sorted(pending):
        assert actor is not None
        _propose(user, role, actor)
    db.session.commit()
    return user


@dataclass(frozen=True)
class SignIn:
    user: StaffUser
    needs_enrolment: bool  # the password was right and the account has no confirmed TOTP yet


def _fail(username: str, user: StaffUser | None) -> SignInFailed:
    # A known username is not secret and helps the administrator; anything else might be a
    # password typed into the wrong field, so only its keyed hash is kept.
    if user is not None:
        summary = {"username": user.username}
    else:
        summary = {"username_hash": credentials.keyed_digest(
            current_app.config["SECRET_KEY"], "audit-username", normalize_username(username)
        )}
    # Counted per account (all unknown names together) and written as checkpoints of the hour:
    # anyone can fail to sign in, so one row per attempt would let anyone grow the log.
    audit.record_anonymous(
        db.session,
        "sign_in_failed",
        group=f"staff_user:{user.id}" if user else "unknown",
        object_kind="staff_user" if user else "",
        object_id=user.id if user else None,
        summary=summary,
    )
    db.session.commit()
    return SignInFailed()


def authenticate(*, username: str, password: str, code: str) -> SignIn:
    """Check username, password and TOTP code together; raise ``SignInFailed`` on any failure.

    An account without a confirmed TOTP secret gets ``needs_enrolment`` after a correct
    password: it is not signed in until ``confirm_enrolment`` succeeds.
    """
    user = find(username)
    # Always verify a hash, so an unknown username costs as much time as a wrong password.
    password_ok = credentials.verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.active:
        raise _fail(username, user)
    if user.totp_confirmed_at is None:
        return SignIn(user, needs_enrolment=True)
    counter = credentials.verify_totp(user.totp_secret, code, user.totp_last_counter)
    if counter is None or not _claim_totp_step(user, counter):
        raise _fail(username, user)
    _signed_in(user, password)
    return SignIn(user, needs_enrolment=False)


def _claim_totp_step(user: StaffUser, counter: int) -> bool:
    """Record ``counter`` as the last TOTP step used, unless a concurrent sign-in got there first.

    One conditional UPDATE, so that of several requests carrying the same code at the same
    moment exactly one wins: a read-check-write in Python let all of them through.
    """
    result = db.session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id)
        .where(or_(StaffUser.totp_last_counter.is_(None), StaffUser.totp_last_counter < counter))
        .values(totp_last_counter=counter)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    set_committed_value(user, "totp_last_counter", counter)
    return True


def _signed_in(user: StaffUser, password: str | None) -> None:
    user.last_sign_in_at = utcnow()
    if password is not None and credentials.needs_rehash(user.password_hash):
        user.password_hash = credentials.hash_password(password)
    audit.record(db.session, "sign_in", actor=user, object_kind="staff_user", object_id=user.id)
    db.session.commit()


def confirm_enrolment(user: StaffUser, code: str) -> None:
    """Confirm the account's TOTP secret with one valid code, and sign in."""
    if not user.active or user.totp_confirmed_at is not None:
        raise _fail(user.username, user)
    counter = credentials.verify_totp(user.totp_secret, code, user.totp_last_counter)
    if counter is None or not _claim_totp_step(user, counter):
        raise _fail(user.username, user)
    user.totp_confirmed_at = utcnow()
    audit.record(db.session, "totp_enrolled", actor=user, object_kind="staff_user",
                 object_id=user.id)
    _signed_in(user, None)


def sign_out(user: StaffUser) -> None:
    """End every session of the account (its session token changes)."""
    user.rotate_session_token()
    audit.record(db.session, "sign_out", actor=user, object_kind="staff_user", object_id=user.id)
    db.session.commit()


def change_own_password(user: StaffUser, *, current: str, new: str) -> None:
    if not credentials.verify_password(user.password_hash, current):
        raise AccountError("当前密码不正确。")
    credentials.check_password_policy(new)
    user.password_hash = credentials.hash_password(new)
    user.rotate_session_token()
    audit.record(db.session, "password_changed", actor=user, object_kind="staff_user",
                 object_id=user.id)
    db.session.commit()


def _active_admins_other_than(user: StaffUser) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(StaffUser)
        .join(StaffRole, StaffRole.user_id == StaffUser.id)
        .where(StaffRole.role == ADMIN, StaffUser.active.is_(True), StaffUser.id != user.id)
    ) or 0


def pending_grants(user: StaffUser | None = None) -> list[StaffRoleGrant]:
    """Grants waiting for a second administrator, oldest first (of ``user`` if given)."""
    query = select(StaffRoleGrant).where(StaffRoleGrant.status == GRANT_PENDING)
    if user is not None:
        query = query.where(StaffRoleGrant.user_id == user.id)
    return list(db.session.scalars(query.order_by(StaffRoleGrant.id)))


def _propose(user: StaffUser, role: str, actor: StaffUser) -> StaffRoleGrant:
    grant = StaffRoleGrant(user_id=user.id, role=role, status=GRANT_PENDING,
                           proposed_by_id=actor.id, proposed_at=utcnow())
    db.session.add(grant)
    db.session.flush()
    audit.record(db.session, "role_grant_propose", actor=actor, object_kind="staff_user",
                 object_id=user.id,
                 summary={"username": user.username, "role": role, "grant": grant.id})
    return grant


def _refuse_own(user: StaffUser, actor: StaffUser | None, what: str) -> None:
    if actor is not None and actor.id == user.id:
        raise OwnAccount(f"不能更改自己的{what}：请由其他管理员办理。")


def change_roles(
    user: StaffUser, roles: set[str] | list[str], *, actor: StaffUser | None = None
) -> list[StaffRoleGrant]:
    """Make ``roles`` the roles ``user`` holds or waits for.

    Roles taken away end at once; an added role of ``CONFIRMED_ROLES`` becomes a pending grant
    (returned) that another administrator confirms; an added editor role takes effect at once.
    A pending role left out of ``roles`` is withdrawn.  ``actor`` is the administrator (None:
    an operator on the server, who grants directly); nobody changes their own roles."""
    wanted = _checked_roles(roles)
    _refuse_own(user, actor, "角色")
    before = sorted(user.roles)
    if ADMIN in user.roles and ADMIN not in wanted and _active_admins_other_than(user) == 0:
        raise LastAdmin("不能移除最后一位启用中的管理员的管理员角色。")
    waiting = {grant.role: grant for grant in pending_grants(user)}
    added = wanted - set(before)
    to_confirm = added & CONFIRMED_ROLES if actor is not None else set()
    now = (set(before) & wanted) | (added - to_confirm)
    if set(before) != now:
        user.set_roles(now)
        audit.record(
            db.session,
            "account_roles",
            actor=actor,
            object_kind="staff_user",
            object_id=user.id,
            summary={"username": user.username, "roles": [before, sorted(now)]},
        )
    for role, grant in waiting.items():
        if role not in wanted or role in now:
            _decide(grant, GRANT_CANCELLED, actor)
    proposed = [_propose(user, role, actor) for role in sorted(to_confirm - set(waiting))
                if actor is not None]
    db.session.commit()
    return proposed


def _decide(grant: StaffRoleGrant, status: str, actor: StaffUser | None) -> None:
    grant.status = status
    grant.decided_by_id = actor.id if actor is not None else None
    grant.decided_at = utcnow()
    user = db.session.get(StaffUser, grant.user_id)
    audit.record(
        db.session,
        "role_grant_confirm" if status == GRANT_CONFIRMED else "role_grant_cancel",
        actor=actor,
        actor_name=None if actor is not None else audit.SYSTEM_ACTOR,
        object_kind="staff_user",
        object_id=grant.user_id,
        summary={"username": user.username if user else "", "role": grant.role,
                 "grant": grant.id, "proposed_by": grant.proposed_by_id},
    )


def get_grant(grant_id: int) -> StaffRoleGrant | None:
    return db.session.get(StaffRoleGrant, grant_id)


def confirm_grant(grant: StaffRoleGrant, *, actor: StaffUser) -> StaffUser:
    """Put a pending grant in force.  The confirming administrator is neither the one who
    proposed it nor the account's holder (four eyes).  Returns the account."""
    if ADMIN not in actor.roles:
        raise GrantRefused("只有管理员才能确认授权。")
    if grant.status != GRANT_PENDING:
        raise GrantRefused("该授权已处理过。")
    if grant.user_id == actor.id:
        raise OwnAccount("不能确认授予自己的角色：请由其他管理员确认。")
    if grant.proposed_by_id == actor.id:
        raise GrantRefused("授权须由提出人以外的管理员确认：您提出了这项授权。")
    user = db.session.get(StaffUser, grant.user_id)
    assert user is not None
    _decide(grant, GRANT_CONFIRMED, actor)
    before = sorted(user.roles)
    user.set_roles(set(before) | {grant.role})
    audit.record(db.session, "account_roles", actor=actor, object_kind="staff_user",
                 object_id=user.id,
                 summary={"username": user.username, "roles": [before, sorted(user.roles)]})
    db.session.commit()
    return user


def cancel_grant(grant: StaffRoleGrant, *, actor: StaffUser) -> None:
    """Withdraw a pending grant (any administrator: withdrawing gives nobody anything)."""
    if ADMIN not in actor.roles:
        raise GrantRefused("只有管理员才能撤回授权。")
    if grant.status != GRANT_PENDING:
        raise GrantRefused("该授权已处理过。")
    _decide(grant, GRANT_CANCELLED, actor)
    db.session.commit()


def set_counties(user: StaffUser, counties: set[str] | list[str], *,
                 actor: StaffUser | None = None) -> None:
    """The counties whose new reports are assigned to ``user`` (as a handler) automatically.

    Not one's own: the counties decide which reports one reads."""
    wanted = set(counties)
    unknown = wanted - set(COUNTIES)
    if unknown:
        raise AccountError("未知县（市、区）：" + "、".join(sorted(unknown)))
    _refuse_own(user, actor, "负责区域")
    before = sorted(user.counties)
    if set(before) == wanted:
        return
    user.set_counties(wanted)
    audit.record(db.session, "account_counties", actor=actor,
                 actor_name=None if actor is not None else audit.SYSTEM_ACTOR,
                 object_kind="staff_user", object_id=user.id,
                 summary={"username": user.username, "counties": [before, sorted(wanted)]})
    db.session.commit()


def departments() -> list[Department]:
    """The departments an account may belong to: those the portal knows (made when an item of
    theirs is first entered or imported, or by ``create-staff --department``)."""
    return list(db.session.scalars(select(Department).order_by(Department.name)))


def find_department(name: str) -> Department | None:
    return db.session.scalar(select(Department).where(Department.name == (name or "").strip()))


def _checked_department(department_id: int | None) -> Department | None:
    if department_id is None:
        return None
    department = db.session.get(Department, department_id)
    if department is None:
        raise AccountError("未知部门。")
    return department


def set_department(user: StaffUser, department_id: int | None, *,
                   actor: StaffUser | None = None) -> None:
    """The department ``user`` works for (None: not set).  It decides which 信用修复
    applications and objections the account may act on, so not one's own."""
    department = _checked_department(department_id)
    _refuse_own(user, actor, "所属部门")
    if user.department_id == department_id:
        return
    before = user.department.name if user.department else None
    user.department = department
    audit.record(db.session, "account_department", actor=actor,
                 actor_name=None if actor is not None else audit.SYSTEM_ACTOR,
                 object_kind="staff_user", object_id=user.id,
                 summary={"username": user.username,
                          "department": [before, department.name if department else None]})
    db.session.commit()


def set_active(user: StaffUser, active: bool) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    if user.active == active:
        return
    if not active and ADMIN in user.roles and _active_admins_other_than(user) == 0:
        raise LastAdmin("不能停用最后一位启用中的管理员。")
    user.active = active
    user.rotate_session_token()
    audit.record(
        db.session,
        "account_enable" if active else "account_disable",
        object_kind="staff_user",
        object_id=user.id,
        summary={"username": user.username},
    )
    db.session.commit()


def _suspend_after_reset(user: StaffUser, actor: StaffUser | None) -> list[str]:
    """After an administrator resets someone's password or second factor, the administrator
    could sign in as them: roles of ``CONFIRMED_ROLES`` go back to pending grants that a
    second administrator confirms, as if given anew.  Returns the roles suspended."""
    if actor is None or actor.id == user.id:
        return []
    held = sorted(user.roles & CONFIRMED_ROLES)
    if not held:
        return []
    before = sorted(user.roles)
    user.set_roles(set(before) - set(held))
    audit.record(db.session, "account_roles", actor=actor, object_kind="staff_user",
                 object_id=user.id,
                 summary={"username": user.username, "roles": [before, sorted(user.roles)],
                          "reason": "reset"})
    for role in held:
        _propose(user, role, actor)
    return held


def reset_totp(user: StaffUser, *, actor: StaffUser | None = None) -> list[str]:
    """Give the account a new, unconfirmed secret: the holder enrols again at next sign-in.

    Done by an administrator (``actor``), the account's roles that read reports or confirm
    grants wait for a second administrator again (returned)."""
    user.totp_secret = credentials.new_totp_secret()
    user.totp_confirmed_at = None
    user.totp_last_counter = None
    user.rotate_session_token()
    audit.record(
        db.session,
        "account_totp_reset",
        actor=actor,
        object_kind="staff_user",
        object_id=user.id,
        summary={"username": user.username},
    )
    suspended = _suspend_after_reset(user, actor)
    db.session.commit()
    return suspended


def reset_password(user: StaffUser, *, password: str,
                   actor: StaffUser | None = None) -> list[str]:
    """Set a new password chosen by an administrator (to hand over to the holder).

    As with ``reset_totp``, roles that read reports wait for a second administrator again."""
    credentials.check_password_policy(password)
    user.password_hash = credentials.hash_password(password)
    user.rotate_session_token()
    audit.record(
        db.session,
        "account_password_reset",
        actor=actor,
        object_kind="staff_user",
        object_id=user.id,
        summary={"username": user.username},
    )
    suspended = _suspend_after_reset(user, actor)
    db.session.commit()
    return suspended


def all_accounts() -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).order_by(StaffUser.username)))


def get_account(user_id: int) -> StaffUser | None:
    return db.session.get(StaffUser, user_id)
