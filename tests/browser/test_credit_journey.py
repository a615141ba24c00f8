"""An enterprise checks its credit code, prints its certificate, and the recipient verifies it.

JavaScript is off, as in Tor Browser's Safest mode: every step is a plain form or link.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from portal.extensions import db
from tests import factories


@pytest.fixture
def enterprise(live_app):
    with live_app.app_context():
        ent = factories.enterprise(name="景洪市信用旅程测试化工有限公司")
        factories.blacklist_entry(enterprise=ent, listed_on=date(2021, 4, 1))
        factories.decision(enterprise=ent, document_no="西应急罚〔2026〕77号")
        db.session.commit()
        return {"code": ent.uscc, "name": ent.name}


def test_check_a_code_print_the_certificate_and_verify_it(live_server, page_nojs, enterprise):
    page = page_nojs
    code = enterprise["code"]
    page.goto(live_server + "/")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="信用查询").click()
    page.wait_for_url("**/credit")

    # Typed in lower case with a wrong check character: the page says so and offers the code.
    wrong = "0" if code[17] != "0" else "1"
    page.get_by_role("textbox", name="统一社会信用代码").fill(code[:17].lower() + wrong)
    page.locator("form:has(#code) button").click()
    page.wait_for_load_state()
    assert "校验码不符" in page.locator(".error-summary").inner_text()
    assert page.locator("#code").get_attribute("aria-invalid") == "true"
    page.locator(".credit-suggestions a").first.click()
    page.wait_for_url(re.compile(rf"/credit\?code={code}$"))
    status = page.locator(".credit-status").inner_text()
    assert "未在严重失信主体名单公示期内" in status
    assert enterprise["name"] in page.locator("h2.credit-result-title").inner_text()
    assert page.get_by_role("link", name="西应急罚〔2026〕77号").is_visible()

    # The certificate: issued by the button (a POST with the CSRF token), then shown.
    page.get_by_role("button", name="出具信用记录查询证明").click()
    page.wait_for_url(re.compile(r"/credit/certificate\?number=XSBN-"))
    number = page.locator(".certificate-number").inner_text().strip()
    assert re.fullmatch(r"XSBN-[0-9A-Z]{4}-[0-9A-Z]{4}", number)
    assert page.locator(".certificate-qr svg").count() == 1
    print_css = page.locator('link[rel="stylesheet"][media="print"]')
    assert print_css.count() == 1
    assert page.request.get(live_server + print_css.get_attribute("href")).ok

    # Printed: only the certificate, on one A4 page.
    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden()
    assert page.locator(".credit-print-actions").is_hidden()
    assert page.locator(".certificate").is_visible()
    printed = page.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", printed)) == 1
    page.emulate_media(media="screen")

    # The recipient types the number as it comes, in lower case and with spaces.
    page.goto(live_server + "/credit/verify")
    page.get_by_role("textbox", name="证明编号").fill(number.lower().replace("-", " "))
    page.get_by_role("button", name="核验").click()
    page.wait_for_load_state()
    verified = page.locator(".credit-verified").inner_text()
    assert "核验通过" in verified and number in verified
    assert "出具以来未发生变化" in verified

    # …or follows the QR code's URL (the signed code).
    page.go_back()
    page.go_back()
    page.get_by_role("link", name="在线核验本证明").click()
    page.wait_for_url(re.compile(r"/credit/verify\?code="))
    assert "核验通过" in page.locator(".credit-verified").inner_text()
