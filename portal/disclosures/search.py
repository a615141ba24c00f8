"""Full-text search over the four published kinds: the page ``/search`` and ``/api/v1/search``.

Thin views: the form checks the input, ``search_index`` does the work.  Bad input of any kind
gets a message (a page or JSON with status 400), never a 500 and never the input echoed raw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import current_app, jsonify, render_template, request, url_for
from markupsafe import escape
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, Regexp

from portal import kinds
from portal.disclosures import bp
from portal.domain.catalog import COUNTIES, SECTORS
from portal.extensions import limiter
from portal.forms import PublicForm
from portal.i18n import DEFAULT, county_label, current_language, official
from portal.page_cache import keyed_in_front, public_page
from portal.params import YearField, search_text
from portal.search_sync import search_index
from portal.services.publication.disclosures import item_facts
from portal.translation import lazy_gettext as _l
from search_index import (
    KINDS,
    IndexBusy,
    QueryInvalid,
    SearchQuery,
    SearchResults,
    SearchUnavailable,
)
from search_index.planner import MAX_QUERY_CHARS

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 1000
SORT_CHOICES = [("relevance", _l("按相关度")), ("date", _l("按日期（新→旧）"))]


def _choices(pairs: list[tuple[str, Any]], official_names: bool = False) -> list[SelectChoice]:
    """``全部`` and the pairs; published names (counties, sectors) marked Chinese on a page in
    another language (the choices are built per request: ``SearchForm.__init__``)."""
    marked = {"lang": "zh-CN"} if official_names and current_language() != DEFAULT else None
    return [SelectChoice("", _l("全部")),
            *(SelectChoice(value, label, render_kw=marked) for value, label in pairs)]


# What the query planner (search_index) says about a query, in the reader's language.
_PLANNER_MESSAGES = {
    "引号没有配对：请补全引号，或去掉引号后再搜索。": _l("引号没有配对：请补全引号，或去掉引号后再搜索。"),
    "请输入要搜索的词语，例如企业名称、文号或统一社会信用代码。":
        _l("请输入要搜索的词语，例如企业名称、文号或统一社会信用代码。"),
    "搜索词只有标点符号：请输入文字、字母或数字。": _l("搜索词只有标点符号：请输入文字、字母或数字。"),
}


def _planner_message(message: str) -> Any:
    found = _PLANNER_MESSAGES.get(message)
    if found is not None:
        return found
    if re.match(r"搜索词太长了（\d+ 个字）", message):
        return _l("搜索词太长了，请精简到 %(n)s 个字以内。", n=MAX_QUERY_CHARS)
    return official(message)


@dataclass(frozen=True)
class Problem:
    """A message about the search input, and the id of the field to fix (None: not on the form).

    The page's error summary links each message to its field; the API sends the messages.
    """

    message: Any  # a str or a lazy translation
    field_id: str | None = None

    def __str__(self) -> str:
        return str(self.message)

    def __html__(self) -> str:
        # A planner message without a translation is shown marked Chinese (``official``).
        message = self.message
        return message.__html__() if hasattr(message, "__html__") else str(escape(message))


# The ids of the inputs on the search page (templates/disclosures/search.html).
FIELD_IDS = {"q": "search-q", "kind": "kind", "county": "county", "sector": "sector",
             "year": "year", "sort": "sort"}


def _search_limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_search


class SearchForm(PublicForm):
    """The search parameters, from the query string (a GET form that changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(_l("搜索词"), validators=[Optional(), Length(max=MAX_QUERY_CHARS)],
                    filters=[search_text])
    kind = SelectField(_l("信息类别"), validators=[Optional()], validate_choice=True)
    county = SelectField(_l("县（市、区）"), validators=[Optional()], validate_choice=True)
    sector = SelectField(_l("行业领域"), validators=[Optional()], validate_choice=True)
    year = YearField(_l("年份"), validate_choice=False)  # a text box on the page
    sort = SelectField(_l("排序"), validators=[Optional()], validate_choice=True,
                       choices=[SelectChoice(v, label) for v, label in SORT_CHOICES])
    page = StringField(_l("页码"), validators=[Optional(), Regexp(r"^\d{1,4}$")])
    per_page = StringField(_l("每页条数"), validators=[Optional(), Regexp(r"^\d{1,4}$")])

    MESSAGES = {
        "q": _l("搜索词太长了，请精简到 %(n)s 个字以内。", n=MAX_QUERY_CHARS),
        "kind": _l("信息类别无效，请从列表中选择。"),
        "county": _l("县（市、区）无效，请从列表中选择。"),
        "sector": _l("行业领域无效，请从列表中选择。"),
        "year": _l("年份应为四位数字，例如 2026。"),
        "sort": _l("排序方式只能是按相关度或按日期。"),
        "page": _l("页码应为 1 到 %(n)s 之间的整数。", n=MAX_PAGE),
        "per_page": _l("每页条数应为 1 到 %(n)s 之间的整数。", n=MAX_PER_PAGE),
    }

    def __init__(self, formdata: MultiDict[str, str]) -> None:
        super().__init__(formdata=formdata)
        from portal.templating import kind_label

        self.kind.choices = _choices([(k.key, kind_label(k.key)) for k in kinds.KINDS])
        self.county.choices = _choices(
            [(c, county_label(c) if current_language() != DEFAULT else c) for c in COUNTIES],
            official_names=True)
        self.sector.choices = _choices([(s, s) for s in SECTORS], official_names=True)

    def problems(self) -> list[Problem]:
        """One message per invalid parameter (the values themselves are never echoed)."""
        self.validate()
        problems = [Problem(self.MESSAGES[name], FIELD_IDS.get(name))
                    for name in self.MESSAGES if self[name].errors]
        if not self.page.errors and not 1 <= self.page_number <= MAX_PAGE:
            problems.append(Problem(self.MESSAGES["page"]))
        if not self.per_page.errors and not 1 <= self.per_page_number <= MAX_PER_PAGE:
            problems.append(Problem(self.MESSAGES["per_page"]))
        return problems

    @property
    def page_number(self) -> int:
        return int(self.page.data) if self.page.data and self.page.data.isdigit() else 1

    @property
    def per_page_number(self) -> int:
        raw = self.per_page.data
        return int(raw) if raw and raw.isdigit() else DEFAULT_PER_PAGE

    @property
    def text(self) -> str:
        return (self.q.data or "").strip()

    def query(self) -> SearchQuery:
        return SearchQuery(
            q=self.text,
            kinds=(self.kind.data,) if self.kind.data else (),
            county=self.county.data or "",
            sector=self.sector.data or "",
            year=self.year.data,
            sort=self.sort.data or "relevance",
            page=self.page_number,
            per_page=self.per_page_number,
        )

    def link_args(self, **changes: Any) -> dict[str, Any]:
        """The current parameters as query arguments (empty ones left out), with ``changes``."""
        args = {name: self[name].data for name in ("q", "kind", "county", "sector", "year", "sort")
                if self[name].data}
        if args.get("sort") == "relevance":
            del args["sort"]
        if self.per_page.data and self.per_page_number != DEFAULT_PER_PAGE:
            args["per_page"] = self.per_page_number
        args.update(changes)
        return {k: v for k, v in args.items() if v not in (None, "")}

    @property
    def filtered(self) -> bool:
        return any(self[name].data for name in ("kind", "county", "sector", "year"))


# One limit shared by the page and the API: the same work behind both.
search_limit = limiter.shared_limit(_search_limit, scope="search")


@keyed_in_front  # the index's generation: a file read, no request or session
def _index_generation() -> int | None:
    """The search index's generation, for the page cache (None when it cannot be read: the
    view then answers 503, which is never kept)."""
    try:
        return search_index().generation()
    except (SearchUnavailable, IndexBusy, OSError):
        return None


# A results page is kept per (data generation, index generation, URL): a query asked again
# (paging back, a shared link, a busy topic) is served as a list page is.  The limit is checked
# before the cache, so a cached page still counts.
@bp.get("/search")
@search_limit
@public_page(also_keyed_by=_index_generation)
def search():
    form = SearchForm(request.args)
    problems = form.problems()
    results: SearchResults | None = None
    status = 200
    if not problems and form.text:
        try:
            results = search_index().search(form.query())
        except QueryInvalid as error:
            problems.append(Problem(_planner_message(str(error)), FIELD_IDS["q"]))
        except SearchUnavailable:
            current_app.logger.exception("search index unavailable")
            problems.append(Problem(_l("搜索服务暂时不可用，请稍后再试。")))
            status = 503
    if problems and status == 200:
        status = 400
    return render_template(
        "disclosures/search.html",
        form=form,
        problems=problems,
        results=results,
        kinds=KINDS,
        max_page=MAX_PAGE,
        # A badge per hit naming what it is (a decision by its type), and its department and
        # number, what tells same-titled items apart: one query per kind on the page.
        hit_facts=item_facts([(hit.kind, hit.id) for hit in results.hits]) if results else {},
    ), status


@bp.get("/api/v1/search")
@search_limit
def api_search():
    form = SearchForm(request.args)
    problems = form.problems()
    if not problems and not form.text:
        problems.append(Problem("缺少参数 q：请提供要搜索的词语。"))
    if problems:
        return jsonify(error=" ".join(map(str, problems))), 400
    try:
        results = search_index().search(form.query())
    except QueryInvalid as error:
        return jsonify(error=str(error)), 400
    except SearchUnavailable:
        current_app.logger.exception("search index unavailable")
        return jsonify(error="搜索服务暂时不可用，请稍后再试。"), 503
    next_url = (
        url_for("disclosures.api_search", **form.link_args(page=results.page + 1,
                                                          per_page=results.per_page),
                _external=True)
        if results.has_next
        else None
    )
    return jsonify(
        count=results.total,
        results=[
            {
                "kind": hit.kind,
                "id": hit.id,
                "title": hit.title,
                "url": url_for("disclosures.detail", kind=hit.kind, item_id=hit.id,
                               _external=True),
                "date": hit.date.isoformat() if hit.date else None,
                "snippet": hit.snippet_html,
            }
            for hit in results.hits
        ],
        next=next_url,
    )
