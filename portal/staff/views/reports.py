"""Reports and rewards in the back office: the queue, the report page and its steps, photos,
reward approval and payment.

Need-to-know (``portal.services.reporting.cases`` decides and checks; these views only choose the page):
the handler a report is assigned to reads and works it; other handlers, approvers and
administrators see its queue line; an approver sees what a reward decision needs; payment
details only the assigned handler who records the payment.  Administrators see no report
content (they may reassign).  Every view of a report's content is one audit event; the photos
its page shows are covered by it.
"""

from __future__ import annotations

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
from flask_login import current_user
from sqlalchemy import or_, select

from portal import tokens
from portal.domain.accidents import LEVEL_LABELS
from portal.extensions import db
from portal.models import (
    CLOSED_AS,
    REPORT_KINDS,
    VERIFICATION_RESULTS,
    Decision,
    Report,
    Reward,
    local_today,
)
from portal.services.publication import supervision
from portal.services.reporting import cases, reward_claims, rewards
from portal.services.reporting import reports as report_service
from portal.staff.access import requires
from portal.staff.blueprint import bp
from portal.staff.forms import (
    ActionForm,
    AssignForm,
    ClaimSlipForm,
    CloseForm,
    DeclineForm,
    DuplicateForm,
    ExtendForm,
    LinkDecisionForm,
    MessageForm,
    PaymentForm,
    RejectRewardForm,
    ReopenForm,
    ReportFilterForm,
    RewardFilterForm,
    VerifyForm,
    apply_errors,
    page_number,
)
from portal.staff.models import ADMIN, APPROVER, HANDLER

# How many of an enterprise's decisions the 文号 picker offers.
DECISION_SUGGESTIONS = 20


def _actor() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _report(report_id: int) -> Report:
    try:
        return cases.get_report(report_id)
    except cases.ReportNotFound:
        abort(404)


def _reward(reward_id: int) -> Reward:
    try:
        return rewards.get_reward(reward_id)
    except rewards.RewardNotFound:
        abort(404)


def _to_report(report: Report, anchor: str | None = None) -> Any:
    return redirect(url_for("staff.report_detail", report_id=report.id, _anchor=anchor), code=303)


def _to_reward(reward: Reward) -> Any:
    return redirect(url_for("staff.reward_detail", reward_id=reward.id), code=303)


# ---------------------------------------------------------------- the queue


def _render_queue(number: str = "", number_error: str = "", status: int = 200) -> Any:
    filters = ReportFilterForm(request.args)
    valid = filters.validate()  # an unknown status or kind filters nothing
    assigned = (filters.assigned.data or "") if valid else ""
    page = cases.queue(
        status=(filters.status.data or "") if valid else "",
        kind=(filters.kind.data or "") if valid else "",
        handler_id=current_user.id if assigned == "mine" else None,
        unassigned=assigned == "none",
        page=page_number(request.args.get("page")),
        page_size=current_app.config["SETTINGS"].page_size,
    )
    names = cases.handler_names({row.report.handler_id for row in page.rows})
    return render_template("staff/reports/queue.html", page=page, filters=filters,
                           kinds=REPORT_KINDS, names=names, number=number,
                           number_error=number_error), status


@bp.get("/reports/")
@requires(HANDLER, APPROVER, ADMIN)
def report_queue():
    return _render_queue()


@bp.get("/reports/find")
@requires(HANDLER, APPROVER, ADMIN)
def report_find():
    """Find a report by its number (JB2026-000008) and go to its page (which shows what the
    account may see of it)."""
    number = (request.args.get("number") or "")[:100]
    if not number.strip():
        return _render_queue()  # an empty search: the queue as it is
    try:
        report = cases.find_by_number(number)
    except cases.NumberInvalid as exc:
        return _render_queue(number, str(exc), 400)
    except cases.ReportNotFound as exc:
        return _render_queue(number, str(exc), 404)
    return redirect(url_for("staff.report_detail", report_id=report.id), code=303)


# ---------------------------------------------------------------- the report page


def _decision_suggestions(report: Report) -> list[Decision]:
    """Decisions about the reported enterprise (same credit code or party name), newest first,
    compared in memory-decrypted form against the decisions' own columns."""
    same = []
    if report.uscc:
        same.append(Decision.uscc == report.uscc)
    if report.enterprise_name:
        same.append(Decision.party_name == report.enterprise_name)
    if not same:
        return []
    return list(db.session.scalars(
        select(Decision).where(or_(*same), Decision.withdrawn_at.is_(None))
        .order_by(Decision.decision_date.desc()).limit(DECISION_SUGGESTIONS)
    ).unique())


def _assign_form(report: Report, form: AssignForm | None = None) -> AssignForm | None:
    """The reassignment form if this account may reassign the report (admin or its handler)."""
    if ADMIN not in current_user.roles and not cases.is_assigned(report, _actor()):
        return None
    form = form or AssignForm(formdata=None)
    form.handler_id.choices = [(h.id, h.name) for h in cases.assignable_handlers()
                               if h.id not in (current_user.id, report.handler_id)]
    return form


def _render_line(page: cases.CasePage, report: Report, status: int = 200,
                 assign_form: AssignForm | None = None, **forms: Any) -> Any:
    """The page of a report whose content this account may not read: its queue line, and for
    an approver what the reward decision needs."""
    for form in forms.values():
        for message in [*form.form_errors, *(m for ms in form.errors.values() for m in ms
                                             if isinstance(m, str))]:
            flash(message, "error")
    return render_template(
        "staff/reports/line.html", page=page, line=page.line, summary=page.reward_report,
        today=local_today(), names=cases.handler_names({page.line.handler_id}),
        can_take=HANDLER in current_user.roles and page.line.handler_id is None,
        assign_form=_assign_form(report, assign_form), results=VERIFICATION_RESULTS,
        levels=LEVEL_LABELS,
        matter=cases.matter_reports(report) if page.reward_report is not None else [],
    ), status


def _render_report(report: Report, status: int = 200, **forms: Any) -> Any:
    """The report page as this account may see it; ``forms`` replace the blank forms (a step
    that failed, with its errors and what was typed).  Showing content is one audited view of
    the report (``cases.open_report``), which covers the photos on the page."""
    page = cases.open_report(report, actor=_actor())
    assign_form = forms.pop("assign_form", None)
    if page.level != cases.CONTENT:
        return _render_line(page, report, status, assign_form, **forms)
    blank = {
        "accept_form": ActionForm, "decline_form": DeclineForm, "message_form": MessageForm,
        "extend_form": ExtendForm, "verify_form": VerifyForm, "decision_form": LinkDecisionForm,
        "duplicate_form": DuplicateForm, "close_form": CloseForm, "reopen_form": ReopenForm,
        "propose_form": ActionForm,
    }
    context = {name: forms.get(name) or form_class(formdata=None)
               for name, form_class in blank.items()}
    failed = next((form for form in forms.values() if form.errors), None)
    eligibility: Any
    try:
        eligibility = rewards.check_eligible(report)
    except rewards.RewardNotAllowed as exc:
        eligibility = str(exc)
    return render_template(
        "staff/reports/detail.html",
        report=report,
        due=cases.deadline(report),
        today=local_today(),
        candidates=cases.candidate_duplicates(report),
        matter=cases.matter_reports(report),
        decisions=_decision_suggestions(report) if report.purged_on is None else [],
        eligibility=eligibility,
        failed=failed,
        is_handler=HANDLER in current_user.roles,
        results=VERIFICATION_RESULTS,
        closed_as=CLOSED_AS,
        levels=LEVEL_LABELS,
        assign_form=_assign_form(report, assign_form),
        handler_name=cases.handler_names({report.handler_id}).get(report.handler_id or 0),
        photo_thumbnail=_photo_thumbnail_url,
        may_open_supervision=supervision.may_open_from(report),
        **context,
    ), status


def _photo_thumbnail_url(photo: Any) -> str:
    """The thumbnail's address for this page view: valid for minutes, for this viewer only."""
    token = report_service.staff_photo_link(photo, viewer_id=current_user.id)
    return url_for("staff.report_photo_thumbnail", report_id=photo.report_id,
                   photo_id=photo.id, t=token)


@bp.get("/reports/<id:report_id>")
@requires(HANDLER, APPROVER, ADMIN)
def report_detail(report_id: int):
    return _render_report(_report(report_id))


@bp.post("/reports/<id:report_id>/take")
@requires(HANDLER)
def report_take(report_id: int):
    def take(report: Report, form: Any) -> str:
        cases.take(report, actor=_actor())
        return "您已承办该举报。"

    return _step(report_id, "take_form", ActionForm, take)


@bp.post("/reports/<id:report_id>/assign")
@requires(HANDLER, ADMIN)
def report_assign(report_id: int):
    report = _report(report_id)
    form = _assign_form(report, AssignForm())
    if form is None:
        abort(403)

    def assign(report: Report, form: Any) -> str:
        target = cases.assign(report, actor=_actor(), handler_id=form.handler_id.data)
        return f"已改派给 {target.name}。"

    return _run_step(form, lambda f: assign(report, f), None,
                     done=lambda: _to_report(report), refused=lambda: _to_report(report),
                     again=lambda: _render_report(report, 400, assign_form=form))


def _photo(report_id: int, photo_id: int) -> tuple[Report, Any]:
    """The report and its photo, for whoever may read the report's content (403 otherwise)."""
    report = _report(report_id)
    try:
        return report, cases.photo_for(report, photo_id, actor=_actor())
    except cases.AccessDenied:
        abort(403)
    except cases.ReportNotFound:
        abort(404)


@bp.get("/reports/<id:report_id>/photos/<id:photo_id>")
@requires(HANDLER)
def report_photo(report_id: int, photo_id: int):
    report, photo = _photo(report_id, photo_id)
    # Opening a full photo is a deliberate step beyond the page's view: audited by itself
    # (the thumbnails the page shows are covered by its view, ``report_photo_thumbnail``).
    cases.record_photo_view(report, photo, actor=_actor())
    response = Response(photo.data, mimetype=photo.media_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.get("/reports/<id:report_id>/photos/<id:photo_id>/thumbnail")
@requires(HANDLER)
def report_photo_thumbnail(report_id: int, photo_id: int):
    """A thumbnail on the report page, for the report's assigned handler only (need-to-know).
    Not audited on its own when its link (``t``) was made minutes ago for this viewer by a
    page view, which was audited; without such a link (a page left open, a link passed on)
    the thumbnail is audited like the photo itself."""
    report, photo = _photo(report_id, photo_id)
    try:
        report_service.check_staff_photo_link(request.args.get("t", ""), photo,
                                              viewer_id=current_user.id)
    except report_service.PhotoLinkInvalid:
        cases.record_photo_view(report, photo, actor=_actor())
    data, media_type = report_service.photo_thumbnail(photo)
    response = Response(data, mimetype=media_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def _run_step(form: Any, action: Any, names: dict[str, str] | None,
              done: Any, refused: Any, again: Any) -> Any:
    """One back-office step from its form: on success flash and ``done()``; on invalid values
    ``again()`` with the errors at their fields (400); a refused step flashes and ``refused()``.
    A refused step is rolled back first: nothing of it may ride along with the view's audit."""
    if form.validate_on_submit():
        try:
            message = action(form)
        except (cases.CaseValuesInvalid, rewards.RewardValuesInvalid) as exc:
            db.session.rollback()
            apply_errors(form, exc.errors, names)
        except (cases.CaseError, rewards.RewardError) as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return refused()
        else:
            flash(message, "info")
            return done()
    return again()


def _step(report_id: int, form_name: str, form_class: type, action: Any,
          names: dict[str, str] | None = None, anchor: str | None = None) -> Any:
    """A handler's step on a report (see ``_run_step``)."""
    report = _report(report_id)
    form = form_class()
    return _run_step(form, lambda f: action(report, f), names,
                     done=lambda: _to_report(report, anchor), refused=lambda: _to_report(report),
                     again=lambda: _render_report(report, 400, **{form_name: form}))


@bp.post("/reports/<id:report_id>/accept")
@requires(HANDLER)
def report_accept(report_id: int):
    def accept(report: Report, form: Any) -> str:
        due = cases.accept(report, actor=_actor())
        return f"已受理，核查期限为 {cases.cn_date(due)}。"

    return _step(report_id, "accept_form", ActionForm, accept)


@bp.post("/reports/<id:report_id>/decline")
@requires(HANDLER)
def report_decline(report_id: int):
    def decline(report: Report, form: Any) -> str:
        cases.decline(report, actor=_actor(), reason=form.decline_reason.data)
        return "已作不予受理，举报人查询时可以看到理由。"

    return _step(report_id, "decline_form", DeclineForm, decline, {"reason": "decline_reason"})


@bp.post("/reports/<id:report_id>/message")
@requires(HANDLER)
def report_message(report_id: int):
    def send(report: Report, form: Any) -> str:
        cases.send_message(report, actor=_actor(), body=form.message_body.data)
        return "消息已发送，举报人凭回执码查询时可以看到。"

    return _step(report_id, "message_form", MessageForm, send, {"body": "message_body"},
                 anchor="messages-title")


@bp.post("/reports/<id:report_id>/extend")
@requires(HANDLER)
def report_extend(report_id: int):
    def extend(report: Report, form: Any) -> str:
        due = cases.extend(report, actor=_actor(), days=form.extend_days.data,
                           reason=form.extend_reason.data)
        return f"核查期限已延长至 {cases.cn_date(due)}。"

    return _step(report_id, "extend_form", ExtendForm, extend,
                 {"days": "extend_days", "reason": "extend_reason"})


@bp.post("/reports/<id:report_id>/verify")
@requires(HANDLER)
def report_verify(report_id: int):
    def verify(report: Report, form: Any) -> str:
        cases.verify(report, actor=_actor(), result=form.result.data,
                     concealed_deaths=form.concealed_deaths.data, confirmed_level=form.level())
        return f"已登记核查结果：{VERIFICATION_RESULTS[form.result.data]}。"

    return _step(report_id, "verify_form", VerifyForm, verify)


@bp.post("/reports/<id:report_id>/decision")
@requires(HANDLER)
def report_link_decision(report_id: int):
    def link(report: Report, form: Any) -> str:
        decision = cases.link_decision(report, actor=_actor(), document_no=form.document_no.data,
                                       hazard_fine_yuan=form.hazard_fine_yuan.data)
        return f"已关联处罚决定 {decision.document_no}。"

    return _step(report_id, "decision_form", LinkDecisionForm, link)


@bp.post("/reports/<id:report_id>/duplicate")
@requires(HANDLER)
def report_duplicate(report_id: int):
    def mark(report: Report, form: Any) -> str:
        original = cases.mark_duplicate(report, actor=_actor(), original_id=form.original_id())
        return f"已标记为 {original.number} 的重复举报并办结；举报人已被告知。"

    return _step(report_id, "duplicate_form", DuplicateForm, mark,
                 {"original_id": "original_number"})


@bp.post("/reports/<id:report_id>/close")
@requires(HANDLER)
def report_close(report_id: int):
    def close(report: Report, form: Any) -> str:
        cases.close(report, actor=_actor(), closed_as=form.closed_as.data,
                    note=form.close_note.data or "")
        return f"已办结：{CLOSED_AS[form.closed_as.data]}。"

    return _step(report_id, "close_form", CloseForm, close, {"note": "close_note"})


@bp.post("/reports/<id:report_id>/reopen")
@requires(HANDLER)
def report_reopen(report_id: int):
    def handle(report: Report, form: Any) -> str:
        due = cases.handle_reopening(report, actor=_actor(), outcome=form.reopen_outcome.data,
                                     note=form.reopen_note.data)
        return f"已重新受理，核查期限为 {cases.cn_date(due)}。" if due else "已维持办结。"

    return _step(report_id, "reopen_form", ReopenForm, handle,
                 {"outcome": "reopen_outcome", "note": "reopen_note"})


@bp.post("/reports/<id:report_id>/reward")
@requires(HANDLER)
def reward_propose(report_id: int):
    report = _report(report_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("页面已过期，请重试。", "error")
        return _to_report(report)
    try:
        reward = rewards.propose(report, actor=_actor())
    except (rewards.RewardError, cases.CaseError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _to_report(report)
    flash(f"已提出奖励 {reward.amount_yuan:,} 元，待其他人员审批。", "info")
    return _to_reward(reward)


# ---------------------------------------------------------------- rewards


@bp.get("/rewards/")
@requires(HANDLER, APPROVER)
def reward_list():
    filters = RewardFilterForm(request.args)
    valid = filters.validate()
    page = rewards.list_rewards(
        status=(filters.status.data or "") if valid else "",
        page=page_number(request.args.get("page")),
        page_size=current_app.config["SETTINGS"].page_size,
    )
    return render_template("staff/rewards/list.html", page=page, filters=filters,
                           today=local_today(), is_expired=reward_claims.is_expired)


def _render_reward(reward: Reward, status: int = 200, **forms: Any) -> Any:
    if not cases.may_see_reward(reward.report, _actor()):
        abort(403)
    # Only the payer reads them, and reading them is an audited view of the report.
    payment_details = cases.payment_details_for(reward, actor=_actor())
    context = {
        "approve_form": forms.get("approve_form") or ActionForm(formdata=None),
        "reject_form": forms.get("reject_form") or RejectRewardForm(formdata=None),
        "payment_form": forms.get("payment_form") or PaymentForm(formdata=None,
                                                                 data={"paid_on": local_today()}),
    }
    failed = next((form for form in forms.values() if form.errors), None)
    return render_template(
        "staff/rewards/detail.html", reward=reward, report=reward.report, failed=failed,
        results=VERIFICATION_RESULTS, payment_details=payment_details,
        can_pay=cases.may_pay(reward, _actor()),
        report_readable=cases.is_assigned(reward.report, _actor()),
        expired=reward_claims.is_expired(reward), can_decide=(
            APPROVER in current_user.roles and reward.proposed_by_id != current_user.id),
        **context,
    ), status


@bp.get("/rewards/<id:reward_id>")
@requires(HANDLER, APPROVER)
def reward_detail(reward_id: int):
    return _render_reward(_reward(reward_id))


def _reward_step(reward_id: int, form_name: str, form_class: type, action: Any,
                 names: dict[str, str] | None = None) -> Any:
    """An approver's or handler's step on a reward (see ``_run_step``)."""
    reward = _reward(reward_id)
    if not cases.may_see_reward(reward.report, _actor()):
        abort(403)
    form = form_class()
    return _run_step(form, lambda f: action(reward, f), names,
                     done=lambda: _to_reward(reward), refused=lambda: _to_reward(reward),
                     again=lambda: _render_reward(reward, 400, **{form_name: form}))


@bp.post("/rewards/<id:reward_id>/approve")
@requires(APPROVER)
def reward_approve(reward_id: int):
    def approve(reward: Reward, form: Any) -> str:
        due = rewards.approve(reward, actor=_actor())
        return f"已批准。举报人可在 {cases.cn_date(due)} 前申领。"

    return _reward_step(reward_id, "approve_form", ActionForm, approve)


@bp.post("/rewards/<id:reward_id>/reject")
@requires(APPROVER)
def reward_reject(reward_id: int):
    def reject(reward: Reward, form: Any) -> str:
        rewards.reject(reward, actor=_actor(), reason=form.reject_reason.data)
        return "已驳回，举报人查询时可以看到理由。"

    return _reward_step(reward_id, "reject_form", RejectRewardForm, reject,
                        {"reason": "reject_reason"})


@bp.post("/rewards/<id:reward_id>/pay")
@requires(HANDLER)
def reward_pay(reward_id: int):
    def pay(reward: Reward, form: Any) -> str:
        rewards.record_payment(reward, actor=_actor(), paid_on=form.paid_on.data,
                               reference=form.payment_reference.data)
        return "已登记发放。"

    return _reward_step(reward_id, "payment_form", PaymentForm, pay,
                        {"reference": "payment_reference"})


@bp.route("/rewards/slip", methods=["GET", "POST"])
@requires(HANDLER, APPROVER)
def reward_slip_check():
    """The counter: is the claim slip a reporter shows genuine, and for which reward?"""
    form = ClaimSlipForm()
    reward, status = None, 200
    if form.validate_on_submit():
        try:
            reward = rewards.check_slip_at_counter(form.slip.data, actor=_actor())
        except tokens.TokenExpired:
            form.slip.errors.append("这张领奖凭证已过申领期限，不能兑付。")
        except tokens.TokenInvalid:
            form.slip.errors.append(
                "这不是本平台签发的有效领奖凭证：可能输错、被改动、已被新凭证取代、举报人已撤回申领，或奖励已发放。"
            )
    if form.errors:
        status = 400
    return render_template("staff/rewards/slip.html", form=form, reward=reward), status
