"""The counter: staff check a reward claim slip; every check is audited."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from portal.models import Reward, local_today
from portal.services.reporting import reward_claims
from tests import factories
from tests.staff.conftest import csrf_token, login


def _slip(app) -> tuple[str, int]:
    with app.app_context(), app.test_request_context():
        report = factories.accepted_report(status="verified", verification_result="true")
        report.reward = Reward(amount_yuan=7800, status="approved", proposed_on=local_today(),
                               claim_due=local_today() + timedelta(days=60), basis="测试")
        db.session.commit()
        return reward_claims.issue_claim_slip(report.reward), report.reward.id


def _check(client, slip: str):
    return client.post("/staff/rewards/slip", data={
        "csrf_token": csrf_token(client, "/staff/rewards/slip"), "slip": slip})


def _results(app) -> list[str]:
    with app.app_context():
        return [e.summary["result"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "reward_slip_check")
            .order_by(AuditEvent.seq))]


def test_a_genuine_slip_shows_the_reward_and_is_audited(app):
    slip, reward_id = _slip(app)
    client = app.test_client()
    login(client, roles=("handler",))
    response = _check(client, slip)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "凭证有效" in body and "7,800" in body
    assert f"/staff/rewards/{reward_id}" in body
    assert _results(app) == ["genuine"]


def test_an_altered_slip_is_refused(app):
    slip, _ = _slip(app)
    client = app.test_client()
    login(client, roles=("approver",))
    forged = slip[:-2] + ("AA" if slip[-2:] != "AA" else "BB")
    response = _check(client, forged)
    assert response.status_code == 400 and "不是本平台签发的有效领奖凭证" in response.get_data(
        as_text=True)
    assert "凭证有效" not in response.get_data(as_text=True)
    assert _results(app) == ["invalid"]


def test_a_slip_past_the_claim_period_is_expired(app):
    slip, _ = _slip(app)
    client = app.test_client()
    with time_machine.travel(local_today() + timedelta(days=62)):
        login(client, roles=("handler",))  # (a session would have timed out over 62 days)
        response = _check(client, slip)
    assert response.status_code == 400 and "已过申领期限" in response.get_data(as_text=True)
    assert _results(app) == ["expired"]


def test_an_empty_slip_gets_the_form_error_and_no_audit(app):
    client = app.test_client()
    login(client, roles=("handler",))
    response = _check(client, "")
    assert response.status_code == 400 and 'href="#slip"' in response.get_data(as_text=True)
    assert _results(app) == []
