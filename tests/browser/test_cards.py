"""Every list at a phone's width (360 px): tables become cards, no cell is squeezed, no row is
tall with blank space; and the statistics charts load at both sizes.  Screenshots are kept in
the test's temporary folder (``--basetemp`` to look at them)."""

from __future__ import annotations

from datetime import date

import pyotp
import pytest

from portal.extensions import db
from tests import factories
from tests.staff.conftest import PASSWORD, make_staff

# A one-line field (a date, a code, a status) is at most this tall in a card.
ONE_LINE_MAX_PX = 44
# No cell is narrower than this many characters.
MIN_CELL_CHARS = 3

CHECK = """() => {
  const problems = [];
  const rows = document.querySelectorAll('table.list-table tbody tr, table.cards tbody tr');
  for (const row of rows) {
    for (const cell of row.querySelectorAll('td, th')) {
      const box = cell.getBoundingClientRect();
      const style = getComputedStyle(cell);
      const em = parseFloat(style.fontSize);
      const line = parseFloat(style.lineHeight) || em * 1.7;
      const label = cell.dataset.label || 'title';
      if (box.width < __CHARS__ * em) problems.push(`${label}: ${Math.round(box.width)} px wide`);
      // The value's own width: the cell less its label column (the left padding) in a card.
      const pad = parseFloat(style.paddingLeft);
      const value = box.width - pad;
      const text = cell.innerText.replace(/\\s+/g, ' ').trim();
      const units = (s) => { let u = 0; for (const ch of s) u += ch.charCodeAt(0) > 0x2e80 ? 1 : 0.62; return u; };
      // A card's label may wrap too, within the cell's left padding.
      const labelLines = cell.dataset.label && pad > em ? Math.ceil(units(cell.dataset.label) * em * 0.9 / (pad - em / 2)) : 1;
      const lines = Math.max(1, labelLines, Math.ceil(units(text) * em / Math.max(value, 1)));
      const allowed = lines === 1 ? __ONE_LINE__ : lines * line * 1.5 + 8;
      if (box.height > allowed)
        problems.push(`${label}: ${Math.round(box.height)} px tall for ${lines} line(s): ${text.slice(0, 30)}`);
    }
  }
  return {problems, rows: rows.length, scroll: document.documentElement.scrollWidth};
}""".replace("__CHARS__", str(MIN_CELL_CHARS)).replace("__ONE_LINE__", str(ONE_LINE_MAX_PX))


@pytest.fixture
def site(live_app):
    with live_app.app_context():
        dept = factories.department("西双版纳傣族自治州应急管理局景洪工业园区分局")
        for n in range(3):
            factories.decision(party_name=f"西双版纳某某建材有限公司{n}", department=dept,
                               decision_date=date(2026, 5, n + 1))
            factories.power(department=dept, name="对未按规定排查治理事故隐患的生产经营单位的行政处罚")
            factories.accident(department=dept)
            factories.blacklist_entry(
                department=dept, listed_on=date(2026, 3, n + 1),
                grounds="未依法取得安全生产许可或者在暂扣、吊销期间擅自生产经营")
        factories.decision(party_name="逾期公开的公司", department=dept,
                           decision_date=date(2026, 5, 1), published_at=None)
        user = make_staff("editor", "admin", username="cards.editor")
        db.session.commit()
        return {"username": user.username, "secret": user.totp_secret}


PUBLIC = ["/powers", "/decisions", "/accidents", "/blacklist", "/compliance",
          "/search?q=%E5%85%AC%E5%8F%B8"]
STAFF = ["/staff/", "/staff/powers/", "/staff/decisions/", "/staff/accidents/",
         "/staff/blacklist/", "/staff/accounts/", "/staff/audit"]


def _sign_in(page, base, site):
    page.goto(base + "/staff/login")
    page.fill("#username", site["username"])
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.TOTP(site["secret"]).now())
    page.click("button:has-text('登录')")
    page.wait_for_url(base + "/staff/")


def test_every_list_is_readable_cards_at_360_px(live_server, page_nojs, site, tmp_path):
    page = page_nojs
    page.set_viewport_size({"width": 360, "height": 800})
    _sign_in(page, live_server, site)
    checked_rows = 0
    for path in PUBLIC + STAFF:
        page.goto(live_server + path)
        name = path.strip("/").replace("/", "_").split("?")[0] or "home"
        page.screenshot(path=str(tmp_path / f"{name}-360.png"), full_page=True)
        result = page.evaluate(CHECK)
        assert result["scroll"] <= 360, (path, result["scroll"])
        assert result["problems"] == [], (path, result["problems"])
        checked_rows += result["rows"]
        # Cards: the column headers are hidden, each value says what it is.
        for table in page.locator("table.list-table, table.cards").all():
            assert table.locator("thead").evaluate("e => e.getBoundingClientRect().height") <= 1
    assert checked_rows >= 25
    page.goto(live_server + "/blacklist")
    grounds = page.locator("td[data-label='列入事由']").first
    assert grounds.evaluate("e => e.getBoundingClientRect().width") >= 300  # the card's width
    assert grounds.evaluate("e => getComputedStyle(e, '::before').content") == '"列入事由"'


def test_lists_stay_tables_on_a_desktop(live_server, page, site):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/blacklist")
    assert page.locator("table.list-table thead").evaluate(
        "e => e.getBoundingClientRect().height") > 20
    grounds = page.locator("td[data-label='列入事由']").first
    assert grounds.evaluate("e => e.getBoundingClientRect().width") >= 180


@pytest.mark.parametrize("width", [360, 1280])
def test_statistics_charts_render(live_server, page, site, width, tmp_path):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + "/stats")
    images = page.locator("figure.chart img")
    assert images.count() >= 5
    for image in images.all():
        image.scroll_into_view_if_needed()
        loaded = image.evaluate("e => e.complete && e.naturalWidth > 0 ? e.currentSrc : ''")
        assert loaded, image.get_attribute("src")
        assert ("size=narrow" in loaded) is (width == 360)
        assert image.evaluate("e => e.getBoundingClientRect().right") <= width
    page.screenshot(path=str(tmp_path / f"stats-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The chart's labels are text that Chromium draws with a CJK system font.
    page.goto(live_server + "/stats/accidents-by-county.svg")
    assert page.locator("text").filter(has_text="景洪市").count() >= 1
    assert page.evaluate("document.fonts.check('12px \"Noto Sans CJK SC\"', '景洪市')")
