"""A request is counted once against its limits (issue 18 §1, portal/refusals.py): where every
limit of a view is keyed before the app (search, the credit pages, the open data), the layer in
front of the app counts the request and the view's decorator does not count it again; elsewhere,
and for requests that never reach their view, the view's decorator alone counts, as before.  The
N+1-th request of a limit of N is refused, not the N-th, in memory and in Redis."""

from __future__ import annotations

import logging

import pytest
from limits import parse

from portal.extensions import COUNTED_EARLY, limiter
from tests.conftest import make_app
from tests.test_ratelimit_storage import limiter_alive, redis_url  # noqa: F401 - fixtures

# Every test here makes apps on the database under test (make_app insists on the fixture).
pytestmark = pytest.mark.usefixtures("test_database")

CLIENT = "203.0.113.77"
SEARCH = "/search?q=%E7%9F%BF%E5%B1%B1"  # q=矿山
# (page, the setting of its limit, the limit's scope)
PAGES = [(SEARCH, "ratelimit_search", "search"),
         ("/api/v1/search?q=%E7%9F%BF%E5%B1%B1", "ratelimit_search", "search"),
         ("/credit", "ratelimit_credit", "credit"),
         ("/powers.csv", "ratelimit_api", "opendata")]


@pytest.fixture(params=["memory", "redis"])
def storage(request) -> str:
    if request.param == "memory":
        return "memory://"
    return request.getfixturevalue("redis_url")


def _remaining(app, scope: str, limit: str) -> int:
    """What the limiter's storage says is left of ``limit`` for CLIENT in ``scope``."""
    with app.app_context():
        stats = limiter.limiter.get_window_stats(parse(limit), "portal", CLIENT, scope)
    return stats.remaining


def _marks(app) -> list:
    """What each request's environ says, as the app saw it, of its counting in front."""
    from flask import request

    seen: list = []

    @app.after_request
    def note(response):
        seen.append(request.environ.get(COUNTED_EARLY))
        return response

    return seen


def _client(app, address: str = CLIENT):
    client = app.test_client(use_cookies=False)
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.mark.parametrize(("path", "setting", "scope"), PAGES)
def test_each_request_is_counted_once_and_the_n_plus_first_is_refused(tmp_path, storage, path,
                                                                      setting, scope):
    app = make_app(tmp_path, ratelimit_storage_uri=storage, **{setting: "3 per minute"})
    try:
        client = _client(app)
        marks = _marks(app)
        for used in (1, 2, 3):
            assert client.get(path).status_code == 200
            # Counted in front of the app, once: the view's decorator added nothing.
            assert marks[-1]
            assert _remaining(app, scope, "3 per minute") == 3 - used
        refused = client.get(path)
        assert refused.status_code == 429
        assert "请求过于频繁" in refused.get_data(as_text=True)
        assert _client(app, "198.51.100.9").get(path).status_code == 200  # another client
    finally:
        app.extensions["search_index"].close()


def test_two_hosts_on_one_redis_share_the_count(tmp_path, redis_url):  # noqa: F811
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    hosts = [make_app(tmp_path / name, ratelimit_storage_uri=redis_url,
                      ratelimit_search="3 per minute") for name in ("a", "b")]
    try:
        clients = [_client(app) for app in hosts]
        statuses = [clients[i % 2].get(SEARCH).status_code for i in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
    finally:
        for app in hosts:
            app.extensions["search_index"].close()


def test_requests_that_do_not_reach_the_view_are_not_counted(tmp_path):
    app = make_app(tmp_path, ratelimit_search="3 per minute", base_url="https://portal.example")
    try:
        client = _client(app)
        here = "https://portal.example"
        assert client.options(SEARCH, base_url=here).status_code == 200  # Flask answers it
        # The API is not translated: 404 under a language prefix, before the view.
        assert client.get("/lo/api/v1/search?q=x", base_url=here).status_code == 404
        assert client.get(SEARCH, base_url="https://elsewhere.example").status_code == 400
        assert _remaining(app, "search", "3 per minute") == 3
        assert [client.get(SEARCH, base_url=here).status_code for _ in range(4)] \
            == [200, 200, 200, 429]
    finally:
        app.extensions["search_index"].close()


def test_a_form_refused_for_its_token_is_not_counted(tmp_path):
    """A POST is only tested in front of the app and counted by its view's decorator: the token
    check before the view may refuse it, and a form sent from an expired page costs nothing of
    the visitor's limit (a reporter's of the day's)."""
    app = make_app(tmp_path, ratelimit_credit="3 per minute")
    try:
        client = _client(app)
        marks = _marks(app)
        expired = client.post("/credit/certificate", data={"code": "91532800MA6N0X0X0X"})
        assert expired.status_code == 400
        assert marks == [None]
        assert _remaining(app, "credit", "3 per minute") == 3
        assert [client.get("/credit").status_code for _ in range(4)] == [200, 200, 200, 429]
    finally:
        app.extensions["search_index"].close()


def test_with_the_storage_down_a_page_is_counted_once_in_memory(tmp_path, caplog,
                                                                 limiter_alive):  # noqa: F811
    # Port 1 on loopback: nothing listens.  The layer in front cannot count, the view's check
    # falls back to memory and counts there; after that the front only tests the fallback.
    app = make_app(tmp_path, ratelimit_storage_uri="redis://127.0.0.1:1/0",
                   ratelimit_search="3 per minute")
    try:
        client = _client(app)
        marks = _marks(app)
        with caplog.at_level(logging.WARNING):
            statuses = [client.get(SEARCH).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert marks == [None] * 4
    finally:
        app.extensions["search_index"].close()


def test_a_request_checked_in_front_is_read_once(tmp_path, monkeypatch):
    """The request context the layer in front made for the check is the app's own (the
    request parsed and matched once); a refused one is not handed on."""
    app = make_app(tmp_path, ratelimit_search="1 per minute")
    try:
        made = []
        original = app.request_class.__init__

        def counting_init(self, environ, *args, **kwargs):
            made.append(environ.get("PATH_INFO"))
            original(self, environ, *args, **kwargs)

        monkeypatch.setattr(app.request_class, "__init__", counting_init)
        client = _client(app)
        assert client.get(SEARCH).status_code == 200
        assert made == ["/search"]
        made.clear()
        assert client.get(SEARCH).status_code == 429
        assert client.get(SEARCH).status_code == 429  # the refusal, made once, is sent as it is
        assert made == ["/search", "/search", "/search"]  # the check's; the 429 page's, once
    finally:
        app.extensions["search_index"].close()
