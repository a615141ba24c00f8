"""The credit pages: check a code or a name, issue a certificate, show it, verify it.

Thin views: the forms read the input, ``portal.services.enterprises.credit`` does the work and raises typed
errors that become messages on the page (never a 500, never the raw input echoed in HTML
outside an escaped field).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from portal.credentials import qr_svg
from portal.credit import bp, pdf
from portal.credit.forms import CertificateRequestForm, CreditCheckForm, VerifyForm
from portal.domain.credit import BLACKLIST_RESTRICTIONS
from portal.extensions import limiter
from portal.i18n import chinese_date, chinese_datetime, current_language, format_date, word
from portal.models import local_today
from portal.page_cache import public_page
from portal.services.enterprises import credit as service
from portal.services.enterprises import repair
from portal.services.publication import opendata
from portal.translation import gettext as _


def _credit_limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_credit


# One limit for every credit page: the same lookups sit behind each of them.
credit_limit = limiter.shared_limit(_credit_limit, scope="credit")


def _certificate_limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_certificate


# A lookup's answer is the same for everyone and follows the published data: kept as a list
# page is (the limit is checked first, so a page from the cache still counts).  A lookup that
# finds one enterprise shows the certificate form, whose CSRF token goes in the session: that
# answer is rendered for its visitor alone, and no shared cache keeps it (portal/page_cache.py).
@bp.get("/credit")
@credit_limit
@public_page
def check():
    form = CreditCheckForm(request.args)
    form.validate()
    record = hits = persons = None
    code_error = name_error = None
    suggestions: list[service.Suggestion] = []
    notice = None
    asked = form.asked
    if asked == "code" and not form.code.errors:
        try:
            record = service.check_code(form.code.data)
        except service.CreditCodeRejected as error:
            code_error, suggestions = str(error), error.suggestions
    elif asked == "name" and not form.name.errors:
        try:
            # Listed persons (有关人员) too: they have no code of their own to look up.
            persons = service.find_persons_by_name(form.name.data)
            hits = service.find_by_name(form.name.data, page=form.page_number())
        except service.NameRejected as error:
            name_error = str(error)
        except service.PageOutOfRange as error:
            notice = _("没有第 %(requested)s 页，共 %(last)s 页，已显示最后一页。",
                       requested=error.requested, last=error.last_page)
            hits = service.find_by_name(form.name.data, page=error.last_page)
    failed = bool(code_error or name_error or form.code.errors or form.name.errors)
    return render_template(
        "credit/check.html",
        form=form,
        asked=asked,
        record=record,
        hits=hits,
        persons=persons,
        today=local_today(),
        code_error=code_error,
        name_error=name_error,
        suggestions=suggestions,
        notice=notice,
        certificate_form=CertificateRequestForm(code=record.uscc) if record else None,
        repair_info={e.id: (repair.eligibility(e), repair.public_outcome(e))
                     for e in record.active_listings} if record else {},
        restrictions=BLACKLIST_RESTRICTIONS,
        validity_days=current_app.config["SETTINGS"].credit_certificate_days,
    ), (400 if failed else 200)


@bp.post("/credit/certificate")
@credit_limit
@limiter.limit(_certificate_limit)
def issue_certificate():
    form = CertificateRequestForm()
    if not form.validate():
        flash(_("无法出具证明：请重新查询企业后再点击“出具信用记录证明”。"), "error")
        return redirect(url_for("credit.check"), 303)
    try:
        certificate = service.issue_certificate(form.code.data)
    except service.CreditCodeRejected as error:
        flash(_("无法出具证明：%(reason)s", reason=error), "error")
        return redirect(url_for("credit.check"), 303)
    return redirect(url_for("credit.certificate", number=certificate.number), 303)


@bp.get("/credit/certificate")
@credit_limit
def certificate():
    raw = (request.args.get("number") or "").strip()
    if not raw:
        return render_template("credit/certificate_help.html")
    try:
        cert = service.get_certificate(raw)
    except service.CertificateNotFound:
        abort(404)
    return render_template(
        "credit/certificate.html",
        certificate=cert,
        said=cert.snapshot,
        status_labels=service.STATUS_LABELS,
        count_labels=service.COUNT_LABELS,
        url=service.verification_url(cert),
        qr=qr_svg(service.verification_url(cert), title=_("扫描二维码核验本证明")),
        expires_on=service.expires_on(cert),
        expired=local_today() > service.expires_on(cert),
        pdf_available=pdf.available(),
    )


@bp.get("/credit/certificate.pdf")
@credit_limit
def certificate_pdf():
    if not pdf.available():
        abort(404)
    try:
        cert = service.get_certificate(request.args.get("number") or "")
    except service.CertificateNotFound:
        abort(404)
    language = current_language()
    body = pdf.render(
        cert,
        url=service.verification_url(cert),
        expires_on=service.expires_on(cert),
        language=language,
        labels=pdf_labels(cert) if language != "zh" else None,
    )
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="credit-certificate-{cert.number}.pdf"'},
    )


@bp.get("/credit/verify")
@credit_limit
def verify():
    form = VerifyForm(request.args)
    form.validate()
    result = None
    problem = None
    expired = None
    not_found = False
    invalid_input = False
    if form.code.data and not form.code.errors:
        try:
            result = service.verify(form.code.data)
        except service.CodeInputInvalid:
            invalid_input = True
            problem = _("这不是有效的证明编号。编号形如 XSBN-7KQ2-XM9D，请核对后重新输入。")
        except service.CertificateNotFound:
            # Well formed but not on record: a typo, or not issued here; not "invalid".
            not_found = True
            problem = _("未查到该编号的证明。请核对编号是否抄写有误；本平台出具的证明都有记录，"
                        "如编号无误，该证明不是本平台出具的。")
        except service.CertificateNotGenuine:
            problem = _("核验未通过：二维码中的核验码已被改动，或不是本平台签发的。"
                        "该证明不能作为本平台出具的证明使用。")
        except service.CertificateExpired as error:
            expired = error
            problem = _("该证明已超过核验期限（出具后 %(days)s 日，截至 %(date)s），"
                        "不能再作为有效证明。请企业重新查询并出具新的证明。",
                        days=current_app.config["SETTINGS"].credit_certificate_days,
                        date=format_date(error.expired_on))
    # After a QR scan the field held the long signed code: show the number it stands for.
    shown = result.certificate if result else expired.certificate if expired else None
    if shown is not None:
        form.code.data = shown.number
    # A refused certificate is an answer (200); only input that cannot be a code is a 400.
    failed = bool(form.code.errors) or invalid_input
    return render_template(
        "credit/verify.html",
        form=form,
        result=result,
        problem=problem,
        expired=expired,
        not_found=not_found,
        status_labels=service.STATUS_LABELS,
        count_labels=service.COUNT_LABELS,
    ), (400 if failed else 200)


@bp.get("/credit/feed.atom")
@credit_limit
def feed():
    """Everything published about one credit code, as an Atom feed (the code is public)."""
    try:
        record = service.check_code(request.args.get("code") or "")
    except service.CreditCodeRejected as error:
        return Response(str(error), status=400, mimetype="text/plain")
    name = record.name or record.uscc
    body = opendata.atom_feed(
        feed_id=url_for("credit.feed", code=record.uscc, _external=True),
        title=f"{name}（{record.uscc}）的公开信息 · 西双版纳州安全生产信息公开",
        self_url=url_for("credit.feed", code=record.uscc, _external=True),
        alternate_url=url_for("credit.check", code=record.uscc, _external=True),
        entries=service.feed_entries(record, lambda item: url_for(
            "disclosures.detail", kind=item.KIND, item_id=item.id, _external=True),
            limit=opendata.FEED_ENTRIES),
    )
    return Response(body, mimetype="application/atom+xml")


# Snapshots keep dates as ISO text (JSON); these show them in Chinese, as the certificate (an
# official Chinese text) says them in every language.
@bp.app_template_filter("cn_date_text")
def cn_date_text(value: str | None) -> str:
    return chinese_date(date.fromisoformat(value)) if value else "—"


@bp.app_template_filter("cn_datetime_text")
def cn_datetime_text(value: str | None) -> str:
    return chinese_datetime(datetime.fromisoformat(value)) if value else "—"


def pdf_labels(cert: Any) -> dict[str, str]:
    """The certificate PDF's labels in the reader's language (portal.credit.pdf)."""
    status = cert.snapshot.get("status", "")
    labels = {
        "title": _("企业安全生产信用记录查询证明"),
        "number": _("证明编号"),
        "issued": _("出具时间") + _("（北京时间）"),
        "name": _("企业名称"),
        "uscc": _("统一社会信用代码"),
        "status": _("状态") + ": " + word("status", status, ""),
        "restrictions": _("公示期内的限制") + ": " + ", ".join(
            word("restriction", r, r) for r in cert.snapshot.get("restrictions", [])),
        "last_changed": _("记录最后更新"),
        "check": _("正式文本为中文。"),
    }
    for key in ("past_listings", "removals", "decisions", "accidents"):
        labels[f"count_{key}"] = word("count", key, "")
    return labels
