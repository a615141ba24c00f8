"""信用修复 end to end in a real browser with JavaScript off: an enterprise applies from its
blacklist entry, follows its case with the access code, staff accept, propose and (another
account) approve, and the entry shows the outcome.  axe over each page at 360 and 1280 px.

``PORTAL_SCREENSHOTS=<folder>`` keeps a screenshot of every step at 360, 1280 and 1920 px.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pyotp
import pytest

from portal.extensions import db
from portal.staff.models import StaffUser
from tests import factories
from tests.credit.repair_helpers import APPLICANT, pdf_bytes
from tests.staff.conftest import PASSWORD, make_staff

WIDTHS = (360, 1280, 1920)


@pytest.fixture
def listed(live_app) -> dict:
    with live_app.app_context():
        ent = factories.enterprise(name="勐海县信用修复旅程测试茶业有限公司")
        entry = factories.blacklist_entry(enterprise=ent, listed_on=date(2025, 1, 10))
        editor = make_staff("editor", username="editor.repair")
        approver = make_staff("approver", username="approver.repair")
        db.session.commit()
        return {"id": entry.id, "code": ent.uscc, "editor": editor.totp_secret,
                "approver": approver.totp_secret}


def shoot(page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"repair-{name}-{width}.png"), full_page=True)
        # Nothing wider than the screen (a phone scrolls down, never sideways).
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, width, overflow)
    page.set_viewport_size({"width": 1280, "height": 900})


def sign_in(page, base: str, username: str, secret: str, target: str) -> None:
    page.goto(base + target)
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button:has-text('登录')")
    page.wait_for_url(base + target)


def test_apply_follow_and_decide_without_javascript(live_server, browser, listed, tmp_path):
    base = live_server
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/blacklist/{listed['id']}")
    page.get_by_role("link", name="申请信用修复").click()
    page.wait_for_url(re.compile(r"/credit/repair\?code="))
    assert page.locator("#uscc").input_value() == listed["code"]
    # First without the commitment: the error summary names it, and what was typed stays.
    page.fill("#applicant_name", APPLICANT["applicant_name"])
    page.fill("#applicant_role", APPLICANT["applicant_role"])
    page.fill("#contact", APPLICANT["contact"])
    page.fill("#penalty_done", APPLICANT["penalty_done"])
    page.fill("#rectification", APPLICANT["rectification"])
    page.click("button:has-text('下一步')")
    page.wait_for_load_state()
    assert "请上传签署的信用承诺书" in page.locator(".error-summary").inner_text()
    assert page.locator("#penalty_done").input_value() == APPLICANT["penalty_done"]
    shoot(page, "form-errors", tmp_path)
    page.set_input_files("#commitment", files=[{"name": "承诺书.pdf", "mimeType": "application/pdf",
                                                "buffer": pdf_bytes()}])
    page.click("button:has-text('下一步')")
    page.wait_for_url(base + "/credit/repair/check")
    assert "信用承诺书" in page.locator(".facts").inner_text()
    shoot(page, "check", tmp_path)
    page.click("button:has-text('提交申请')")
    page.wait_for_load_state()
    number = re.search(r"XF\d{4}-\d{6}", page.content()).group(0)
    code = page.locator(".receipt-code").inner_text().replace("\n", "").strip()
    assert len(code.replace("-", "")) == 28
    shoot(page, "sent", tmp_path)

    page.goto(f"{base}/blacklist/{listed['id']}")
    assert "信用修复申请审核中" in page.content()
    assert APPLICANT["applicant_name"] not in page.content()
    shoot(page, "entry-under-review", tmp_path)

    page.goto(base + "/credit/repair/followup")
    page.fill("#code", code.lower())
    page.click("button:has-text('查询')")
    page.wait_for_load_state()
    assert number in page.content() and "已收到，待受理" in page.content()
    assert "code=" not in page.url
    shoot(page, "case", tmp_path)

    staff = browser.new_context(locale="zh-CN", java_script_enabled=False).new_page()
    sign_in(staff, base, "editor.repair", listed["editor"], "/staff/repair")
    assert number in staff.content()
    shoot(staff, "staff-queue", tmp_path)
    staff.get_by_role("link", name=number).click()
    staff.click("button:has-text('受理，开始审核')")
    staff.wait_for_load_state()
    staff.check("input[value='grant']")
    staff.fill("#propose-decision_no", "西应急信修〔2026〕12号")
    staff.fill("#propose-reasons", "罚款已缴清，整改经验收合格，已作出信用承诺。")
    shoot(staff, "staff-propose", tmp_path)
    staff.click("button:has-text('提出意见')")
    staff.wait_for_load_state()
    assert "须由另一位" in staff.content()
    approver = browser.new_context(locale="zh-CN", java_script_enabled=False).new_page()
    detail = staff.url.replace(base, "")
    sign_in(approver, base, "approver.repair", listed["approver"], detail)
    shoot(approver, "staff-approve", tmp_path)
    approver.click("button:has-text('批准')")
    approver.wait_for_load_state()
    assert "准予信用修复" in approver.content()

    page.goto(f"{base}/blacklist/{listed['id']}")
    assert "准予信用修复（西应急信修〔2026〕12号）" in page.content()
    shoot(page, "entry-granted", tmp_path)
    page.goto(base + "/credit/repair/followup")
    page.fill("#code", code)
    page.click("button:has-text('查询')")
    page.wait_for_load_state()
    assert "准予信用修复" in page.content()
    context.close()


def test_repair_pages_have_no_serious_accessibility_violations(live_server, page, listed):
    from tests.browser.test_accessibility import Auditor

    base = live_server
    audit = Auditor(page)
    audit.visit(f"{base}/credit/repair?code={listed['code']}", "/credit/repair")
    page.fill("#applicant_name", "")
    page.click("button:has-text('下一步')")
    page.wait_for_load_state()
    audit.check("/credit/repair with errors")
    for name, value in APPLICANT.items():
        page.fill(f"#{name}", value)
    page.set_input_files("#commitment", files=[{"name": "c.pdf", "mimeType": "application/pdf",
                                                "buffer": pdf_bytes()}])
    page.click("button:has-text('下一步')")
    page.wait_for_url(base + "/credit/repair/check")
    audit.check("/credit/repair/check")
    page.click("button:has-text('提交申请')")
    page.wait_for_load_state()
    audit.check("/credit/repair sent")
    code = page.locator(".receipt-code").inner_text().replace("\n", "").strip()
    audit.visit(base + "/credit/repair/followup", "/credit/repair/followup")
    page.fill("#code", code)
    page.click("button:has-text('查询')")
    page.wait_for_load_state()
    audit.check("/credit/repair case")
    audit.visit(f"{base}/blacklist/{listed['id']}", "/blacklist entry under review")
    sign_in(page, base, "editor.repair", listed["editor"], "/staff/repair")
    audit.check("/staff/repair")
    page.locator("a", has_text=re.compile(r"XF\d{4}-")).first.click()
    page.wait_for_load_state()
    audit.check("/staff/repair/<id>")
    audit.assert_clean()


def test_a_person_on_the_list_in_the_browser(live_server, live_app, page, tmp_path):
    from tests.browser.test_accessibility import Auditor

    with live_app.app_context():
        body = factories.enterprise(name="西双版纳某某安全评价有限公司")
        factories.blacklist_entry(enterprise=body, subject_type="institution",
                                  listed_on=date(2026, 5, 1))
        person = factories.blacklist_entry(enterprise=body, subject_type="person",
                                           person_name="岩某甲", person_role="安全评价师",
                                           person_id_masked="5328**************",
                                           listed_on=date(2026, 5, 1))
        make_staff("editor", username="editor.subjects")
        db.session.commit()
        person_id, code = person.id, body.uscc
        secret = db.session.scalars(db.select(StaffUser).filter_by(
            username="editor.subjects")).one().totp_secret
    audit = Auditor(page)
    audit.visit(f"{live_server}/blacklist/{person_id}", "/blacklist person")
    assert "有关人员" in page.content() and "5328**************" in page.content()
    shoot(page, "person-entry", tmp_path)
    audit.visit(f"{live_server}/blacklist", "/blacklist with subjects")
    shoot(page, "blacklist-list", tmp_path)
    audit.visit(f"{live_server}/credit?code={code}", "/credit body with a person")
    assert "本单位有关人员的失信名单记录" in page.content()
    shoot(page, "credit-body", tmp_path)
    sign_in(page, live_server, "editor.subjects", secret, "/staff/blacklist/new")
    page.select_option("#subject_type", "person")
    page.click("button:has-text('保存草稿')")
    page.wait_for_load_state()
    assert "请填写有关人员姓名" in page.locator(".error-summary").inner_text()
    audit.check("/staff/blacklist/new with errors")
    shoot(page, "staff-blacklist-form", tmp_path)
    audit.assert_clean()


def test_object_to_a_decision_without_javascript(live_server, live_app, browser, tmp_path):
    from tests.browser.test_accessibility import Auditor

    with live_app.app_context():
        item = factories.decision(document_no="西应急罚〔2026〕777号")
        editor = make_staff("editor", username="editor.objection")
        db.session.commit()
        item_id, secret = item.id, editor.totp_secret
    base = live_server
    page = browser.new_context(locale="zh-CN", java_script_enabled=False).new_page()
    page.goto(f"{base}/decisions/{item_id}")
    page.get_by_role("link", name="信息有误？提出异议").click()
    page.wait_for_url(re.compile(r"/credit/objection/decisions/"))
    page.click("button:has-text('下一步')")
    page.wait_for_load_state()
    assert "请填写提出人" in page.locator(".error-summary").inner_text()
    page.fill("#applicant_name", "景洪市某某矿业有限公司")
    page.fill("#contact", "0691-2123456")
    page.fill("#what_is_wrong", "当事人名称有误。")
    page.fill("#should_read", "名称已于 2026 年 3 月变更，见营业执照。")
    shoot(page, "objection-form", tmp_path)
    page.click("button:has-text('下一步')")
    page.wait_for_url(base + "/credit/objection/check")
    page.click("button:has-text('提交异议')")
    page.wait_for_load_state()
    assert re.search(r"YY\d{4}-\d{6}", page.content())
    shoot(page, "objection-sent", tmp_path)
    page.goto(f"{base}/decisions/{item_id}")
    assert "异议处理中" in page.content()
    shoot(page, "objection-record", tmp_path)
    staff = browser.new_context(locale="zh-CN").new_page()
    sign_in(staff, base, "editor.objection", secret, "/staff/objections")
    staff.locator("a", has_text=re.compile(r"YY\d{4}-")).first.click()
    staff.wait_for_load_state()
    shoot(staff, "staff-objection", tmp_path)
    audit = Auditor(staff)
    audit.check("/staff/objections/<id>")
    audit.visit(f"{base}/credit/objection/decisions/{item_id}", "/credit/objection form")
    audit.visit(f"{base}/decisions/{item_id}", "decision under objection")
    audit.assert_clean()
