"""Public pages: the home page, each kind's list and every item's permanent page."""

from __future__ import annotations

from flask import Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _

from portal import fieldspec, kinds
from portal.disclosures import bp
from portal.disclosures.forms import ListFilterForm
from portal.domain import supervision as supervision_rules
from portal.domain.catalog import ACCIDENT_ASSESSMENT_YEARS
from portal.models import (
    AccidentReport,
    BlacklistEntry,
    Decision,
    SupervisionItem,
    local_date,
    local_today,
)
from portal.page_cache import SHARED_MAX_AGE, STALE_WHILE_REVALIDATE, public_page
from portal.published_words import kind_intro
from portal.services.enterprises import blacklist_admin, objections, repair
from portal.services.publication import disclosures as service
from portal.services.publication import supervision, supervision_photos

KIND_PATTERN = kinds.URL_PATTERN
LATEST_ON_HOME = 5


def _intro(kind: str) -> str:
    """A short explanation of a kind, shown above its list; figures from the rules in force
    (in the reader's language)."""
    return kind_intro(kind, current_app.config["SETTINGS"])


@bp.get("/")
@public_page
def home():
    return render_template(
        "disclosures/home.html",
        latest=service.latest_published(LATEST_ON_HOME),
        date_fields={k.key: k.date_field for k in kinds.KINDS},
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
        messages.append(_("页码无效，已显示第 1 页。"))
        page = 1
    filters = form.filters()
    try:
        result = service.list_published(kind, filters, page=page)
    except service.PageOutOfRange as error:
        messages.append(_("没有第 %(requested)s 页，共 %(last)s 页，已显示最后一页。",
                          requested=error.requested, last=error.last_page))
        result = service.list_published(kind, filters, page=error.last_page)
    county_map_rows = None
    if kind == "supervision":
        # The map of open items per county, each county linking to the filtered list.
        county_map_rows = [(county, n, url_for("disclosures.listing", kind=kind, county=county))
                           for county, n in supervision.open_per_county()]
    return render_template(
        "disclosures/list.html",
        kind=kind,
        county_map_rows=county_map_rows,
        label=kinds.get(kind).label,
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
        extra["repair_state"] = repair.public_outcome(item)
        extra["repair"] = repair.eligibility(item, today)
    if isinstance(item, SupervisionItem):
        extra["timeline"] = supervision.timeline(item)
        extra["accident"] = (item.accident if item.accident is not None
                             and item.accident.is_published else None)
        extra["publish_days"] = supervision_rules.PUBLISH_WORKING_DAYS
        extra["published_on_time"] = (item.publish_due is None or item.published_at is None
                                      or local_date(item.published_at) <= item.publish_due)
        extra["next_steps"] = [step.label for step in supervision.allowed_steps(item)]
        extra["photo_groups"] = supervision_photos.by_phase(item)
    if isinstance(item, Decision):
        # Labels follow the decision's type: an inspection or a coercive measure is no penalty.
        extra["labels"] = fieldspec.decision_labels(item.decision_type)
        extra["item_kind_label"] = extra["labels"]["kind"]
    return render_template(
        "disclosures/detail.html",
        kind=kind,
        label=kinds.get(kind).label,
        item=item,
        history=service.public_history(item),
        today=today,
        **extra,
    )


# A browser keeps a photo a day (its bytes never change: an id is never reused); a shared cache
# only as long as it keeps a page, so a photo taken down is gone from it as soon as from the page.
PHOTO_CACHE_CONTROL = (f"public, max-age=86400, s-maxage={SHARED_MAX_AGE}, "
                       f"stale-while-revalidate={STALE_WHILE_REVALIDATE}")


@bp.get("/supervision/<id:item_id>/photos/<id:photo_id>", defaults={"part": "full"})
@bp.get("/supervision/<id:item_id>/photos/<id:photo_id>/thumbnail", defaults={"part": "thumbnail"})
def supervision_photo(item_id: int, photo_id: int, part: str):
    """A rectification photo of a published 督办事项 (or its thumbnail), as staff uploaded it
    through ``portal.images``: pixels only."""
    photo = supervision_photos.find(item_id, photo_id, published_only=True)
    if photo is None:
        abort(404)
    etag = f"sp{photo.id}{part[0]}"
    if request.if_none_match.contains(etag):  # the bytes never change: nothing to read
        response = Response(status=304)
    else:
        found = supervision_photos.file(item_id, photo_id, part, published_only=True)
        if found is None:
            abort(404)
        response = Response(found[0], mimetype=found[1])
        response.headers["Content-Disposition"] = "inline"
    response.set_etag(etag)
    response.headers["Cache-Control"] = PHOTO_CACHE_CONTROL
    return response
