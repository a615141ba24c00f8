"""Administrators: accounts (create, roles, disable, resets) and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from portal import audit
from portal.extensions import db
from portal.services.enterprises.departments import accounts_without_department
from portal.staff import accounts
from portal.staff.access import requires
from portal.staff.blueprint import bp
from portal.staff.forms import (
    AccountForm,
    ActionForm,
    AuditFilterForm,
    CountiesForm,
    DepartmentForm,
    PasswordResetForm,
    RolesForm,
    department_choices,
    page_number,
)
from portal.staff.models import ADMIN, CONFIRMED_ROLES, ROLES

AUDIT_PAGE_SIZE = 50


def _account(user_id: int) -> Any:
    user = accounts.get_account(user_id)
    if user is None:
        abort(404)
    return user


def _to_account(user: Any) -> Any:
    return redirect(url_for("staff.account_detail", user_id=user.id), code=303)


def _actor() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


@bp.get("/accounts/")
@requires(ADMIN)
def account_list():
    pending: dict[int, list[str]] = {}
    for grant in accounts.pending_grants():
        pending.setdefault(grant.user_id, []).append(grant.role)
    return render_template("staff/accounts/list.html", users=accounts.all_accounts(), roles=ROLES,
                           pending=pending, without_department=accounts_without_department())


@bp.route("/accounts/new", methods=["GET", "POST"])
@requires(ADMIN)
def account_new():
    form = AccountForm()
    form.department.choices = department_choices(accounts.departments())
    if form.validate_on_submit():
        try:
            user = accounts.create_account(
                username=form.username.data,
                password=form.password.data,
                roles=form.roles.data,
                display_name=form.display_name.data or "",
                actor=_actor(),
                department_id=form.department.data,
            )
        except (accounts.UsernameInvalid, accounts.UsernameTaken) as exc:
            form.username.errors.append(str(exc))
        except accounts.AccountError as exc:
            form.roles.errors.append(str(exc))
        else:
            waiting = accounts.pending_grants(user)
            flash(f"账户 {user.username} 已创建。请将初始密码当面交给本人；"
                  "本人首次登录时扫码绑定动态验证码。", "info")
            if waiting:
                flash("以下角色须由另一位管理员确认后生效："
                      + "、".join(g.role_label for g in waiting) + "。", "info")
            return _to_account(user)
    status = 400 if form.errors else 200
    return render_template("staff/accounts/new.html", form=form), status


@bp.get("/accounts/<id:user_id>")
@requires(ADMIN)
def account_detail(user_id: int):
    user = _account(user_id)
    grants = accounts.pending_grants(user)
    form = RolesForm(data={"roles": sorted(user.roles | {g.role for g in grants})})
    counties_form = CountiesForm(data={"counties": sorted(user.counties)})
    department_form = DepartmentForm(data={"department": user.department_id})
    department_form.department.choices = department_choices(accounts.departments())
    events = audit.browse(db.session, audit.AuditFilter(object_kind="staff_user",
                                                        object_id=str(user.id)), page_size=20)
    return render_template("staff/accounts/detail.html", user=user, form=form, roles=ROLES,
                           events=events.items, actions=audit.ACTIONS, grants=grants,
                           counties_form=counties_form, own=user.id == current_user.id,
                           department_form=department_form,
                           confirmed_roles=CONFIRMED_ROLES)


@bp.post("/accounts/<id:user_id>/roles")
@requires(ADMIN)
def account_roles(user_id: int):
    user = _account(user_id)
    form = RolesForm()
    if form.validate_on_submit():
        try:
            proposed = accounts.change_roles(user, form.roles.data or [], actor=_actor())
        except accounts.AccountError as exc:
            flash(str(exc), "error")
        else:
            flash("角色已更新。", "info")
            if proposed:
                flash("以下角色须由另一位管理员确认后生效："
                      + "、".join(g.role_label for g in proposed) + "。", "info")
    else:
        flash("角色无效。", "error")
    return _to_account(user)


def _grant_step(grant_id: int, step: Callable[..., Any], done: str):
    """Confirm or withdraw a pending role grant (CSRF only), then back to the account."""
    grant = accounts.get_grant(grant_id)
    if grant is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        flash("页面已过期，请重试。", "error")
    else:
        try:
            step(grant, actor=_actor())
        except accounts.AccountError as exc:
            flash(str(exc), "error")
        else:
            flash(f"{done}：{grant.role_label}。", "info")
    return redirect(url_for("staff.account_detail", user_id=grant.user_id), code=303)


@bp.post("/accounts/grants/<id:grant_id>/confirm")
@requires(ADMIN)
def grant_confirm(grant_id: int):
    return _grant_step(grant_id, accounts.confirm_grant, "已确认授予角色")


@bp.post("/accounts/grants/<id:grant_id>/cancel")
@requires(ADMIN)
def grant_cancel(grant_id: int):
    return _grant_step(grant_id, accounts.cancel_grant, "已撤回授予角色")


@bp.post("/accounts/<id:user_id>/counties")
@requires(ADMIN)
def account_counties(user_id: int):
    user = _account(user_id)
    form = CountiesForm()
    if form.validate_on_submit():
        try:
            accounts.set_counties(user, form.counties.data or [], actor=_actor())
        except accounts.AccountError as exc:
            flash(str(exc), "error")
        else:
            flash("负责区域已更新：这些县（市、区）的新举报将自动分配给此人。", "info")
    else:
        flash("负责区域无效。", "error")
    return _to_account(user)


@bp.post("/accounts/<id:user_id>/department")
@requires(ADMIN)
def account_department(user_id: int):
    user = _account(user_id)
    form = DepartmentForm()
    form.department.choices = department_choices(accounts.departments())
    if form.validate_on_submit():
        try:
            accounts.set_department(user, form.department.data, actor=_actor())
        except accounts.AccountError as exc:
            flash(str(exc), "error")
        else:
            flash("所属部门已更新。" if user.department else
                  "已清除所属部门：此账户只能查看信用修复申请和异议。", "info")
    else:
        flash("所属部门无效。", "error")
    return _to_account(user)


@bp.post("/accounts/<id:user_id>/disable")
@requires(ADMIN)
def account_disable(user_id: int):
    user = _account(user_id)
    if user.id == current_user.id:
        flash("不能停用自己的账户。", "error")
        return _to_account(user)
    try:
        accounts.set_active(user, False)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
    else:
        flash("账户已停用，其所有登录已失效。", "info")
    return _to_account(user)


@bp.post("/accounts/<id:user_id>/enable")
@requires(ADMIN)
def account_enable(user_id: int):
    user = _account(user_id)
    accounts.set_active(user, True)
    flash("账户已启用。", "info")
    return _to_account(user)


@bp.post("/accounts/<id:user_id>/reset-totp")
@requires(ADMIN)
def account_reset_totp(user_id: int):
    user = _account(user_id)
    suspended = accounts.reset_totp(user, actor=_actor())
    flash("动态验证码已重置：本人下次登录时须重新扫码绑定。", "info")
    _flash_suspended(suspended)
    return _to_account(user)


def _flash_suspended(roles: list[str]) -> None:
    if roles:
        flash("重置后，以下角色须由另一位管理员再次确认才恢复（重置人可能知道新的登录凭据）："
              + "、".join(ROLES[r] for r in roles) + "。", "info")


@bp.route("/accounts/<id:user_id>/password", methods=["GET", "POST"])
@requires(ADMIN)
def account_password(user_id: int):
    user = _account(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        suspended = accounts.reset_password(user, password=form.password.data, actor=_actor())
        flash("密码已重置，该账户的所有登录已失效。请将新密码当面交给本人。", "info")
        _flash_suspended(suspended)
        return _to_account(user)
    status = 400 if form.errors else 200
    return render_template("staff/password.html", form=form, title=f"重置 {user.username} 的密码",
                           show_current=False, user=user), status


@bp.get("/audit")
@requires(ADMIN)
def audit_log():
    form = AuditFilterForm(request.args)
    where = audit.AuditFilter()
    if form.validate():
        where = audit.AuditFilter(
            actor=(form.actor.data or "").strip(),
            action=form.action.data or "",
            object_kind=form.object_kind.data or "",
            object_id=(form.object_id.data or "").strip(),
            date_from=form.date_from.data,
            date_to=form.date_to.data,
        )
    page = audit.browse(db.session, where, page=page_number(request.args.get("page")),
                        page_size=AUDIT_PAGE_SIZE)
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "staff/audit.html", form=form, page=page, actions=audit.ACTIONS,
        kinds=audit.OBJECT_KINDS, query=query, actors=audit.actors(db.session),
    ), (200 if not form.errors else 400)


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    # Usually a form left open past the session's end: say so, and offer the page again.
    flash("页面已过期，请重新填写并提交。", "error")
    rule = request.url_rule
    if rule is not None and "GET" in (rule.methods or ()):
        return redirect(request.path, code=303)
    return redirect(url_for("staff.home"), code=303)
