"""axe over the 督办事项 pages (issue 15): the public list with its county map and an item with
its timeline and rectification photos, and the back office's 督办 pages (list, item, a stage
form, the photo page, each also with its errors shown), at a phone's width and a laptop's.

A violation of impact "serious" or "critical" fails, as in test_accessibility.py.  The photo
section is also checked to work and read without JavaScript: thumbnails are links to the full
image, each with its caption as alt text.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pyotp
import pytest
from PIL import Image

from portal import images
from portal.domain import supervision as rules
from portal.extensions import db
from portal.models import local_today
from portal.services.publication import publishing, supervision, supervision_photos
from tests.browser.test_accessibility import Auditor
from tests.staff.conftest import PASSWORD, make_staff


def _photo(colour: tuple[int, int, int], size=(1200, 900)) -> images.CleanImage:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return images.clean(out.getvalue())


def _item(number: int, **overrides) -> object:
    today = local_today()
    values = {
        "notice_no": f"西安督〔2026〕{number}号", "supervision_type": rules.HAZARD, "grade": "重大",
        "title_text": f"景洪市测试化工有限公司{number}液氨储罐区未设置有效围堰",
        "enterprise_name": f"景洪市测试化工有限公司{number}", "uscc": "",
        "accident_id": None, "county": "景洪市", "sector": "危险化学品",
        "responsible_unit": f"景洪市测试化工有限公司{number}",
        "requirements_source": "1. 立即停用储罐区；\n2. 设置有效围堰。",
        "lifting": "整改完成后申请销号，经现场审查合格后销号。",
        "listed_on": today - timedelta(days=60), "deadline": today + timedelta(days=30),
        "department_name": "西双版纳州应急管理局",
    } | overrides
    item = publishing.create_item("supervision", values).item
    publishing.publish_item(item)
    return item


@pytest.fixture
def supervision_site(live_app) -> dict:
    """Items in several stages and counties (one overdue, one closed with before/after photos),
    a draft, and an editor."""
    today = local_today()
    with live_app.app_context():
        user = make_staff("editor", username="editor.supervision")
        closed = _item(1)
        supervision.record_step(closed, rules.Step.RECTIFYING, on=today - timedelta(days=50),
                                note="企业已停用储罐区。")
        supervision.record_step(closed, rules.Step.APPLIED, on=today - timedelta(days=10))
        supervision.record_step(closed, rules.Step.PASSED, on=today - timedelta(days=5),
                                note="现场审查合格。")
        supervision.record_step(closed, rules.Step.CLOSED, on=today - timedelta(days=2))
        steps = {s.step: s.id for s in closed.steps}
        for colour, phase, stage, caption in (
                ((150, 40, 30), "before", "listing", "储罐区围堰缺失，整改前"),
                ((160, 60, 30), "before", str(steps["rectifying"]), "停用后的储罐区，整改中"),
                ((40, 140, 60), "after", str(steps["passed"]), "新建的混凝土围堰，整改后"),
        ):
            supervision_photos.add_photo(closed, _photo(colour), phase=phase, stage=stage,
                                         caption=caption, actor=None)
        _item(2, county="勐海县", grade="一般", deadline=today - timedelta(days=3))  # overdue
        _item(3, county="勐腊县", supervision_type=rules.ACCIDENT, grade="一般",
              title_text="勐腊县某建筑工地一般坍塌事故查处")
        draft = publishing.create_item("supervision", {
            "notice_no": "西安督〔2026〕99号", "supervision_type": rules.HAZARD, "grade": "一般",
            "title_text": "草稿督办事项", "enterprise_name": "", "uscc": "", "accident_id": None,
            "county": "景洪市", "sector": "非煤矿山", "responsible_unit": "某单位",
            "requirements_source": "整改。", "lifting": "销号。",
            "listed_on": today - timedelta(days=1), "deadline": today + timedelta(days=60),
            "department_name": "西双版纳州应急管理局"}).item
        db.session.commit()
        return {"closed": closed.id, "open": closed.id + 1, "draft": draft.id,
                "username": user.username, "secret": user.totp_secret}


def test_public_supervision_pages_have_no_serious_accessibility_violations(
        live_server, page, supervision_site):
    audit = Auditor(page)
    base = live_server
    audit.visit(base + "/supervision", "/supervision (county map)")
    assert page.locator("#supervision-map svg").count() == 1
    audit.visit(base + "/supervision?stage=overdue&county=勐海县", "/supervision filtered")
    audit.visit(base + "/supervision?grade=x&year=20x6", "/supervision bad filters")
    audit.visit(base + f"/supervision/{supervision_site['closed']}", "/supervision/<id> with photos")
    assert page.locator(".rectification-photos img").count() == 3
    audit.visit(base + f"/supervision/{supervision_site['open']}", "/supervision/<id> overdue")
    audit.visit(base + "/stats", "/stats (county maps)")
    audit.assert_clean()


def test_the_photos_work_and_read_without_javascript(live_server, page_nojs, supervision_site):
    page = page_nojs
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{live_server}/supervision/{supervision_site['closed']}")
    thumbnails = page.locator(".rectification-photos img")
    assert thumbnails.count() == 3
    for i in range(3):
        img = thumbnails.nth(i)
        assert img.get_attribute("alt")
        # Loaded (lazy loading needs no script) and no wider than the phone's screen.
        img.scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                               arg=img.element_handle())
        assert img.bounding_box()["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("link", name="新建的混凝土围堰，整改后").click()
    assert page.url.endswith(tuple(f"/photos/{n}" for n in range(1, 10)))
    width = page.evaluate("document.images[0].naturalWidth")
    assert width == 1200


def test_staff_supervision_pages_have_no_serious_accessibility_violations(
        live_server, page, supervision_site):
    base = live_server
    page.goto(base + "/staff/login")
    page.fill("#username", supervision_site["username"])
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.TOTP(supervision_site["secret"]).now())
    page.click("button:has-text('登录')")
    page.wait_for_url(base + "/staff/")
    audit = Auditor(page)
    closed, open_, draft = (supervision_site[k] for k in ("closed", "open", "draft"))
    audit.visit(base + "/staff/supervision", "/staff/supervision")
    audit.visit(base + f"/staff/supervision/{closed}", "/staff/supervision/<id> closed")
    audit.visit(base + f"/staff/supervision/{draft}", "/staff/supervision/<id> draft")
    audit.visit(base + "/staff/supervision/new", "/staff/supervision/new")
    page.click("form.staff-form button:has-text('保存草稿')")
    page.wait_for_load_state()
    assert page.locator(".error-summary").count() == 1
    audit.check("/staff/supervision/new submitted empty")
    audit.visit(base + f"/staff/supervision/{open_}/step/rectifying", "stage form")
    page.fill("#on", "")
    page.click("form.staff-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".error-summary").count() == 1
    audit.check("stage form submitted empty")
    audit.visit(base + f"/staff/supervision/{closed}/photos", "/staff/supervision/<id>/photos")
    audit.visit(base + f"/staff/supervision/{open_}/photos", "photo page, no photos")
    page.fill("#caption", "短")
    page.click("form.staff-form button:has-text('上传')")
    page.wait_for_load_state()
    assert page.locator(".error-summary a[href='#photo']").count() == 1
    audit.check("photo page submitted without a file")
    audit.assert_clean()
