"""Public pages leave gzip-compressed to clients that accept it (every browser): one copy made
when the page is kept, its own ETag, ``Vary: Accept-Encoding``; never a report or staff page,
never a page made for one visitor, never a page with a CSRF token (portal/page_cache.py)."""

from __future__ import annotations

import gzip
from datetime import date
from urllib.parse import quote

import pytest
from flask import Flask

from portal.extensions import db
from portal.page_cache import KeptPage
from tests import factories
from tests.staff.conftest import login

BROWSER = "gzip, deflate, br, zstd"  # what Chrome and Firefox send


@pytest.fixture
def decision_id(app: Flask) -> int:
    with app.app_context():
        for n in range(25):  # more than one list page (20 rows)
            factories.decision(party_name=f"压缩测试矿业有限公司{n}")
        item = factories.decision(party_name="压缩测试矿业有限公司详情")
        db.session.commit()
        return item.id


def _pages(decision_id: int) -> list[str]:
    return ["/", "/decisions", f"/decisions/{decision_id}", "/search?q=" + quote("矿业"),
            "/credit", "/credit?name=" + quote("压缩测试"), "/lo/", "/en/decisions",
            "/stats"]


def test_a_browser_gets_the_gzip_copy_and_it_is_the_same_page(app, decision_id):
    client = app.test_client(use_cookies=False)
    for url in _pages(decision_id):
        plain = client.get(url)
        packed = client.get(url, headers={"Accept-Encoding": BROWSER})
        assert plain.status_code == packed.status_code == 200, url
        assert "Content-Encoding" not in plain.headers, url
        assert packed.headers["Content-Encoding"] == "gzip", url
        assert gzip.decompress(packed.get_data()) == plain.get_data(), url
        assert int(packed.headers["Content-Length"]) == len(packed.get_data()) \
            < len(plain.get_data()) / 2, url
        # Two representations of one URL: each its own strong ETag, both say what they vary on.
        assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"', url
        for response in (plain, packed):
            assert "Accept-Encoding" in response.headers["Vary"], url
            assert response.headers["Cache-Control"].startswith("public"), url


def test_a_304_answers_the_etag_of_the_representation_the_client_would_get(app, decision_id):
    client = app.test_client(use_cookies=False)
    url = f"/decisions/{decision_id}"
    plain_tag = client.get(url).headers["ETag"]
    gzip_tag = client.get(url, headers={"Accept-Encoding": BROWSER}).headers["ETag"]

    def ask(held: str, encoding: str | None):
        headers = {"If-None-Match": held} | ({"Accept-Encoding": encoding} if encoding else {})
        return client.get(url, headers=headers)

    same = ask(gzip_tag, BROWSER)
    assert same.status_code == 304 and same.get_data() == b""
    assert same.headers["ETag"] == gzip_tag and "Accept-Encoding" in same.headers["Vary"]
    plain_same = ask(plain_tag, None)
    assert plain_same.status_code == 304 and plain_same.headers["ETag"] == plain_tag
    # Holding the other representation is not holding this one: the page is sent.
    switched = ask(plain_tag, BROWSER)
    assert switched.status_code == 200 and switched.headers["Content-Encoding"] == "gzip"
    unpacked = ask(gzip_tag, None)
    assert unpacked.status_code == 200 and "Content-Encoding" not in unpacked.headers
    assert ask(f"{plain_tag}, {gzip_tag}", BROWSER).status_code == 304


@pytest.mark.parametrize(("header", "compressed"), [
    ("gzip", True), ("x-gzip", True), ("deflate, gzip;q=0.5", True), ("*", True),
    ("br;q=1.0, *;q=0.1", True), ("GZIP", True),
    ("identity", False), ("gzip;q=0", False), ("*;q=0", False), ("gzip;q=0, *", False),
    ("br", False), ("", False),
])
def test_accept_encoding_is_read_as_the_rfc_says(app, decision_id, header, compressed):
    response = app.test_client(use_cookies=False).get(
        "/decisions", headers={"Accept-Encoding": header})
    assert response.status_code == 200
    assert (response.headers.get("Content-Encoding") == "gzip") is compressed


def test_the_offer_of_another_language_is_in_the_gzip_copy_too(app, decision_id):
    client = app.test_client(use_cookies=False)
    for language in ("en-US,en;q=0.8", "lo-LA,lo;q=0.9", None):
        headers = {"Accept-Language": language} if language else {}
        plain = client.get("/", headers=headers)
        packed = client.get("/", headers=headers | {"Accept-Encoding": "gzip"})
        assert gzip.decompress(packed.get_data()) == plain.get_data()
        assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    english = gzip.decompress(client.get("/", headers={
        "Accept-Language": "en", "Accept-Encoding": "gzip"}).get_data())
    assert b"This page is available in English" in english


def test_a_head_request_says_the_compressed_length_and_sends_no_body(app, decision_id):
    client = app.test_client(use_cookies=False)
    packed = client.get("/decisions", headers={"Accept-Encoding": "gzip"})
    head = client.head("/decisions", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Encoding"] == "gzip"
    assert head.headers["Content-Length"] == packed.headers["Content-Length"]


def test_report_pages_are_never_compressed_nor_cached(app):
    client = app.test_client()
    for url in ("/report", "/lo/report", "/report/followup", "/en/report/followup"):
        for _ in range(2):
            response = client.get(url, headers={"Accept-Encoding": BROWSER})
            assert response.status_code == 200, url
            assert "Content-Encoding" not in response.headers, url
            assert response.headers["Cache-Control"] == "no-store", url
            assert "ETag" not in response.headers, url
            assert 'name="csrf_token"' in response.get_data(as_text=True), url
    assert not app.extensions["page_cache"]._pages


def test_staff_pages_and_pages_made_for_one_visitor_are_never_compressed(app, decision_id):
    client = app.test_client()
    response = client.get("/staff/login", headers={"Accept-Encoding": BROWSER})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]
    login(client, roles=("editor",))
    for url in ("/staff/", "/decisions", f"/decisions/{decision_id}"):
        response = client.get(url, headers={"Accept-Encoding": BROWSER})
        assert response.status_code == 200, url
        assert "Content-Encoding" not in response.headers, url
    assert not app.extensions["page_cache"]._pages


def test_a_credit_record_with_the_certificate_forms_token_is_not_compressed(app):
    with app.app_context():
        entry = factories.blacklist_entry(listed_on=date(2026, 3, 1))
        db.session.commit()
        code = entry.uscc
    response = app.test_client().get("/credit?code=" + code,
                                     headers={"Accept-Encoding": BROWSER})
    assert 'name="csrf_token"' in response.get_data(as_text=True)
    assert "Content-Encoding" not in response.headers
    assert response.headers["Cache-Control"] == "private, no-cache"


def test_no_kept_page_carries_a_csrf_token_and_one_that_did_would_not_be_compressed(
        app, decision_id):
    client = app.test_client(use_cookies=False)
    for url in _pages(decision_id):
        client.get(url, headers={"Accept-Encoding": BROWSER})
    kept = list(app.extensions["page_cache"]._pages.values())
    assert len(kept) == len(_pages(decision_id))
    assert all(b"csrf" not in page.body for page in kept)
    body = b"<form>" + b'<input name="csrf_token" type="hidden" value="x">' * 100 + b"</form>"
    assert KeptPage(body, 200, "text/html").compressed(None) is None
    assert KeptPage(body.replace(b"csrf_token", b"other"), 200, "text/html").compressed(None)


def test_small_and_binary_pages_are_kept_plain():
    assert KeptPage(b"<p>ok</p>", 200, "text/html").compressed(None) is None
    assert KeptPage(b"\x89PNG" + bytes(4000), 200, "image/png").compressed(None) is None
    packed = KeptPage(b"<p>row</p>" * 400, 200, "text/html").compressed(None)
    assert packed is not None and gzip.decompress(packed) == b"<p>row</p>" * 400
    # The same page compresses to the same bytes in every worker (one strong ETag for both).
    assert KeptPage(b"<p>row</p>" * 400, 200, "text/html").compressed(None) == packed


# What a browser downloads for the main list page (20 rows, the filters, the navigation): its
# HTML was 18.4 KB sent as it was; compressed it is about 3.3 KB.  A budget, so that growth of
# the markup (or losing the compression) is noticed.
LIST_PAGE_SENT_BYTES = 4_500
LIST_PAGE_HTML_BYTES = 20_000


def test_the_main_list_page_stays_within_its_size_budget(app, decision_id):
    client = app.test_client(use_cookies=False)
    plain = client.get("/decisions")
    sent = client.get("/decisions", headers={"Accept-Encoding": BROWSER})
    assert plain.get_data(as_text=True).count('<tr>') == 21  # the header and 20 rows
    assert len(plain.get_data()) <= LIST_PAGE_HTML_BYTES
    assert len(sent.get_data()) <= LIST_PAGE_SENT_BYTES
