"""The demo data set, loaded as `make run` loads it: no date contradicts another.

Checked over everything generated (disclosures and the reports handled through the services):
a decision is published after it is made and withdrawn after it is published and changed; an
accident is approved after it happened and published after the approval; a report was received
before the decision it led to, which was public when it was linked; every step of a report or
a reward comes after the one before.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    AccidentReport,
    BlacklistEntry,
    Decision,
    PowerItem,
    Report,
    Reward,
    local_date,
    local_today,
)
from portal.services.demo import reports as demo_reports
from portal.services.demo.published import load_demo
from portal.services.oversight import compliance
from tests.conftest import make_app


@pytest.fixture(scope="module")
def demo_loaded(tmp_path_factory, test_database):
    """One demo data set for the module (loading it is the slow part)."""
    app = make_app(tmp_path_factory.mktemp("demo"))
    with app.app_context():
        load_demo(size=400)
        demo_reports.load_demo_reports(2 * len(demo_reports.SCRIPT))
        yield local_today()
        db.session.remove()
        db.engine.dispose()
    app.extensions["search_index"].close()


def _problems(found: list[str]) -> None:
    assert found == [], "\n".join(found[:20])


def test_disclosure_dates_agree(demo_loaded):
    today: date = demo_loaded
    found = []
    for d in db.session.scalars(select(Decision)):
        if d.published_at is None:
            continue
        published = local_date(d.published_at)
        if not d.decision_date <= published <= today:
            found.append(f"{d.document_no}: decided {d.decision_date}, published {published}")
        if d.publish_due is None or d.publish_due < d.decision_date:
            found.append(f"{d.document_no}: due {d.publish_due} before {d.decision_date}")
        if d.withdrawn_at is not None:
            withdrawn = local_date(d.withdrawn_at)
            changed = d.withdrawal_requested_on
            if changed is None or not published <= changed <= withdrawn <= today:
                found.append(f"{d.document_no}: published {published}, changed {changed}, "
                             f"withdrawn {withdrawn}")
        elif d.withdrawal_requested_on is not None and not (
                published <= d.withdrawal_requested_on <= today):
            found.append(f"{d.document_no}: changed {d.withdrawal_requested_on}")
    for a in db.session.scalars(select(AccidentReport)):
        if a.approved_on is None or not a.occurred_on < a.approved_on:
            found.append(f"{a.title}: occurred {a.occurred_on}, approved {a.approved_on}")
        if a.published_at is not None and a.approved_on and local_date(a.published_at) < a.approved_on:
            found.append(f"{a.title}: published before its approval")
        if a.assessment_published_on and a.approved_on and a.assessment_published_on < a.approved_on:
            found.append(f"{a.title}: assessed before its approval")
    for b in db.session.scalars(select(BlacklistEntry)):
        if not b.listed_on < b.ends_on or (b.removed_on and not b.listed_on <= b.removed_on):
            found.append(f"{b.uscc}: listed {b.listed_on}, ends {b.ends_on}, removed {b.removed_on}")
        if b.published_at is not None and local_date(b.published_at) > today:
            found.append(f"{b.uscc}: published in the future")
    for p in db.session.scalars(select(PowerItem)):
        if p.published_at and p.withdrawn_at and p.withdrawn_at < p.published_at:
            found.append(f"{p.code}: withdrawn before it was published")
    _problems(found)


def test_reports_come_before_the_decisions_they_led_to(demo_loaded):
    today: date = demo_loaded
    found = []
    linked = 0
    for r in db.session.scalars(select(Report)):
        days = [r.received_on, r.accepted_on, r.verified_on, r.closed_on]
        present = [d for d in days if d is not None]
        if present != sorted(present) or present[-1] > today:
            found.append(f"{r.number}: received, accepted, verified, closed {days}")
        if any(e.occurred_on < r.received_on for e in r.events):
            found.append(f"{r.number}: a step before its receipt")
        if r.decision is not None:
            linked += 1
            decision = r.decision
            if r.received_on > decision.decision_date:
                found.append(f"{r.number} received {r.received_on} led to {decision.document_no} "
                             f"of {decision.decision_date}")
            link_days = [e.occurred_on for e in r.events if e.kind == "decision_linked"]
            assert decision.published_at is not None
            if any(day < local_date(decision.published_at) for day in link_days):
                found.append(f"{r.number}: linked {link_days} before {decision.document_no} "
                             f"was published ({local_date(decision.published_at)})")
    for w in db.session.scalars(select(Reward)):
        days = [w.report.received_on, w.proposed_on, w.decided_on, w.claimed_on, w.paid_on]
        present = [d for d in days if d is not None]
        if present != sorted(present):
            found.append(f"reward of {w.report.number}: {days}")
    assert linked >= 5
    _problems(found)


def test_every_withdrawal_has_a_timeliness_and_the_figures_agree(demo_loaded):
    today: date = demo_loaded
    withdrawn = db.session.scalars(select(Decision).where(Decision.withdrawn_at.is_not(None))).all()
    assert withdrawn
    states = {"on_time": set(), "late": set(), "overdue": set()}
    for state in states:
        states[state] = compliance.timeliness_ids("decisions", state, today)
    assert {d.id for d in withdrawn} == states["on_time"] | states["late"]
    assert states["on_time"] and states["late"] and states["overdue"]
    totals = compliance.compliance(today).totals
    assert (totals.withdrawals_on_time, totals.withdrawals_late, totals.withdrawals_overdue) == (
        len(states["on_time"]), len(states["late"]), len(states["overdue"]))
