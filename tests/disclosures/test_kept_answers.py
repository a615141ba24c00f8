"""Public pages answered again in front of Flask (portal.page_cache.KeptAnswers, issue 18 §1).

An answer served there must be, byte for byte, what the app sent for the same request: status,
every header (Cache-Control, Vary, ETag, Content-Encoding, Content-Language, Content-Type, the
security headers, in the app's order) and body; a 304 where the app answers 304; nothing for a
visitor with a session, the report pages or the back office; a withdrawal shows at once; and a
limited page (search, credit) still counts each request once."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.extensions import db
from portal.models import Decision
from portal.services.publication import publishing
from tests import factories
from tests.conftest import make_app
from tests.staff.conftest import login

pytestmark = pytest.mark.usefixtures("test_database")

SEARCH = "/search?q=%E7%9F%BF%E5%B1%B1"  # q=矿山
GZIP = {"Accept-Encoding": "gzip, deflate, br"}
# A browser that asks for English first: a Chinese page offers the English one.
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9,zh-CN;q=0.5"}
HEADER_SETS = [{}, GZIP, ENGLISH, GZIP | ENGLISH, {"Accept-Encoding": "identity"}]


@pytest.fixture
def decision_id(app: Flask) -> int:
    with app.app_context():
        item = factories.decision(party_name="前置缓存矿业有限公司")
        db.session.commit()
        return item.id


def _front(app: Flask):
    return app.extensions["kept_answers"]


def _answer(response) -> tuple:
    return response.status, list(response.headers.items()), response.get_data()


def _from_the_app_then_the_front(app: Flask, path: str, headers: dict[str, str]) -> tuple:
    """The app's answer, then the front's answer to the same request (asserted to be the
    front's), then the app's again with the front set aside: all three must be equal."""
    client = app.test_client(use_cookies=False)
    front = _front(app)
    first = client.get(path, headers=headers)
    hits = front.hits
    again = client.get(path, headers=headers)
    assert front.hits == hits + 1, f"{path} {headers}: not answered in front of the app"
    front.enabled = False
    try:
        flask_again = client.get(path, headers=headers)
    finally:
        front.enabled = True
    assert _answer(again) == _answer(first) == _answer(flask_again)
    return first


def _pages(decision_id: int) -> list[str]:
    return ["/", "/decisions", f"/decisions/{decision_id}", SEARCH, "/credit", "/lo/",
            "/lo/credit", "/en/decisions", "/supervision"]


@pytest.mark.parametrize("headers", HEADER_SETS, ids=["bare", "gzip", "english", "both",
                                                      "identity"])
def test_an_answer_given_in_front_is_the_apps_own(app, decision_id, headers):
    for path in _pages(decision_id):
        first = _from_the_app_then_the_front(app, path, headers)
        assert first.status_code == 200, path
        for name in ("Cache-Control", "Vary", "ETag", "Content-Security-Policy",
                     "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
            assert first.headers.get(name), (path, name)
    # The offer and the compression were exercised, not merely allowed.
    client = app.test_client(use_cookies=False)
    offered = client.get("/", headers=GZIP | ENGLISH)
    assert offered.headers["Content-Encoding"] == "gzip"
    assert "Accept-Language" in offered.headers["Vary"]


def test_a_304_in_front_is_the_apps_304(app, decision_id):
    client = app.test_client(use_cookies=False)
    for path in ("/", f"/decisions/{decision_id}", SEARCH, "/lo/credit"):
        for headers in (GZIP, {}, ENGLISH):
            etag = client.get(path, headers=headers).headers["ETag"]
            first = _from_the_app_then_the_front(app, path, headers | {"If-None-Match": etag})
            assert first.status_code == 304 and first.get_data() == b""
            # Another client's ETag (or an old one): the page itself, as the app sends it.
            other = _from_the_app_then_the_front(app, path,
                                                 headers | {"If-None-Match": '"elsewhere"'})
            assert other.status_code == 200


def test_the_app_alone_answers_a_session_a_cookie_another_method_or_a_private_page(
        app, decision_id):
    front = _front(app)
    client = app.test_client(use_cookies=False)
    client.get("/decisions")
    client.get("/decisions")
    hits = front.hits
    # Any cookie (a session might be in it), HEAD, POST: to the app.
    client.get("/decisions", headers={"Cookie": "session=whatever"})
    client.head("/decisions")
    client.post("/decisions")
    # The report pages and 404s under a prefix are never kept, however often asked.
    for _ in range(3):
        client.get("/report")
        client.get("/lo/api/v1/decisions")
    assert front.hits == hits
    assert not any(key[0][6] in ("/report", "/api/v1/decisions") for key in front._answers)


def test_staff_pages_never_come_from_the_front(app, client, decision_id):
    front = _front(app)
    login(client)
    for _ in range(3):
        assert client.get("/staff/").status_code == 200
        client.get("/decisions")  # signed in: rendered for this visitor alone
    assert front.hits == 0 and not front._answers


def test_a_withdrawal_shows_at_once_through_the_front(app, decision_id):
    client = app.test_client(use_cookies=False)
    front = _front(app)
    url = f"/decisions/{decision_id}"
    for _ in range(2):
        before = client.get(url, headers=GZIP)
    assert front.hits == 1
    with app.app_context(), app.test_request_context():
        publishing.withdraw_item(db.session.get(Decision, decision_id), reason="决定已被依法撤销")
    fresh = client.get(url)
    assert front.hits == 1
    assert "决定已被依法撤销" in fresh.get_data(as_text=True)
    again = client.get(url, headers=GZIP | {"If-None-Match": before.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] != before.headers["ETag"]


@pytest.mark.parametrize(("path", "setting"), [(SEARCH, "ratelimit_search"),
                                                ("/credit", "ratelimit_credit"),
                                                ("/lo/credit", "ratelimit_credit")])
def test_a_limited_page_from_the_front_still_counts_once(tmp_path, path, setting):
    app = make_app(tmp_path, **{setting: "4 per minute"})
    front = _front(app)
    client = app.test_client(use_cookies=False)
    statuses = [client.get(path, headers=GZIP).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert front.hits == 3  # the second, third and fourth


def test_a_limited_page_not_counted_in_front_goes_to_the_app(tmp_path, monkeypatch):
    """Where the layer in front of the app did not count the request (here: told it would not
    reach its view), the view's decorator counts it, so the page is never answered here."""
    from portal import refusals

    app = make_app(tmp_path, ratelimit_search="3 per minute")
    monkeypatch.setattr(refusals, "_reaches_view", lambda *args: False)
    client = app.test_client(use_cookies=False)
    statuses = [client.get(SEARCH).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert _front(app).hits == 0


def test_one_visitor_varying_a_header_cannot_make_a_worker_hold_copies_past_the_budget(
        app, monkeypatch):
    """A plain page with a language offer is a body of its own per raw Accept-Language: the
    answers kept in front are bounded in bytes, not only in number."""
    from portal import page_cache

    client = app.test_client(use_cookies=False)
    size = len(client.get("/", headers={"Accept-Encoding": "identity"} | ENGLISH).get_data())
    monkeypatch.setattr(page_cache, "KEPT_ANSWER_BYTES", 3 * size)
    front = _front(app)
    for n in range(12):
        headers = {"Accept-Encoding": "identity", "Accept-Language": f"en;q=0.9, x-{n};q=0.1"}
        assert client.get("/", headers=headers).status_code == 200
        assert front._answer_bytes <= 3 * size
        assert sum(len(body) for _s, _h, body in front._answers.values()) == front._answer_bytes
    assert front._answers  # still answering in front, within the budget
