"""信用修复 pages for the applicant (``/credit/repair``): the form, check your answers, the
confirmation with the 申请编号 and access code, and the follow-up (the code is POSTed, never in
a URL; every answer to a code takes the same minimum time, ``portal.code_pages.fixed_time``).

Its own blueprint: uploads (signed commitment, evidence) need a larger request and are held in
memory, never spooled to a temporary file, so the CSRF check runs here after the size is raised
(``portal.uploads``, as on the report pages).  Rules live in ``portal.services.enterprises.repair``.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from portal import code_pages, receipts
from portal.code_pages import fixed_time
from portal.credit.repair_forms import ApplicationForm, CodeForm, ReplyForm
from portal.extensions import limiter
from portal.images import MAX_UPLOAD_BYTES
from portal.models import local_today
from portal.services.enterprises import repair as service
from portal.translation import gettext as _
from portal.translation import lazy_gettext as _l
from portal.uploads import take_uploads

bp = Blueprint("repair", __name__, url_prefix="/credit/repair")

DRAFT_KEY = "repair_draft"
# One request carries at most a commitment and evidence of 10 MB in all, plus the text.
REQUEST_MAX_BYTES = MAX_UPLOAD_BYTES + 2 * 1024 * 1024
WRONG_CODE = _l("访问码无效。请逐位核对后重新输入；访问码由 28 个字母和数字组成，不区分大小写。")
FIELD_ORDER = ["uscc", "applicant_name", "applicant_role", "contact", "penalty_done",
               "rectification", "commitment", "evidence"]


def _limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_credit


def _followup_limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_followup


repair_limit = limiter.shared_limit(_limit, scope="credit-repair", methods=["POST"])
followup_limit = limiter.shared_limit(_followup_limit, scope="credit-repair-followup",
                                      methods=["POST"])


def _too_large() -> tuple[str, str]:
    return _("提交的内容过大"), _(
        "一次提交的附件合计不超过 %(mb)s MB。这次提交没有保存，请返回上一页，分次添加附件。",
        mb=MAX_UPLOAD_BYTES // (1024 * 1024))


take_uploads(bp, REQUEST_MAX_BYTES, _too_large)


@bp.after_request
def _headers(response):
    # Pages with the applicant's details and code: never cached, never referred.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# ---------------------------------------------------------------- the form


def _current_draft():
    draft = service.get_draft(session.get(DRAFT_KEY))
    if draft is None:
        session.pop(DRAFT_KEY, None)
    return draft


def _form_page(form: ApplicationForm, draft: Any, message: str | None = None,
               eligibility: Any = None):
    return render_template(
        "credit/repair_form.html", form=form, draft=draft, order=FIELD_ORDER, message=message,
        eligibility=eligibility, code_form=CodeForm(formdata=None),
        days=service.decision_working_days(), max_documents=service.MAX_DOCUMENTS,
    )


@bp.route("", methods=["GET", "POST"])
@repair_limit
def new():
    draft = _current_draft()
    if request.method == "GET":
        data = service.draft_values(draft) if draft is not None else {}
        if not data and request.args.get("code"):
            data = {"uscc": (request.args.get("code") or "")[:60]}
        form = ApplicationForm(formdata=None, data=data)
        eligibility = None
        if data.get("uscc") and draft is None:
            try:
                entry = service.active_entry_for(data["uscc"])
                eligibility = service.eligibility(entry)
            except service.ApplicationInvalid as exc:
                form.uscc.errors = [exc.errors["uscc"]]
        return _form_page(form, draft, eligibility=eligibility)
    form = ApplicationForm()
    valid = form.validate()
    if form.busy:
        return _form_page(form, draft), 503, {"Retry-After": "5"}
    removing = {int(v) for v in request.form.getlist("remove_document")
                if v.isascii() and v.isdigit() and len(v) < 10}
    try:
        draft = service.save_draft(draft, form.data, form.clean_documents,
                                   remove_document_ids=removing)
        session[DRAFT_KEY] = draft.id
    except service.ApplicationInvalid as exc:
        for name, text in exc.errors.items():
            target = form[name] if name in form else form.evidence
            target.errors = [*target.errors, text]
        return _form_page(form, draft), 400
    if not any(d.kind == "commitment" for d in draft.documents) and not form.commitment.errors:
        form.commitment.errors = [*form.commitment.errors, _("请上传签署的信用承诺书。")]
        valid = False
    if valid:
        return redirect(url_for("repair.check"), code=303)
    return _form_page(form, draft), 400


@bp.get("/check")
def check():
    draft = _current_draft()
    if draft is None:
        flash(_("没有待提交的申请：可能已经提交，或超过一天未提交已被清除。请重新填写。"), "error")
        return redirect(url_for("repair.new"), code=303)
    try:
        fields = service.clean_fields(service.draft_values(draft))
    except service.ApplicationInvalid:
        flash(_("申请内容还不完整，请补充后再检查。"), "error")
        return redirect(url_for("repair.new"), code=303)
    return render_template("credit/repair_check.html", draft=draft, fields=fields,
                           days=service.decision_working_days())


@bp.post("/send")
@repair_limit
def send():
    draft = _current_draft()
    if draft is None:
        flash(_("这份申请已经提交过，或超过一天未提交已被清除；没有重复提交。"), "error")
        return redirect(url_for("repair.new"), code=303)
    try:
        application, code = service.submit(draft)
    except (service.ApplicationInvalid, service.NotEligible) as exc:
        flash(_("申请未能提交：%(reason)s", reason=exc), "error")
        return redirect(url_for("repair.new"), code=303)
    session.pop(DRAFT_KEY, None)
    return render_template("credit/repair_sent.html", application=application,
                           code=receipts.grouped(code), days=service.decision_working_days())


@bp.post("/discard")
def discard():
    draft = _current_draft()
    if draft is not None:
        service.discard_draft(draft)
    session.pop(DRAFT_KEY, None)
    flash(_("已放弃这份申请，填写的内容和附件已删除。"), "info")
    return redirect(url_for("repair.new"), code=303)


# ---------------------------------------------------------------- follow-up


def _wrong_code():
    return code_pages.wrong_code("credit/repair_followup.html", CodeForm(formdata=None), WRONG_CODE)


def _case_page(application: Any, raw_code: str, reply: ReplyForm | None = None,
               notice: str | None = None, status: int = 200):
    code = receipts.grouped(receipts.normalize(raw_code))
    reply = reply or ReplyForm(formdata=None)
    reply.code.data = code
    return render_template("credit/repair_case.html", application=application, reply=reply,
                           notice=notice, today=local_today()), status


@bp.route("/followup", methods=["GET", "POST"])
@followup_limit
@fixed_time
def followup():
    return code_pages.followup(CodeForm(), template="credit/repair_followup.html",
                               find=service.find_by_code, not_found=service.AccessCodeNotFound,
                               wrong=WRONG_CODE, case=_case_page)


@bp.post("/followup/reply")
@followup_limit
@fixed_time
def reply():
    form = ReplyForm()
    try:
        application = service.find_by_code(form.code.data or "")
    except service.AccessCodeNotFound:
        return _wrong_code()
    raw = form.code.data
    if not form.validate():
        return _case_page(application, raw, reply=form, status=503 if form.busy else 400)
    try:
        service.add_reply(application, form.body.data or "", form.clean_documents)
    except service.ApplicationInvalid as exc:
        form.body.errors = [*form.body.errors, str(exc)]
        return _case_page(application, raw, reply=form, status=400)
    except service.StepRefused as exc:
        form.body.errors = [*form.body.errors, str(exc)]
        return _case_page(application, raw, reply=form, status=400)
    return _case_page(application, raw, notice=_("您的补充已发送给审核人员。"))
