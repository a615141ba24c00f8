"""Which staff may act on an enterprise's case: the department that listed the entry decides a
信用修复 application, the department that published the record answers an objection to it
(DOMAIN.md §4: "the body that imposed the penalty decides the listing"; §8), and only that
department reads the documents an applicant sent with the case and an objection's applicant's
name and contact.  The same rule covers the
published items themselves: a record (and a blacklist entry above all) is changed — edited,
published, withdrawn, removed early, reinstated, its 督办 steps recorded — only by staff of the
department it names, and a new one is entered only in the editor's own department's name.

A staff account belongs to one department (``StaffUser.department_id``).  Roles say *what* an
account may do (editor: accept, ask, propose, answer; approver: approve, return, revoke); the
department says *about which cases*.  No role acts for every department: the administrator role
manages accounts, not cases, and a 州 bureau does not decide a county bureau's listing.  An
account without a department (made before departments were recorded, see migration 0015d) sees
the cases read-only until an administrator sets one; the account list and ``check-config`` say
which accounts these are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.staff.models import APPROVER, EDITOR, StaffRole, StaffUser

# The roles that take steps on these cases: only their holders need a department.
CASE_ROLES = frozenset({EDITOR, APPROVER})


def _refusal(actor: Any, department_id: int, without: str,
             elsewhere: Callable[[str], str]) -> str | None:
    """Why ``actor`` may not do what only staff of ``department_id`` do (a sentence for the
    page), or None when they may: ``without`` says what an account of no department cannot do,
    ``elsewhere`` the sentence for one of another department (given its name)."""
    own = getattr(actor, "department_id", None)
    if own is None:
        return f"您的账户尚未设定所属部门，{without}。请系统管理员在账户页面设定所属部门。"
    if own != department_id:
        return elsewhere(actor.department.name)
    return None


def refusal(actor: Any, department_id: int, department_name: str, what: str) -> str | None:
    """Why ``actor`` may not take a step on a case handled by ``department_id`` (a sentence for
    the page), or None when they may.  ``what``: 信用修复申请 / 异议."""
    return _refusal(actor, department_id, f"只能查看{what}，不能办理",
                    lambda mine: f"此{what}由{department_name}办理；您属于{mine}，只能查看。")


def document_refusal(actor: Any, department_id: int, department_name: str, what: str) -> str | None:
    """Why ``actor`` may not download the documents sent with a case handled by
    ``department_id``, or None.  Need-to-know (DESIGN §3): the applicant's evidence is read by the
    department that decides, not by every account that can see the queue."""
    return _refusal(actor, department_id, f"不能下载{what}的材料",
                    lambda mine: f"此{what}的材料仅供{department_name}查看；您属于{mine}，不能下载。")


def applicant_refusal(actor: Any, department_id: int, department_name: str,
                      what: str) -> str | None:
    """Why ``actor`` may not read who sent a case handled by ``department_id`` and how to reach
    them (the applicant's name and contact), or None.  Need-to-know, as the documents."""
    return _refusal(actor, department_id, f"不能查看{what}提出人的姓名和联系方式",
                    lambda mine: f"此{what}提出人的姓名和联系方式仅供{department_name}查看；"
                                 f"您属于{mine}，不能查看。")


class ChangeRefused(Exception):
    """A change to a published item by staff of another department (or of none): audited."""


def item_refusal(actor: Any, item: Any) -> str | None:
    """Why ``actor`` may not change ``item`` (a published kind's record: it names the department
    responsible for it), or None.  The item's page shows it; every change checks it."""
    return refusal(actor, item.department_id, item.department.name, item.LABEL)


def check_item_change(item: Any, *, actor: Any, step: str) -> None:
    """Refuse (``ChangeRefused``) and audit an attempt by ``actor`` to ``step`` (edit, publish,
    withdraw, remove…) an item of another department; nothing is written otherwise."""
    reason = item_refusal(actor, item)
    if reason is None:
        return
    audit.record(db.session, "item_refused", actor=actor, object_kind=item.KIND,
                 object_id=item.id,
                 summary={"step": step, "department": item.department_id,
                          "actor_department": getattr(actor, "department_id", None)})
    db.session.commit()
    raise ChangeRefused(reason)


def naming_refusal(actor: Any, department_name: str) -> str | None:
    """Why ``actor`` may not enter (or move) an item in the name of ``department_name``, or None:
    an item entered for another department would be one its author can no longer change."""
    own = getattr(actor, "department", None)
    if own is None:
        return "您的账户尚未设定所属部门，不能录入或修改条目。请系统管理员在账户页面设定所属部门。"
    if department_name.strip() != own.name:
        return f"只能录入本部门（{own.name}）的条目。"
    return None


def accounts_without_department() -> list[StaffUser]:
    """Active accounts holding a case role (editor, approver) and no department: they cannot
    take any step on 信用修复 applications or objections until one is set."""
    holders = select(StaffRole.user_id).where(StaffRole.role.in_(CASE_ROLES))
    return list(db.session.scalars(
        select(StaffUser).where(StaffUser.active.is_(True), StaffUser.department_id.is_(None),
                                StaffUser.id.in_(holders)).order_by(StaffUser.username)))
