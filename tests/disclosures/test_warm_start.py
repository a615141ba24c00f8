"""Warm start (issue 9 §4): each gunicorn worker opens the search index and fills what it caches
before its first request, so no visitor pays for opening it."""

from __future__ import annotations

import re
from datetime import date

from portal.search_sync import render_before_fork, searcher_opens, warm_up
from search_index import Document, SearchIndex
from tests.gunicorn_server import get, gunicorn


def documents(n: int = 30) -> list[Document]:
    return [Document(kind="decisions", id=i, title=f"非煤矿山行政处罚决定{i}",
                     text=f"非煤矿山行政处罚决定{i}\n西应急罚〔2026〕{i}号 磨憨镇", date=date(2026, 1, 1))
            for i in range(1, n + 1)]


def test_warm_up_opens_the_index_once_and_the_first_request_reuses_it(app, client):
    index: SearchIndex = app.extensions["search_index"]
    index.rebuild(documents())
    index._pid = -1  # as in a freshly forked worker: nothing of the parent's is reused
    line = warm_up(app)
    assert "search index generation" in line and "pages rendered" in line
    assert searcher_opens(app) == 1
    assert index._results == {}  # the index is warm, not a result cache
    for q in ("矿山", "磨憨 2026", "矿", "12号"):
        response = client.get("/api/v1/search", query_string={"q": q})
        assert response.status_code == 200 and response.get_json()["count"] > 0
    assert searcher_opens(app) == 1


def test_warm_up_without_an_index_still_lets_the_worker_serve(app, client):
    assert "search index generation -1" in warm_up(app)
    assert client.get("/search", query_string={"q": "矿山"}).status_code == 200


def test_gunicorn_workers_warm_up_before_their_first_request(tmp_path):
    SearchIndex(str(tmp_path / "index")).rebuild(documents())
    log = tmp_path / "error.log"
    with gunicorn(tmp_path, workers=2, GUNICORN_CMD_ARGS=f"--error-logfile {log}") as base:
        for _ in range(10):
            assert get(base + "/api/v1/search?q=%E7%9F%BF%E5%B1%B1") == 200  # 矿山
    text = log.read_text()
    # The master decoded the broadest posting lists before forking, for the workers to share.
    assert re.search(r"search prefill: \d+ MB of posting lists", text), text
    # … and rendered the main pages, for each worker (and each recycled one) to start warm.
    assert re.search(r"5 pages rendered before the fork", text), text
    warmed = re.findall(r"worker (\d+) warm: search index generation (\d+)", text)
    assert len(warmed) == 2 and all(int(g) > 0 for _, g in warmed), text
    # Each worker opened the index once, at warm-up: no request reopened it.
    opened = dict(re.findall(r"worker (\d+) opened the search index (\d+) time", text))
    assert opened == {pid: "1" for pid, _ in warmed}, text
    # What lives as long as the worker is left out of garbage collections (a full one walked
    # it all: a pause of 50-120 ms at any request).
    frozen = re.findall(r"worker (\d+) froze (\d+) long-lived objects", text)
    assert {pid for pid, _ in frozen} == {pid for pid, _ in warmed}, text
    assert all(int(n) > 50_000 for _, n in frozen), text


def test_pages_rendered_before_the_fork_are_kept_and_leave_no_connection_open(app, client):
    """The master renders the main pages before gunicorn forks (issue 18 §1): each worker
    starts with them kept, and inherits no database connection."""
    from portal.extensions import db

    line = render_before_fork(app)
    assert line.startswith("5 pages rendered before the fork"), line
    cache = app.extensions["page_cache"]
    assert len(cache._pages) == 5 and cache.reader.idle == 0
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
    # The first request of a worker is served from what the master kept.
    assert client.get("/decisions", base_url="http://localhost").status_code == 200
    assert len(cache._pages) == 5
