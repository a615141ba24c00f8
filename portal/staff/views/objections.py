"""Objections (异议) in the back office: the queue by deadline and the answer.

Editors check an objection against the record; if it holds they correct the record with the
normal edit (its public history keeps the old text), then answer; otherwise they answer why not.
The rules are in ``portal.services.enterprises.objections``.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from portal.forms import StaffForm
from portal.models import DISCLOSURE_MODELS
from portal.services.enterprises import objections as service
from portal.staff.access import requires
from portal.staff.blueprint import bp
from portal.staff.models import EDITOR


class AnswerForm(StaffForm):
    outcome = RadioField("核实结果", choices=[
        SelectChoice("upheld", "异议成立（已更正该信息）"),
        SelectChoice("rejected", "异议不成立")],
        validators=[DataRequired(message="请选择核实结果。")])
    text = TextAreaField("答复", validators=[DataRequired(message="请填写答复。"),
                                           Length(min=4, max=2000)],
                         description="提出人凭访问码可见：写明核实情况、更正内容或不予更正的理由。")


def _objection(objection_id: int) -> Any:
    try:
        return service.get(objection_id)
    except LookupError:
        abort(404)


@bp.get("/objections")
@requires(EDITOR)
def objection_queue():
    show_all = request.args.get("all") == "1"
    rows = [(o, service.days_left(o)) for o in service.queue(open_only=not show_all)]
    return render_template("staff/objections/queue.html", rows=rows, show_all=show_all,
                           days=service.answer_working_days())


def _page(objection: Any, form: AnswerForm | None = None, status: int = 200) -> Any:
    # The applicant's name and contact for the answering department only; others see the
    # objection without them, and why (the page asks for them only where they may be read).
    actor = current_user._get_current_object()  # type: ignore[attr-defined]
    applicant_refusal = service.applicant_refusal(objection, actor)
    return render_template(
        "staff/objections/detail.html", objection=objection, item=service.item_of(objection),
        label=DISCLOSURE_MODELS[objection.kind].LABEL, form=form or AnswerForm(formdata=None),
        days_left=service.days_left(objection),
        refusal=service.answer_refusal(objection, actor),
        applicant=None if applicant_refusal else service.applicant(objection, actor=actor),
        applicant_refusal=applicant_refusal), status


@bp.get("/objections/<id:objection_id>")
@requires(EDITOR)
def objection_detail(objection_id: int):
    objection = _objection(objection_id)
    service.record_view(objection, actor=current_user._get_current_object())  # type: ignore[attr-defined]
    return _page(objection)


@bp.post("/objections/<id:objection_id>/answer")
@requires(EDITOR)
def objection_answer(objection_id: int):
    objection = _objection(objection_id)
    form = AnswerForm()
    if not form.validate():
        return _page(objection, form, 400)
    try:
        service.answer(objection, actor=current_user._get_current_object(),  # type: ignore[attr-defined]
                       upheld=form.outcome.data == "upheld", text=form.text.data)
    except service.ApplicationInvalid as exc:
        form.text.errors = [*form.text.errors, *exc.errors.values()]
        return _page(objection, form, 400)
    except service.StepRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("staff.objection_detail", objection_id=objection.id), code=303)
    flash("已答复，提出人凭访问码可见。", "info")
    return redirect(url_for("staff.objection_detail", objection_id=objection.id), code=303)
