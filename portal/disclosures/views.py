"""Public pages: the home page, the four lists and every item's permanent page."""

from __future__ import annotations

from flask import abort, current_app, render_template, request

from portal import fieldspec
from portal.disclosures import bp
from portal.disclosures.forms import ListFilterForm
from portal.domain.catalog import (
    ACCIDENT_ASSESSMENT_YEARS,
    WITHDRAWAL_PUBLISH_WORKING_DAYS,
    decision_deadline_text,
)
from portal.models import DISCLOSURE_MODELS, AccidentReport, BlacklistEntry, Decision, local_today
from portal.page_cache import public_page
from portal.services.enterprises import blacklist_admin, objections, repair
from portal.services.publication import disclosures as service

KIND_PATTERN = "any(" + ", ".join(service.KINDS) + ")"
LATEST_ON_HOME = 5


def _intro(kind: str) -> str:
    """A short explanation of a kind, shown above its list; figures from the rules in force."""
    settings = current_app.config["SETTINGS"]
    if kind == "powers":
        return "本机关依法行使的行政职权及其实施依据、责任事项、追责情形和办理流程。"
    if kind == "decisions":
        return (
            f"行政执法决定自作出之日起公开：{decision_deadline_text()}决定被变更、撤销或者确认违法、无效的，"
            f"在{WITHDRAWAL_PUBLISH_WORKING_DAYS}个工作日内撤回并说明理由。"
        )
    if kind == "accidents":
        return (
            "生产安全事故调查报告经人民政府批复后全文公开；批复后"
            f"{ACCIDENT_ASSESSMENT_YEARS}年内对事故整改和防范措施落实情况进行评估并公开。"
        )
    return (
        f"安全生产严重失信主体名单：列入后公示{settings.blacklist_years}年，期满自动移出；"
        f"列入满{settings.blacklist_min_months_before_removal}个月后可申请信用修复，提前移出。"
    )


@bp.get("/")
@public_page
def home():
    return render_template(
        "disclosures/home.html",
        latest=service.latest_published(LATEST_ON_HOME),
        models=DISCLOSURE_MODELS,
        # Each kind's own date (decision, accident, listing), as on its list; powers: publication.
        date_labels={kind: fieldspec.label(kind, spec.date_field)
                     for kind, spec in fieldspec.SPECS.items()},
    )


@bp.get(f"/<{KIND_PATTERN}:kind>")
@public_page
def listing(kind: str):
    form = ListFilterForm(kind, service.facets(kind), request.args)
    messages = form.check()
    page = form.page_number()
    if page is None:
        messages.append("页码无效，已显示第 1 页。")
        page = 1
    filters = form.filters()
    try:
        result = service.list_published(kind, filters, page=page)
    except service.PageOutOfRange as error:
        messages.append(f"没有第 {error.requested} 页，共 {error.last_page} 页，已显示最后一页。")
        result = service.list_published(kind, filters, page=error.last_page)
    return render_template(
        "disclosures/list.html",
        kind=kind,
        label=DISCLOSURE_MODELS[kind].LABEL,
        intro=_intro(kind),
        form=form,
        messages=messages,
        result=result,
        link_args=form.link_args(),
        today=local_today(),
    )


@bp.get(f"/<{KIND_PATTERN}:kind>/<id:item_id>")
@public_page
def detail(kind: str, item_id: int):
    try:
        item = service.get_published(kind, item_id)
    except service.DisclosureNotFound:
        abort(404)
    today = local_today()
    extra: dict = {}
    if kind in objections.OBJECTION_KINDS and getattr(item, "uscc", None) \
            and not item.is_withdrawn:
        extra["objection_state"] = objections.public_state(kind, item.id)
        extra["objectable"] = True
    if isinstance(item, AccidentReport):
        extra["assessment"] = service.assessment_state(item, today)
        extra["days_after_approval"] = service.days_from_approval(item)
        extra["assessment_years"] = ACCIDENT_ASSESSMENT_YEARS
    if isinstance(item, BlacklistEntry):
        extra["earliest_removal"] = blacklist_admin.earliest_removal_date(item)
        extra["repair_state"] = repair.public_state(item)
        extra["repair"] = repair.eligibility(item, today)
    if isinstance(item, Decision):
        # Labels follow the decision's type: an inspection or a coercive measure is no penalty.
        extra["labels"] = fieldspec.decision_labels(item.decision_type)
        extra["item_kind_label"] = extra["labels"]["kind"]
    return render_template(
        "disclosures/detail.html",
        kind=kind,
        label=DISCLOSURE_MODELS[kind].LABEL,
        item=item,
        history=service.public_history(item),
        today=today,
        **extra,
    )
