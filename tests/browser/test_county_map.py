"""The county map on /stats in a real browser: visible beside (or above) its table, inside the
page at a phone's width and a laptop's, its shape undistorted, its names and counts drawn as
text, and its links leading to the filtered lists.  Screenshots are kept in the test's
temporary folder (``--basetemp`` to look at them)."""

from __future__ import annotations

from datetime import date

import pytest

from portal.extensions import db
from tests import factories

GEOMETRY = """() => {
  const figure = document.querySelector('#accidents-by-county-map');
  const svg = figure.querySelector('svg');
  const table = figure.querySelector('table');
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height}; };
  const names = [...svg.querySelectorAll('text.county-name')].map((t) => ({
    tag: t.tagName, text: t.textContent, size: parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a,
    box: box(t), fill: getComputedStyle(t).fill}));
  const view = svg.viewBox.baseVal;
  return {svg: box(svg), table: box(table), figure: box(figure), names,
          ratio: view.width / view.height, fills: [...svg.querySelectorAll('a.county path')].map(
            (p) => getComputedStyle(p).fill),
          links: [...svg.querySelectorAll('a.county')].map((a) => a.getAttribute('href')),
          scroll: document.documentElement.scrollWidth, inner: window.innerWidth};
}"""


@pytest.fixture
def site(live_app, live_server):
    with live_app.app_context():
        for county, n in (("景洪市", 5), ("勐海县", 2), ("勐腊县", 1), ("磨憨经济开发区管委会", 1)):
            for day in range(n):
                factories.accident(county=county, occurred_on=date(2026, 3, day + 1))
        db.session.commit()
    return live_server


@pytest.mark.parametrize("width", [360, 1280])
def test_the_map_and_its_table_fit_and_the_labels_are_text(browser, site, width, tmp_path):
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(site + "/stats")
    figure = page.locator("#accidents-by-county-map")
    figure.scroll_into_view_if_needed()
    figure.screenshot(path=tmp_path / f"county-map-{width}.png")
    assert figure.locator("svg").is_visible() and figure.locator("table").is_visible()
    g = page.evaluate(GEOMETRY)
    context.close()

    assert g["scroll"] <= g["inner"], "the page scrolls sideways"
    for part in ("svg", "table"):
        assert g[part]["left"] >= 0 and g[part]["right"] <= width, part
    assert g["svg"]["width"] >= (300 if width == 360 else 400)
    # Shape kept: the drawn box has the viewBox's proportions.
    assert g["svg"]["width"] / g["svg"]["height"] == pytest.approx(g["ratio"], rel=0.01)
    if width == 1280:  # room enough: the table stands beside the map, not under it
        assert g["table"]["left"] >= g["svg"]["right"] and g["table"]["top"] < g["svg"]["bottom"]
    else:
        assert g["table"]["top"] >= g["svg"]["bottom"]
    # The labels are SVG text the browser draws, inside the drawing, large enough to read.
    assert [(n["tag"], n["text"]) for n in g["names"]] == [
        ("text", "景洪市"), ("text", "勐海县"), ("text", "勐腊县")]
    for n in g["names"]:
        assert n["size"] >= 12, n
        assert g["svg"]["left"] <= n["box"]["left"] and n["box"]["right"] <= g["svg"]["right"]
    # Shaded by the stylesheet: the most (景洪市) darkest, every county filled.
    assert g["fills"][0] == "rgb(164, 22, 26)" and len(set(g["fills"])) == 3
    assert g["links"] == [f"/accidents?county={c}" for c in (
        "%E6%99%AF%E6%B4%AA%E5%B8%82", "%E5%8B%90%E6%B5%B7%E5%8E%BF", "%E5%8B%90%E8%85%8A%E5%8E%BF")]


def test_a_county_of_the_map_leads_to_its_list_without_javascript(page_nojs, site):
    page_nojs.goto(site + "/stats?year=2026")
    page_nojs.click("#accidents-by-county-map svg a.county >> nth=1")  # 勐海县
    page_nojs.wait_for_url("**/accidents?county=*")
    assert page_nojs.locator("#county").input_value() == "勐海县"
    assert "共 2 条" in page_nojs.locator("main").inner_text()
