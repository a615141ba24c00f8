"""Public pages cached per data generation: fast, and never stale on any worker."""

from __future__ import annotations

import pytest
from flask import Flask

from portal import create_app
from portal.extensions import db
from portal.models import Decision
from portal.services import publishing
from tests import factories
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
    assert again.headers["Cache-Control"] == "public, no-cache"
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
        assert response.headers["Vary"] == "Cookie"
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
    cache = app.extensions["page_cache"]
    client.get("/decisions")
    kept = cache._kept.connection
    client.get(f"/decisions/{decision_id}")
    assert cache._kept.connection is kept  # one connection per thread, not one per request
    dbapi = kept.connection.dbapi_connection  # in autocommit mode, each driver its own way
    assert dbapi.autocommit if kept.dialect.name == "postgresql" else dbapi.isolation_level is None


def test_a_dropped_generation_connection_is_replaced_and_the_page_served(app, client,
                                                                         decision_id):
    cache = app.extensions["page_cache"]
    client.get("/decisions")
    dropped = cache._kept.connection
    dropped.connection.dbapi_connection.close()  # as a database restart would
    assert client.get("/decisions").status_code == 200
    assert cache._kept.connection is not dropped
    with app.app_context():
        db.engine.dispose()  # a restored backup: the kept connection is of the old pool
        assert client.get("/decisions").status_code == 200
        assert cache._kept.pool is db.engine.pool
