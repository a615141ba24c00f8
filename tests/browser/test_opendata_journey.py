"""Open data in a real browser: from a filtered list to its CSV, feed and data dictionary."""

from __future__ import annotations

import csv
import io
import os
from datetime import date

import pytest

from portal.extensions import db
from tests import factories

SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOT_DIR", "")


@pytest.fixture
def items(live_app):
    with live_app.app_context():
        for day in range(1, 4):
            factories.decision(party_name=f"勐海县某某茶业有限公司{day}", county="勐海县",
                               decision_date=date(2026, 5, day))
        factories.decision(party_name="景洪市某某建材有限公司", county="景洪市",
                           decision_type="行政检查", fine_yuan=None)
        factories.power(name="对非煤矿山企业未按规定排查治理事故隐患的行政处罚")
        factories.blacklist_entry()
        db.session.commit()


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


@pytest.mark.parametrize("width", [360, 1280])
def test_a_reader_takes_a_filtered_list_away_as_csv(live_server, page_nojs, items, width):
    page = page_nojs
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(live_server + "/decisions")
    page.get_by_label("县（市、区）").select_option("勐海县")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/decisions?**county=**")
    shot(page, f"decisions-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV 下载").click()
    data = open(download.value.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    assert len(rows) == 4 and all("勐海县某某茶业有限公司" in r[2] for r in rows[1:])
    page.goto(live_server + "/decisions?county=勐海县")
    page.get_by_role("link", name="数据说明和许可").click()
    page.wait_for_url("**/data")
    shot(page, f"data-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert "CC BY 4.0" in page.locator("main").inner_text()


@pytest.mark.parametrize("width", [360, 1280])
def test_pages_touched_by_open_data_fit_the_screen(live_server, page, items, width):
    page.set_viewport_size({"width": width, "height": 800})
    for name, path in (("home", "/"), ("search", "/search?q=隐患"), ("inspection", "/decisions/4"),
                       ("blacklist", "/blacklist")):
        page.goto(live_server + path)
        shot(page, f"{name}-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
