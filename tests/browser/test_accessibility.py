"""axe-core over every page a person sees, public and back office, in headless Chromium.

A violation of impact "serious" or "critical" fails the test, listed by page, rule and element.
Moderate and minor findings do not fail it; they are printed (run with ``-s`` to see them), so a
new one shows up in the log without blocking a merge.

axe needs JavaScript (it hangs in a context with JavaScript off: DESIGN.md §6), so these pages are
opened with JavaScript on even though the portal itself uses none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pyotp
import pytest

from portal.extensions import db
from portal.models import local_today
from portal.services.publication import publishing
from portal.services.publication.history import apply_changes, record_version
from tests import factories
from tests.conftest import skip_or_fail
from tests.staff.conftest import PASSWORD, make_staff

try:
    import axe_playwright_python.sync_playwright as axe_playwright
except ImportError:  # a skip locally, a failure under PORTAL_TEST_STRICT=1 (CI)
    skip_or_fail("axe-playwright-python is not installed (make install-test)")

BLOCKING = {"serious", "critical"}
# axe's default rules (WCAG 2.0–2.2 A/AA and best practices), plus the WCAG 2.2 target size
# check, which matters on a phone.
AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}


@dataclass
class Finding:
    page: str
    rule: str
    impact: str
    help: str
    targets: list[str]

    def __str__(self) -> str:
        where = ", ".join(self.targets[:5]) + (" …" if len(self.targets) > 5 else "")
        return f"{self.page}: [{self.impact}] {self.rule} — {self.help} — {where}"


class Auditor:
    """Runs axe on the current page of a Playwright page and collects what it finds."""

    def __init__(self, page, widths: tuple[int, ...] = (360, 1280)) -> None:
        self.page = page
        self.widths = widths
        self.axe = axe_playwright.Axe()
        self.findings: list[Finding] = []
        self.pages: list[str] = []

    def check(self, label: str) -> None:
        # At a phone's width and a laptop's: target sizes, overflowing regions and what is
        # hidden differ between the two layouts.
        for width in self.widths:
            self.page.set_viewport_size({"width": width, "height": 900})
            results = self.axe.run(self.page, options=AXE_OPTIONS)
            for violation in results.response["violations"]:
                self.findings.append(Finding(
                    page=f"{label} @{width}px",
                    rule=violation["id"],
                    impact=violation["impact"] or "minor",
                    help=violation["help"],
                    targets=[" ".join(map(str, node["target"])) for node in violation["nodes"]],
                ))
        self.pages.append(label)

    def visit(self, url: str, label: str, status: int | None = 200) -> None:
        response = self.page.goto(url)
        if status is not None:
            assert response is not None and response.status == status, (url, response.status)
        self.check(label)

    def assert_clean(self) -> None:
        others = [f for f in self.findings if f.impact not in BLOCKING]
        if others:
            print("\naxe findings below serious (not failing):")
            for finding in others:
                print("  ", finding)
        blocking = [f for f in self.findings if f.impact in BLOCKING]
        assert not blocking, "axe found serious or critical violations:\n" + "\n".join(
            str(f) for f in blocking
        )


@pytest.fixture
def site(live_app) -> dict:
    """A little of everything a page can show: each kind, a withdrawn item with history,
    a draft with a deadline for the editor's home, and an account that still has to enrol."""
    with live_app.app_context():
        power = factories.power(name="对危险化学品企业未按规定排查治理事故隐患的行政处罚")
        for day in range(1, 4):
            factories.decision(party_name=f"景洪市某某矿业有限公司{day}", decision_date=date(2026, 5, day))
        withdrawn = factories.decision(party_name="勐海县撤回测试建材有限公司")
        accident = factories.accident()
        blacklisted = factories.blacklist_entry()
        factories.decision(published=False, party_name="勐腊县草稿测试矿业有限公司",
                           decision_date=local_today() - timedelta(days=3))
        db.session.commit()
        changes = apply_changes(withdrawn, {"fine_yuan": Decimal("30000"), "penalty": "警告，罚款"})
        record_version(db.session, withdrawn, changes, "更正罚款金额")
        db.session.commit()
        publishing.withdraw_item(withdrawn, reason="该决定已被行政复议机关撤销")
        user = make_staff("editor", "admin", username="editor.wang", confirmed=False)
        return {
            "power": power.url_path,
            "withdrawn": withdrawn.url_path,
            "accident": accident.url_path,
            "blacklist": blacklisted.url_path,
            "username": user.username,
            "secret": user.totp_secret,
        }


def test_public_pages_have_no_serious_accessibility_violations(live_server, page, site):
    audit = Auditor(page)
    base = live_server
    audit.visit(base + "/", "home")
    filters = {
        "powers": "power_type=行政处罚",
        "decisions": "county=景洪市&year=2026&decision_type=行政处罚",
        "accidents": "county=景洪市&sector=非煤矿山",
        "blacklist": "status=active",
    }
    for kind, query in filters.items():
        audit.visit(f"{base}/{kind}?{query}", f"/{kind} filtered")
    audit.visit(base + "/decisions?year=1999", "/decisions no match")
    audit.visit(base + site["power"], "power detail (flowchart)")
    audit.visit(base + site["withdrawn"], "withdrawn decision with history")
    audit.visit(base + site["accident"], "accident detail")
    audit.visit(base + site["blacklist"], "blacklist detail")
    audit.visit(base + "/search?q=矿业", "/search results")
    assert page.locator(".search-hit").count() >= 1
    audit.visit(base + "/search?q=不存在的词语", "/search no results")
    assert page.locator(".search-empty").count() == 1
    audit.visit(base + "/search", "/search empty")
    audit.visit(base + "/search?q=矿山&year=20x6&kind=users", "/search bad query", status=400)
    assert page.locator(".error-summary").count() == 1
    audit.visit(base + "/no-such-page", "404 page", status=404)
    audit.visit(base + "/data", "/data dictionary")


    audit.visit(base + "/stats", "/stats")
    audit.visit(base + "/stats?year=1999", "/stats bad year")
    audit.visit(base + "/compliance", "/compliance")
    audit.assert_clean()


def test_staff_pages_have_no_serious_accessibility_violations(live_server, page, site):
    # The back office is used on office computers: checked at a laptop's width only (the public
    # pages, which people open on their phones, are checked at both).
    audit = Auditor(page, widths=(1280,))
    base = live_server
    audit.visit(base + "/staff/login", "/staff/login")

    page.fill("#username", site["username"])
    page.fill("#password", "wrong password, on purpose")
    page.click("button:has-text('登录')")
    assert page.locator(".error-summary").count() == 1
    audit.check("/staff/login failed")

    # A new account signs in with its password, then enrols its authenticator.
    page.fill("#username", site["username"])
    page.fill("#password", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(base + "/staff/login/enrol")
    audit.check("enrolment")
    wrong = "000000" if pyotp.TOTP(site["secret"]).now() != "000000" else "111111"
    page.fill("#code", wrong)
    page.click("form.staff-form button")
    page.wait_for_load_state()
    assert page.locator(".error-summary a[href='#code']").count() == 1
    assert page.locator("#code").get_attribute("aria-invalid") == "true"
    audit.check("enrolment failed")
    page.fill("#code", pyotp.TOTP(site["secret"]).now())
    page.click("button[type=submit]:has-text('完成绑定')")
    page.wait_for_url(base + "/staff/")
    assert page.locator("#overdue-title").count() == 1  # the editor's agenda is shown
    audit.check("editor home")

    audit.visit(base + "/staff/decisions", "/staff/decisions")
    audit.visit(base + "/staff/decisions/new", "/staff/decisions/new")
    page.click("form.staff-form button:has-text('保存草稿')")
    page.wait_for_load_state()
    assert page.locator(".error-summary a").count() >= 3
    audit.check("/staff/decisions/new submitted empty")

    page.goto(base + "/staff/decisions")
    page.click("a:has-text('勐腊县草稿测试矿业有限公司')")
    page.wait_for_url(re.compile(r"/staff/decisions/\d+$"))
    audit.check("/staff/decisions/<id> draft")
    audit.visit(base + "/staff" + site["withdrawn"], "/staff/decisions/<id> withdrawn, with versions")

    audit.visit(base + "/staff/accounts", "/staff/accounts")
    audit.visit(base + "/staff/accounts/new", "/staff/accounts/new")
    audit.visit(base + "/staff/audit", "/staff/audit")
    audit.visit(base + "/staff/audit?action=publish&date_from=2026-01-01", "/staff/audit filtered")
    audit.visit(base + "/staff/audit?date_from=2026-13-01", "/staff/audit bad date", status=400)
    assert page.locator("#date_from").get_attribute("aria-invalid") == "true"
    audit.assert_clean()


# ---------------------------------------------------------------- usability checks axe cannot make


def _focus_ring(page) -> dict:
    return page.evaluate("""() => {
        const s = getComputedStyle(document.activeElement);
        return {tag: document.activeElement.tagName, style: s.outlineStyle,
                width: parseFloat(s.outlineWidth), shadow: s.boxShadow};
    }""")


@pytest.mark.parametrize("path", ["/", "/decisions", "/search?q=矿业"])
def test_keyboard_focus_is_always_visible(live_server, page, site, path):
    """Each of the first stops of the Tab key shows a ring: outline and a contrasting band."""
    page.goto(live_server + path)
    for _ in range(15):
        page.keyboard.press("Tab")
        ring = _focus_ring(page)
        if ring["tag"] == "BODY":
            break
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        assert ring["shadow"] != "none", ring


def test_search_errors_link_to_their_fields_and_keep_the_input(live_server, page_nojs, site):
    page = page_nojs  # the public site must work without JavaScript
    page.goto(live_server + "/search?q=矿业&year=20x6")
    summary = page.locator(".error-summary")
    assert summary.count() == 1
    link = summary.locator("a[href='#year']")
    assert "年份" in link.inner_text()
    year = page.locator("#year")
    assert year.input_value() == "20x6"
    assert year.get_attribute("aria-invalid") == "true"
    assert page.locator("#" + year.get_attribute("aria-describedby")).inner_text() == link.inner_text()
    assert page.locator("#search-q").input_value() == "矿业"
    link.click()
    assert page.url.endswith("#year")


def test_staff_form_errors_keep_what_was_typed(live_server, page, site):
    with_code = {"username": site["username"], "secret": site["secret"]}
    page.goto(live_server + "/staff/login")
    page.fill("#username", with_code["username"])
    page.fill("#password", PASSWORD)
    page.click("form.staff-form button")
    page.wait_for_url(live_server + "/staff/login/enrol")
    page.fill("#code", pyotp.TOTP(with_code["secret"]).now())
    page.click("form.staff-form button")
    page.wait_for_url(live_server + "/staff/")

    page.goto(live_server + "/staff/decisions/new")
    page.fill("#document_no", "西应急罚〔2026〕77号")
    page.fill("#facts", "经查，该公司未按规定开展隐患排查。")
    page.fill("#fine_yuan", "-5")
    page.select_option("#county", "勐海县")
    page.click("form.staff-form button:has-text('保存草稿')")
    page.wait_for_load_state()
    # Everything typed is still there, the bad amount included, so it can be corrected.
    assert page.locator("#document_no").input_value() == "西应急罚〔2026〕77号"
    assert page.locator("#facts").input_value() == "经查，该公司未按规定开展隐患排查。"
    assert page.locator("#fine_yuan").input_value() == "-5"
    assert page.locator("#county").input_value() == "勐海县"
    # The summary lists the problems in the order of the form, each linked to its field.
    hrefs = [a.get_attribute("href") for a in page.locator(".error-summary a").all()]
    order = page.evaluate("() => [...document.querySelectorAll('form.staff-form [id]')].map(e => '#' + e.id)")
    assert hrefs and all(href in order for href in hrefs)
    assert [order.index(h) for h in hrefs] == sorted(order.index(h) for h in hrefs)
    fine = page.locator("#fine_yuan")
    assert fine.get_attribute("aria-invalid") == "true"
    assert "fine_yuan-error-1" in fine.get_attribute("aria-describedby")


def test_credit_pages_have_no_serious_accessibility_violations(live_server, live_app, page):
    with live_app.app_context():
        listed = factories.blacklist_entry()
        factories.decision(enterprise=listed.enterprise)
        db.session.commit()
        code = listed.uscc
    typo = code[:17] + ("0" if code[17] != "0" else "1")
    audit = Auditor(page)
    base = live_server
    audit.visit(base + "/credit", "/credit")
    audit.visit(f"{base}/credit?code={code}", "/credit listed")
    audit.visit(f"{base}/credit?code={typo}", "/credit wrong check character", status=400)
    assert page.locator(".credit-suggestions a").count() == 1
    audit.visit(base + "/credit?code=91350100M000100Y43", "/credit no record")
    audit.visit(base + "/credit?name=测试矿业", "/credit by name")
    page.goto(f"{base}/credit?code={code}")
    page.click("button:has-text('出具信用记录查询证明')")
    page.wait_for_url(re.compile(r"/credit/certificate\?number="))
    audit.check("/credit/certificate")
    number = page.locator(".certificate-number").inner_text().strip()
    audit.visit(base + "/credit/certificate", "/credit/certificate without a number")
    audit.visit(base + "/credit/verify", "/credit/verify")
    audit.visit(f"{base}/credit/verify?code={number}", "/credit/verify genuine")
    audit.visit(base + "/credit/verify?code=XSBN-7KQ2-XM9D", "/credit/verify unknown number")
    assert page.locator(".error-summary").count() == 1


def test_report_pages_have_no_serious_accessibility_violations(live_server, live_app, page, tmp_path):
    from sqlalchemy import select

    from portal.models import Report, ReportMessage, Reward
    from tests.reports.conftest import jpeg_bytes

    audit = Auditor(page)
    base = live_server
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes())
    audit.visit(base + "/report", "/report")
    page.click("button:has-text('下一步')")
    page.wait_for_load_state()
    assert page.locator(".error-summary a").count() >= 5
    audit.check("/report submitted empty")

    page.check("#kind-0")
    page.fill("#enterprise_name", "景洪市无障碍测试化工有限公司")
    page.select_option("#county", "景洪市")
    page.fill("#place", "景洪工业园区")
    page.fill("#description", "储罐区围堰破损。")
    page.fill("#seen_since", "上个月")
    page.set_input_files("#photos", str(photo))
    page.check("#callback")
    page.click("button:has-text('下一步')")
    page.wait_for_load_state()
    assert page.locator(".error-summary a[href='#contact']").count() == 1
    audit.check("/report with kept photo and a missing contact")
    page.fill("#contact", "13800000000")
    page.click("button:has-text('下一步')")
    page.wait_for_url(base + "/report/check")
    audit.check("/report/check")
    page.click("button:has-text('提交举报')")
    page.wait_for_load_state()
    code = page.locator("#receipt-code").inner_text().strip()
    audit.check("receipt")

    with live_app.app_context():
        report = db.session.scalar(select(Report))
        report.status, report.closed_as, report.closed_on = "closed", "rectified", local_today()
        report.add_event("closed", local_today(), note="企业已修复围堰")
        report.messages.append(ReportMessage(sent_on=local_today(), author="staff", body="请补充照片。"))
        report.reward = Reward(amount_yuan=3000, status="approved", proposed_on=local_today(),
                               claim_due=local_today() + timedelta(days=60))
        db.session.commit()

    audit.visit(base + "/report/followup", "/report/followup")
    page.fill("#code", "WRONG-CODE")
    page.click("main button:has-text('查询')")
    page.wait_for_load_state()
    assert page.locator(".error-summary a[href='#code']").count() == 1
    audit.check("/report/followup wrong code")
    page.fill("#code", code)
    page.click("main button:has-text('查询')")
    page.wait_for_load_state()
    assert page.locator(".reward-panel").count() == 1 and page.locator("#reopen-reason").count() == 1
    audit.check("case page: message, reward, reopen")
    page.click("button:has-text('发送')")
    page.wait_for_load_state()
    assert page.locator(".error-summary a[href='#reply-body']").count() == 1
    audit.check("case page: empty reply")
    page.click("button:has-text('生成领奖凭证')")
    page.wait_for_load_state()
    assert page.locator(".slip-code").count() == 1
    audit.check("case page: claim slip")
    page.click("button:has-text('打印领奖凭证')")
    page.wait_for_load_state()
    assert page.locator(".slip-print .receipt-code").count() == 1
    audit.check("claim slip print page")


@pytest.fixture
def reports_site(live_app) -> dict:
    """Reports in several states, with a photo, messages, a duplicate candidate and rewards
    waiting for approval and for payment; an account that both handles and approves."""
    import io

    from PIL import Image

    from portal.models import ReportMessage, ReportPhoto, Reward

    with live_app.app_context():
        proposer = make_staff("handler", username="handler.proposer")
        user = make_staff("handler", "approver", username="handler.axe")
        # Assigned to the account under test: only a report's handler reads it (need-to-know).
        report = factories.accepted_report(uscc_digest="same-code", contact="13800001111",
                                           handler_id=user.id)
        image = io.BytesIO()
        Image.new("RGB", (64, 48), (120, 140, 90)).save(image, "PNG")
        report.photos.append(ReportPhoto(media_type="image/png", width=64, height=48,
                                         data=image.getvalue()))
        report.messages.append(ReportMessage(sent_on=local_today(), author="staff", body="裂缝多宽？"))
        report.messages.append(ReportMessage(sent_on=local_today(), author="reporter", body="约十厘米。"))
        factories.report(uscc_digest="same-code")
        overdue = factories.report(received_on=local_today() - timedelta(days=60))
        verified = factories.accepted_report(status="verified", verification_result="true",
                                             handler_id=user.id)
        verified.decision = factories.decision(fine_yuan=Decimal(52000))
        waiting = factories.accepted_report(status="verified", verification_result="true")
        claimed = factories.accepted_report(status="closed", closed_as="rectified",
                                            verification_result="true", handler_id=user.id)
        db.session.flush()
        waiting.reward = Reward(amount_yuan=3000, basis="罚款 ¥10,000 × 15% = ¥1,500，低于最低奖励，按 ¥3,000",
                                proposed_on=local_today(), proposed_by_id=proposer.id)
        claimed.reward = Reward(amount_yuan=7800, basis="罚款 ¥52,000 × 15% = ¥7,800",
                                proposed_on=local_today(), proposed_by_id=proposer.id,
                                status="claimed", claimed_on=local_today(), claim_method="transfer",
                                payment_details="农业银行 6228 4800 0000 0000 000 张某")
        db.session.commit()
        return {"username": user.username, "secret": user.totp_secret, "report": report.id,
                "verified": verified.id, "waiting": waiting.reward.id, "claimed": claimed.reward.id,
                "unassigned": overdue.id}


def test_staff_report_pages_have_no_serious_accessibility_violations(live_server, page,
                                                                    reports_site):
    # Handlers may work from a phone in the field: both widths.
    audit = Auditor(page)
    base, site = live_server, reports_site
    page.goto(base + "/staff/login")
    page.fill("#username", site["username"])
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.TOTP(site["secret"]).now())
    page.click("button:has-text('登录')")
    page.wait_for_url(base + "/staff/")
    audit.check("handler and approver home")
    audit.visit(base + "/staff/reports/", "/staff/reports")
    audit.visit(base + "/staff/reports/?status=open&kind=hazard", "/staff/reports filtered")
    audit.visit(base + f"/staff/reports/{site['report']}", "/staff/reports/<id> accepted")
    page.click("summary:has-text('延长核查期限')")
    page.fill("#extend_days", "45")
    with page.expect_navigation():
        page.click("details:has(#extend_days) button")
    assert page.locator(".error-summary a[href='#extend_days']").count() == 1
    assert page.locator("#extend_days").input_value() == "45"
    audit.check("/staff/reports/<id> step failed")
    audit.visit(base + f"/staff/reports/{site['verified']}", "/staff/reports/<id> verified")
    audit.visit(base + f"/staff/reports/{site['unassigned']}", "/staff/reports/<id> not yet taken")
    page.goto(base + "/staff/reports/find?number=JB2026-999999")  # a 404 with the queue
    audit.check("/staff/reports/find unknown number")
    audit.visit(base + "/staff/rewards/", "/staff/rewards")
    audit.visit(base + f"/staff/rewards/{site['waiting']}", "/staff/rewards/<id> to approve")
    audit.visit(base + f"/staff/rewards/{site['claimed']}", "/staff/rewards/<id> to pay")
    with page.expect_navigation():
        page.click("button:has-text('登记发放')")
    assert page.locator(".error-summary a[href='#payment_reference']").count() == 1
    audit.check("/staff/rewards/<id> payment failed")
    audit.visit(base + "/staff/rewards/slip", "/staff/rewards/slip")
    page.fill("#slip", "not-a-slip")
    with page.expect_navigation():
        page.click("main button:has-text('核验')")
    assert page.locator(".error-summary a[href='#slip']").count() == 1
    audit.check("/staff/rewards/slip refused")
    audit.assert_clean()
