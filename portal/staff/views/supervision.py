"""Back-office views of 督办事项 beyond the publishing workflow: each stage a form step
(editors), and the draft opened from a verified report (its handler)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import images
from portal.domain import supervision as rules
from portal.extensions import db
from portal.models import Report, SupervisionItem, local_today
from portal.services.enterprises import departments
from portal.services.publication import publishing, supervision, supervision_photos
from portal.services.reporting import cases
from portal.staff.access import requires
from portal.staff.blueprint import bp
from portal.staff.forms import (
    SupervisionExtensionForm,
    SupervisionForm,
    SupervisionInspectionForm,
    SupervisionPhotoForm,
    SupervisionStepForm,
    apply_errors,
)
from portal.staff.models import EDITOR, HANDLER
from portal.staff.views.items import refused
from portal.working_days import working_calendar

# The step pages: URL segment → (form, title, submit label, the step or None for the inspection).
STEP_PAGES: dict[str, tuple[type[SupervisionStepForm], str, str, rules.Step | None]] = {
    "rectifying": (SupervisionStepForm, "登记开始整改", "登记", rules.Step.RECTIFYING),
    "extended": (SupervisionExtensionForm, "登记延期", "批准延期", rules.Step.EXTENDED),
    "applied": (SupervisionStepForm, "登记销号申请", "登记", rules.Step.APPLIED),
    "inspection": (SupervisionInspectionForm, "登记现场审查（验收）结论", "登记", None),
    "closed": (SupervisionStepForm, "销号", "确认销号", rules.Step.CLOSED),
}
STEP_PATTERN = "any(" + ", ".join(STEP_PAGES) + ")"


def _intro(item: SupervisionItem, page: str) -> str:
    due = f"{item.due_on:%Y-%m-%d}"
    if page == "extended":
        window = rules.earliest_extension_application(
            working_calendar(), item.deadline)
        return (f"只能延期一次：延期申请须在期限（{item.deadline:%Y-%m-%d}）届满前 "
                f"{rules.EXTENSION_WINDOW_WORKING_DAYS} 个工作日内提出（{window:%Y-%m-%d} 起），"
                f"并在申请后 {rules.EXTENSION_DECISION_WORKING_DAYS} 个工作日内决定。")
    if page == "applied":
        return (f"登记销号申请后，须在 {rules.INSPECTION_DAYS} 日内现场审查（验收）。"
                f"现行期限：{due}。")
    if page == "inspection":
        return "合格的，可予销号；不合格的，退回整改，须重新申请销号。"
    if page == "closed":
        return f"销号须在验收合格后 {rules.PUBLISH_WORKING_DAYS} 个工作日内公开；登记即公开。"
    return f"现行期限：{due}。"


@bp.route(f"/supervision/<id:item_id>/step/<{STEP_PATTERN}:page>", methods=["GET", "POST"])
@requires(EDITOR)
def supervision_step(item_id: int, page: str):
    try:
        item = publishing.get_item("supervision", item_id)
    except publishing.ItemNotFound:
        abort(404)
    assert isinstance(item, SupervisionItem)
    if (refusal := refused(item, f"supervision_{page}")) is not None:
        return refusal
    form_class, title, submit, step = STEP_PAGES[page]
    form = form_class()
    if form.is_submitted() is False:
        form.on.data = local_today()
    allowed = supervision.allowed_steps(item)
    wanted = [rules.Step.PASSED, rules.Step.FAILED] if step is None else [step]
    if not any(s in allowed for s in wanted):
        flash(f"当前状态为“{item.current_stage.label}”，不能{title}。", "error")
        return redirect(url_for("staff.item_detail", kind="supervision", item_id=item.id), 303)
    if form.validate_on_submit():
        chosen = step or rules.Step(form.result.data)  # type: ignore[attr-defined]
        extra: dict[str, Any] = {}
        if isinstance(form, SupervisionExtensionForm):
            extra = {"applied_on": form.applied_on.data, "new_deadline": form.new_deadline.data,
                     "reason": form.reason.data}
        try:
            supervision.record_step(item, chosen, on=form.on.data, note=form.note.data or "",
                                    actor=current_user._get_current_object(), **extra)
        except supervision.SupervisionError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            flash(f"已登记：{chosen.label}。已记入公开的办理进程。", "info")
            return redirect(url_for("staff.item_detail", kind="supervision", item_id=item.id), 303)
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "staff/items/step.html", form=form, item=item, kind="supervision", label="督办事项",
        title=title, submit=submit, intro=_intro(item, page),
    ), status


@bp.route("/reports/<id:report_id>/supervision", methods=["GET", "POST"])
@requires(HANDLER)
def report_open_supervision(report_id: int):
    """Open a 督办 draft from a verified report: only the enterprise, its credit code and the
    county are carried over; everything public is typed here by staff."""
    report = db.session.get(Report, report_id)
    if report is None:
        abort(404)
    actor = current_user._get_current_object()
    refusal = None
    try:
        cases.check_worker(report, actor)
    except cases.CaseError as exc:
        refusal = str(exc)
    if refusal is None and not supervision.may_open_from(report):
        refusal = "只有核查属实或部分属实、尚未开启督办的举报可以开启督办。"
    if refusal is not None:
        # Said on the page (no form): nothing of the report is shown but its number.
        return render_template("staff/supervision/from_report.html", form=None, report=report,
                               refusal=refusal)
    form = SupervisionForm()
    if not form.is_submitted():
        for name, value in supervision.defaults_from_report(report).items():
            form[name].data = value
        form.listed_on.data = local_today()
    if form.validate_on_submit():
        try:
            item = supervision.open_from_report(report, form.values(), actor=actor)
        except publishing.ValuesInvalid as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        except supervision.SupervisionError as exc:
            db.session.rollback()
            form.form_errors.extend(exc.errors.values())
        else:
            flash(f"已开启督办草稿 {item.notice_no}，由编辑审核发布；公开页面只注明“来源：群众举报”。",
                  "info")
            return redirect(url_for("staff.report_detail", report_id=report.id), 303)
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "staff/supervision/from_report.html", form=form, report=report,
    ), status


# --- rectification photos (整改前 / 整改后) -------------------------------------------------------


def _item(item_id: int) -> SupervisionItem:
    try:
        item = publishing.get_item("supervision", item_id)
    except publishing.ItemNotFound:
        abort(404)
    assert isinstance(item, SupervisionItem)
    return item


@bp.route("/supervision/<id:item_id>/photos", methods=["GET", "POST"])
@requires(EDITOR)
def supervision_photos_page(item_id: int):
    """The item's photos, each with a removal button, and the form that adds one (one file a
    time, each with its own caption, which is its alt text on the public page)."""
    item = _item(item_id)
    form = SupervisionPhotoForm()
    stages = supervision_photos.stage_choices(item)
    form.stage.choices = [("", "（请选择）")] + [
        (c.value, f"{c.label}（{c.on:%Y-%m-%d}）") for c in stages]
    if not form.is_submitted():
        # The latest stage, and the phase a photo of it usually shows.
        form.stage.data = stages[-1].value
        form.phase.data = stages[-1].phase
    status = 200
    if request.method == "POST" and (refusal := refused(item, "supervision_photo_add")) is not None:
        return refusal
    if request.method == "POST" and item.is_withdrawn:
        flash("该督办事项已撤回，不能再添加照片。", "error")
        return redirect(url_for("staff.supervision_photos_page", item_id=item.id), 303)
    if request.method == "POST":
        upload = form.photo.data
        if form.validate_on_submit():
            if upload is None or not getattr(upload, "filename", ""):
                form.photo.errors = [*form.photo.errors, "请选择一张照片。"]
            else:
                try:
                    # Read at most one byte past the limit: enough to know it is too large.
                    image = images.clean(upload.stream.read(images.MAX_UPLOAD_BYTES + 1))
                    supervision_photos.add_photo(
                        item, image, phase=form.phase.data, stage=form.stage.data,
                        caption=form.caption.data, actor=current_user._get_current_object())
                except images.ImageRejected as exc:
                    form.photo.errors = [*form.photo.errors, str(exc)]
                except images.DecoderBusy:
                    status = 503
                    form.form_errors.append("服务器正忙，照片没有保存，请稍后重新选择照片再提交。")
                except supervision_photos.PhotoError as exc:
                    db.session.rollback()
                    for name, message in exc.errors.items():
                        field = form._fields.get(name)
                        if field is None:
                            form.form_errors.append(message)
                        else:
                            field.errors = [*field.errors, message]
                else:
                    flash("已添加照片。" + ("已在公开页面显示。" if item.is_published
                                          else "督办事项发布后在公开页面显示。"), "info")
                    return redirect(url_for("staff.supervision_photos_page", item_id=item.id), 303)
        if status == 200 and (form.errors or form.form_errors):
            status = 400
    return render_template(
        "staff/supervision/photos.html", item=item, form=form,
        groups=supervision_photos.by_phase(item), left=supervision_photos.photos_left(item),
        limit=supervision_photos.MAX_PHOTOS_PER_ITEM,
        stage_labels={c.value: c.label for c in stages},
        refusal=departments.item_refusal(current_user._get_current_object(), item),
    ), status


@bp.post("/supervision/<id:item_id>/photos/<id:photo_id>/remove")
@requires(EDITOR)
def supervision_photo_remove(item_id: int, photo_id: int):
    item = _item(item_id)
    if (refusal := refused(item, "supervision_photo_remove")) is not None:
        return refusal
    try:
        supervision_photos.remove_photo(item, photo_id, actor=current_user._get_current_object())
    except supervision_photos.PhotoError as exc:
        db.session.rollback()
        flash(" ".join(exc.errors.values()), "error")
    else:
        flash("已删除照片" + ("，公开页面不再显示。" if item.is_published else "。"), "info")
    return redirect(url_for("staff.supervision_photos_page", item_id=item.id), 303)


@bp.get("/supervision/<id:item_id>/photos/<id:photo_id>/<any(full, thumbnail):part>")
@requires(EDITOR)
def supervision_photo_file(item_id: int, photo_id: int, part: str):
    """A photo for the back office (a draft's too, which the public cannot see yet)."""
    found = supervision_photos.file(item_id, photo_id, part, published_only=False)
    if found is None:
        abort(404)
    response = Response(found[0], mimetype=found[1])
    response.headers["Cache-Control"] = "private, no-cache"
    return response
