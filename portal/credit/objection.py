"""Objection pages (``/credit/objection``): "信息有误？提出异议" on a published record naming an
enterprise; the form, check your answers, the confirmation with the 异议编号 and access code, and
the follow-up where the answer is read (the code is POSTed, never in a URL, and every answer to
a code takes the same minimum time).  Rules in ``portal.services.enterprises.objections``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal import code_pages, receipts
from portal.code_pages import fixed_time
from portal.credit.repair import WRONG_CODE, followup_limit, repair_limit
from portal.credit.repair_forms import CodeForm
from portal.forms import PublicForm
from portal.models import DISCLOSURE_MODELS
from portal.services.enterprises import objections as service
from portal.services.enterprises.repair import TEXT_MAX
from portal.translation import gettext as _
from portal.translation import lazy_gettext as _l

bp = Blueprint("objection", __name__, url_prefix="/credit/objection")
DRAFT_KEY = "objection_draft"
KINDS = "any(decisions, accidents, blacklist)"


class ObjectionForm(PublicForm):
    applicant_name = StringField(_l("提出人（单位名称或姓名）"), validators=[
        DataRequired(message=_l("请填写提出人。")), Length(max=service.NAME_MAX)],
        description=_l("被记载的单位本身，或其受委托人。"))
    contact = StringField(_l("联系电话或电子邮箱"), validators=[
        DataRequired(message=_l("请填写联系电话或电子邮箱。")), Length(max=service.CONTACT_MAX)],
        description=_l("仅用于核实，不会公开。"))
    what_is_wrong = TextAreaField(_l("哪里有误"), validators=[
        DataRequired(message=_l("请写明哪里有误。")), Length(max=TEXT_MAX)])
    should_read = TextAreaField(_l("应当如何更正，依据是什么"), validators=[
        DataRequired(message=_l("请写明应当如何更正。")), Length(max=TEXT_MAX)],
        description=_l("如：企业名称已于某日变更，见营业执照。"))


@bp.after_request
def _headers(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _item(kind: str, item_id: int) -> Any:
    try:
        return service.objectable(kind, item_id)
    except service.NotObjectable:
        abort(404)


def _draft():
    draft = service.get_draft(session.get(DRAFT_KEY))
    if draft is None:
        session.pop(DRAFT_KEY, None)
    return draft


@bp.route(f"/<{KINDS}:kind>/<id:item_id>", methods=["GET", "POST"])
@repair_limit
def new(kind: str, item_id: int):
    item = _item(kind, item_id)
    draft = _draft()
    same = draft is not None and (draft.kind, draft.item_id) == (kind, item_id)
    if request.method == "GET":
        form = ObjectionForm(formdata=None, data={n: getattr(draft, n) for n in service.FIELDS}
                             if same else None)
        return _form_page(form, item, kind)
    form = ObjectionForm()
    valid = form.validate()
    draft = service.save_draft(draft, kind, item_id, form.data)
    session[DRAFT_KEY] = draft.id
    if valid:
        return redirect(url_for("objection.check"), code=303)
    return _form_page(form, item, kind), 400


def _form_page(form: ObjectionForm, item: Any, kind: str):
    return render_template("credit/objection_form.html", form=form, item=item, kind=kind,
                           label=DISCLOSURE_MODELS[kind].LABEL, days=service.answer_working_days(),
                           open_state=service.public_state(kind, item.id))


@bp.get("/check")
def check():
    draft = _draft()
    if draft is None:
        flash(_("没有待提交的异议：可能已经提交，或超过一天未提交已被清除。"), "error")
        return redirect(url_for("disclosures.home"), code=303)
    return render_template("credit/objection_check.html", draft=draft, item=service.item_of(draft),
                           label=DISCLOSURE_MODELS[draft.kind].LABEL)


@bp.post("/send")
@repair_limit
def send():
    draft = _draft()
    if draft is None:
        flash(_("这份异议已经提交过，或超过一天未提交已被清除；没有重复提交。"), "error")
        return redirect(url_for("disclosures.home"), code=303)
    try:
        objection, code = service.submit(draft)
    except (service.ApplicationInvalid, service.NotObjectable):
        flash(_("异议内容不完整，或该信息已不能提出异议，请重新填写。"), "error")
        return redirect(url_for("objection.new", kind=draft.kind, item_id=draft.item_id), code=303)
    session.pop(DRAFT_KEY, None)
    return render_template("credit/objection_sent.html", objection=objection,
                           code=receipts.grouped(code), item=service.item_of(objection),
                           days=service.answer_working_days())


def _case_page(objection: Any, raw_code: str):
    return render_template("credit/objection_case.html", objection=objection,
                           item=service.item_of(objection),
                           label=DISCLOSURE_MODELS[objection.kind].LABEL)


@bp.route("/followup", methods=["GET", "POST"])
@followup_limit
@fixed_time
def followup():
    return code_pages.followup(CodeForm(), template="credit/objection_followup.html",
                               find=service.find_by_code, not_found=service.AccessCodeNotFound,
                               wrong=WRONG_CODE, case=_case_page)
