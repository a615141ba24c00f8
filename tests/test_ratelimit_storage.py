"""Rate limits in Redis hold across gunicorn workers; with Redis down the site keeps serving."""

from __future__ import annotations

import logging
import os

import pytest

from tests.conftest import make_app, skip_or_fail, worker_redis_url
from tests.gunicorn_server import get, gunicorn

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        skip_or_fail("PORTAL_TEST_REDIS_URL is not set (.ci/run sets it to the local Redis)")
    import redis

    url = worker_redis_url()
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at {url} does not answer: {exc}")
    return url


def test_limits_in_redis_hold_across_four_workers(tmp_path, redis_url):
    with gunicorn(tmp_path, workers=4, PORTAL_RATELIMIT_STORAGE_URI=redis_url,
                  PORTAL_RATELIMIT_SEARCH="5 per minute") as base:
        statuses = [get(base + "/search?q=%E7%9F%BF%E5%B1%B1")  # q=矿山
                    for _ in range(12)]
    assert statuses.count(200) == 5 and statuses.count(429) == 7, statuses


@pytest.fixture
def limiter_alive():
    """The limiter is one object per process (as in production, one app per process); a
    previous test's app may have left it marked as fallen back to memory."""
    from portal.extensions import limiter

    limiter._storage_dead = False
    yield
    limiter._storage_dead = False


@pytest.mark.usefixtures("test_database")
def test_with_redis_down_pages_still_answer_and_the_failure_is_logged_once(tmp_path, caplog,
                                                                            limiter_alive):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    app = make_app(tmp_path, ratelimit_storage_uri="redis://127.0.0.1:1/0",
                   ratelimit_search="100 per minute")
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        statuses = [client.get("/search?q=矿山").status_code for _ in range(5)]
    assert statuses == [200] * 5
    warnings = [r for r in caplog.records if "falling back to in-memory" in r.getMessage()]
    assert len(warnings) == 1
    app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_with_redis_down_a_report_is_still_accepted_and_its_receipt_works(tmp_path, caplog,
                                                                         limiter_alive):
    # The report form must never turn a reporter away because the limiter's store is down.
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.models import Report
    from tests.reports.conftest import followup, submit_report

    app = make_app(tmp_path, ratelimit_storage_uri="redis://127.0.0.1:1/0")
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        number, code = submit_report(client)
        case = followup(client, code)
    assert case.status_code == 200 and number in case.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 1
    assert len([r for r in caplog.records if "falling back to in-memory" in r.getMessage()]) == 1
    app.extensions["search_index"].close()
