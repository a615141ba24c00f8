"""Publishing workflow views for the four kinds, and blacklist removal and reinstatement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import kinds
from portal.domain import supervision as supervision_rules
from portal.domain.catalog import WITHDRAWAL_PUBLISH_WORKING_DAYS
from portal.extensions import db
from portal.labels import item_labels
from portal.models import BlacklistEntry, Decision, DisclosureMixin, SupervisionItem, local_today
from portal.sanitize import safe
from portal.services.enterprises import blacklist_admin, departments
from portal.services.publication import history, publishing, supervision
from portal.staff.access import requires
from portal.staff.blueprint import bp
from portal.staff.forms import (
    ITEM_FORMS,
    ListFilterForm,
    ReinstateForm,
    RemovalForm,
    WithdrawalRequestForm,
    WithdrawForm,
    apply_errors,
    page_number,
)
from portal.staff.models import EDITOR
from portal.templating import format_date, format_yuan

KIND = f"<{kinds.URL_PATTERN}:kind>"
KIND_LABELS = {k.key: k.label for k in kinds.KINDS}


def show(item: DisclosureMixin, name: str) -> Any:
    """A field's value for the detail page."""
    if name == "department":
        return item.department.name if item.department else "—"  # type: ignore[attr-defined]
    if name == "level":
        return item.accident_level.label  # type: ignore[attr-defined]
    if name == "report_html":
        return safe(item.report_html)  # type: ignore[attr-defined]
    if name == "requirements_html":
        return safe(item.requirements_html)  # type: ignore[attr-defined]
    if name == "stage":
        return item.current_stage.label  # type: ignore[attr-defined]
    if name == "source":
        return item.source or "—"  # type: ignore[attr-defined]
    if name == "workflow":
        return " → ".join(item.workflow or [])  # type: ignore[attr-defined]
    value = getattr(item, name)
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, Decimal):
        return format_yuan(value)
    return value


def _item(kind: str, item_id: int) -> Any:
    try:
        return publishing.get_item(kind, item_id)
    except publishing.ItemNotFound:
        abort(404)


def _detail(item: DisclosureMixin) -> Any:
    return redirect(url_for("staff.item_detail", kind=item.KIND, item_id=item.id), code=303)


def _actor() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def refused(item: DisclosureMixin, step: str) -> Any | None:
    """The answer to a change of ``item`` by staff of another department (or of none): back to
    the item's page with the reason; a POST (an attempted change) is also audited.  None when
    ``step`` may go on.  Every view that changes an item calls this first."""
    if request.method == "POST":
        try:
            departments.check_item_change(item, actor=_actor(), step=step)
        except departments.ChangeRefused as exc:
            flash(str(exc), "error")
            return _detail(item)
        return None
    reason = departments.item_refusal(_actor(), item)
    if reason is not None:
        flash(reason, "error")
        return _detail(item)
    return None


def _own_department_named(form: Any) -> bool:
    """False (with the error on the field) when the form names another department than the
    editor's own: an item entered for another department is one its author cannot change."""
    reason = departments.naming_refusal(_actor(), form.department_name.data or "")
    if reason is not None:
        form.department_name.errors = [*form.department_name.errors, reason]
        return False
    return True


@bp.get(f"/{KIND}/")
@requires(EDITOR)
def item_list(kind: str):
    filters = ListFilterForm(request.args)
    valid = filters.validate()  # an invalid filter (e.g. an over-long text) filters nothing
    page = publishing.list_items(
        kind,
        state=(filters.state.data or "") if valid else "",
        query=(filters.q.data or "") if valid else "",
        page=page_number(request.args.get("page")),
        page_size=current_app.config["SETTINGS"].page_size,
    )
    return render_template(
        "staff/items/list.html", kind=kind, label=KIND_LABELS[kind], page=page, filters=filters,
        states=publishing.STATES, today=local_today(),
    )


@bp.route(f"/{KIND}/new", methods=["GET", "POST"])
@requires(EDITOR)
def item_new(kind: str):
    form = ITEM_FORMS[kind]()
    own = getattr(current_user, "department", None)
    if not form.is_submitted() and own is not None:
        form.department_name.data = own.name
    if form.validate_on_submit() and _own_department_named(form):
        try:
            saved = publishing.create_item(kind, form.values())
        except publishing.ValuesInvalid as exc:
            apply_errors(form, exc.errors)
        else:
            flash("草稿已保存（尚未公开）。", "info")
            _flash_masked(saved)
            return _detail(saved.item)
    status = 400 if form.errors else 200
    return render_template(
        "staff/items/form.html", form=form, kind=kind, label=KIND_LABELS[kind], item=None
    ), status


def _flash_masked(saved: publishing.Saved) -> None:
    if saved.masked:
        flash("已遮盖" + "、".join(saved.masked)
              + "中的个人信息（身份证号、手机号，自然人的姓名和详细地址）。", "info")


@bp.get(f"/{KIND}/<id:item_id>")
@requires(EDITOR)
def item_detail(kind: str, item_id: int):
    item = _item(kind, item_id)
    context: dict[str, Any] = {}
    if isinstance(item, Decision) and item.withdrawal_requested_on and not item.is_withdrawn:
        context["withdrawal_due"] = publishing.withdrawal_due(item.withdrawal_requested_on)
    if isinstance(item, SupervisionItem):
        from portal.staff.views.supervision import STEP_PAGES

        allowed = supervision.allowed_steps(item)
        context["timeline"] = supervision.timeline(item)
        context["supervision_actions"] = [
            (page, title) for page, (_, title, _, step) in STEP_PAGES.items()
            if (step in allowed) or (step is None and supervision_rules.Step.PASSED in allowed)]
    if isinstance(item, BlacklistEntry):
        context["status"] = item.status()
        context["earliest_removal"] = blacklist_admin.earliest_removal_date(item)
    return render_template(
        "staff/items/detail.html",
        item=item,
        kind=kind,
        label=KIND_LABELS[kind],
        labels=item_labels(item),
        versions=history.history(db.session, item),
        today=local_today(),
        show=show,
        refusal=departments.item_refusal(_actor(), item),
        **context,
    )


@bp.route(f"/{KIND}/<id:item_id>/edit", methods=["GET", "POST"])
@requires(EDITOR)
def item_edit(kind: str, item_id: int):
    item = _item(kind, item_id)
    if item.is_withdrawn:
        flash("该条目已撤回，不能再修改。", "error")
        return _detail(item)
    if (refusal := refused(item, "edit")) is not None:
        return refusal
    form = ITEM_FORMS[kind]()
    if request.method == "GET":
        form.fill_from(item)
    if form.validate_on_submit() and _own_department_named(form):
        try:
            saved = publishing.edit_item(item, form.values())
        except publishing.ValuesInvalid as exc:
            apply_errors(form, exc.errors)
        except publishing.TransitionRefused as exc:
            flash(str(exc), "error")
            return _detail(item)
        else:
            if not saved.changes:
                flash("没有需要保存的修改。", "info")
            elif item.is_published:
                flash("修改已公开，原内容保留在历史版本中。", "info")
            else:
                flash("草稿已保存。", "info")
            _flash_masked(saved)
            return _detail(item)
    status = 400 if form.errors else 200
    return render_template(
        "staff/items/form.html", form=form, kind=kind, label=KIND_LABELS[kind], item=item
    ), status


@bp.post(f"/{KIND}/<id:item_id>/publish")
@requires(EDITOR)
def item_publish(kind: str, item_id: int):
    item = _item(kind, item_id)
    if (refusal := refused(item, "publish")) is not None:
        return refusal
    try:
        publishing.publish_item(item)
    except publishing.TransitionRefused as exc:
        flash(str(exc), "error")
    else:
        flash("已公开发布。", "info")
    return _detail(item)


def _step(item: DisclosureMixin, form: Any, action: Callable[[], str], *, title: str,
          submit: str, intro: str):
    """A confirmation step (withdraw, remove, reinstate…): on a valid POST run ``action``,
    which returns the success message; otherwise show the form with its errors."""
    if form.validate_on_submit():
        try:
            message = action()
        except publishing.ValuesInvalid as exc:
            apply_errors(form, exc.errors)
        except publishing.TransitionRefused as exc:
            flash(str(exc), "error")
            return _detail(item)
        else:
            flash(message, "info")
            return _detail(item)
    status = 400 if form.errors else 200
    return render_template(
        "staff/items/step.html", form=form, item=item, kind=item.KIND,
        label=KIND_LABELS[item.KIND], title=title, submit=submit, intro=intro,
    ), status


@bp.route(f"/{KIND}/<id:item_id>/withdraw", methods=["GET", "POST"])
@requires(EDITOR)
def item_withdraw(kind: str, item_id: int):
    item = _item(kind, item_id)
    if (refusal := refused(item, "withdraw")) is not None:
        return refusal
    form = WithdrawForm()

    def withdraw() -> str:
        publishing.withdraw_item(item, reason=form.reason.data)
        return "已撤回：公开页面保留，并标明撤回及理由。"

    return _step(
        item, form, withdraw, title="撤回", submit="确认撤回",
        intro="撤回后公开页面仍然保留，页面上标明已撤回及撤回理由。此操作不可恢复。",
    )


@bp.route("/decisions/<id:item_id>/withdrawal-request", methods=["GET", "POST"])
@requires(EDITOR)
def decision_withdrawal_request(item_id: int):
    item = _item("decisions", item_id)
    if (refusal := refused(item, "withdrawal_request")) is not None:
        return refusal
    form = WithdrawalRequestForm()

    def register() -> str:
        due = publishing.request_withdrawal(
            item, changed_on=form.changed_on.data, reason=form.reason.data
        )
        return f"已登记。撤回须在 {due.year}年{due.month}月{due.day}日 前公开。"

    return _step(
        item, form, register, title="登记决定变更或撤销", submit="登记",
        intro=f"决定被变更、撤销或确认违法、无效后，须在 {WITHDRAWAL_PUBLISH_WORKING_DAYS} 个工作日内"
              "撤回公开的决定（行政处罚法第四十八条）。"
              "登记后，撤回期限显示在工作台上。",
    )


@bp.route("/blacklist/<id:item_id>/remove", methods=["GET", "POST"])
@requires(EDITOR)
def blacklist_remove(item_id: int):
    entry = _item("blacklist", item_id)
    if (refusal := refused(entry, "remove")) is not None:
        return refusal
    form = RemovalForm()
    if request.method == "GET":
        form.removed_on.data = local_today()

    def remove() -> str:
        blacklist_admin.remove_early(entry, removed_on=form.removed_on.data,
                                     reason=form.reason.data)
        return "已提前移出（信用修复），变更已记入公开历史。"

    earliest = blacklist_admin.earliest_removal_date(entry)
    return _step(
        entry, form, remove, title="提前移出（信用修复）", submit="确认移出",
        intro=f"列入满规定期限后方可信用修复：本条目最早可于 {earliest.year}年{earliest.month}月"
              f"{earliest.day}日 移出。",
    )


@bp.route("/blacklist/<id:item_id>/reinstate", methods=["GET", "POST"])
@requires(EDITOR)
def blacklist_reinstate(item_id: int):
    entry = _item("blacklist", item_id)
    if (refusal := refused(entry, "reinstate")) is not None:
        return refusal
    form = ReinstateForm()

    def reinstate() -> str:
        blacklist_admin.reinstate(entry, reason=form.reason.data)
        return "已恢复列入，变更已记入公开历史。"

    return _step(
        entry, form, reinstate, title="撤销信用修复，恢复列入", submit="确认恢复",
        intro="信用修复以欺骗等不正当手段取得的，撤销移出决定，恢复列入；原列入期限不变。",
    )
