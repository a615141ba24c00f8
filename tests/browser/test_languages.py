"""The pages in Lao, Burmese and English in a real browser (issue 16).

* A worker reports in Lao with JavaScript off, from the Chinese home page's language switcher to
  the receipt, follows up, reads the handler's question and answers in Lao; the handler then
  sees the language (语言：ລາວ) and the Lao message in the back office.
* axe over the translated pages in each language (lang attributes, labels, contrast with the
  longer Lao and Burmese words, target sizes), at a phone's and a laptop's width.
* The Lao and Burmese glyphs are drawn with real fonts: the text is wider than a row of
  replacement boxes would be, and the same in the font stacks' first font.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Report, ReportMessage, local_today
from tests import factories
from tests.browser.test_accessibility import Auditor
from tests.staff.conftest import PASSWORD, make_staff

CODE_PATTERN = re.compile(r"^([0-9A-Z]{4}-){6}[0-9A-Z]{4}$")
LAO_DESCRIPTION = "ໂຄງນັ່ງຮ້ານຊັ້ນສາມຫັກ, ຄົນງານຍັງເຮັດວຽກຢູ່ກ້ອງ."
LAO_REPLY = "ມີຄົນງານປະມານສິບຄົນ, ເຮັດວຽກທຸກມື້."


def test_a_worker_reports_in_lao_without_javascript(live_server, live_app, page_nojs, browser):
    page, base = page_nojs, live_server
    page.set_viewport_size({"width": 360, "height": 800})

    page.goto(base + "/")
    page.click(".language-switcher a[lang='lo']")
    page.wait_for_url(base + "/lo/")
    assert page.locator("html").get_attribute("lang") == "lo"
    page.click("nav.site-nav a:has-text('ແຈ້ງອັນຕະລາຍ')")
    page.wait_for_url(base + "/lo/report")

    # Sent without the required fields: the errors are in Lao, the input is kept.
    page.fill("#place", "ບ່ອນກໍ່ສ້າງ ໃກ້ດ່ານບໍ່ເຕັນ")
    page.click("button:has-text('ຕໍ່ໄປ')")
    summary = page.locator(".error-summary")
    assert summary.count() == 1 and "ກະລຸນາແກ້ໄຂບັນຫາຕໍ່ໄປນີ້" in summary.inner_text()
    assert "ກະລຸນາຂຽນຊື່ບໍລິສັດ ຫຼື ບ່ອນເຮັດວຽກ." in summary.inner_text()
    assert page.locator("#place").input_value() == "ບ່ອນກໍ່ສ້າງ ໃກ້ດ່ານບໍ່ເຕັນ"

    page.check("#kind-0")
    page.fill("#enterprise_name", "ບໍລິສັດ ກໍ່ສ້າງ ສາມັກຄີ")
    page.select_option("#county", "磨憨经济开发区管委会")
    page.fill("#description", LAO_DESCRIPTION)
    page.fill("#seen_since", "ແຕ່ອາທິດແລ້ວ")
    page.click("button:has-text('ຕໍ່ໄປ')")
    page.wait_for_url(base + "/lo/report/check")
    assert LAO_DESCRIPTION in page.content() and "ໃຜເຫັນຫຍັງໄດ້" in page.content()

    page.click("button:has-text('ສົ່ງການແຈ້ງ')")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "ສົ່ງການແຈ້ງແລ້ວ"
    code = page.locator("#receipt-code").inner_text().strip().replace("\n", "")
    assert CODE_PATTERN.match(code), code
    number = re.search(r"JB\d{4}-\d{6}", page.content()).group(0)
    with page.expect_download() as info:
        page.click("button:has-text('ດາວໂຫຼດໃບຮັບ')")
    receipt = info.value.path().read_text(encoding="utf-8")
    assert code in receipt and "ລະຫັດໃບຮັບ" in receipt and "/lo/report/followup" in receipt

    with live_app.app_context():
        report = db.session.scalar(select(Report))
        assert report.language == "lo" and report.description == LAO_DESCRIPTION
        report.messages.append(ReportMessage(sent_on=local_today(), author="staff",
                                             body="请问有多少工人？ ມີຄົນງານຈັກຄົນ?"))
        db.session.commit()

    page.goto(base + "/lo/report/followup")
    page.fill("#code", code.lower().replace("-", " "))
    page.click("main button:has-text('ຄົ້ນຫາ')")
    page.wait_for_load_state()
    assert number in page.content() and "ມີຄົນງານຈັກຄົນ?" in page.content()
    assert "ໄດ້ຮັບແລ້ວ, ລໍຖ້າການຮັບເລື່ອງ" in page.content()  # the status, in Lao
    page.fill("#reply-body", LAO_REPLY)
    page.click("button:has-text('ສົ່ງ')")
    page.wait_for_load_state()
    assert "ຂໍ້ຄວາມຂອງທ່ານສົ່ງໃຫ້ພະນັກງານຮັບຜິດຊອບແລ້ວ." in page.content()
    assert LAO_REPLY in page.content()

    # The handler (Chinese back office) sees the language and the Lao message.
    with live_app.app_context():
        make_staff("handler", username="handler.mohan")
        db.session.commit()
    staff_context = browser.new_context(locale="zh-CN")
    try:
        staff = staff_context.new_page()
        import pyotp

        from portal.staff.models import StaffUser

        with live_app.app_context():
            secret = db.session.scalar(select(StaffUser.totp_secret).where(
                StaffUser.username == "handler.mohan"))
        staff.goto(base + "/staff/login")
        staff.fill("#username", "handler.mohan")
        staff.fill("#password", PASSWORD)
        staff.fill("#code", pyotp.TOTP(secret).now())
        staff.click("button:has-text('登录')")
        staff.wait_for_url(base + "/staff/")
        staff.goto(base + "/staff/reports/")
        row = staff.locator("tr", has_text=number)
        assert "语言：ລາວ" in row.inner_text()
        staff.click(f"a:has-text('{number}')")
        staff.wait_for_load_state()
        if staff.locator("button:has-text('承办此举报')").count():
            staff.click("button:has-text('承办此举报')")
            staff.wait_for_load_state()
        content = staff.content()
        assert "语言：" in content and "ລາວ" in content
        assert LAO_REPLY in content and LAO_DESCRIPTION in content
    finally:
        staff_context.close()


# One test per language: the three took 90 s on one xdist worker, the longest test of the suite.
@pytest.mark.parametrize("lang", ["en", "lo", "my"])
def test_translated_pages_have_no_serious_accessibility_violations(live_server, live_app, page,
                                                                   lang):
    with live_app.app_context():
        listed = factories.blacklist_entry()
        decision = factories.decision(enterprise=listed.enterprise)
        supervised = factories.supervision_item()
        db.session.commit()
        uscc, decision_id, supervised_id = listed.uscc, decision.id, supervised.id
    audit = Auditor(page)
    base = f"{live_server}/{lang}"
    audit.visit(base + "/", f"{lang} home")
    audit.visit(base + "/report", f"{lang} report form")
    page.locator("form.report-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".error-summary").count() == 1
    audit.check(f"{lang} report form with errors")
    audit.visit(base + "/report/followup", f"{lang} follow-up")
    audit.visit(base + f"/credit?code={uscc}", f"{lang} credit result")
    audit.visit(base + "/credit?code=12345", f"{lang} credit code refused", status=400)
    audit.visit(base + "/credit/verify", f"{lang} certificate check")
    audit.visit(base + "/no-such-page", f"{lang} 404", status=404)
    audit.visit(base + "/decisions", f"{lang} decisions")
    audit.visit(base + f"/decisions/{decision_id}", f"{lang} a decision")
    audit.visit(base + "/blacklist?status=active", f"{lang} blacklist, filtered")
    audit.visit(base + "/supervision", f"{lang} supervision with its map")
    audit.visit(base + f"/supervision/{supervised_id}", f"{lang} a supervised case")
    audit.visit(base + "/search?q=有限公司", f"{lang} search results")
    audit.visit(base + "/search?q=有限公司&year=20x6", f"{lang} search refused", status=400)
    audit.visit(base + "/credit/repair", f"{lang} credit repair form")
    audit.visit(base + "/credit/repair/followup", f"{lang} credit repair follow-up")
    audit.visit(base + f"/credit/objection/decisions/{decision_id}", f"{lang} objection form")
    audit.visit(base + "/stats", f"{lang} statistics")
    audit.visit(base + "/compliance", f"{lang} publishing on time")
    audit.visit(base + "/credit/certificate", f"{lang} how a certificate works")
    audit.assert_clean()


def test_lao_and_burmese_glyphs_are_drawn_with_their_fonts(live_server, page):
    """Tofu (a missing glyph) is drawn as boxes of one width whatever the letters; real glyphs
    are not.  No string of eight letters may be exactly as wide as eight boxes (this is how a
    machine without fonts-noto-core was found: Burmese was all boxes, 76.8 px like the boxes)."""
    page.goto(live_server + "/lo/report")
    widths = page.evaluate("""() => {
        const measure = (text, lang) => {
            const span = document.createElement('span');
            span.lang = lang; span.textContent = text; span.style.whiteSpace = 'nowrap';
            document.body.appendChild(span);
            const width = span.getBoundingClientRect().width; span.remove(); return width;
        };
        return {
            lao: [measure('ກກກກກກກກ', 'lo'), measure('ມມມມມມມມ', 'lo')],
            my: [measure('ကကကကကကကက', 'my'), measure('ဂဂဂဂဂဂဂဂ', 'my')],
            tofu: measure('\\uE000\\uE000\\uE000\\uE000\\uE000\\uE000\\uE000\\uE000', 'my'),
        };
    }""")
    assert widths["tofu"] > 0
    assert widths["tofu"] not in widths["lao"] + widths["my"], widths


def test_translated_pages_fit_a_phone(live_server, live_app, page):
    """Longer words than the Chinese ones must wrap, not push the page sideways at 360 px
    (the certificate button in Burmese did)."""
    with live_app.app_context():
        listed = factories.blacklist_entry()
        decision = factories.decision(enterprise=listed.enterprise)
        db.session.commit()
        uscc, decision_id = listed.uscc, decision.id
    page.set_viewport_size({"width": 360, "height": 800})
    too_wide = []
    for lang in ("en", "lo", "my"):
        for path in ("/", "/report", "/report/followup", f"/credit?code={uscc}", "/credit/verify",
                     "/decisions", f"/decisions/{decision_id}", "/supervision",
                     "/search?q=有限公司", "/credit/repair",
                     f"/credit/objection/decisions/{decision_id}", "/stats", "/compliance",
                     "/credit/certificate"):
            page.goto(f"{live_server}/{lang}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                too_wide.append((lang, path, width))
    assert not too_wide
