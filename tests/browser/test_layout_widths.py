"""Every page family at a phone's width (360 px), a laptop's (1280) and a wide screen's (1920).

For each family and width: the page never scrolls sideways at 360 px, the report form's
honeypot is invisible, unfocusable and hidden from screen readers, the footer links to
/compliance and /data, and one layout fact that holds only while the family's styles are
applied (``Family.layout``).  ``test_each_layout_check_fails_without_the_stylesheets`` loads
every family again with every stylesheet served empty and requires each of those facts to
fail, so none of them can pass by chance (issue 14: three unclosed ``@media`` blocks lost
every rule after line 272 above 640 px while every test passed).

Cheap by design: one live server, one browser page per module; each family is opened once and
the page is resized to each width (CSS media queries follow the viewport; no reload needed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

import pyotp
import pytest

from portal.domain.catalog import COUNTIES
from portal.extensions import db
from portal.models import local_today
from tests import factories
from tests.conftest import make_app
from tests.live import serving
from tests.reports.conftest import FAST_SECONDS, submit_report
from tests.staff.conftest import PASSWORD, make_staff

WIDTHS = (360, 1280, 1920)
HONEYPOT = "extra_comment"


@dataclass
class Site:
    base: str
    paths: dict[str, str]
    receipt_code: str
    staff: dict[str, str]


@pytest.fixture(scope="module")
def site(tmp_path_factory, test_database) -> Iterator[Site]:
    """One app and live server for the module, with an item of each kind, a report and a
    handler account."""
    app = make_app(tmp_path_factory.mktemp("layout"), REPORT_FOLLOWUP_MIN_SECONDS=FAST_SECONDS)
    with app.app_context():
        ent = factories.enterprise(name="景洪市版式测试化工有限公司")
        factories.blacklist_entry(enterprise=ent, listed_on=date(2025, 4, 1))
        for day in range(1, 4):
            factories.decision(party_name=f"勐海县版式测试建材有限公司{day}",
                               decision_date=date(2026, 5, day), fine_yuan=10000 * day)
        decision = factories.decision(enterprise=ent, document_no="西应急罚〔2026〕88号",
                                      decision_date=local_today() - timedelta(days=20))
        power, accident = factories.power(), factories.accident()
        entry = factories.blacklist_entry()
        handler = make_staff("handler", username="layout.handler")
        # Every county: the report below is assigned to this handler, who may then read it.
        handler.set_counties(COUNTIES)
        db.session.commit()
        paths = {"power": power.url_path, "decision": decision.url_path,
                 "accident": accident.url_path, "blacklist": entry.url_path, "uscc": ent.uscc}
        staff = {"username": handler.username, "secret": handler.totp_secret}
    _number, code = submit_report(app.test_client())
    try:
        with serving(app) as base:
            yield Site(base, paths, code, staff)
    finally:
        app.extensions["search_index"].close()


@pytest.fixture(scope="module")
def signed_in(browser, site) -> dict:
    """The cookies of a signed-in handler (the staff pages are families too); signed in once,
    as a TOTP code is accepted only once."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(site.base + "/staff/login")
    page.fill("#username", site.staff["username"])
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.TOTP(site.staff["secret"]).now())
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/staff/?$"))
    state = context.storage_state()
    context.close()
    return state


def _new_page(browser, state: dict, empty_css: bool = False):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900},
                                  storage_state=state)
    if empty_css:
        # Stylesheets are served under versioned URLs (style.css?v=…): match on the path.
        context.route(lambda url: urlsplit(url).path.endswith(".css"), lambda route: route.fulfill(
            status=200, content_type="text/css", body=""))
        # The charts play no part in these checks: not drawing them again saves seconds.
        context.route("**/stats/*.svg*", lambda route: route.abort())
    return context.new_page()


@pytest.fixture(scope="module")
def shared(browser, signed_in) -> Iterator[dict]:
    """The module's page, and which family it shows (so each family is opened once)."""
    page = _new_page(browser, signed_in)
    yield {"page": page, "family": None}
    page.context.close()


# ---------------------------------------------------------------- the families

def _goto(path: str) -> Callable:
    def open_(page, site: Site) -> None:
        page.goto(site.base + path.format(**site.paths))
    return open_


def _fill_report(page) -> None:
    page.check("#kind-0")
    page.fill("#enterprise_name", "勐海县版式测试砖厂")
    page.select_option("#county", "勐海县")
    page.fill("#place", "勐遮镇曼某村")
    page.fill("#description", "窑炉旁堆放液化气瓶，夜间仍在生产。")
    page.fill("#seen_since", "2026年11月初")


def _report_errors(page, site: Site) -> None:
    page.goto(site.base + "/report")
    page.fill("#place", "勐遮镇曼某村")
    page.click("main button:has-text('下一步')")
    page.wait_for_load_state()


def _report_check(page, site: Site) -> None:
    page.goto(site.base + "/report")
    _fill_report(page)
    page.click("main button:has-text('下一步')")
    page.wait_for_url("**/report/check")


def _receipt(page, site: Site) -> None:
    _report_check(page, site)
    page.click("main button:has-text('提交举报')")
    page.wait_for_selector("#receipt-code")


def _case(page, site: Site) -> None:
    page.goto(site.base + "/report/followup")
    page.fill("#code", site.receipt_code)
    page.click("main button:has-text('查询')")
    page.wait_for_selector(".timeline")


def _certificate(page, site: Site) -> None:
    page.goto(site.base + "/credit?code=" + site.paths["uscc"])
    page.get_by_role("button", name="出具信用记录查询证明").click()
    page.wait_for_url(re.compile(r"/credit/certificate\?number="))


def _verify(page, site: Site) -> None:
    _certificate(page, site)
    number = page.locator(".certificate-number").inner_text().strip()
    page.goto(site.base + "/credit/verify?code=" + number)


def _staff_case(page, site: Site) -> None:
    page.goto(site.base + "/staff/reports")
    page.locator("main table a").first.click()
    page.wait_for_selector(".timeline")


# Each layout check is a JavaScript function of the viewport width, true while the family's
# styles apply: a border, a grid, an alignment a reader sees.
def style_of(selector: str, test: str) -> str:
    found = json.dumps(selector)
    return (f"(w) => {{ const e = document.querySelector({found});"
            f" if (!e) throw new Error('no ' + {found});"
            f" const s = getComputedStyle(e); return {test}; }}")


@dataclass(frozen=True)
class Family:
    name: str
    open: Callable
    layout: str
    honeypot: bool = False


FAMILIES = [
    Family("home", _goto("/"), style_of(".quick-links ul", "s.display === 'grid'")),
    *(Family(f"list-{kind}", _goto(f"/{kind}"), style_of(".filters-fields", "s.display === 'grid'"))
      for kind in ("powers", "decisions", "accidents", "blacklist")),
    *(Family(f"detail-{kind}", _goto(f"{{{kind}}}"), style_of("dl.facts", "s.display === 'grid'"))
      for kind in ("power", "decision", "accident", "blacklist")),
    Family("search", _goto("/search?q=版式测试"),
           style_of(".search-form .big-search-row", "s.display === 'flex'")),
    Family("report-form", _goto("/report"),
           style_of(".report-promises", "s.borderLeftWidth === '4px'"), honeypot=True),
    Family("report-errors", _report_errors,
           style_of(".error-summary", "s.borderTopWidth === '2px' && s.borderTopStyle === 'solid'"),
           honeypot=True),
    Family("report-check", _report_check,
           style_of(".who-sees", "s.borderTopStyle === 'solid' && s.borderTopWidth === '1px'")),
    Family("receipt", _receipt,
           style_of(".receipt-box", "s.borderTopWidth === '3px' && s.borderTopStyle === 'solid'")),
    Family("followup", _goto("/report/followup"),
           style_of(".report-form label", "s.display === 'block' && s.fontWeight === '600'")),
    Family("case", _case, style_of(".timeline", "s.borderLeftWidth === '3px'")),
    Family("credit-form", _goto("/credit"),
           style_of(".credit-form", "s.borderTopStyle === 'solid'")),
    Family("credit-result", _goto("/credit?code={uscc}"),
           style_of(".credit-status", "s.borderTopWidth === '2px'")),
    Family("certificate", _certificate,
           style_of(".certificate", "s.borderTopWidth === '6px'")),
    Family("verify", _verify, style_of(".credit-status-genuine", "s.borderTopWidth === '2px'")),
    # Up to 600 px the field tables are cards (their header row hidden); wider, codes keep whole.
    Family("data", _goto("/data"), style_of(
        ".data-table thead",
        "w <= 600 ? s.position === 'absolute' : getComputedStyle(document.querySelector("
        "'.data-table code')).whiteSpace === 'nowrap'")),
    Family("stats", _goto("/stats"), style_of(".stat-table td.num", "s.textAlign === 'right'")),
    # Below 600 px the compliance tables are cards (one block per row); above, figures align right.
    Family("compliance", _goto("/compliance"), style_of(
        ".compliance-table tbody tr",
        "w < 600 ? s.display === 'block' : getComputedStyle(e.querySelector('td.num')).textAlign === 'right'")),
    Family("staff-queue", _goto("/staff/reports"), style_of(".staff-bar", "s.display === 'flex'")),
    # The timeline is drawn as on the reporter's page: one line, each event's dot on it.
    Family("staff-case", _staff_case, style_of(
        ".timeline", "s.borderLeftWidth === '3px' && s.paddingLeft === '16px'"
        " && getComputedStyle(e.querySelector('li')).borderLeftWidth === '0px'")),
]
BY_NAME = {f.name: f for f in FAMILIES}


def _show(shared: dict, site: Site, family: Family, width: int):
    page = shared["page"]
    if shared["family"] != family.name:
        family.open(page, site)
        shared["family"] = family.name
    page.set_viewport_size({"width": width, "height": 900})
    return page


def _honeypot_facts(page) -> dict:
    return page.evaluate("""(name) => {
        const input = document.querySelector(`input[name="${name}"]`);
        if (!input) return null;
        const box = input.getBoundingClientRect();
        input.focus();
        return {
            shown: box.width > 0 || box.height > 0 || input.checkVisibility(),
            focused: document.activeElement === input,
            tabindex: input.getAttribute('tabindex'),
            autocomplete: input.getAttribute('autocomplete'),
            ariaHidden: !!input.closest('[aria-hidden="true"]'),
        };
    }""", HONEYPOT)


def _tab_reaches(page, name: str) -> bool:
    """Walk the page with the Tab key from the top: does focus ever land on the field?"""
    page.evaluate("document.querySelector('a.skip-link').focus()")  # the first stop
    seen = set()
    for _ in range(80):
        page.keyboard.press("Tab")
        here = page.evaluate("(() => { const e = document.activeElement;"
                             " return e ? (e.name || e.id || e.textContent || e.tagName).slice(0, 40)"
                             " + '|' + e.tagName : ''; })()")
        if here.startswith(name + "|"):
            return True
        if here in seen or here.endswith("|BODY"):
            break
        seen.add(here)
    # The walk passed the send button: it crossed the whole form.
    assert any(s.startswith("下一步") for s in seen), seen
    return False


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_family_at_width(shared, site, family, width):
    page = _show(shared, site, family, width)
    where = f"{family.name} at {width} px"
    if width == 360:
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= page.evaluate("window.innerWidth"), f"{where}: scrolls sideways ({scroll})"
        # Nor does any table hide columns in a frame that scrolls: on a phone they fit.
        cut = page.evaluate("""() => [...document.querySelectorAll('.table-wrap')]
            .filter(w => w.scrollWidth > w.clientWidth + 1)
            .map(w => w.querySelector('table').className + ' ' + w.scrollWidth)""")
        assert cut == [], f"{where}: tables cut off: {cut}"
    # The page's content keeps its distance from the navigation bar.
    assert page.evaluate("getComputedStyle(document.querySelector('main')).paddingTop") == "16px"
    assert page.evaluate(family.layout, width), f"{where}: its styles are not applied"
    # /compliance and /data are a click away from every page.
    footer = page.locator("footer")
    assert footer.locator("a[href='/compliance']").count() == 1, where
    assert footer.locator("a[href='/data']").count() >= 1, where
    facts = _honeypot_facts(page)
    if family.honeypot:
        assert facts is not None, f"{where}: no honeypot"
    if facts is not None:
        assert facts == {"shown": False, "focused": False, "tabindex": "-1",
                         "autocomplete": "off", "ariaHidden": True}, where
        assert not _tab_reaches(page, HONEYPOT), f"{where}: Tab reaches the honeypot"


def test_each_layout_check_fails_without_the_stylesheets(browser, site, signed_in):
    """Every layout check above fails when the stylesheets are lost, so each one tests them."""
    page = _new_page(browser, signed_in, empty_css=True)
    try:
        passing = []
        for family in FAMILIES:
            family.open(page, site)
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                if page.evaluate(family.layout, width):
                    passing.append(f"{family.name}@{width}")
                if family.honeypot:  # hidden by HTML alone, not by the stylesheet
                    assert _honeypot_facts(page)["shown"] is False, family.name
        assert passing == [], "layout checks that hold without any CSS"
    finally:
        page.context.close()


def _nav_rows(page) -> list[list[str]]:
    """The main navigation's links grouped by the row they are drawn on."""
    boxes = page.evaluate("""() => [...document.querySelectorAll('nav.site-nav li')].map(li => {
        const r = li.getBoundingClientRect();
        return [li.textContent.trim(), Math.round(r.top + r.height / 2)];
    })""")
    rows: list[list[str]] = []
    last = None
    for text, middle in sorted(boxes, key=lambda b: b[1]):
        if last is None or middle - last > 8:
            rows.append([])
        rows[-1].append(text)
        last = middle
    return rows


@pytest.mark.parametrize("width", WIDTHS)
def test_report_link_stands_out_and_never_wraps_alone(shared, site, width):
    page = _show(shared, site, BY_NAME["home"], width)
    rows = _nav_rows(page)
    report_row = next(row for row in rows if "我要举报" in row)
    assert len(report_row) > 1, rows
    assert len(rows) <= (2 if width == 360 else 1), rows
    # Drawn as a button: a light face on the dark red bar, with a border.
    look = page.evaluate("""() => { const s = getComputedStyle(
        document.querySelector('nav.site-nav a[href="/report"]'));
        return [s.backgroundColor, s.borderTopStyle, s.fontWeight]; }""")
    assert look == ["rgb(255, 255, 255)", "solid", "700"], look
