"""Recomputing stored due dates when a year's official schedule is added (recompute-deadlines).

Every date below was counted by hand.  The calendar is pinned: the library's schedule counts as
official through 2026, so 2027 is provisional until the file below configures it, whatever the
installed library version or today's date.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.domain.workdays import WorkingCalendar
from portal.extensions import db
from portal.services.operations import deadlines
from portal.services.reporting import cases, rewards
from tests import factories
from tests.staff.conftest import make_staff

# 2027 as an administrator configures it here: 1 and 4 January off, Saturday 30 January worked.
SCHEDULE_2027 = {"2027": {"holidays": ["2027-01-01", "2027-01-04"], "workdays": ["2027-01-30"]}}


@pytest.fixture
def estimated(app_ctx):
    """The app's calendar with 2027 only estimated by the library."""
    app_ctx.extensions["working_calendar"] = WorkingCalendar(library_official_through=2026)
    return app_ctx


def configure_2027(app, tmp_path) -> None:
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps(SCHEDULE_2027), encoding="utf-8")
    app.extensions["working_calendar"] = WorkingCalendar.from_file(
        path, library_official_through=2026)


@pytest.fixture
def rows(estimated):
    """Rows whose due dates were computed while 2027 was provisional, and one in 2026."""
    handler = make_staff("handler")
    approver = make_staff("approver")
    # Decided Monday 2026-12-28, 7 working days: 12-29, 12-30, 12-31, (01-01 off), 01-04 … 01-07.
    decision = factories.decision(decision_date=date(2026, 12, 28))
    # Received Monday 2026-12-14, 15 working days: 12-15 … 12-31 (13), (01-01 off), 01-04, 01-05.
    received = factories.report(received_on=date(2026, 12, 14))
    # Accepted 2026-12-01: 60 days end Saturday 2027-01-30 → Monday 02-01.
    accepted = factories.report(received_on=date(2026, 12, 1))
    # 批复 2026-01-30: the assessment year ends Saturday 2027-01-30 → Monday 02-01.
    accident = factories.accident(occurred_on=date(2025, 12, 1), approved_on=date(2026, 1, 30))
    # Accepted 2026-08-04: due 2026-10-08, in an official year: never touched.
    settled = factories.report(received_on=date(2026, 8, 4))
    rewarded = factories.report(received_on=date(2026, 9, 1))
    fine = factories.decision(fine_yuan=Decimal(52_000))
    db.session.commit()
    cases.accept(accepted, actor=handler, today=date(2026, 12, 1))
    cases.accept(settled, actor=handler, today=date(2026, 8, 4))
    cases.accept(rewarded, actor=handler, today=date(2026, 9, 2))
    cases.verify(rewarded, actor=handler, result="true", today=date(2026, 10, 9))
    cases.link_decision(rewarded, actor=handler, document_no=fine.document_no)
    reward = rewards.propose(rewarded, actor=handler, today=date(2026, 11, 30))
    # Approved 2026-12-01: 60 days to claim, the same Saturday 2027-01-30 → Monday 02-01.
    rewards.approve(reward, actor=approver, today=date(2026, 12, 1))
    assert (decision.publish_due, decision.publish_due_provisional) == (date(2027, 1, 7), True)
    assert accident.assessment_due == date(2027, 2, 1)
    assert received.acceptance_due == date(2027, 1, 5)
    assert accepted.verification_due == date(2027, 2, 1)
    assert settled.verification_due == date(2026, 10, 8)
    assert reward.claim_due == date(2027, 2, 1)
    return {"decision": decision, "accident": accident, "received": received, "accepted": accepted,
            "settled": settled, "reward": reward}


def recompute_events() -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "deadline_recompute")
        .order_by(AuditEvent.seq)))


def test_nothing_changes_while_the_calendar_is_the_same(rows):
    assert deadlines.recompute_deadlines() == []
    assert recompute_events() == []


def test_the_official_schedule_moves_every_due_date_it_touches(app, rows, tmp_path):
    configure_2027(app, tmp_path)
    changes = deadlines.recompute_deadlines(today=date(2026, 12, 7))
    got = {(c.object_kind, c.object_id, c.what): (c.before, c.after) for c in changes}
    assert got == {
        # 01-04 off too: 12-29, 12-30, 12-31, 01-05 … 01-08.
        ("decisions", rows["decision"].id, "公开期限"): (date(2027, 1, 7), date(2027, 1, 8)),
        ("accidents", rows["accident"].id, "整改评估期限"): (date(2027, 2, 1), date(2027, 1, 30)),
        # 01-04 off too: the 15th working day is 01-06.
        ("report", rows["received"].id, "受理期限"): (date(2027, 1, 5), date(2027, 1, 6)),
        # Saturday 01-30 is worked: the period's last day stays on it.
        ("report", rows["accepted"].id, "核查期限"): (date(2027, 2, 1), date(2027, 1, 30)),
        ("reward", rows["reward"].id, "奖励申领期限"): (date(2027, 2, 1), date(2027, 1, 30)),
    }
    db.session.expire_all()
    assert (rows["decision"].publish_due, rows["decision"].publish_due_provisional) == (
        date(2027, 1, 8), False)
    assert rows["received"].acceptance_due == date(2027, 1, 6)
    assert rows["accident"].assessment_due == date(2027, 1, 30)
    assert rows["accepted"].verification_due == date(2027, 1, 30)
    assert rows["settled"].verification_due == date(2026, 10, 8)
    assert rows["reward"].claim_due == date(2027, 1, 30)
    # The reporter, told a date that still matters, is told it moved.
    assert (rows["accepted"].events[-1].kind, rows["accepted"].events[-1].note) == (
        "deadline_moved", "核查期限调整为2027年1月30日。")
    assert rows["reward"].report.events[-1].note == "奖励申领期限调整为2027年1月30日。"
    assert rows["received"].events[-1].kind == "received"
    # One audit event per date, with the dates and nothing else.
    events = recompute_events()
    assert [(e.object_kind, e.object_id, e.actor) for e in events] == [
        ("decisions", str(rows["decision"].id), "system"),
        ("accidents", str(rows["accident"].id), "system"),
        ("report", str(rows["received"].id), "system"),
        ("report", str(rows["accepted"].id), "system"),
        ("reward", str(rows["reward"].id), "system"),
    ]
    assert events[0].summary["provisional"] == [True, False]
    # Run again: nothing left to change.
    assert deadlines.recompute_deadlines() == []


def test_a_dry_run_lists_without_saving(app, rows, tmp_path):
    configure_2027(app, tmp_path)
    assert len(deadlines.recompute_deadlines(apply=False)) == 5
    db.session.expire_all()
    assert rows["accepted"].verification_due == date(2027, 2, 1)
    assert recompute_events() == []


def test_the_command_lists_and_updates(app, rows, tmp_path):
    configure_2027(app, tmp_path)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["recompute-deadlines", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"{rows['accepted'].number} 核查期限：2027年2月1日 → 2027年1月30日" in dry.output
    assert "共 5 个期限将调整" in dry.output
    result = runner.invoke(args=["recompute-deadlines"])
    assert result.exit_code == 0, result.output
    assert (f"{rows['decision'].document_no} 公开期限：2027年1月7日 → 2027年1月8日（暂定 → 正式）"
            in result.output)
    assert "已调整 5 个期限" in result.output
    assert "没有需要调整的期限" in runner.invoke(args=["recompute-deadlines"]).output


@pytest.mark.parametrize(("approved_on", "due"), [
    (date(2025, 10, 3), date(2026, 10, 8)),  # a year: Saturday 2026-10-03, National Day → 10-08
    (date(2025, 6, 20), date(2026, 6, 22)),  # Saturday 06-20 → Monday 06-22
    (date(2025, 10, 10), date(2026, 10, 10)),  # Saturday 2026-10-10 is a swapped working day
    (date(2025, 5, 6), date(2026, 5, 6)),  # a Wednesday: stays
])
def test_the_assessment_year_ends_on_a_working_day(estimated, approved_on, due):
    accident = factories.accident(occurred_on=approved_on - timedelta(days=90),
                                  approved_on=approved_on)
    db.session.commit()
    assert accident.assessment_due == due
