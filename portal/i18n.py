"""The citizen's and enterprise's pages in English, Lao and Burmese (issue 16).

Chinese is the source and the default, served at the root.  Each other language has its own URL
prefix (``/en/…``, ``/lo/…``, ``/my/…``): ``LanguagePrefix`` (WSGI middleware) moves the prefix
from ``PATH_INFO`` into ``SCRIPT_NAME`` and records the language in the environ, so the routes
stay as they are and ``url_for`` builds prefixed links by itself.  The language comes from the
URL alone: nothing about the reader is stored, a cached page is in one language, and a link can
be shared in a language.

Only the endpoints in ``TRANSLATED_ENDPOINTS`` exist under a prefix; any other (the back office,
the API, CSV, feeds, static files, pages not yet translated) answers 404 there, and links to them
built on a translated page point at the root (``PortalFlask.url_for``).  A new page is added to
the set once its template is translated (README, "How to add a language / translate a new page").

The offer on the Chinese pages ("This page is available in English") follows the browser's
``Accept-Language``; it is kept out of every rendered body (the template writes ``OFFER_MARK``),
put in when the response leaves, and only the root's pages say ``Vary: Accept-Language``
(``portal.page_cache``): a cached page stays one body per URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date as babel_dates_format_date
from babel.numbers import format_decimal as babel_numbers_format_decimal
from flask import Flask, Response, abort, request
from flask.globals import _cv_request
from flask_babel import Babel
from markupsafe import Markup, escape

from portal.models import CLOSED_AS, VERIFICATION_RESULTS, local_date
from portal.translation import DEFAULT, ENVIRON_KEY, catalog, current_language, translate
from portal.translation import gettext as _
from portal.translation import lazy_gettext as _l

# Code → (the name in its own script, <html lang>, hreflang).
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "zh": ("中文", "zh-CN", "zh-CN"),
    "en": ("English", "en", "en"),
    "lo": ("ລາວ", "lo", "lo"),
    "my": ("မြန်မာ", "my", "my"),
}
PREFIXED = tuple(code for code in LANGUAGES if code != DEFAULT)
OFFER_MARK = b"<!--language-offer-->"

# Pages a citizen or an enterprise reads, translated: they alone are served under a prefix.
TRANSLATED_ENDPOINTS = frozenset({
    "disclosures.home",
    "reports.new",
    "reports.check",
    "reports.send",
    "reports.discard",
    "reports.receipt_download",
    "reports.followup",
    "reports.reply",
    "reports.reopen",
    "reports.claim_transfer",
    "reports.claim_slip",
    "reports.claim_slip_download",
    "reports.claim_slip_print",
    "reports.erase",
    "reports.draft_photo",
    "reports.case_photo",
    "credit.check",
    "credit.certificate",
    "credit.issue_certificate",
    "credit.certificate_pdf",
    "credit.verify",
    "disclosures.listing",
    "disclosures.detail",
    "disclosures.search",
    "disclosures.data",
    "repair.new",
    "repair.check",
    "repair.send",
    "repair.discard",
    "repair.followup",
    "repair.reply",
    "objection.new",
    "objection.check",
    "objection.send",
    "objection.followup",
    "statistics.stats",
    "statistics.compliance",
    "statistics.chart",
})


class LanguagePrefix:
    """WSGI middleware: ``/lo/report`` is served as ``/report`` with ``SCRIPT_NAME`` ``/lo``."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if len(path) >= 3 and path[0] == "/" and path[1:3] in PREFIXED \
                and (len(path) == 3 or path[3] == "/"):
            code = path[1:3]
            environ[ENVIRON_KEY] = code
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/" + code
            environ["PATH_INFO"] = path[3:] or "/"
        return self.app(environ, start_response)


def _select_locale() -> str:
    return current_language()


def root_path() -> str:
    """This page's path without any language prefix (``/report`` for ``/lo/report``)."""
    script = request.script_root
    code = request.environ.get(ENVIRON_KEY)
    if code and script.endswith("/" + code):
        script = script[: -len(code) - 1]
    return script + request.path


def language_url(code: str, path: str | None = None) -> str:
    """``path`` (this page's, with its query) in language ``code``."""
    if path is None:
        path = root_path()
        if request.query_string:
            path += "?" + _query()
    return path if code == DEFAULT else "/" + code + path



# gettext and lazy_gettext without Flask-Babel's per-call lookups (portal.translation): the
# source itself in Chinese, the catalog loaded once per process in the other languages.
say = _
lazy_say = _l


def _install_fast_gettext(app: Flask) -> None:
    """Templates' gettext without Flask-Babel's per-call lookups (domain, translations, locale:
    a page with sixty strings paid about 1.5 ms for them, bench: /credit).  Chinese, the source,
    returns the string itself; other languages read their catalog, loaded once.  Jinja's
    newstyle gettext does the %-formatting and escaping as before."""

    def gettext(string: str) -> str:
        return translate(current_language(), string)

    def ngettext(singular: str, plural: str, n: int) -> str:
        code = current_language()
        if code == DEFAULT:
            return singular if n == 1 else plural
        return catalog(code).ngettext(singular, plural, n)

    def pgettext(context: str, string: str) -> str:
        code = current_language()
        return string if code == DEFAULT else catalog(code).pgettext(context, string)

    def npgettext(context: str, singular: str, plural: str, n: int) -> str:
        code = current_language()
        if code == DEFAULT:
            return singular if n == 1 else plural
        return catalog(code).npgettext(context, singular, plural, n)

    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext)


def translated_path_matcher() -> Callable[[str], bool]:
    """For the sitemap: whether a root path (``/credit``) is served in every language."""
    from flask import current_app
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import RequestRedirect

    adapter = current_app.url_map.bind("localhost")

    def translated(path: str) -> bool:
        try:
            endpoint, _ = adapter.match(path, method="GET")
        except RequestRedirect:
            return False
        except HTTPException:
            return False
        return endpoint in TRANSLATED_ENDPOINTS

    return translated


def _query() -> str:
    """This request's query string for a link to the same page in another language: every
    character outside a query's plain syntax percent-encoded, so that nothing a visitor put in
    the URL comes back as text (``(``, quotes, ``<``)."""
    from urllib.parse import quote

    return quote(request.query_string.decode("latin-1"), safe="=&%+")


def is_translated() -> bool:
    """Whether this page exists in every language (its endpoint is translated)."""
    return request.endpoint in TRANSLATED_ENDPOINTS


# Accept-Language header → the language offered for it, per process.  Browsers send a few
# dozen distinct headers; a forged one is a new entry, so past this many they are forgotten.
OFFERS_KEPT = 1024
_OFFERS: dict[str, str | None] = {}


def offered_language() -> str | None:
    """On a Chinese page: the other language the browser asks for first, if it is one of ours.
    Worked out once per distinct header (parsing it was a tenth of a cached page)."""
    environ = request.environ
    header = environ.get("HTTP_ACCEPT_LANGUAGE")
    if not header or environ.get(ENVIRON_KEY):
        return None
    try:
        return _OFFERS[header]
    except KeyError:
        pass
    best = request.accept_languages.best_match(LANGUAGES)
    found = best if best and best != DEFAULT else None
    if len(_OFFERS) >= OFFERS_KEPT:
        _OFFERS.clear()
    _OFFERS[header] = found
    return found


# The offer, in its own language (it is read by someone who does not read Chinese).
OFFERS = {
    "en": "This page is available in English",
    "lo": "ໜ້ານີ້ມີເປັນພາສາລາວ",
    "my": "ဤစာမျက်နှာကို မြန်မာဘာသာဖြင့် ဖတ်နိုင်ပါသည်",
}


def offer_html(code: str) -> bytes:
    href = escape(language_url(code))
    return (f'<p class="language-offer" lang="{LANGUAGES[code][1]}"><a href="{href}" '
            f'hreflang="{LANGUAGES[code][2]}">{OFFERS[code]}</a></p>').encode()


def put_offer(body: bytes, code: str | None) -> bytes:
    """The page's body with the offer of ``code`` (or nothing) where the template marked it."""
    if OFFER_MARK not in body:
        return body
    return body.replace(OFFER_MARK, offer_html(code) if code else b"", 1)


# --- formatting ------------------------------------------------------------------------------

_MYANMAR_DIGITS = str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")


def native_digits(text: str) -> str:
    """Digits as the locale writes them: Burmese (CLDR's default numbering ``mymr``) in ``my``.
    Babel formats with Latin digits in every locale, so the one locale that uses its own is
    done here.  Codes (receipt codes, credit codes, report numbers) never pass through this."""
    return text.translate(_MYANMAR_DIGITS) if current_language() == "my" else text


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    """Babel's locale of ``code``, parsed once (Flask-Babel parsed it once per request)."""
    return Locale.parse(code)


@lru_cache(maxsize=4096)
def _formatted_date(code: str, value: date, format: str) -> str:  # noqa: A002
    """A day in one of Babel's formats of ``code`` ("long"), as Flask-Babel's ``format_date``
    gives it (no date format is configured), made once per language and day: a page of a
    list shows the same few days again and again."""
    return babel_dates_format_date(value, format, locale=_locale(code))


def babel_format_date(value: date, format: str) -> str:  # noqa: A002
    """Flask-Babel's ``format_date`` for this request's language, for a ``date``."""
    return _formatted_date(current_language(), value, format)


def babel_format_decimal(value: Any, format: str | None = None) -> str:  # noqa: A002
    """Flask-Babel's ``format_decimal`` for this request's language."""
    return babel_numbers_format_decimal(value, format=format, locale=_locale(current_language()))


def chinese_date(value: date | datetime | None) -> str:
    """A date as the Chinese pages (and official Chinese text, e.g. a certificate) write it."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = local_date(value)
    return f"{value.year}年{value.month}月{value.day}日"


def chinese_datetime(value: datetime | None) -> str:
    """A moment in Beijing time, to the minute, in Chinese: 2026年9月28日 14:05."""
    if value is None:
        return "—"
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def format_date(value: date | datetime | None) -> str:
    """A date in the reader's language (Babel's long format; Burmese digits in Burmese)."""
    if value is None or current_language() == DEFAULT:
        return chinese_date(value)
    if isinstance(value, datetime):
        value = local_date(value)
    return native_digits(babel_format_date(value, "long"))


def format_datetime(value: datetime | None) -> str:
    """A moment in Beijing time, to the minute, in the reader's language."""
    if value is None or current_language() == DEFAULT:
        return chinese_datetime(value)
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo("Asia/Shanghai"))
    return native_digits(babel_format_date(local.date(), "long") + f" {local:%H:%M}")


def format_number(value: int | Decimal | None) -> str:
    if value is None:
        return "—"
    if current_language() == DEFAULT:
        return f"{value:,}" if isinstance(value, int) else str(value)
    return native_digits(babel_format_decimal(value))


def format_yuan(value: Decimal | int | None) -> str:
    """An amount in yuan (it stays in yuan in every language; 万元 in Chinese only)."""
    if value is None:
        return "—"
    amount = Decimal(value)
    if current_language() == DEFAULT:
        if amount >= 10_000 and amount % 100 == 0:
            return f"{amount / 10_000:,.2f}".rstrip("0").rstrip(".") + " 万元"
        return f"{amount:,.2f}".rstrip("0").rstrip(".") + " 元"
    number = native_digits(babel_format_decimal(amount, format="#,##0.##"))
    return _("%(amount)s 元", amount=number)


def official(name: Any) -> Markup:
    """Chinese official text (a published name, a document's content) on a translated page:
    marked ``lang="zh-CN"`` for screen readers, and for the test that finds Han characters
    left in the interface (tests/test_i18n.py strips such elements)."""
    if current_language() == DEFAULT:
        return escape(name)
    return Markup('<span lang="zh-CN">{}</span>').format(name)


def switcher() -> list[tuple[str, str, str, str]]:
    """The language switcher's links: this page in each language, or, on a page that exists in
    Chinese only (every public page is translated now: a page not found), each language's home
    page."""
    found = alternates()
    if found:
        return found
    return [(code, name, lang, language_url(code, "/"))
            for code, (name, lang, _hreflang) in LANGUAGES.items()]


_ALTERNATES = "_portal_alternates"


def alternates() -> list[tuple[str, str, str, str]]:
    """(code, name, html lang, URL) of this page in each language; empty if it has no others.
    Made once per request (the head's ``hreflang`` links and the switcher both show them), and
    kept on the request object itself: another request context made from this one's environ
    (a refusal's page, made without the query) has its own."""
    ctx = _cv_request.get(None)
    found = getattr(ctx.request, _ALTERNATES, None) if ctx is not None else None
    if found is not None:
        return found
    if not is_translated():
        found = []
    else:
        path = root_path()
        if request.query_string:
            path += "?" + _query()
        found = [(code, name, lang, language_url(code, path))
                 for code, (name, lang, _hreflang) in LANGUAGES.items()]
    if ctx is not None:
        setattr(ctx.request, _ALTERNATES, found)
    return found


def init_app(app: Flask) -> None:
    """Babel (catalogs in portal/translations), the prefix middleware and the template helpers."""
    Babel(app, locale_selector=_select_locale, default_domain="messages",
          default_translation_directories="translations")
    _install_fast_gettext(app)
    app.wsgi_app = LanguagePrefix(app.wsgi_app)  # type: ignore[method-assign]
    # Flask-WTF, seeing Flask-Babel, would load WTForms' own catalog from disk on every request
    # with a form (bench: /credit took twice the CPU).  The forms' messages are this project's
    # own, translated here; WTForms' few built-in ones are ours too (portal.forms.BUILT_IN, said
    # in the page's language by PublicForm and in Chinese by StaffForm).
    app.config.setdefault("WTF_I18N_ENABLED", False)
    # {% trans %} blocks are joined on one line, as babel.cfg extracts them.
    app.jinja_env.policies["ext.i18n.trimmed"] = True

    @app.before_request
    def only_translated_pages_under_a_prefix() -> None:
        current = _cv_request.get().request  # every request: not through the proxy
        if current.environ.get(ENVIRON_KEY) and current.endpoint not in TRANSLATED_ENDPOINTS:
            abort(404)

    @app.after_request
    def offer_other_language(response: Response) -> Response:
        # Pages from the cache have theirs put in by portal.page_cache (it knows the ETag).
        if response.mimetype == "text/html" and not response.direct_passthrough \
                and not getattr(response, "offer_done", False) \
                and request.environ.get(ENVIRON_KEY) is None:
            body = response.get_data()
            if OFFER_MARK in body:
                response.set_data(put_offer(body, offered_language()))
                response.vary.add("Accept-Language")
        return response

    @app.context_processor
    def language_context() -> dict[str, Any]:
        code = current_language()
        return {"lang": code, "html_lang": LANGUAGES[code][1]}

    app.add_template_global(alternates)
    app.add_template_global(switcher)
    app.add_template_global(word)
    app.add_template_global(reporter_note)
    app.add_template_global(lambda endpoint: endpoint in TRANSLATED_ENDPOINTS,
                            "translated_endpoint")
    app.add_template_global(word, "credit_word")
    app.add_template_filter(official, "official")
    app.add_template_global(current_language)
    app.add_template_global(LANGUAGES, "LANGUAGES")
    app.add_template_filter(format_number, "number")
    app.add_template_filter(native_digits, "digits")


def url_for_in_root(url: str, endpoint: str) -> str:
    """A link built on a translated page to a page that is not translated: without the prefix."""
    ctx = _cv_request.get(None)
    code = ctx.request.environ.get(ENVIRON_KEY) if ctx is not None else None
    if not code or endpoint in TRANSLATED_ENDPOINTS:
        return url
    marker = "/" + code + "/"
    if url.startswith(marker):
        return url[len(code) + 1:]
    cut = url.find(marker, url.find("//") + 2) if url.startswith(("http://", "https://")) else -1
    return url[:cut] + url[cut + len(code) + 1:] if cut != -1 else url



# --- words of the report pages that the models keep in Chinese for the back office ----------


REPORTER_WORDS: dict[str, dict[str, Any]] = {
    "kind": {
        "hazard": _l("重大事故隐患"),
        "violation": _l("安全生产非法违法行为"),
        "concealed_accident": _l("瞒报谎报事故"),
    },
    "state": {
        "received": _l("已收到，待受理"),
        "accepted": _l("已受理，核查中"),
        "declined": _l("不予受理"),
        "verified": _l("已核查"),
        "closed": _l("已办结"),
        "reopened": _l("举报人反映仍未整改，待处理"),
    },
    "event": {
        "received": _l("举报已收到"),
        "accepted": _l("已受理，进入核查"),
        "declined": _l("不予受理"),
        "extended": _l("核查期限延长"),
        "verified": _l("核查完毕"),
        "decision_linked": _l("已依法作出处理决定"),
        "duplicate": _l("与先前举报为同一事项"),
        "closed": _l("已办结"),
        "reopened": _l("举报人反映仍未整改"),
        "reopen_handled": _l("已处理举报人的重新反映"),
        "deadline_moved": _l("期限按正式节假日安排调整"),
        "supervision_opened": _l("已提请挂牌督办"),
        "supervision_listed": _l("督办事项已挂牌公开"),
        "supervision_rectifying": _l("督办事项整改中"),
        "supervision_closed": _l("督办事项已销号"),
        "reward_approved": _l("奖励已批准"),
        "reward_rejected": _l("奖励未获批准"),
        "reward_claimed": _l("已申领奖励"),
        "reward_paid": _l("奖励已发放"),
    },
    # Values inside the notes the system writes on a step (see ``reporter_note``).
    "verification": {
        "属实": _l("属实"),
        "部分属实": _l("部分属实"),
        "不属实": _l("不属实"),
    },
    "closed_as": {
        "已整改": _l("已整改"),
        "已依法处理": _l("已依法处理"),
        "经核查不属实": _l("经核查不属实"),
        "与先前举报为同一事项": _l("与先前举报为同一事项"),
    },
    "supervision_step": {
        "开始整改": _l("开始整改"),
        "销号": _l("销号"),
    },
    # The public pages' status words (portal.domain.blacklist, accidents, the credit check).
    "blacklist_status": {
        "active": _l("公示中"),
        "expired": _l("已期满移出"),
        "removed": _l("已提前移出（信用修复）"),
        "pending": _l("待生效"),
    },
    "accident_level": {
        "一般事故": _l("一般事故"),
        "较大事故": _l("较大事故"),
        "重大事故": _l("重大事故"),
        "特别重大事故": _l("特别重大事故"),
    },
    "assessment": {
        "not_approved": _l("尚未批复"),
        "pending": _l("未到期"),
        "overdue": _l("已逾期未公开"),
        "done": _l("已按期公开"),
        "done_late": _l("已公开（逾期）"),
    },
    "status": {
        "listed": _l("列入严重失信主体名单，公示期内"),
        "not_listed": _l("未在严重失信主体名单公示期内"),
        "no_record": _l("本平台无该企业的公开记录"),
    },
    "count": {
        "past_listings": _l("已期满的失信名单记录"),
        "removals": _l("提前移出（信用修复）的失信名单记录"),
        "decisions": _l("行政执法决定"),
        "accidents": _l("生产安全事故调查报告"),
    },
    "restriction": {
        "经营": _l("经营"),
        "投融资": _l("投融资"),
        "政府采购": _l("政府采购"),
        "工程招投标": _l("工程招投标"),
        "国有土地出让": _l("国有土地出让"),
        "荣誉授予": _l("荣誉授予"),
        "进出口": _l("进出口"),
        "出入境": _l("出入境"),
        "资质审核": _l("资质审核"),
    },
    "reward": {
        "proposed": _l("已提出，待审批"),
        "approved": _l("已批准，可领取"),
        "rejected": _l("未批准"),
        "claimed": _l("已申领，待发放"),
        "paid": _l("已发放"),
    },
}


def word(group: str, key: str, fallback: str | None = None) -> str:
    """A fixed word of the public pages (a kind, a state, a step) in the reader's language; the
    Chinese ``fallback`` (the model's label) for a key added later and not yet translated, or
    the key itself when no fallback is given."""
    found = REPORTER_WORDS.get(group, {}).get(key)
    if found is not None:
        return str(found)
    return key if fallback is None else fallback


# The counties' official names stay Chinese; a reader of another language gets a romanisation
# beside them (the names on road signs and maps).  A county added later shows its name alone.
COUNTY_LATIN = {
    "景洪市": "Jinghong",
    "勐海县": "Menghai",
    "勐腊县": "Mengla",
    "西双版纳旅游度假区管委会": "Xishuangbanna Tourist Resort",
    "磨憨经济开发区管委会": "Mohan (Boten) Economic Zone",
    "景洪工业园区管委会": "Jinghong Industrial Park",
}


def county_label(name: str) -> Any:
    """A county's name as a choice of the report form: lazy, so it follows the reader's
    language when the form is rendered."""
    from flask_babel import LazyString

    def label() -> str:
        latin = COUNTY_LATIN.get(name)
        return f"{name} ({latin})" if latin and current_language() != DEFAULT else name

    return LazyString(label)


# --- notes the system writes on a report's step ----------------------------------------------

# The services write a step's note in Chinese for the back office (reporting.cases and
# reward_claims, publication.supervision, operations.deadlines), some with a date, a result or
# a number inside.  The reporter reads each of them in their own language; what a handler typed
# around it (a reason, a closing text) stays as written, and so does a note that matches none.
_CN_DAY = r"(\d{4})年(\d{1,2})月(\d{1,2})日"
_VERIFICATION = tuple(VERIFICATION_RESULTS.values())
_CLOSED_AS = tuple(CLOSED_AS.values())


def _day(match: re.Match[str], first: int = 1) -> str:
    return format_date(date(int(match[first]), int(match[first + 1]), int(match[first + 2])))


def _amount(text: str) -> str:
    return format_yuan(Decimal(text.replace(",", "")))


def _told(message: Any, **values: Any) -> Markup:
    """A catalog sentence (lazy: read in the reader's language now) with its values; a value
    is escaped unless it is already markup."""
    said = escape(str(message))
    return said % values if values else said


_SYSTEM_NOTES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Markup]]] = [
    (re.compile(rf"^核查期限：{_CN_DAY}前。"),
     lambda m: _told(_l("核查期限：%(date)s前。"), date=_day(m))),
    (re.compile(rf"（核查期限延至{_CN_DAY}）$"),
     lambda m: _told(_l("（核查期限延至%(date)s）"), date=_day(m))),
    (re.compile(rf"^核查期限调整为{_CN_DAY}。$"),
     lambda m: _told(_l("核查期限调整为%(date)s。"), date=_day(m))),
    (re.compile(rf"^奖励申领期限调整为{_CN_DAY}。$"),
     lambda m: _told(_l("奖励申领期限调整为%(date)s。"), date=_day(m))),
    (re.compile(rf"^重新核查，期限：{_CN_DAY}前。"),
     lambda m: _told(_l("重新核查，期限：%(date)s前。"), date=_day(m))),
    (re.compile(r"^经复查，维持办结。"), lambda m: _told(_l("经复查，维持办结。"))),
    (re.compile(rf"^核查结果：({'|'.join(_VERIFICATION)})。$"),
     lambda m: _told(_l("核查结果：%(result)s。"), result=word("verification", m[1]))),
    (re.compile(rf"^办结：({'|'.join(_CLOSED_AS)})。"),
     lambda m: _told(_l("办结：%(outcome)s。"), outcome=word("closed_as", m[1]))),
    (re.compile(r"^处罚决定：(\S+)$"),
     lambda m: _told(_l("处罚决定：%(number)s"), number=official(m[1]))),
    (re.compile(r"^经核查，您的举报与此前收到的另一举报反映的是同一事项，已合并办理，本举报办结。"
                r"按照举报奖励办法，同一事项只奖励最先受理的举报。$"),
     lambda m: _told(_l("经核查，您的举报与此前收到的另一举报反映的是同一事项，已合并办理，本举报办结。"
                     "按照举报奖励办法，同一事项只奖励最先受理的举报。"))),
    (re.compile(rf"^奖励 ¥([\d,]+(?:\.\d\d)?)，请于{_CN_DAY}前凭回执码申领。$"),
     lambda m: _told(_l("奖励 %(amount)s，请于%(date)s前凭回执码申领。"), amount=_amount(m[1]),
                     date=_day(m, 2))),
    (re.compile(r"^奖励 ¥([\d,]+(?:\.\d\d)?) 已发放。$"),
     lambda m: _told(_l("奖励 %(amount)s 已发放。"), amount=_amount(m[1]))),
    (re.compile(r"^奖励提议经审批未获批准，承办人员将进行复核。$"),  # models.REWARD_REJECTED_NOTE
     lambda m: _told(_l("奖励提议经审批未获批准，承办人员将进行复核。"))),
    (re.compile(r"^申领方式：银行转账$"), lambda m: _told(_l("申领方式：银行转账"))),
    (re.compile(r"^申领方式：凭领奖凭证现场领取$"), lambda m: _told(_l("申领方式：凭领奖凭证现场领取"))),
    (re.compile(r"^已提请挂牌督办。$"), lambda m: _told(_l("已提请挂牌督办。"))),
    (re.compile(r"^督办事项 (\S+) 已挂牌督办并公开。$"),
     lambda m: _told(_l("督办事项 %(number)s 已挂牌督办并公开。"), number=official(m[1]))),
    (re.compile(r"^督办事项 (\S+)：(开始整改|销号)。$"),
     lambda m: _told(_l("督办事项 %(number)s：%(step)s。"), number=official(m[1]),
                     step=word("supervision_step", m[2]))),
]


def _as_written(text: str) -> Markup:
    return Markup('<span translate="no">{}</span>').format(text) if text else Markup()


def reporter_note(note: str) -> Markup:
    """A step's note as its reporter reads it: the system's words in the reader's language,
    anyone's own words as written (``translate="no"``)."""
    for pattern, tell in _SYSTEM_NOTES:
        found = pattern.search(note)
        if found:
            return (_as_written(note[:found.start()]) + tell(found)
                    + _as_written(note[found.end():]))
    return _as_written(note)
