"""Anonymous visitors cannot grow the audit log at will: failed sign-ins and credit certificates
are written as checkpoints of each hour's count (portal.audit.record_anonymous), and issuing
certificates has a limit of its own."""

from __future__ import annotations

import re

import pytest
import time_machine
from sqlalchemy import func, select

from portal import audit
from portal.audit import AuditEvent
from portal.extensions import db
from tests import factories
from tests.staff.conftest import make_staff, sign_in_form

MOMENT = "2026-12-07 10:20 +0800"


@pytest.fixture
def app_settings() -> dict:
    return {"ratelimit_login": "100000 per minute", "ratelimit_credit": "100000 per minute",
            "ratelimit_certificate": "100000 per minute"}


def _rows(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _chain_intact(app) -> bool:
    with app.app_context():
        return audit.verify(db.session).intact


@time_machine.travel(MOMENT, tick=False)
def test_a_hundred_failed_sign_ins_add_a_handful_of_rows(app):
    client = app.test_client()
    for n in range(100):
        assert sign_in_form(client, f"nobody-{n}", password="wrong-password-1").status_code == 400
    rows = _rows(app, "sign_in_failed")
    assert [r.summary["count_in_window"] for r in rows] == [1, 2, 4, 8, 16, 32, 64]
    assert all(r.actor == audit.ANONYMOUS_ACTOR and r.summary["window"] == "2026-12-07 10:00"
               for r in rows)
    assert _chain_intact(app)


@time_machine.travel(MOMENT, tick=False)
def test_failed_sign_ins_are_counted_per_account(app):
    with app.app_context():
        first, second = make_staff("editor").username, make_staff("editor").username
    client = app.test_client()
    for _ in range(10):
        sign_in_form(client, first, password="wrong-password-1")
    for _ in range(3):
        sign_in_form(client, second, password="wrong-password-1")
    rows = _rows(app, "sign_in_failed")
    counts = {}
    for row in rows:
        counts.setdefault(row.summary["username"], []).append(row.summary["count_in_window"])
    assert counts == {first: [1, 2, 4, 8], second: [1, 2]}


def test_the_count_starts_again_each_hour(app):
    client = app.test_client()
    for moment in ("2026-12-07 10:59 +0800", "2026-12-07 11:01 +0800"):
        with time_machine.travel(moment, tick=False):
            for n in range(3):
                sign_in_form(client, f"nobody-{n}", password="wrong-password-1")
    rows = _rows(app, "sign_in_failed")
    assert [(r.summary["window"], r.summary["count_in_window"]) for r in rows] == [
        ("2026-12-07 10:00", 1), ("2026-12-07 10:00", 2),
        ("2026-12-07 11:00", 1), ("2026-12-07 11:00", 2)]


def _certificate(client, code: str) -> int:
    page = client.get(f"/credit?code={code}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/credit/certificate", data={"csrf_token": token, "code": code}).status_code


@time_machine.travel(MOMENT, tick=False)
def test_a_hundred_certificates_add_a_handful_of_rows(app):
    with app.app_context():
        code = factories.blacklist_entry().uscc
        db.session.commit()
    client = app.test_client()
    assert [_certificate(client, code) for _ in range(100)] == [303] * 100
    rows = _rows(app, "credit_certificate_issue")
    assert [r.summary["count_in_window"] for r in rows] == [1, 2, 4, 8, 16, 32, 64]
    with app.app_context():
        from portal.models import CreditCertificate

        assert db.session.scalar(select(func.count()).select_from(CreditCertificate)) == 100
    assert _chain_intact(app)


@pytest.mark.usefixtures("test_database")
def test_issuing_certificates_has_its_own_limit(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path, ratelimit_certificate="3 per minute")
    with app.app_context():
        code = factories.blacklist_entry().uscc
        db.session.commit()
    client = app.test_client()
    assert [_certificate(client, code) for _ in range(4)] == [303, 303, 303, 429]
    # The credit check itself is still open to that client.
    assert client.get(f"/credit?code={code}").status_code == 200
    app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
@time_machine.travel(MOMENT, tick=False)
def test_with_the_shared_counter_down_each_process_counts(tmp_path):
    from portal.extensions import limiter
    from tests.conftest import make_app

    # Port 1 on loopback: nothing listens, so the limiter's storage fails at once.
    app = make_app(tmp_path, ratelimit_storage_uri="redis://127.0.0.1:1/0",
                   ratelimit_login="100000 per minute")
    try:
        client = app.test_client()
        for n in range(5):
            assert sign_in_form(client, f"nobody-{n}", password="wrong-password-1").status_code == 400
        assert [r.summary["count_in_window"] for r in _rows(app, "sign_in_failed")] == [1, 2, 4]
    finally:
        limiter._storage_dead = False
        app.extensions["search_index"].close()
