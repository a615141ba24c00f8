"""Template filters and globals shared by every blueprint."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, current_app, request, url_for
from flask.globals import _cv_request
from markupsafe import Markup

from portal import kinds
from portal.county_map import county_map_layout
from portal.i18n import (
    DEFAULT,
    TRANSLATED_ENDPOINTS,
    current_language,
    format_date,
    format_datetime,
    format_yuan,
    official,
)
from portal.models import local_date
from portal.sanitize import safe
from portal.translation import lazy_gettext as _l
from portal.translation import translate


def iso_date(value: date | datetime | None) -> str:
    """ISO date for a ``<time datetime>`` attribute; a moment becomes its Beijing date."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local_date(value)
    return value.isoformat()


def sanitized(html: str | None) -> Markup:
    """Stored rich text (e.g. an accident report) through the one allow-list, never ``|safe``."""
    return safe(html or "")


# The published kinds' names, their navigation names and their date labels, keyed by the Chinese
# (portal.kinds holds the Chinese; a kind whose words are not here shows them marked Chinese).
TRANSLATED_WORDS = {
    "权责清单": _l("权责清单"),
    "行政执法决定": _l("行政执法决定"),
    "事故调查报告": _l("事故调查报告"),
    "严重失信主体名单": _l("严重失信主体名单"),
    "失信名单": _l("失信名单"),
    "督办事项": _l("督办事项"),
    "督办": _l("督办"),
}
# The label of each kind's date (portal.fieldspec), keyed by the Chinese label.
DATE_LABELS = {
    "公开时间": _l("公开时间"),
    "决定日期": _l("决定日期"),
    "事故发生日期": _l("事故发生日期"),
    "列入日期": _l("列入日期"),
    "挂牌日期": _l("挂牌日期"),
}


def kind_label(kind: str) -> str:
    """The name of a published kind (权责清单, 行政处罚决定, …) in the reader's language; a kind
    without a translation yet keeps its Chinese name, marked as such (``official``)."""
    found = kinds.BY_KEY.get(kind)
    chinese = found.label if found else kind
    if current_language() == "zh":
        return chinese
    if chinese in TRANSLATED_WORDS:
        return str(TRANSLATED_WORDS[chinese])
    return official(chinese)


def kind_nav_label(kind: str) -> str:
    """A kind's (shorter) name in the public navigation, in the reader's language."""
    found = kinds.BY_KEY.get(kind)
    chinese = found.nav_label if found else kind
    if current_language() == "zh":
        return chinese
    if chinese in TRANSLATED_WORDS:
        return str(TRANSLATED_WORDS[chinese])
    return official(chinese)


def date_label(kind: str, chinese: str) -> str:
    """The label of a kind's date, in the reader's language (``chinese`` until translated)."""
    if current_language() == "zh":
        return chinese
    found = DATE_LABELS.get(chinese)
    return str(found) if found is not None else official(chinese)


def is_current(href: str) -> bool:
    """Whether the nav link ``href`` is the current page or a section above it."""
    ctx = _cv_request.get(None)  # not through the proxy: nine calls a page
    current = ctx.request if ctx is not None else request
    path = current.script_root + current.path
    home = current.script_root + "/"
    if href == home:
        return path == home
    return path == href or path.startswith(href.rstrip("/") + "/")


def item_url(item: Any, external: bool = False) -> str:
    """The permanent page of a published item."""
    if external:
        return url_for("disclosures.detail", kind=item.KIND, item_id=item.id, _external=True)
    return url_for("disclosures.detail", kind=item.KIND, item_id=item.id)  # kept (PortalFlask)


def N_(string: str) -> str:  # noqa: N802 - the name babel extracts (a default keyword)
    """Marks ``string`` for the catalogs; translated where it is shown."""
    return string


# What ``site_nav`` and ``fixed_part`` keep per app: per language and host (a forged Host makes
# a new key), so bounded: past this many, forgotten.
FIXED_PARTS_KEPT = 256
_FIXED = "portal_fixed_parts"


def _kept(ctx: Any, key: tuple[Any, ...], make: Any) -> Any:
    """``make()``, kept per app under ``key`` plus everything of the request a built link
    depends on (the URL adapter's script name, which holds the language prefix, its host,
    subdomain and scheme) and the language."""
    adapter = ctx.url_adapter
    if adapter is None:
        return make()
    key = (*key, adapter.script_name, adapter.server_name, adapter.subdomain,
           adapter.url_scheme, current_language())
    kept = ctx.app.extensions.setdefault(_FIXED, {})
    found = kept.get(key)
    if found is None:
        found = make()
        if len(kept) >= FIXED_PARTS_KEPT:
            kept.clear()
        kept[key] = found
    return found


def fixed_part(name: str) -> Markup:
    """A template that is the same on every page of a language (the footer), rendered once per
    language and host.  It sees the globals alone (``_``, ``url_for``), no page's values."""
    ctx = _cv_request.get(None)

    def render() -> Markup:
        # An autoescaped template of ours, rendered as any page's part is.
        return Markup(current_app.jinja_env.get_template(name).render())  # noqa: S704

    return render() if ctx is None else _kept(ctx, ("part", name), render)


def _nav_links() -> list[tuple[str, Any, bool, bool]]:
    """(href, text, links a page in Chinese only, is the report link) of the navigation bar, in
    the reader's language.  Texts as the template's ``_()`` gives them (marked safe), a kind's
    name as ``kind_nav_label`` does; on a page in another language a link to a page in Chinese
    only says so."""
    code = current_language()

    def said(string: str) -> Markup:
        return Markup(translate(code, string) % {})  # noqa: S704 - our catalog, as _() does

    report_href = url_for("reports.new")
    links: list[tuple[str, Any, str]] = [
        (url_for("disclosures.home"), said(N_("首页")), "disclosures.home"),
        *((url_for("disclosures.listing", kind=k.key), kind_nav_label(k.key),
           "disclosures.listing") for k in kinds.KINDS),
        (url_for("credit.check"), said(N_("信用查询")), "credit.check"),
        (url_for("statistics.stats"), said(N_("统计")), "statistics.stats"),
        (report_href, said(N_("我要举报")), "reports.new"),
    ]
    made = []
    for href, text, endpoint in links:
        chinese_only = code != DEFAULT and endpoint not in TRANSLATED_ENDPOINTS
        if chinese_only:
            text = said(N_("%(page)s (中文)")) % {"page": text}
        made.append((href, text, chinese_only, href == report_href))
    return made


def site_nav() -> list[tuple[str, Any, bool, bool, bool]]:
    """The navigation bar's links: (href, text, is the current page or a section above it,
    links a page in Chinese only, is the report link).  The links are made once per language
    and host; which is current, per request."""
    ctx = _cv_request.get(None)
    links = _nav_links() if ctx is None else _kept(ctx, ("nav",), _nav_links)
    return [(href, text, is_current(href), chinese_only, report)
            for href, text, chinese_only, report in links]


def register(app: Flask) -> None:
    # Block tags leave no blank lines behind: smaller, readable HTML.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(format_date, "cn_date")
    app.add_template_filter(format_datetime, "cn_datetime")
    app.add_template_filter(iso_date, "iso_date")
    app.add_template_filter(format_yuan, "yuan")
    app.add_template_filter(sanitized, "sanitized")
    app.add_template_global(kind_label)
    # base.html and the home page: some pages pass a ``kind_label`` of their own.
    app.add_template_global(kind_label, "kind_name")
    app.add_template_global(kind_nav_label)
    app.add_template_global(date_label)
    # The published kinds (portal.kinds): navigation, home page, back office iterate this.
    app.add_template_global(kinds.KINDS, "published_kinds")
    app.add_template_global(is_current)
    app.add_template_global(site_nav)
    app.add_template_global(fixed_part)
    app.add_template_global(item_url)
    app.add_template_global(county_map_layout)
