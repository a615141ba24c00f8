"""The rate limiter's storage dates nothing finer than the day of a report: every key the
report pages leave expires at the next Beijing midnight, whenever the report was sent
(portal/daily_limits.py)."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from portal.config import Settings, SettingsError
from portal.daily_limits import end_of_today, per_beijing_day
from portal.extensions import limiter
from tests.conftest import make_app, skip_or_fail
from tests.reports.conftest import csrf_from, fill_form

BEIJING = ZoneInfo("Asia/Shanghai")
SECRET = "a-fixed-secret-key-for-both-apps-0123456789"
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")


def _report_posts(app, address: str) -> None:
    """A report form POST and a follow-up POST (a wrong code) from one client."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    fill_form(client)
    token = csrf_from(client.get("/report/followup").get_data(as_text=True))
    client.post("/report/followup", data={"csrf_token": token, "code": "X" * 28})


def _memory_expiries(tmp_path, moment: str) -> dict[str, float]:
    tmp_path.mkdir()
    with time_machine.travel(moment, tick=False):
        app = make_app(tmp_path, REPORT_FOLLOWUP_MIN_SECONDS=0.01, secret_key=SECRET)
        _report_posts(app, "203.0.113.77")
        expirations = dict(limiter.storage.expirations)
    app.extensions["search_index"].close()
    keys = {k: v for k, v in expirations.items() if "report-client:" in k}
    assert len(keys) == 2, expirations  # report-submit and report-followup
    return keys


@pytest.mark.usefixtures("test_database")
def test_memory_keys_expire_at_midnight_whenever_the_report_came(tmp_path):
    morning = _memory_expiries(tmp_path / "a", "2026-12-07 09:13:27 +0800")
    evening = _memory_expiries(tmp_path / "b", "2026-12-07 21:47:05 +0800")
    midnight = datetime(2026, 12, 8, tzinfo=BEIJING).timestamp()
    assert morning.keys() == evening.keys()  # the names hold no time either
    for expiries in (morning, evening):
        for expiry in expiries.values():
            assert midnight <= expiry < midnight + 1


@pytest.mark.usefixtures("test_database")
def test_redis_keys_expire_at_midnight(tmp_path):
    if not REDIS_URL:
        skip_or_fail("PORTAL_TEST_REDIS_URL is not set (.ci/run sets it to the local Redis)")
    import redis

    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        server.flushdb()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at {REDIS_URL} does not answer: {exc}")
    limiter._storage_dead = False
    app = make_app(tmp_path, ratelimit_storage_uri=REDIS_URL, REPORT_FOLLOWUP_MIN_SECONDS=0.01)
    try:
        _report_posts(app, "203.0.113.77")
        import time

        time.sleep(1.5)  # a second client, later: its keys must expire at the same moment
        _report_posts(app, "198.51.100.9")
        midnight_ms = round(end_of_today() * 1000)
        keys = server.keys("*")
        assert len(keys) >= 4, keys
        for key in keys:
            # To the millisecond: an expiry set as whole seconds from the first hit would keep
            # that hit's sub-second (Redis 7's PEXPIRETIME).
            expires = server.execute_command("PEXPIRETIME", key)
            assert expires == midnight_ms, (key, expires, midnight_ms)
    finally:
        server.flushdb()
        app.extensions["search_index"].close()


def test_report_limits_count_per_day_only():
    assert per_beijing_day("30 per day") == "30 per beijingday"
    assert per_beijing_day("30/day;100 per days") == "30 per beijingday;100 per beijingday"
    for bad in ("10 per hour;30 per day", "10 per minute", "60 per 2 days"):
        with pytest.raises(SettingsError, match="per day"):
            Settings.from_env({"env": "test", "ratelimit_report": bad}, environ={})
        with pytest.raises(SettingsError, match="per day"):
            Settings.from_env({"env": "test", "ratelimit_followup": bad}, environ={})
    with pytest.raises(SettingsError, match="not a rate limit"):
        Settings.from_env({"env": "test", "ratelimit_report": "often"}, environ={})
