"""Public pages cached per data generation: fast, and never stale on any worker."""

from __future__ import annotations

from dataclasses import fields

import pytest
from flask import Flask

from portal import create_app
from portal.extensions import db
from portal.models import Decision
from portal.services.publication import publishing
from tests import factories
from tests.live import serving
from tests.staff.conftest import login


@pytest.fixture
def decision_id(app: Flask) -> int:
    with app.app_context():
        item = factories.decision(party_name="缓存测试矿业有限公司")
        db.session.commit()
        return item.id


def _cached_pages(app: Flask) -> int:
    return len(app.extensions["page_cache"]._pages)


def test_a_page_is_rendered_once_then_served_from_the_cache(app, client, decision_id):
    first = client.get("/decisions")
    assert first.status_code == 200 and _cached_pages(app) == 1
    again = client.get("/decisions")
    assert again.get_data() == first.get_data() and _cached_pages(app) == 1
    # Browsers ask again each time; a shared cache (nginx) may keep it a few seconds.
    assert again.headers["Cache-Control"] == (
        "public, max-age=0, s-maxage=10, stale-while-revalidate=20")
    assert again.headers["ETag"] == first.headers["ETag"] and again.headers["Last-Modified"]


def test_an_unchanged_page_is_answered_304_without_a_body(client, decision_id):
    etag = client.get(f"/decisions/{decision_id}").headers["ETag"]
    response = client.get(f"/decisions/{decision_id}", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.get_data() == b""


def test_a_withdrawal_shows_at_once_on_every_worker(app, tmp_path, decision_id):
    # A second app on the same database plays another worker (or another host).
    other = create_app({"env": "test", "index_dir": str(tmp_path / "other-index"),
                        "database_url": app.config["SQLALCHEMY_DATABASE_URI"]})
    url = f"/decisions/{decision_id}"
    before = [a.test_client().get(url) for a in (app, other)]
    assert all("已撤回" not in r.get_data(as_text=True) for r in before)
    with app.app_context(), app.test_request_context():
        publishing.withdraw_item(db.session.get(Decision, decision_id), reason="决定已被依法撤销")
    for worker, old in zip((app, other), before, strict=True):
        fresh = worker.test_client().get(url, headers={"If-None-Match": old.headers["ETag"]})
        assert fresh.status_code == 200 and "决定已被依法撤销" in fresh.get_data(as_text=True)
        assert fresh.headers["ETag"] != old.headers["ETag"]
    other.extensions["search_index"].close()


def test_a_new_day_is_a_new_page(client, decision_id):
    import time_machine

    with time_machine.travel("2026-11-30 10:00 +0800"):
        today = client.get("/decisions").headers["ETag"]
    with time_machine.travel("2026-12-01 10:00 +0800"):
        tomorrow = client.get("/decisions").headers["ETag"]
    assert today != tomorrow


def test_a_visitor_with_a_session_is_neither_served_nor_stored(app, decision_id):
    client = app.test_client()
    login(client, roles=("editor",))
    response = client.get("/decisions")
    assert response.status_code == 200 and "ETag" not in response.headers
    assert _cached_pages(app) == 0
    # … and no shared cache in front (nginx's micro-cache) may keep it either.
    assert response.headers["Cache-Control"] == "private, no-cache"


def test_only_a_successful_page_tells_a_shared_cache_it_may_keep_it(client, decision_id):
    shared = client.get(f"/decisions/{decision_id}").headers["Cache-Control"]
    assert "s-maxage=" in shared and "public" in shared
    missing = client.get("/decisions/99999999")
    assert missing.status_code == 404 and "s-maxage" not in missing.headers.get("Cache-Control", "")
    refused = client.get("/search?q=" + "矿" * 500)
    assert refused.status_code == 400 and "s-maxage" not in refused.headers.get("Cache-Control", "")


def test_a_cached_page_and_a_304_carry_the_security_headers(client, decision_id):
    url = f"/decisions/{decision_id}"
    first = client.get(url)
    again = client.get(url)
    unchanged = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304
    for response in (first, again, unchanged):
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "camera=()" in response.headers["Permissions-Policy"]
        # The Chinese pages at the root offer another language to a browser that asks for it
        # first (portal.i18n), so they vary on Accept-Language too; /en, /lo, /my do not.  All
        # vary on Accept-Encoding (a gzip copy goes to clients that accept it).
        assert response.headers["Vary"] == "Cookie, Accept-Language, Accept-Encoding"
        assert "Set-Cookie" not in response.headers


def test_public_pages_skip_the_limiters_request_check_and_search_keeps_its_own(app, client,
                                                                              monkeypatch):
    from portal.extensions import limiter

    checked = []
    monkeypatch.setattr(limiter, "_check_request_limit",
                        lambda **kwargs: checked.append(kwargs))
    for url in ("/", "/decisions", "/decisions/999999"):
        client.get(url)
    assert checked == []
    client.get("/search?q=矿山")
    # A cached page too (the search results page is one): only its own limit, in the view.
    assert checked and {} not in checked


def test_the_generation_is_read_on_a_kept_connection_that_holds_no_transaction(app, client,
                                                                               decision_id):
    reader = app.extensions["page_cache"].reader
    client.get("/decisions")
    assert reader.idle == 1
    kept = reader._idle[0][0]
    client.get(f"/decisions/{decision_id}")
    assert reader._idle[0][0] is kept  # kept between reads, not one checkout per request
    dbapi = kept.connection.dbapi_connection  # in autocommit mode, each driver its own way
    assert dbapi.autocommit if kept.dialect.name == "postgresql" else dbapi.isolation_level is None


def test_a_dropped_generation_connection_is_replaced_and_the_page_served(app, client,
                                                                         decision_id):
    reader = app.extensions["page_cache"].reader
    client.get("/decisions")
    dropped = reader._idle[0][0]
    dropped.connection.dbapi_connection.close()  # as a database restart would
    assert client.get("/decisions").status_code == 200
    assert reader._idle[0][0] is not dropped
    with app.app_context():
        db.engine.dispose()  # a restored backup: the kept connection is of the old pool
        assert client.get("/decisions").status_code == 200
        assert [pool for _, pool in reader._idle] == [db.engine.pool]


def test_no_number_of_threads_keeps_more_than_a_few_connections(app, decision_id):
    """Many threads reading the generation at once hold no connection once they are done."""
    import threading

    from portal.page_cache import KEPT_CONNECTIONS

    cache = app.extensions["page_cache"]
    barrier = threading.Barrier(30)
    errors = []

    def read() -> None:
        with app.app_context():
            barrier.wait()
            try:
                for _ in range(5):
                    cache.generation()
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        assert db.engine.pool.checkedout() <= KEPT_CONNECTIONS


@pytest.mark.usefixtures("test_database")
def test_idle_keep_alive_connections_do_not_exhaust_the_pool(tmp_path):
    """The demo server (``flask run``: Werkzeug's threaded server, a thread per connection).
    Twenty keep-alive clients each ask for a page and stay open, then one more asks: it is
    answered at once.  A connection kept per thread outlived its thread until the garbage
    collector found it, so between two of its runs the 16th client waited 30 s for the pool and
    got a 500 (``QueuePool limit of size 5 overflow 10 reached``); the collector is paused here
    to make that interval as long as the test."""
    import gc
    import http.client
    from urllib.parse import urlsplit

    from tests.conftest import make_app

    live = make_app(tmp_path)
    with live.app_context():
        factories.decision(party_name="长连接测试矿业有限公司")
        db.session.commit()
    clients = []
    gc.disable()
    try:
        with serving(live) as base:
            port = urlsplit(base).port
            for _ in range(20):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/decisions", headers={"Connection": "keep-alive"})
                response = conn.getresponse()
                assert response.status == 200 and "长连接测试" in response.read().decode()
                clients.append(conn)
            one_more = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            one_more.request("GET", "/")
            response = one_more.getresponse()
            response.read()
            one_more.close()
            assert response.status == 200
            from portal.page_cache import KEPT_CONNECTIONS

            with live.app_context():
                assert db.engine.pool.checkedout() <= KEPT_CONNECTIONS
            for conn in clients:  # before the server stops: it waits for their threads
                conn.close()
    finally:
        gc.enable()
        for conn in clients:
            conn.close()
        live.extensions["search_index"].close()
        with live.app_context():
            db.engine.dispose()


def test_a_page_made_for_one_host_is_not_served_for_another(app, client, decision_id):
    """Without PORTAL_BASE_URL (the demo) the permalink is built from the request's Host: a
    forged Host must not put its links into the page everyone else then gets from the cache."""
    url = f"/decisions/{decision_id}"
    forged = client.get(url, headers={"Host": "evil.example"})
    assert forged.status_code == 200 and f"http://evil.example{url}" in forged.get_data(as_text=True)
    honest = client.get(url)
    assert honest.status_code == 200
    assert "evil.example" not in honest.get_data(as_text=True)
    assert f"http://localhost{url}" in honest.get_data(as_text=True)
    assert honest.headers["ETag"] != forged.headers["ETag"]


def _host(app: Flask, tmp_path, **changed) -> Flask:
    """Another host of the same site: the same settings but for its own index folder."""
    settings = app.config["SETTINGS"]
    same = {f.name: getattr(settings, f.name) for f in fields(settings) if f.name != "extra"}
    return create_app(same | {"index_dir": str(tmp_path / "host-b-index")} | changed)


def test_another_host_of_the_same_release_answers_a_pages_etag_with_a_304(app, tmp_path,
                                                                          decision_id):
    """nginx revalidates an expired page with the ETag it kept, on whichever host it picks:
    the other host must answer 304 from the generation alone, not render the page again."""
    url = f"/decisions/{decision_id}"
    etag = app.test_client().get(url).headers["ETag"]
    host_b = _host(app, tmp_path)
    answer = host_b.test_client().get(url, headers={"If-None-Match": etag})
    assert answer.status_code == 304 and _cached_pages(host_b) == 0
    host_b.extensions["search_index"].close()


def test_a_change_of_settings_is_a_new_page_for_every_cache(app, tmp_path, decision_id):
    url = f"/decisions/{decision_id}"
    etag = app.test_client().get(url).headers["ETag"]
    resized = _host(app, tmp_path, page_size=7)
    answer = resized.test_client().get(url, headers={"If-None-Match": etag})
    assert answer.status_code == 200 and answer.headers["ETag"] != etag
    resized.extensions["search_index"].close()
