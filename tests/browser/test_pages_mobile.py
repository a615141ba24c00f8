"""The public pages at a phone's width (360 px) and a desktop's, in headless Chromium."""

from __future__ import annotations

from datetime import date

import pytest

from portal.extensions import db
from tests import factories


@pytest.fixture
def items(live_app):
    with live_app.app_context():
        for day in range(1, 6):
            factories.decision(party_name=f"西双版纳某某建材有限公司{day}", decision_date=date(2026, 5, day))
        power = factories.power()
        accident = factories.accident()
        db.session.commit()
        return {"power": power.url_path, "accident": accident.url_path}


@pytest.mark.parametrize("width", [360, 1280])
def test_pages_fit_the_screen_and_only_wide_tables_scroll(live_server, page, items, width):
    page.set_viewport_size({"width": width, "height": 800})
    for path in ("/", "/decisions", items["power"], items["accident"]):
        page.goto(live_server + path)
        # The page itself never scrolls sideways; a wide table scrolls inside its frame.
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
    page.goto(live_server + "/decisions")
    frame = page.locator(".table-wrap")
    # A wide table scrolls inside its frame on a desktop; on a phone it is cards and needs not.
    expected = "visible" if width < 600 else "auto"
    assert frame.evaluate("e => getComputedStyle(e).overflowX") == expected


def test_flowchart_runs_across_on_desktop_and_down_on_a_phone(live_server, page, items):
    def step_boxes():
        page.goto(live_server + items["power"])
        return [s.bounding_box() for s in page.locator(".flow-step").all()]

    page.set_viewport_size({"width": 1280, "height": 800})
    first, second = step_boxes()[:2]
    assert second["x"] > first["x"] and abs(second["y"] - first["y"]) < 2
    page.set_viewport_size({"width": 360, "height": 800})
    boxes = step_boxes()
    assert len(boxes) == 7
    assert all(b["y"] > a["y"] + a["height"] for a, b in zip(boxes, boxes[1:], strict=False))
    assert all(b["x"] + b["width"] <= 360 for b in boxes)


def test_list_filters_work_without_javascript(live_server, page_nojs, items):
    page_nojs.set_viewport_size({"width": 360, "height": 800})
    page_nojs.goto(live_server + "/decisions")
    page_nojs.get_by_label("年份").select_option("2026")
    page_nojs.get_by_role("button", name="筛选").click()
    page_nojs.wait_for_url("**/decisions?**year=2026**")
    assert "符合条件的共 5 条" in page_nojs.locator(".result-count").inner_text().replace("\n", "")
