"""Report pages: the form, check your answers, the receipt; the follow-up and its actions.

The receipt code is never in a URL or a cookie: the follow-up form POSTs it, and every action on
the case page POSTs it again in a hidden field, so each page is rendered in answer to a POST.
Every answer to a submitted code takes at least ``code_pages.FOLLOWUP_MIN_SECONDS`` (see
``portal.receipts.MinimumDuration``), whether the code was right or not.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from portal import code_pages, images, receipts
from portal.code_pages import fixed_time
from portal.daily_limits import per_beijing_day
from portal.domain.catalog import (
    REPORT_ACCEPTANCE_WORKING_DAYS,
    REPORT_EXTENSION_DAYS,
    REPORT_VERIFICATION_DAYS,
)
from portal.extensions import limiter
from portal.i18n import current_language, word
from portal.models import REPORT_KINDS, Report, ReportDraft, ReportPhoto, local_today
from portal.reports import bp, client_key
from portal.reports.forms import (
    DECODER_BUSY,
    KIND_HINTS,
    CodeForm,
    EraseForm,
    PhotoUploads,
    ReopenForm,
    ReplyForm,
    ReportForm,
    SlipClaimForm,
    SlipCopyForm,
    TransferClaimForm,
)
from portal.services.publication import supervision
from portal.services.reporting import reports as service
from portal.services.reporting import reward_claims
from portal.translation import gettext as _
from portal.translation import lazy_gettext as _l

DRAFT_KEY = "report_draft"
WRONG_CODE = _l("回执码无效。请逐位核对后重新输入；回执码由 28 个字母和数字组成，不区分大小写。")
NOT_STORED = _l("举报没有保存成功：系统出现故障，您的举报未被记录，也没有生成回执码。"
                "您填写的内容仍保留在本页，请稍后再点“提交举报”；也可拨打 12350 举报。")
HONEYPOT_MESSAGE = _l("举报还没有提交：请核对所填内容，确认无误后再点“下一步”。")
HONEYPOT_PHOTOS = _l("照片没有保存，请重新选择照片。")
FIELD_ORDER = ["kind", "enterprise_name", "uscc", "county", "place", "description", "seen_since",
               "photos", "callback", "contact"]


def _report_limit() -> str:
    return per_beijing_day(current_app.config["SETTINGS"].ratelimit_report)


def _followup_limit() -> str:
    return per_beijing_day(current_app.config["SETTINGS"].ratelimit_followup)


def _photo_limit() -> str:
    return per_beijing_day(current_app.config["SETTINGS"].ratelimit_report_photo)


# Submitting (the form with its photos, and the final send) and using a receipt code share
# their limits across the routes that do it, keyed on the daily client digest, counted per
# Beijing day with every counter expiring at midnight (portal.daily_limits).
report_limit = limiter.shared_limit(_report_limit, scope="report-submit", key_func=client_key,
                                    methods=["POST"])
followup_limit = limiter.shared_limit(_followup_limit, scope="report-followup",
                                      key_func=client_key, methods=["POST"])
# Thumbnails (of a draft, and on the case page) share one limit: each is a database read and a
# decryption, and a page shows at most MAX_PHOTOS_PER_REPORT of them.
photo_limit = limiter.shared_limit(_photo_limit, scope="report-photo", key_func=client_key)
# Asked of a client that found every decode slot taken: a moment, not a minute.
BUSY_RETRY_AFTER = {"Retry-After": "5"}


def _photo_link(photo: ReportPhoto) -> str:
    """The address of a photo's thumbnail on the case page: a link that works for minutes and
    for this photo only (the receipt code itself never goes in a URL)."""
    return url_for("reports.case_photo", token=service.photo_link(photo))


def _thumbnail_response(photo: ReportPhoto) -> Response:
    data, media_type = service.photo_thumbnail(photo)
    return Response(data, mimetype=media_type)  # no-store, like every report page


# ---------------------------------------------------------------- the report form


def _current_draft():
    draft = service.get_draft(session.get(DRAFT_KEY))
    if draft is None:
        session.pop(DRAFT_KEY, None)
    return draft


def _removal_ids() -> list[int]:
    return [int(v) for v in request.form.getlist("remove_photo") if v.isascii() and v.isdigit()]


@bp.route("", methods=["GET", "POST"])
@report_limit
def new():
    draft = _current_draft()
    kept = service.draft_photos(draft) if draft is not None else []
    if request.method == "GET":
        form = ReportForm(data=service.draft_fields(draft) if draft is not None else None)
        return _form_page(form, kept)
    form = ReportForm()
    if form.extra_comment.data:
        return _honeypot_filled(form, kept)
    removing = set(_removal_ids())
    kept = [p for p in kept if p.id not in removing]
    form.max_new_photos = max(0, service.MAX_PHOTOS - len(kept))
    valid = form.validate()
    if form.busy:
        # Nothing is stored: the page comes back with the text as typed and asks for the
        # photos again later (a file input cannot be refilled).
        return _form_page(form, kept), 503, BUSY_RETRY_AFTER
    # Photos that passed are kept even if another field needs fixing: a file input cannot be
    # filled in again, and the reporter should not have to choose them twice.
    try:
        draft = service.save_draft(draft, form.values(), form.clean_images,
                                   remove_photo_ids=removing)
    except service.TooManyPhotos as exc:
        form.photos.errors = [*form.photos.errors, str(exc)]
        valid = False
        draft = _current_draft()
    if draft is not None:
        session[DRAFT_KEY] = draft.id
    if valid:
        return redirect(url_for("reports.check"), code=303)
    kept = service.draft_photos(draft) if draft is not None else []
    return _form_page(form, kept), 400


def _honeypot_filled(form: ReportForm, kept: list[ReportPhoto]):
    """The hidden anti-spam field came back filled: most likely a robot, possibly a citizen's
    browser that autofilled it.

    Refusing outright (a bare 400) lost a real report, and accepting would let every robot
    through; so nothing is stored (no draft, no photo: a robot gets nowhere, and the check page
    and sending need a draft) and the form comes back as typed, the hidden field emptied, with
    a message that does not say which field was the reason.  A person sends it again and it goes
    through; a robot that fills every field fills it again and stays here."""
    form.validate()  # name any other problem now, so that a person fixes everything at once
    form.extra_comment.data = ""
    message = str(HONEYPOT_MESSAGE) + (str(HONEYPOT_PHOTOS) if form.photos_chosen() else "")
    return _form_page(form, kept, message=message), 400


def _form_page(form: ReportForm, kept: list[ReportPhoto], message: str | None = None):
    return render_template(
        "reports/form.html", form=form, kept=kept, kind_hints=KIND_HINTS, order=FIELD_ORDER,
        max_photos=service.MAX_PHOTOS, message=message,
    )


@bp.get("/draft-photo/<id:photo_id>")
@photo_limit
def draft_photo(photo_id: int):
    """A thumbnail of a photo of the session's own draft (the form and the check page)."""
    photo = service.draft_photo(session.get(DRAFT_KEY), photo_id)
    if photo is None:
        abort(404)
    return _thumbnail_response(photo)


@bp.get("/photo/<token>")
@photo_limit
def case_photo(token: str):
    """A thumbnail on the reporter's case page, by the short-lived link that page made."""
    try:
        photo = service.photo_by_link(token)
    except service.PhotoLinkInvalid:
        abort(404)
    return _thumbnail_response(photo)


@bp.get("/check")
def check():
    draft = _current_draft()
    if draft is None:
        flash(_("没有待提交的举报：可能已经提交，或超过一天未提交已被清除。请重新填写。"), "error")
        return redirect(url_for("reports.new"), code=303)
    try:
        fields = _check_fields(draft)
    except service.ReportInvalid:
        flash(_("举报内容还不完整，请补充后再检查。"), "error")
        return redirect(url_for("reports.new"), code=303)
    return _check_page(fields, service.draft_photos(draft))


@dataclass(frozen=True)
class _PhotoShown:
    """What the check page needs of a draft photo, read before sending: if the database goes
    away while the report is sent, the page saying so cannot read it again."""

    id: int
    width: int
    height: int


def _check_fields(draft: ReportDraft) -> dict[str, Any]:
    """The draft's fields as the check page shows them (``ReportInvalid`` if incomplete)."""
    values = service.draft_fields(draft)
    return service.clean_fields(values | ({} if values.get("callback") else {"contact": ""}))


def _check_page(fields: dict[str, Any], photos: list[ReportPhoto] | list[_PhotoShown],
                error: str | None = None):
    return render_template(
        "reports/check.html", fields=fields, photos=photos, kind_label=word("kind", fields["kind"], REPORT_KINDS[fields["kind"]]),
        error=error,
    )


@bp.post("/send")
@report_limit
def send():
    draft = _current_draft()
    if draft is None:
        flash(_("这份举报已经提交过，或超过一天未提交已被清除；没有重复提交。"), "error")
        return redirect(url_for("reports.new"), code=303)
    try:
        fields = _check_fields(draft)
        photos = [_PhotoShown(p.id, p.width, p.height) for p in service.draft_photos(draft)]
        report, code = service.submit_draft(draft, language=current_language())
    except service.DraftNotFound:
        session.pop(DRAFT_KEY, None)
        flash(_("这份举报已经提交过，没有重复提交。"), "error")
        return redirect(url_for("reports.new"), code=303)
    except service.ReportInvalid:
        flash(_("举报内容还不完整，请补充后再提交。"), "error")
        return redirect(url_for("reports.new"), code=303)
    except service.ReportNotStored:
        # The draft is kept (the transaction was rolled back); nothing is read again here,
        # so the reporter gets this page even while the database is unreachable.
        return _check_page(fields, photos, error=str(NOT_STORED)), 503
    session.pop(DRAFT_KEY, None)
    # The code is on this page and in its download form, and nowhere else.
    return render_template(
        "reports/receipt.html", report=report, code=code,
        acceptance_days=REPORT_ACCEPTANCE_WORKING_DAYS, verification_days=REPORT_VERIFICATION_DAYS,
        extension_days=REPORT_EXTENSION_DAYS,
        claim_days=current_app.config["SETTINGS"].reward_claim_days,
    )


@bp.post("/discard")
def discard():
    draft = _current_draft()
    if draft is not None:
        service.discard_draft(draft)
    session.pop(DRAFT_KEY, None)
    flash(_("已放弃这份举报，填写的内容和照片已删除。"), "info")
    return redirect(url_for("reports.new"), code=303)


@bp.post("/receipt.txt")
@followup_limit
@fixed_time
def receipt_download():
    """The receipt as a text file: the code comes back from the receipt page's own form."""
    form = CodeForm()
    if not form.validate():
        return _wrong_code(form)
    try:
        report = service.find_by_receipt(form.code.data)
    except service.ReceiptNotFound:
        return _wrong_code(form)
    code = receipts.grouped(receipts.normalize(form.code.data))
    text = render_template("reports/receipt.txt", report=report, code=code,
                           followup_url=url_for("reports.followup", _external=True))
    response = Response(text.replace("\n", "\r\n"), mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="receipt-{report.number}.txt"'
    return response


# ---------------------------------------------------------------- follow-up


def _wrong_code(form: CodeForm | None = None):
    return code_pages.wrong_code("reports/followup.html",
                                 form if form is not None else CodeForm(formdata=None), WRONG_CODE)


@bp.route("/followup", methods=["GET", "POST"])
@followup_limit
@fixed_time
def followup():
    return code_pages.followup(CodeForm(), template="reports/followup.html",
                               find=service.find_by_receipt, not_found=service.ReceiptNotFound,
                               wrong=WRONG_CODE, case=_case_page)


def _reward_view(report: Report) -> dict[str, Any] | None:
    reward = report.reward
    if reward is None:
        return None
    today = local_today()
    if reward_claims.is_expired(reward, today):
        state = "expired"
    elif reward_claims.is_claimable(reward, today):
        state = "claimable"
    elif reward.status == "claimed":
        state = f"claimed_{reward.claim_method}"
    else:
        state = reward.status
    return {"reward": reward, "state": state,
            "can_renew": reward_claims.can_renew_slip(reward, today)}


def _case_page(
    report: Report,
    raw_code: str,
    forms: dict[str, Any] | None = None,
    notice: str | None = None,
    slip: str | None = None,
    error: str | None = None,
    status: int = 200,
):
    code = receipts.grouped(receipts.normalize(raw_code))
    all_forms: dict[str, Any] = {
        "reply": ReplyForm(prefix="reply", formdata=None),
        "reopen": ReopenForm(prefix="reopen", formdata=None),
        "transfer": TransferClaimForm(prefix="transfer", formdata=None),
        "slip": SlipClaimForm(prefix="slip", formdata=None),
        "slip_copy": SlipCopyForm(formdata=None),
        "erase": EraseForm(prefix="erase", formdata=None),
    } | (forms or {})
    for form in all_forms.values():
        form.code.data = code
    all_forms["slip_copy"].slip.data = slip or ""
    own_photos, message_photos = service.photos_of(report)
    return render_template(
        "reports/case.html",
        report=report,
        forms=all_forms,
        notice=notice,
        slip=slip,
        error=error,
        own_photos=own_photos,
        message_photos=message_photos,
        photo_uri=_photo_link,
        reward=_reward_view(report),
        can_reopen=service.can_reopen(report),
        supervision_item=supervision.for_report(report),
        today=local_today(),
    ), status


def _case_action(form_class: type, prefix: str, perform: Callable[[Report, Any], Any]):
    """Check the code in the form, run ``perform`` if the form is valid, show the case page.

    ``perform`` returns a notice for the page, or a (notice, slip) pair."""
    form = form_class(prefix=prefix)
    with ExitStack() as decoder:
        if isinstance(form, PhotoUploads) and form.photos_chosen():
            # Photos to decode: the process's decoder is taken first, before the code is
            # checked (an Argon2 hash) and the case page made, and kept for all the photos.
            # Taken, it is the busy page that sends the text again, decided before the code
            # is read (the same for every code): under a flood of photo replies, each busy
            # answer had cost a hash and a case page (bench/abuse.py).
            try:
                decoder.enter_context(images.decode_slot())
            except images.DecoderBusy:
                return code_pages.busy_page(DECODER_BUSY)
            form.slot_held = True
        try:
            report = service.find_by_receipt(form.code.data or "")
        except service.ReceiptNotFound:
            return _wrong_code()
        raw_code = form.code.data
        if isinstance(form, PhotoUploads):
            # Decode no more photos than the report still has room for (MAX_PHOTOS_PER_REPORT).
            form.max_new_photos = min(service.MAX_PHOTOS, service.photos_left(report))
            form.no_room_message = _("这份举报已有 %(max)s 张照片，不能再添加；可以只发送文字。",
                                     max=service.MAX_PHOTOS_PER_REPORT)
        valid = form.validate()
    if not valid:
        if getattr(form, "busy", False):
            return (*_case_page(report, raw_code, forms={prefix: form}, error=str(DECODER_BUSY),
                                status=503), BUSY_RETRY_AFTER)
        return _case_page(report, raw_code, forms={prefix: form}, status=400)
    try:
        outcome = perform(report, form)
    except service.TooManyPhotos as exc:
        form.photos.errors = [*form.photos.errors, str(exc)]
        return _case_page(report, raw_code, forms={prefix: form}, status=400)
    except service.ReportInvalid as exc:
        for name, message in exc.errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, message]
        return _case_page(report, raw_code, forms={prefix: form}, status=400)
    except (service.ReportError, reward_claims.ClaimRefused) as exc:
        # Shown at the top: the form it came from may not be on the page any more.
        return _case_page(report, raw_code, forms={prefix: form}, error=str(exc), status=400)
    notice, slip = outcome if isinstance(outcome, tuple) else (outcome, None)
    return _case_page(report, raw_code, notice=notice, slip=slip)


@bp.post("/followup/reply")
@followup_limit
@fixed_time
def reply():
    def perform(report: Report, form: ReplyForm) -> str:
        service.add_reply(report, form.body.data, form.clean_images)
        return _("您的补充已发送给承办人员。")

    return _case_action(ReplyForm, "reply", perform)


@bp.post("/followup/reopen")
@followup_limit
@fixed_time
def reopen():
    def perform(report: Report, form: ReopenForm) -> str:
        service.reopen(report, form.reason.data)
        return _("已反映仍未整改，承办人员将重新处理。")

    return _case_action(ReopenForm, "reopen", perform)


@bp.post("/followup/claim-transfer")
@followup_limit
@fixed_time
def claim_transfer():
    def perform(report: Report, form: TransferClaimForm) -> str:
        if report.reward is None:
            raise reward_claims.ClaimRefused(_("此举报没有可申领的奖励。"))
        reward_claims.claim_by_transfer(report.reward, form.payment_details.data)
        return _("已申领奖励，将转账到您填写的账户。")

    return _case_action(TransferClaimForm, "transfer", perform)


@bp.post("/followup/claim-slip")
@followup_limit
@fixed_time
def claim_slip():
    def perform(report: Report, form: SlipClaimForm) -> tuple[str, str]:
        if report.reward is None:
            raise reward_claims.ClaimRefused(_("此举报没有可申领的奖励。"))
        slip = reward_claims.issue_claim_slip(report.reward)
        return _("已生成领奖凭证。"), slip

    return _case_action(SlipClaimForm, "slip", perform)


def _slip_copy() -> tuple[Report | None, str, Any]:
    """(report, slip, None) if the slip the case page sent back is still the reward's slip;
    otherwise (None, "", the page to answer with)."""
    form = SlipCopyForm()
    try:
        report = service.find_by_receipt(form.code.data or "")
    except service.ReceiptNotFound:
        return None, "", _wrong_code()
    reward = report.reward
    slip = (reward_claims.slip_of(reward, form.slip.data or "")
            if reward is not None and form.validate() else None)
    if slip is None:
        return None, "", _case_page(report, form.code.data, status=400,
                                    error=_("这张领奖凭证已作废或有误，请重新生成领奖凭证。"))
    return report, slip, None


@bp.post("/followup/claim-slip.txt")
@followup_limit
@fixed_time
def claim_slip_download():
    """The claim slip as a text file: the slip comes back from the case page's own form."""
    report, slip, refused = _slip_copy()
    if report is None:
        return refused
    text = render_template("reports/slip.txt", reward=report.reward, slip=slip)
    response = Response(text.replace("\n", "\r\n"), mimetype="text/plain")
    response.headers["Content-Disposition"] = 'attachment; filename="reward-claim-slip.txt"'
    return response


@bp.post("/followup/claim-slip/print")
@followup_limit
@fixed_time
def claim_slip_print():
    """The claim slip alone on a page, to print."""
    report, slip, refused = _slip_copy()
    if report is None:
        return refused
    return render_template("reports/slip_print.html", reward=report.reward, slip=slip)


@bp.post("/followup/erase")
@followup_limit
@fixed_time
def erase():
    def perform(report: Report, form: EraseForm) -> str:
        reward_claims.erase_personal_details(report)
        return _("已删除您的联系方式和收款信息。")

    return _case_action(EraseForm, "erase", perform)
