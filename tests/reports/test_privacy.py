"""The reporter's protection, each proved: nothing that identifies them in the database file,
the logs or the rate limiter's storage; the development server's log; the pages' headers."""

from __future__ import annotations

import logging
import re
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import DateTime

from portal.extensions import db, limiter
from portal.models import Report, ReportEvent, ReportMessage, ReportPhoto, Reward
from tests.live import serving
from tests.reports.conftest import (
    CLIENT_ADDRESS,
    FAST_SECONDS,
    REPORT_FIELDS,
    USER_AGENT,
    csrf_from,
    followup,
    jpeg_bytes,
    mistyped,
    submit_report,
)

PHRASE = "紫色蜻蜓飞过坡顶"  # in REPORT_FIELDS["description"]
CONTACT = "联系我请拨 13912345678"
REPLY = "补充：夜班的十一名工人仍在坡下"
PAYMENT = "工商银行 6222 0211 9876 5432"
FOLLOWUP_LIMIT = 15


@pytest.fixture
def app_settings() -> dict:
    # A follow-up limit the log test can reach in a few requests.
    return {"REPORT_FOLLOWUP_MIN_SECONDS": FAST_SECONDS,
            "ratelimit_followup": f"{FOLLOWUP_LIMIT} per day"}


def _journey(client, app) -> str:
    """Report with a photo and a contact, follow up, reply, claim a reward by transfer."""
    assert PHRASE in REPORT_FIELDS["description"]
    number, code = submit_report(client, [jpeg_bytes()], callback="y", contact=CONTACT)
    page = followup(client, code).get_data(as_text=True)
    hidden = re.search(r'name="reply-code" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/report/followup/reply", data={
        "reply-csrf_token": csrf_from(page), "reply-code": hidden, "reply-body": REPLY},
        content_type="multipart/form-data")
    from datetime import timedelta

    from portal.models import local_today

    with app.app_context():
        report = db.session.query(Report).one()
        report.reward = Reward(amount_yuan=3000, status="approved", proposed_on=local_today(),
                               claim_due=local_today() + timedelta(days=60))
        db.session.commit()
    page = followup(client, code).get_data(as_text=True)
    client.post("/report/followup/claim-transfer", data={
        "transfer-csrf_token": csrf_from(page), "transfer-code": hidden,
        "transfer-payment_details": PAYMENT})
    with app.app_context():
        assert db.session.query(Report).one().reward.payment_details == PAYMENT
    return code


def _secrets(code: str) -> dict[str, list[bytes]]:
    return {
        "client address": [CLIENT_ADDRESS.encode()],
        "user agent": [USER_AGENT.encode(), b"distinctive-agent-4711"],
        "report words": [PHRASE.encode("utf-8"), REPORT_FIELDS["place"].encode("utf-8")],
        "contact": [b"13912345678"],
        "reply": [REPLY.encode("utf-8")],
        "payment details": [b"6222 0211 9876 5432"],
        "receipt code": [code.encode(), code.replace("-", "").encode(),
                         code.lower().encode(), code.replace("-", "").lower().encode()],
    }


def _stored_bytes(app, tmp_path) -> bytes:
    """Everything the database holds: on SQLite the file itself (free pages and journal too);
    on PostgreSQL every row of every table, read raw (no decryption)."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "sqlite":
            from sqlalchemy import inspect, text

            chunks = []
            with engine.connect() as conn:
                for table in inspect(conn).get_table_names():
                    for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                        chunks.append(repr(tuple(row)).encode("utf-8"))
                        chunks.extend(v.encode("utf-8") for v in row if isinstance(v, str))
            return b"\n".join(chunks)
        db.session.remove()
        engine.dispose()
    files = [p for p in Path(tmp_path).iterdir() if p.name.startswith("portal.db")]
    assert files and any(p.stat().st_size > 0 for p in files)
    return b"".join(p.read_bytes() for p in files)


def test_database_holds_nothing_that_identifies_or_reveals(client, app, tmp_path):
    code = _journey(client, app)
    data = _stored_bytes(app, tmp_path)
    assert len(data) > 10_000  # the read found real rows (the encrypted photo alone is larger)
    for what, needles in _secrets(code).items():
        for needle in needles:
            assert needle not in data, f"{what} found in the database"


def test_report_tables_store_dates_not_times():
    for model in (Report, ReportEvent, ReportMessage, ReportPhoto, Reward):
        for column in model.__table__.columns:
            assert not isinstance(column.type, DateTime), f"{model.__name__}.{column.name}"
            assert "addr" not in column.name and "agent" not in column.name


def test_logs_hold_nothing_that_identifies_or_reveals(client, app, caplog):
    caplog.set_level(logging.DEBUG)
    code = _journey(client, app)
    # Reach the rate limit too: the limiter logs its breaches.
    token = csrf_from(client.get("/report/followup").get_data(as_text=True))
    statuses = [client.post("/report/followup", data={"csrf_token": token, "code": mistyped(code)})
                .status_code for _ in range(FOLLOWUP_LIMIT)]
    assert 429 in statuses
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
    ).encode("utf-8")
    for what, needles in _secrets(code).items():
        for needle in needles:
            assert needle not in logged, f"{what} found in the log"


def test_limiter_storage_holds_no_address(client, app):
    code = _journey(client, app)
    storage = limiter.storage
    keys = [*storage.storage.keys(), *storage.expirations.keys(), *storage.events.keys()]
    assert any("report-client:" in key for key in keys), keys  # the limiter did count
    dump = repr(keys) + repr(dict(storage.storage)) + repr(dict(storage.events))
    assert CLIENT_ADDRESS not in dump and CLIENT_ADDRESS.replace(".", "") not in dump
    assert code not in dump


def test_limiter_key_changes_daily(app):
    import time_machine

    from portal.reports import client_key

    with app.test_request_context(environ_base={"REMOTE_ADDR": CLIENT_ADDRESS}):
        with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
            today = client_key()
        with time_machine.travel("2026-11-30 23:00 +0800", tick=False):
            assert client_key() == today
        with time_machine.travel("2026-12-01 00:30 +0800", tick=False):
            assert client_key() != today
    assert CLIENT_ADDRESS not in today


def test_development_server_log_has_no_address_for_report_pages(app, caplog):

    caplog.set_level(logging.INFO, logger="werkzeug")
    with serving(app) as base:
        for path in ("/report", "/report/followup", "/report/check", "/"):
            try:
                urllib.request.urlopen(base + path, timeout=10).read()  # noqa: S310
            except urllib.error.HTTPError:
                pass
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    report_lines = [line for line in lines if " /report" in line]
    other_lines = [line for line in lines if '"GET / ' in line]
    assert len(report_lines) >= 3 and other_lines  # /report/check redirects to /report
    for line in report_lines:
        assert "127.0.0.1" not in line and not re.search(r"\[\d\d/\w{3}/\d{4}", line), line
    # The filter is targeted: other pages keep werkzeug's usual line (so the test can fail).
    assert "127.0.0.1" in other_lines[0]


def test_log_filter_handles_coloured_request_lines():
    from portal.reports import ReportRequestLogFilter

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '10.0.0.8 - - [30/Nov/2026 10:00:00] "%s" %s %s',
                               ("\x1b[1m\x1b[31mPOST /report/followup HTTP/1.1\x1b[0m", "400", "-"),
                               None)
    ReportRequestLogFilter().filter(record)
    assert "10.0.0.8" not in record.getMessage() and "30/Nov" not in record.getMessage()
    assert "/report/followup" in record.getMessage()
    static = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '10.0.0.8 - - [30/Nov/2026 10:00:00] "%s" %s %s',
                               ("GET /static/style.css HTTP/1.1", "304", "-"), None)
    assert ReportRequestLogFilter().filter(static) is False  # not logged at all
    search = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '10.0.0.8 - - [30/Nov/2026 10:00:00] "%s" %s %s',
                               ("GET /reports-of-something HTTP/1.1", "404", "-"), None)
    ReportRequestLogFilter().filter(search)
    assert "10.0.0.8" in search.getMessage()


@pytest.mark.parametrize("method,path", [
    ("GET", "/report"), ("POST", "/report"), ("GET", "/report/check"),
    ("GET", "/report/followup"), ("POST", "/report/followup"), ("POST", "/report/send"),
])
def test_report_pages_send_strict_headers(client, method, path):
    response = client.open(path, method=method)
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"


def test_pages_have_no_script_and_nothing_from_another_origin(client):
    number, code = submit_report(client, [jpeg_bytes()])
    pages = [client.get("/report").get_data(as_text=True),
             client.get("/report/followup").get_data(as_text=True),
             followup(client, code).get_data(as_text=True)]
    for html in pages:
        assert "<script" not in html.lower()
        assert not re.search(r'(?:src|href|action)="(?:https?:)?//', html)
