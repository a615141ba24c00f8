"""A handler takes and accepts a report, asks a question, verifies it, links the decision and proposes a
reward; a different person, an approver, approves it.  The handler works with JavaScript off."""

from __future__ import annotations

import re
from decimal import Decimal

import pyotp
import pytest

from portal.extensions import db
from portal.models import Report
from tests import factories
from tests.staff.conftest import PASSWORD, make_staff

DOCUMENT_NO = "西应急罚〔2026〕6101号"


@pytest.fixture
def case(live_app) -> dict:
    with live_app.app_context():
        report = factories.report(description="采场边坡出现裂缝，仍在下方作业。")
        factories.decision(document_no=DOCUMENT_NO, fine_yuan=Decimal(52000),
                           party_name=report.enterprise_name)
        db.session.commit()
        handler = make_staff("handler", username="handler.tao")
        approver = make_staff("approver", username="approver.he")
        return {
            "report_id": report.id,
            "number": report.number,
            "handler": (handler.username, handler.totp_secret),
            "approver": (approver.username, approver.totp_secret),
        }


def sign_in(page, base: str, account: tuple[str, str], target: str) -> None:
    page.goto(base + target)
    page.fill("#username", account[0])
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.TOTP(account[1]).now())
    page.click("button:has-text('登录')")
    page.wait_for_url(base + target)



def submit(page, selector: str) -> None:
    """Click a submit button and wait for the page it leads to (no reading a half-loaded page)."""
    with page.expect_navigation():
        page.click(selector)


def test_a_report_from_acceptance_to_an_approved_reward(live_server, live_app, page_nojs, page, case):
    handler, base = page_nojs, live_server
    sign_in(handler, base, case["handler"], "/staff/reports/")
    handler.click(f"a:has-text('{case['number']}')")
    handler.wait_for_url(re.compile(rf"/staff/reports/{case['report_id']}$"))
    # Unassigned: the queue line only, until the handler takes the case (need-to-know).
    assert "采场边坡出现裂缝" not in handler.content()
    submit(handler, "button:has-text('承办此举报')")
    assert "您已承办该举报" in handler.content()
    assert "采场边坡出现裂缝" in handler.content()

    submit(handler, "button:has-text('受理')")
    assert "已受理，核查期限为" in handler.content()

    handler.fill("#message_body", "请问裂缝大约有多宽？在采场哪一侧？")
    submit(handler, "button:has-text('发送给举报人')")
    assert "消息已发送" in handler.content()
    assert "请问裂缝大约有多宽？在采场哪一侧？" in handler.locator(".messages").inner_text()

    handler.click("summary:has-text('登记核查结果')")
    submit(handler, "details:has(#result) button")  # submitted empty: the error summary leads back
    summary = handler.locator(".error-summary")
    assert summary.count() == 1
    summary.locator("a[href='#result']").click()
    handler.select_option("#result", "true")
    submit(handler, "details:has(#result) button")
    assert "已登记核查结果：属实" in handler.content()

    handler.click("summary:has-text('关联处罚决定')")
    handler.fill("#document_no", DOCUMENT_NO)
    submit(handler, "details:has(#document_no) button")
    assert f"已关联处罚决定 {DOCUMENT_NO}" in handler.content()

    assert "7,800 元" in handler.locator(".propose").inner_text()
    handler.click("button:has-text('提出奖励')")
    handler.wait_for_url(re.compile(r"/staff/rewards/\d+$"))
    reward_url = handler.url
    assert "须由其他审批人员审批" in handler.content()
    assert handler.locator("button:has-text('批准奖励')").count() == 0

    approver = page
    sign_in(approver, base, case["approver"], "/staff/rewards/?status=proposed")
    approver.click(f"a:has-text('{case['number']}')")
    approver.wait_for_url(reward_url)
    assert "罚款 ¥52,000 × 15% = ¥7,800" in approver.content()
    submit(approver, "button:has-text('批准奖励')")
    assert "已批准。举报人可在" in approver.content()

    with live_app.app_context():
        report = db.session.get(Report, case["report_id"])
        assert report.reward.status == "approved" and report.reward.amount_yuan == 7_800
        assert [e.kind for e in report.events] == [
            "received", "accepted", "verified", "decision_linked", "reward_approved"]
