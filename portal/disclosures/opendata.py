"""Open data views: the JSON API of each kind, CSV downloads, Atom feeds, /data and OpenAPI.

The lists take the list pages' filters (parsed by the same ``ListFilterForm``) and the queries of
``services.disclosures``; the formats come from ``services.opendata`` and the field spec.  A bad
filter or page is a 400 naming the parameter, never a 500 and never the value echoed.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from flask import (
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from werkzeug.datastructures import MultiDict

from portal import fieldspec, kinds
from portal.disclosures import bp
from portal.disclosures.forms import ListFilterForm
from portal.disclosures.search import MAX_PAGE as SEARCH_MAX_PAGE
from portal.disclosures.search import MAX_PER_PAGE, SearchForm
from portal.domain.catalog import DECISION_PUBLISH_WORKING_DAYS
from portal.extensions import limiter
from portal.models import DisclosureMixin
from portal.sanitize import plain_text
from portal.search_sync import search_index
from portal.services.publication import disclosures as service
from portal.services.publication import opendata
from search_index import KINDS as SEARCH_KINDS
from search_index import QueryInvalid, SearchUnavailable
from search_index.planner import MAX_QUERY_CHARS

KIND_PATTERN = kinds.URL_PATTERN
DEFAULT_PER_PAGE = 20


def _api_limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_api


# One named limit shared by the API, the downloads and the feeds: the same queries behind them.
opendata_limit = limiter.shared_limit(_api_limit, scope="opendata")


def _item_url(item: DisclosureMixin) -> str:
    return url_for("disclosures.detail", kind=item.KIND, item_id=item.id, _external=True)


def _filters(kind: str) -> tuple[ListFilterForm, list[str]]:
    """The list filters from the query string, and one message per invalid parameter."""
    form = ListFilterForm(kind, service.facets(kind), request.args)
    form.check()  # drops each invalid value
    problems = [f"参数 {name} 的值无效。" for name in form.filter_names
                if request.args.get(name) and not form[name].data]
    return form, problems


def _error(message: str, status: int = 400) -> Any:
    return jsonify(error=message), status


def _positive(name: str, default: int) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    return int(raw) if raw.isdigit() and 0 < int(raw) <= opendata.MAX_PAGE_NUMBER else None


@bp.get(f"/api/v1/<{KIND_PATTERN}:kind>")
@opendata_limit
def api_list(kind: str):
    form, problems = _filters(kind)
    page = _positive("page", 1)
    per_page = _positive("per_page", DEFAULT_PER_PAGE)
    if page is None:
        problems.append("参数 page 应为 1 或更大的整数。")
    if per_page is None or per_page > MAX_PER_PAGE:
        problems.append(f"参数 per_page 应为 1 到 {MAX_PER_PAGE} 之间的整数。")
    if problems:
        return _error(" ".join(problems))
    assert page is not None and per_page is not None
    try:
        result = service.list_published(kind, form.filters(), page=page, per_page=per_page)
    except service.PageOutOfRange as error:
        return _error(f"没有第 {error.requested} 页，共 {error.last_page} 页。", 404)
    next_url = (
        url_for("disclosures.api_list", kind=kind, **form.link_args(), page=page + 1,
                per_page=per_page, _external=True)
        if result.has_next else None
    )
    return jsonify(
        count=result.total,
        results=[opendata.item_json(item, _item_url(item)) for item in result.items],
        next=next_url,
    )


@bp.get(f"/api/v1/<{KIND_PATTERN}:kind>/<id:item_id>")
@opendata_limit
def api_item(kind: str, item_id: int):
    try:
        item = service.get_published(kind, item_id)
    except service.DisclosureNotFound:
        return _error("没有该条目。", 404)
    return jsonify(opendata.item_json(item, _item_url(item)))


@bp.get(f"/<{KIND_PATTERN}:kind>.csv")
@opendata_limit
def csv_download(kind: str):
    form, problems = _filters(kind)
    if problems:
        return Response(" ".join(problems), status=400, mimetype="text/plain")
    items = service.iter_published(kind, form.filters())
    lines = opendata.csv_lines(kind, items, _item_url,
                               decision_type=form.filters().decision_type)
    return Response(
        stream_with_context(line.encode("utf-8") for line in lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={kind}.csv",
                 "Content-Type": "text/csv; charset=utf-8"},
    )


def _atom(body: bytes) -> Response:
    return Response(body, mimetype="application/atom+xml")


@bp.get(f"/feeds/<{KIND_PATTERN}:kind>.atom")
@opendata_limit
def kind_feed(kind: str):
    form, problems = _filters(kind)
    if problems:
        return Response(" ".join(problems), status=400, mimetype="text/plain")
    items = service.latest_filtered(kind, form.filters(), limit=opendata.FEED_ENTRIES)
    return _atom(opendata.atom_feed(
        feed_id=url_for("disclosures.kind_feed", kind=kind, _external=True),
        title=f"{fieldspec.SPECS[kind].label} · 西双版纳州安全生产信息公开",
        self_url=url_for("disclosures.kind_feed", kind=kind, **form.link_args(), _external=True),
        alternate_url=url_for("disclosures.listing", kind=kind, **form.link_args(),
                              _external=True),
        entries=[opendata.item_entry(item, _item_url(item)) for item in items],
    ))


@bp.get("/feeds/search.atom")
@opendata_limit
def search_feed():
    form = SearchForm(request.args)
    problems = [str(p) for p in form.problems()]
    if not problems and not form.text:
        problems.append("缺少参数 q：请提供要搜索的词语。")
    if problems:
        return Response(" ".join(problems), status=400, mimetype="text/plain")
    try:
        results = search_index().search(form.query())
    except QueryInvalid as error:
        return Response(str(error), status=400, mimetype="text/plain")
    except SearchUnavailable:
        current_app.logger.exception("search index unavailable")
        return Response("搜索服务暂时不可用，请稍后再试。", status=503, mimetype="text/plain")
    entries = []
    for hit in results.hits:
        day = datetime.combine(hit.date, time(), UTC) if hit.date else None
        entries.append({
            "url": url_for("disclosures.detail", kind=hit.kind, item_id=hit.id, _external=True),
            "title": hit.title + ("（已撤回）" if hit.withdrawn else ""),
            "updated": day,
            "summary": plain_text(hit.snippet_html),
        })
    args = form.link_args()
    return _atom(opendata.atom_feed(
        feed_id=url_for("disclosures.search_feed", **args, _external=True),
        title=f"搜索“{form.text}” · 西双版纳州安全生产信息公开",
        self_url=url_for("disclosures.search_feed", **args, _external=True),
        alternate_url=url_for("disclosures.search", **args, _external=True),
        entries=entries,
    ))


def _filter_choices() -> dict[str, dict[str, list[str]]]:
    """Per kind, each filter's values: the fixed vocabularies, and the counties, sectors, years
    and departments found in the published data now (any other value is a 400)."""
    choices: dict[str, dict[str, list[str]]] = {}
    for kind in fieldspec.KINDS:
        form = ListFilterForm(kind, service.facets(kind), MultiDict())
        choices[kind] = {name: [value for value, _ in form[name].choices if value]
                         for name in form.filter_names}
    return choices


@bp.get("/api/v1/openapi.json")
@opendata_limit
def openapi():
    return jsonify(opendata.openapi_document(
        server_url=request.host_url.rstrip("/"),
        filter_choices=_filter_choices(),
        max_per_page=MAX_PER_PAGE,
        search_kinds=SEARCH_KINDS,
        max_query_chars=MAX_QUERY_CHARS,
        search_max_page=SEARCH_MAX_PAGE,
    ))


@bp.get("/data")
def data():
    return render_template(
        "disclosures/data.html",
        specs=fieldspec.SPECS,
        common=fieldspec.COMMON,
        exported=opendata.exported_fields,
        json_types=fieldspec.JSON_SCHEMAS,
        csv_forms=fieldspec.CSV_FORMS,
        choices=fieldspec.choices,
        filter_labels=fieldspec.FILTER_LABELS,
        filters=service.KIND_FILTERS,
        licence_name=opendata.LICENCE_NAME,
        licence_url=opendata.LICENCE_URL,
        attribution=opendata.ATTRIBUTION,
        max_per_page=MAX_PER_PAGE,
        feed_entries=opendata.FEED_ENTRIES,
        decision_days=DECISION_PUBLISH_WORKING_DAYS,
    )
