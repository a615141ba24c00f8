"""信用修复 applications in the back office: the queue (overdue first), an application's page,
its steps and its documents.

Editors (who keep the blacklist) accept, ask for more and propose the decision; an approver who
is not the proposer approves or returns it, and revokes a grant obtained by fraud.  The rules,
four eyes included, are in ``portal.services.enterprises.repair``; every step is audited there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.credit.models import RepairApplication
from portal.credit.repair_forms import AskForm, ProposeForm, ReturnForm, RevokeForm, StepForm
from portal.services.enterprises import repair as service
from portal.staff.access import requires
from portal.staff.blueprint import bp
from portal.staff.forms import apply_errors
from portal.staff.models import APPROVER, EDITOR


def _actor() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _application(application_id: int) -> RepairApplication:
    try:
        return service.get(application_id)
    except LookupError:
        abort(404)


def _to(application: RepairApplication) -> Any:
    return redirect(url_for("staff.repair_detail", application_id=application.id), code=303)


@bp.get("/repair")
@requires(EDITOR, APPROVER)
def repair_queue():
    show_all = request.args.get("all") == "1"
    rows = service.queue(open_only=not show_all)
    return render_template("staff/repair/queue.html", rows=rows, show_all=show_all,
                           days=service.decision_working_days())


def _detail_page(application: RepairApplication, forms: dict[str, Any] | None = None,
                 status: int = 200) -> Any:
    all_forms = {step.name: step.form(formdata=None, prefix=step.name)
                 for step in STEPS} | (forms or {})
    names = service.staff_names({application.proposed_by_id, application.decided_by_id})
    rows = {r.application.id: r for r in service.queue(open_only=True)}
    return render_template(
        "staff/repair/detail.html", application=application, forms=all_forms, names=names,
        row=rows.get(application.id), eligibility=service.eligibility(application.entry)
        if application.is_open else None,
        is_editor=EDITOR in current_user.roles, is_approver=APPROVER in current_user.roles,
        own_proposal=application.proposed_by_id == current_user.id,
        refusal=service.step_refusal(application, current_user),
        document_refusal=service.document_refusal(application, current_user),
    ), status


@bp.get("/repair/<id:application_id>")
@requires(EDITOR, APPROVER)
def repair_detail(application_id: int):
    return _detail_page(_application(application_id))


def _step(application_id: int, step: Step) -> Any:
    application = _application(application_id)
    form = step.form(prefix=step.name)
    if not form.validate():
        return _detail_page(application, {step.name: form}, status=400)
    try:
        step.perform(application, form)
    except service.ApplicationInvalid as exc:
        apply_errors(form, exc.errors)
        return _detail_page(application, {step.name: form}, status=400)
    except service.StepRefused as exc:
        flash(str(exc), "error")
        return _to(application)
    flash(step.done, "info")
    return _to(application)


@dataclass(frozen=True)
class Step:
    """A step on an application's page: its form (prefixed with the name), who may take it,
    what it does with the valid form, and the notice after."""

    name: str
    role: str
    form: type
    perform: Callable[[RepairApplication, Any], Any]
    done: str


STEPS = (
    Step("accept", EDITOR, StepForm,
         lambda a, f: service.accept(a, actor=_actor()), "已受理，开始审核。"),
    Step("ask", EDITOR, AskForm,
         lambda a, f: service.ask_more(a, actor=_actor(), question=f.question.data),
         "已要求申请人补充材料；申请人凭访问码可见。"),
    Step("propose", EDITOR, ProposeForm,
         lambda a, f: service.propose(a, actor=_actor(), outcome=f.outcome.data,
                                      decision_no=f.decision_no.data, reasons=f.reasons.data),
         "已提出审核意见，待另一位人员批准。"),
    Step("approve", APPROVER, StepForm,
         lambda a, f: service.approve(a, actor=_actor()), "已批准，决定已生效。"),
    Step("return", APPROVER, ReturnForm,
         lambda a, f: service.return_proposal(a, actor=_actor(), note=f.note.data),
         "已退回重新审核。"),
    Step("revoke", APPROVER, RevokeForm,
         lambda a, f: service.revoke(a, actor=_actor(), reason=f.reason.data),
         "已撤销信用修复，恢复列入名单。"),
)


def _step_view(step: Step) -> Callable[[int], Any]:
    def view(application_id: int) -> Any:
        return _step(application_id, step)

    view.__name__ = f"repair_{step.name}"
    return requires(step.role)(view)


# The step view, registered once per step: each its own endpoint (staff.repair_<name>, which
# the page's forms post to) carrying its own role, read by portal.staff.access.
for _s in STEPS:
    bp.add_url_rule(f"/repair/<id:application_id>/{_s.name}", endpoint=f"repair_{_s.name}",
                    view_func=_step_view(_s), methods=["POST"])


@bp.get("/repair/<id:application_id>/documents/<id:document_id>")
@requires(EDITOR, APPROVER)
def repair_document(application_id: int, document_id: int):
    application = _application(application_id)
    document = service.document_of(application, document_id)
    if document is None:
        abort(404)
    try:
        data = service.view_document(application, document, actor=_actor())
    except service.StepRefused as exc:
        flash(str(exc), "error")
        return _to(application)
    name = f"{application.number}-{document.id}.{document.extension}"
    return Response(data, mimetype=document.media_type, headers={
        # Downloaded, never shown inline: a PDF viewer in the back office runs nothing.
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
    })
