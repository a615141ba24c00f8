"""A visitor searches from the home page and opens a result, in headless Chromium.

JavaScript is off: the journey must work in Tor Browser's Safest mode.
"""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests import factories


@pytest.fixture
def items(live_app):
    with live_app.app_context():
        mine = factories.enterprise(name="勐腊县金象矿业有限公司", county="勐腊县")
        decision = factories.decision(
            enterprise=mine,
            document_no="勐腊应急罚〔2026〕8号",
            facts="经查，该公司在磨憨镇非煤矿山采场作业时，未按规定排查治理重大事故隐患。",
        )
        factories.accident(summary="景洪市建筑工地高处坠落，造成1人死亡。")
        factories.power(name="烟花爆竹经营许可")
        db.session.commit()
        return {"decision": decision.url_path, "title": decision.title}


def test_search_from_the_home_page_and_open_a_result(live_server, page_nojs, items):
    page = page_nojs
    page.goto(live_server + "/")
    page.get_by_label("搜索公开信息").fill("磨憨 矿山")
    page.get_by_role("button", name="搜索").first.click()
    page.wait_for_url("**/search?q=*")
    assert "找到 1 条" in page.locator("#search-count").inner_text()
    assert page.locator(".search-snippet mark").first.inner_text() in ("磨憨", "矿山")
    result = page.get_by_role("link", name=items["title"])
    result.click()
    page.wait_for_url("**" + items["decision"])
    assert items["title"] in page.locator("h1").inner_text()


def test_no_results_page_offers_help_and_keeps_the_query(live_server, page_nojs, items):
    page = page_nojs
    page.goto(live_server + "/search?q=不存在的词语")
    assert "没有找到" in page.locator("#search-count").inner_text()
    assert page.locator("#search-q").input_value() == "不存在的词语"
    assert page.get_by_role("link", name="行政执法决定").count() >= 1
