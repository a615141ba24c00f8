"""A reporter with JavaScript off: files a report with a photo, keeps the receipt code, follows
up, reads the handler's question and replies, then claims the approved reward."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import Report, ReportMessage, Reward, local_today
from tests.reports.conftest import jpeg_bytes

CODE_PATTERN = re.compile(r"^([0-9A-Z]{4}-){6}[0-9A-Z]{4}$")


def test_reporter_journey_without_javascript(live_server, live_app, page_nojs, tmp_path):
    page, base = page_nojs, live_server
    page.set_viewport_size({"width": 360, "height": 800})  # a phone

    def fits_the_phone() -> bool:
        return page.evaluate("document.documentElement.scrollWidth") <= 360
    photo = tmp_path / "IMG_0042.jpg"
    photo.write_bytes(jpeg_bytes(size=(1600, 1200)))

    page.goto(base + "/")
    page.click("nav a:has-text('我要举报')")
    page.wait_for_url(base + "/report")

    # First try without the required fields: errors summarised and linked, input kept.
    page.fill("#place", "勐海县勐遮镇某砖厂")
    page.click("button:has-text('下一步')")
    assert page.locator(".error-summary a[href='#enterprise_name']").count() == 1
    assert page.locator("#place").input_value() == "勐海县勐遮镇某砖厂"

    page.check("#kind-1")  # 安全生产非法违法行为
    page.fill("#enterprise_name", "勐海县浏览器测试建材厂")
    page.select_option("#county", "勐海县")
    page.fill("#description", "被责令停产后夜间仍在生产，窑炉旁堆放液化气瓶。")
    page.fill("#seen_since", "2026年11月初")
    page.set_input_files("#photos", str(photo))
    page.click("button:has-text('下一步')")
    page.wait_for_url(base + "/report/check")
    assert "被责令停产后夜间仍在生产" in page.content()
    assert page.locator("img[src^='/report/draft-photo/']").count() == 1
    assert "谁能看到什么" in page.content() and fits_the_phone()

    page.click("button:has-text('提交举报')")
    page.wait_for_load_state()
    code = page.locator("#receipt-code").inner_text().strip().replace("\n", "")
    assert CODE_PATTERN.match(code), code
    number = re.search(r"JB\d{4}-\d{6}", page.content()).group(0)
    assert code not in page.url and fits_the_phone()

    with page.expect_download() as info:
        page.click("button:has-text('下载回执')")
    download = info.value
    assert code in download.path().read_text(encoding="utf-8")

    # The handler asks a question (inserted through the model).
    with live_app.app_context():
        report = db.session.scalar(select(Report))
        assert len(report.photos) == 1
        report.messages.append(ReportMessage(sent_on=local_today(), author="staff",
                                             body="请问液化气瓶大约有多少个？"))
        db.session.commit()

    page.goto(base + "/report/followup")
    page.fill("#code", code.lower().replace("-", " "))
    page.click("main button:has-text('查询')")
    page.wait_for_load_state()
    assert number in page.content() and "请问液化气瓶大约有多少个？" in page.content()
    assert page.url == base + "/report/followup" and fits_the_phone()

    page.fill("#reply-body", "大约二十个，堆在窑炉东侧。")
    page.set_input_files("#reply-photos", str(photo))
    page.click("button:has-text('发送')")
    page.wait_for_load_state()
    assert "您的补充已发送给承办人员" in page.content()
    assert "大约二十个，堆在窑炉东侧。" in page.content()
    assert page.locator("img[alt='消息照片 1']").count() == 1

    # The report is verified and a reward approved (inserted through the model).
    with live_app.app_context():
        report = db.session.scalar(select(Report))
        report.status, report.verification_result = "verified", "true"
        report.reward = Reward(amount_yuan=4500, status="approved", proposed_on=local_today(),
                               decided_on=local_today(),
                               claim_due=local_today() + timedelta(days=60))
        report.add_event("reward_approved", local_today())
        db.session.commit()

    page.goto(base + "/report/followup")
    page.fill("#code", code)
    page.click("main button:has-text('查询')")
    page.wait_for_load_state()
    assert "4,500 元" in page.content() and "奖励已批准" in page.content()
    page.fill("#transfer-payment_details", "建设银行 户名某某 账号 6217 0000 0000 0000")
    page.click("button:has-text('提交收款信息')")
    page.wait_for_load_state()
    assert "已申领奖励" in page.content() and "已申领，待发放" in page.content()
    assert fits_the_phone()
    with live_app.app_context():
        reward = db.session.scalar(select(Report)).reward
        assert reward.status == "claimed" and reward.claim_method == "transfer"
