"""An editor signs in with TOTP, publishes a decision, and finds it through the public search."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest

from portal.models import local_today
from tests import factories
from tests.staff.conftest import PASSWORD, make_staff

DOCUMENT_NO = "西应急罚〔2026〕4321号"


@pytest.fixture
def editor(live_app) -> dict:
    with live_app.app_context():
        user = make_staff("editor", username="editor.yu")
        return {"username": user.username, "secret": user.totp_secret}


def _sign_in(page, base: str, editor: dict) -> None:
    page.goto(base + "/staff/decisions/new")
    assert "/staff/login" in page.url  # sent to sign in first, and back afterwards
    page.fill("#username", editor["username"])
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.TOTP(editor["secret"]).now())
    page.click("button:has-text('登录')")
    page.wait_for_url(base + "/staff/decisions/new")


def test_editor_publishes_a_decision_that_the_public_search_finds(live_server, page, editor):
    _sign_in(page, live_server, editor)

    page.fill("#document_no", DOCUMENT_NO)
    page.select_option("#decision_type", "行政处罚")
    page.fill("#party_name", "勐腊县浏览器测试矿业有限公司")
    page.fill("#uscc", factories.credit_code(770001))
    page.select_option("#county", "勐腊县")
    page.select_option("#sector", "非煤矿山")
    page.fill("#facts", "经查，该公司未按规定对重大事故隐患进行排查治理。")
    page.fill("#legal_basis", "《中华人民共和国安全生产法》第一百零二条")
    page.fill("#penalty", "罚款人民币三万元")
    page.fill("#fine_yuan", "30000")
    page.fill("#decision_date", (local_today() - timedelta(days=2)).isoformat())
    page.click("button:has-text('保存草稿')")
    page.wait_for_url(re.compile(r"/staff/decisions/\d+$"))
    item_id = int(page.url.rsplit("/", 1)[1])
    assert "草稿已保存" in page.content()

    page.click("button:has-text('发布')")
    page.wait_for_url(re.compile(rf"/staff/decisions/{item_id}$"))
    assert "已公开发布" in page.content()

    page.goto(live_server + "/search?q=" + DOCUMENT_NO)
    link = page.locator(f"a[href='/decisions/{item_id}']")
    assert link.count() >= 1
    link.first.click()
    page.wait_for_url(live_server + f"/decisions/{item_id}")
    assert DOCUMENT_NO in page.content()


def test_back_office_forms_work_without_javascript(live_server, page_nojs, editor):
    _sign_in(page_nojs, live_server, editor)
    page_nojs.click("button:has-text('保存草稿')")  # empty form: errors, no JavaScript needed
    summary = page_nojs.locator(".error-summary")
    assert summary.count() == 1
    summary.locator("a[href='#document_no']").click()
    assert page_nojs.url.endswith("#document_no")
