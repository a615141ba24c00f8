"""Which staff may act on an enterprise's case: the department that listed the entry decides a
信用修复 application, the department that published the record answers an objection to it
(DOMAIN.md §4: "the body that imposed the penalty decides the listing"; §8).

A staff account belongs to one department (``StaffUser.department_id``).  Roles say *what* an
account may do (editor: accept, ask, propose, answer; approver: approve, return, revoke); the
department says *about which cases*.  No role acts for every department: the administrator role
manages accounts, not cases, and a 州 bureau does not decide a county bureau's listing.  An
account without a department (made before departments were recorded, see migration 0015d) sees
the cases read-only until an administrator sets one; the account list and ``check-config`` say
which accounts these are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.extensions import db
from portal.staff.models import APPROVER, EDITOR, StaffRole, StaffUser

# The roles that take steps on these cases: only their holders need a department.
CASE_ROLES = frozenset({EDITOR, APPROVER})


def refusal(actor: Any, department_id: int, department_name: str, what: str) -> str | None:
    """Why ``actor`` may not take a step on a case handled by ``department_id`` (a sentence for
    the page), or None when they may.  ``what``: 信用修复申请 / 异议."""
    own = getattr(actor, "department_id", None)
    if own is None:
        return (f"您的账户尚未设定所属部门，只能查看{what}，不能办理。"
                "请系统管理员在账户页面设定所属部门。")
    if own != department_id:
        return f"此{what}由{department_name}办理；您属于{actor.department.name}，只能查看。"
    return None


def accounts_without_department() -> list[StaffUser]:
    """Active accounts holding a case role (editor, approver) and no department: they cannot
    take any step on 信用修复 applications or objections until one is set."""
    holders = select(StaffRole.user_id).where(StaffRole.role.in_(CASE_ROLES))
    return list(db.session.scalars(
        select(StaffUser).where(StaffUser.active.is_(True), StaffUser.department_id.is_(None),
                                StaffUser.id.in_(holders)).order_by(StaffUser.username)))
