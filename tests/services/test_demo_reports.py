"""Demo reports: every state a page can show, through the real services; two printable codes."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import REPORT_STATES, Report, Reward
from portal.services.demo import reports as demo_reports
from portal.services.demo.published import DEMO_MARK, load_demo
from portal.services.reporting import reports, reward_claims


def test_demo_reports_cover_every_state_and_print_two_working_codes(app_ctx):
    load_demo(size=200)
    count = 2 * len(demo_reports.SCRIPT)
    assert demo_reports.load_demo_reports(count) == count
    all_reports = db.session.scalars(select(Report)).all()
    assert len(all_reports) == count
    assert {r.status for r in all_reports} == set(REPORT_STATES)
    assert all(r.description.startswith(DEMO_MARK) for r in all_reports)
    assert {r.closed_as for r in all_reports} >= {"rectified", "unfounded", "duplicate"}
    assert any(r.extension_reason for r in all_reports)
    assert any(m.author == "reporter" for r in all_reports for m in r.messages)
    rewards = db.session.scalars(select(Reward)).all()
    assert {w.status for w in rewards} == {"proposed", "approved", "rejected", "claimed", "paid"}
    assert any(reward_claims.is_expired(w) for w in rewards)
    assert any(reward_claims.is_claimable(w) for w in rewards)

    codes = demo_reports.demo_receipt_codes()
    assert [c.what for c in codes] == ["办理人员提了问题", "奖励已批准，可申领"]
    question, reward = (reports.find_by_receipt(c.code) for c in codes)
    assert question.messages and question.messages[0].author == "staff"
    assert reward_claims.is_claimable(reward.reward)
    # Idempotent: a second run adds nothing.
    assert demo_reports.load_demo_reports(count) == count
    assert len(db.session.scalars(select(Report)).all()) == count
