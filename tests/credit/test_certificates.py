"""Credit certificates: issue (POST with CSRF), the printable page and PDF, verification by
number or by the signed QR code, tampering, expiry and changes since issue (frozen clock)."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from portal import tokens
from portal.credentials import qr_svg
from portal.credit import pdf
from portal.extensions import db
from portal.models import CreditCertificate
from portal.services.enterprises import blacklist_admin
from portal.services.enterprises import credit as service
from tests import factories
from tests.conftest import skip_or_fail
from tests.credit.test_check import text_of

ISSUED = "2026-11-30T04:00:00+00:00"  # 12:00 in Beijing
NUMBER = re.compile(r"XSBN-[0-9A-Z]{4}-[0-9A-Z]{4}")


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def issue(client, code: str) -> str:
    """Check ``code``, press the certificate button; return the certificate page's URL."""
    page = client.get(f"/credit?code={code}")
    response = client.post("/credit/certificate",
                           data={"csrf_token": csrf_from(page.get_data(as_text=True)), "code": code})
    assert response.status_code == 303
    assert response.location.startswith("/credit/certificate?number=XSBN-")
    return response.location


def number_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["number"][0]


def signed_code(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    match = re.search(r"/credit/verify\?code=([A-Za-z0-9_\-.]+)", html)
    assert match
    return match.group(1)


@pytest.fixture
def listed(app_ctx):
    entry = factories.blacklist_entry(listed_on=date(2026, 3, 1))
    factories.decision(enterprise=entry.enterprise)
    db.session.commit()
    return entry


@time_machine.travel(ISSUED, tick=False)
def test_issuing_stores_a_snapshot_and_shows_a_printable_certificate(client, listed):
    url = issue(client, listed.uscc.lower())
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = text_of(response)
    number = number_of(url)
    assert NUMBER.fullmatch(number)
    assert number in text
    assert "出具时间 2026年11月30日 12:00 （北京时间）" in text
    assert "列入严重失信主体名单，公示期内" in text
    assert "经营、投融资、政府采购" in text
    assert "本证明可在 2026年12月30日（含）之前在线核验" in text
    # the print stylesheet is linked, the QR code is inline SVG without style attributes
    assert re.search(r'<link rel="stylesheet" media="print" href="/static/credit-print\.css', html)
    svg = re.search(r"<svg.*?</svg>", html, flags=re.S).group(0)
    assert "style" not in svg and "<script" not in svg
    # its target: the absolute verification URL with the signed code
    code = signed_code(client, url)
    verify_url = f"http://localhost/credit/verify?code={code}"
    assert f'href="{verify_url}"' in html
    assert qr_svg(verify_url, title="扫描二维码核验本证明") in html  # the QR code encodes it
    assert tokens.unsign("credit_certificate", code, max_age_seconds=60)["n"] == number

    stored = db.session.scalar(db.select(CreditCertificate).filter_by(number=number))
    assert stored.uscc == listed.uscc
    assert stored.snapshot["status"] == service.STATUS_LISTED
    assert stored.snapshot["active_listings"][0]["id"] == listed.id
    assert stored.snapshot["counts"] == {"past_listings": 0, "removals": 0, "decisions": 1,
                                         "accidents": 0, "supervision_open": 0}
    assert stored.snapshot["restrictions"][0] == "经营"


def test_issuing_needs_the_csrf_token(client, listed):
    response = client.post("/credit/certificate", data={"code": listed.uscc})
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(CreditCertificate)) == 0


def test_an_invalid_code_gets_no_certificate(client, app_ctx):
    token = csrf_from(client.get("/credit?code=91350100M000100Y43").get_data(as_text=True))
    response = client.post("/credit/certificate",
                           data={"csrf_token": token, "code": "91350100M000100Y44"},
                           follow_redirects=True)
    assert "无法出具证明：校验码不符" in text_of(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(CreditCertificate)) == 0


def test_a_code_without_record_gets_a_certificate_saying_so(client, app_ctx):
    url = issue(client, "91350100M000100Y43")
    text = text_of(client.get(url))
    assert "本平台无该企业的公开记录" in text
    assert "不代表企业在其他部门" in text


def test_each_certificate_has_its_own_number(client, listed):
    assert number_of(issue(client, listed.uscc)) != number_of(issue(client, listed.uscc))


def test_an_unknown_number_is_a_404_and_no_number_explains(client, app_ctx):
    assert client.get("/credit/certificate?number=XSBN-7KQ2-XM9D").status_code == 404
    assert client.get("/credit/certificate?number=<b>").status_code == 404
    help_page = client.get("/credit/certificate")
    assert help_page.status_code == 200
    assert "出具信用记录查询证明" in text_of(help_page)


def test_the_pdf_is_one_a4_page(client, listed):
    if not pdf.available():
        skip_or_fail(f"{pdf.CJK_FONT_PATH} missing (apt-get install fonts-noto-cjk)")
    url = issue(client, listed.uscc)
    number = number_of(url)
    assert "下载 PDF" in text_of(client.get(url))
    response = client.get(f"/credit/certificate.pdf?number={number}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert number in response.headers["Content-Disposition"]
    body = response.data
    assert body.startswith(b"%PDF-")
    assert body.count(b"/Type /Page\n") + body.count(b"/Type /Page/") + body.count(b"/Type /Page ") >= 1
    assert b"/MediaBox [0 0 595.28 841.89]" in body  # A4 in points
    assert b"NotoSansCJK" in body  # the CJK font is embedded (subset)
    assert client.get("/credit/certificate.pdf?number=XSBN-7KQ2-XM9D").status_code == 404


def test_without_the_cjk_font_no_pdf_is_offered(client, listed, monkeypatch, tmp_path):
    monkeypatch.setattr(pdf, "CJK_FONT_PATH", tmp_path / "missing.ttc")
    url = issue(client, listed.uscc)
    assert "下载 PDF" not in text_of(client.get(url))
    assert client.get(f"/credit/certificate.pdf?number={number_of(url)}").status_code == 404


# --- verification -------------------------------------------------------------------------------


@pytest.mark.parametrize("mangle", [
    lambda n: n,
    lambda n: n.lower(),
    lambda n: n.replace("-", " "),
    lambda n: n.replace("-", ""),
    lambda n: " " + n[5:].lower() + " ",  # prefix left out
])
def test_a_typed_number_verifies_whatever_its_case_spaces_and_hyphens(client, listed, mangle):
    number = number_of(issue(client, listed.uscc))
    response = client.get("/credit/verify", query_string={"code": mangle(number)})
    assert response.status_code == 200
    text = text_of(response)
    assert "核验通过：这是本平台出具的证明" in text
    assert number in text
    assert "列入严重失信主体名单，公示期内" in text
    assert "出具以来未发生变化" in text


def test_the_signed_code_from_the_qr_verifies_and_so_does_the_whole_url(client, listed):
    url = issue(client, listed.uscc)
    code = signed_code(client, url)
    assert "核验通过" in text_of(client.get("/credit/verify", query_string={"code": code}))
    pasted = f"http://localhost/credit/verify?code={code}"
    assert "核验通过" in text_of(client.get("/credit/verify", query_string={"code": pasted}))


def test_after_a_qr_scan_the_field_shows_the_certificate_number(client, listed):
    url = issue(client, listed.uscc)
    code = signed_code(client, url)
    for typed in (code, f"http://localhost/credit/verify?code={code}"):
        html = client.get("/credit/verify", query_string={"code": typed}).get_data(as_text=True)
        field = re.search(r'<input[^>]*name="code"[^>]*>', html).group(0)
        assert f'value="{number_of(url)}"' in field and code not in field


def test_a_pasted_certificate_page_url_verifies(client, listed):
    url = issue(client, listed.uscc)
    response = client.get("/credit/verify", query_string={"code": f"http://localhost{url}"})
    assert "核验通过" in text_of(response)


def test_a_tampered_code_is_refused(client, listed):
    code = signed_code(client, issue(client, listed.uscc))
    payload, rest = code.split(".", 1)
    other = tokens.sign("credit_certificate", {"n": "XSBN-7KQ2-XM9D", "d": "x"})
    for bad in (payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest,
                code[:-3] + ("abc" if code[-3:] != "abc" else "xyz"),
                other.split(".", 1)[0] + "." + rest):
        response = client.get("/credit/verify", query_string={"code": bad})
        assert response.status_code == 200
        text = text_of(response)
        assert "核验未通过" in text and "已被改动，或不是本平台签发的" in text
        assert "核验通过：" not in text


def test_a_code_signed_for_another_purpose_is_refused(client, listed, app):
    number = number_of(issue(client, listed.uscc))
    with app.test_request_context():
        foreign = tokens.sign("reward_claim_slip", {"n": number})
    assert "核验未通过" in text_of(client.get("/credit/verify", query_string={"code": foreign}))


def test_an_edited_certificate_row_no_longer_matches_its_qr_code(client, listed):
    url = issue(client, listed.uscc)
    code = signed_code(client, url)
    stored = db.session.scalar(db.select(CreditCertificate).filter_by(number=number_of(url)))
    stored.snapshot = {**stored.snapshot, "status": service.STATUS_NO_RECORD}
    db.session.commit()
    assert "核验未通过" in text_of(client.get("/credit/verify", query_string={"code": code}))


def test_an_unknown_number_and_garbage_are_told_apart(client, app_ctx):
    unknown = client.get("/credit/verify?code=XSBN-7KQ2-XM9D")
    assert unknown.status_code == 200
    # Well formed: not on record, which is not the same as "not a valid number".
    assert "未查到该编号的证明" in text_of(unknown)
    assert "不是有效的证明编号" not in text_of(unknown) and "核验未通过" not in text_of(unknown)
    garbage = client.get("/credit/verify", query_string={"code": "hello world"})
    assert garbage.status_code == 400
    assert "这不是有效的证明编号" in text_of(garbage)
    too_long = client.get("/credit/verify", query_string={"code": "x" * 2001})
    assert too_long.status_code == 400 and "输入过长" in text_of(too_long)
    empty = client.get("/credit/verify")
    assert empty.status_code == 200 and 'name="code"' in empty.get_data(as_text=True)


def test_a_certificate_expires_after_the_configured_days(client, listed, app):
    days = app.config["SETTINGS"].credit_certificate_days
    assert days == 30
    with time_machine.travel(ISSUED, tick=False):
        url = issue(client, listed.uscc)
        code = signed_code(client, url)
    number = number_of(url)
    # the last day it verifies: issued 2026-11-30, + 30 days
    with time_machine.travel("2026-12-30T15:59:00+00:00", tick=False):
        assert "核验通过" in text_of(client.get(f"/credit/verify?code={number}"))
        assert "核验通过" in text_of(client.get("/credit/verify", query_string={"code": code}))
    with time_machine.travel("2026-12-30T16:01:00+00:00", tick=False):  # 2026-12-31 in Beijing
        for typed in (number, code):
            response = client.get("/credit/verify", query_string={"code": typed})
            text = text_of(response)
            assert "证明已过核验期限" in text
            assert "截至 2026年12月30日" in text
            assert "核验通过：" not in text
    with time_machine.travel("2027-06-01T00:00:00+00:00", tick=False):  # long after: the token
        text = text_of(client.get("/credit/verify", query_string={"code": code}))
        assert "证明已过核验期限" in text and number in text
        # the certificate page itself still shows what it said, marked as past its term
        assert "本证明的在线核验期限已于2026年12月30日届满" in text_of(client.get(url))


@pytest.mark.usefixtures("test_database")
def test_the_validity_is_a_setting(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path, credit_certificate_days=7)
    client = app.test_client()
    with app.app_context():
        entry = factories.blacklist_entry()
        db.session.commit()
        with time_machine.travel(ISSUED, tick=False):
            number = number_of(issue(client, entry.uscc))
            assert "本证明可在 2026年12月7日（含）之前在线核验" in text_of(
                client.get(f"/credit/certificate?number={number}"))
        with time_machine.travel("2026-12-08T04:00:00+00:00", tick=False):
            assert "证明已过核验期限" in text_of(client.get(f"/credit/verify?code={number}"))
        db.session.remove()
        db.engine.dispose()
    app.extensions["search_index"].close()


def test_verification_says_what_changed_since_issue(client, app_ctx):
    with time_machine.travel("2025-06-01T04:00:00+00:00", tick=False):
        entry = factories.blacklist_entry(listed_on=date(2024, 3, 1))
        db.session.commit()
        number = number_of(issue(client, entry.uscc))
    with time_machine.travel("2025-06-10T04:00:00+00:00", tick=False):
        assert "出具以来未发生变化" in text_of(client.get(f"/credit/verify?code={number}"))
        # early removal (信用修复), then a new decision: the status and counts change
        blacklist_admin.remove_early(entry, removed_on=date(2025, 6, 9), reason="已完成整改")
        factories.decision(enterprise=entry.enterprise)
        db.session.commit()
        response = client.get(f"/credit/verify?code={number}")
    text = text_of(response)
    assert "该企业的记录在出具后有变化" in text
    assert ("状态：出具时为“列入严重失信主体名单，公示期内”，现为“未在严重失信主体名单公示期内”"
            in text)
    assert "提前移出（信用修复）的失信名单记录：出具时 0 条，现为 1 条" in text
    assert "行政执法决定：出具时 0 条，现为 1 条" in text
    # what the certificate said is shown as issued
    assert "出具时载明的内容" in text and "经营、投融资" in text


def test_a_listing_that_ends_by_itself_is_a_change_too(client, app_ctx):
    with time_machine.travel("2027-02-20T04:00:00+00:00", tick=False):
        entry = factories.blacklist_entry(listed_on=date(2024, 3, 1))
        db.session.commit()
        number = number_of(issue(client, entry.uscc))
    with time_machine.travel("2027-03-10T04:00:00+00:00", tick=False):
        text = text_of(client.get(f"/credit/verify?code={number}"))
    assert "现为“未在严重失信主体名单公示期内”" in text
    assert "已期满的失信名单记录：出具时 0 条，现为 1 条" in text


def test_an_edit_that_changes_no_count_is_still_reported(client, app_ctx):
    from portal.services.publication.history import apply_changes, record_version

    with time_machine.travel("2026-11-01T04:00:00+00:00", tick=False):
        entry = factories.blacklist_entry(listed_on=date(2026, 3, 1))
        db.session.commit()
        number = number_of(issue(client, entry.uscc))
    with time_machine.travel("2026-11-02T04:00:00+00:00", tick=False):
        record_version(db.session, entry, apply_changes(entry, {"basis": "更正后的依据"}), "更正")
        db.session.commit()
        text = text_of(client.get(f"/credit/verify?code={number}"))
    assert "有记录在出具后更新或撤回" in text


# --- audit ----------------------------------------------------------------------------------------


def _audit_events():
    from portal.audit import AuditEvent

    return list(db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq)))


def test_issuing_is_an_audit_event_naming_the_code_and_number_and_nobody(client, listed):
    from portal import audit

    page = client.get(f"/credit?code={listed.uscc}")
    response = client.post(
        "/credit/certificate",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "code": listed.uscc.lower()},
        environ_base={"REMOTE_ADDR": "203.0.113.77"}, headers={"User-Agent": "Probe/1.0"},
    )
    number = number_of(response.location)
    [event] = _audit_events()
    assert (event.action, event.actor, event.actor_id) == (
        "credit_certificate_issue", audit.ANONYMOUS_ACTOR, None)
    assert (event.object_kind, event.object_id) == ("credit_certificate", number)
    assert event.summary["uscc"] == listed.uscc and event.summary["number"] == number
    assert "203.0.113.77" not in repr(vars(event)) and "Probe" not in repr(vars(event))
    assert audit.verify(db.session).intact
    assert event.action in audit.ACTIONS and event.object_kind in audit.OBJECT_KINDS


def test_a_redrawn_number_leaves_one_audit_event_and_an_intact_chain(client, listed, monkeypatch):
    from portal import audit

    taken = number_of(issue(client, listed.uscc))
    fresh = "XSBN-7KQ2-XM9D"
    draws = iter([taken, fresh])
    monkeypatch.setattr(service, "new_certificate_number", lambda: next(draws))
    assert number_of(issue(client, listed.uscc)) == fresh
    assert [e.object_id for e in _audit_events()] == [taken, fresh]
    assert audit.verify(db.session).intact


def test_no_certificate_no_audit_event(client, app_ctx):
    token = csrf_from(client.get("/credit?code=91350100M000100Y43").get_data(as_text=True))
    client.post("/credit/certificate", data={"csrf_token": token, "code": "91350100M000100Y44"})
    assert _audit_events() == []


def test_a_lookup_by_name_may_be_kept_by_a_shared_cache_and_one_with_the_form_may_not(client,
                                                                                      listed):
    """A list of names is the same for everyone; a record shows the certificate form, whose
    CSRF token is this visitor's (portal/page_cache.py)."""
    by_name = client.get("/credit?name=" + listed.enterprise_name[:4])
    assert by_name.status_code == 200 and "s-maxage=" in by_name.headers["Cache-Control"]
    assert "Set-Cookie" not in by_name.headers
    by_code = client.get("/credit?code=" + listed.uscc)
    assert by_code.status_code == 200 and "credit-certificate-form" in by_code.get_data(as_text=True)
    assert by_code.headers["Cache-Control"] == "private, no-cache"
