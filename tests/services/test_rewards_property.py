"""Exactly one report of every rewarded matter is eligible, whatever the order of steps
(DOMAIN.md §3: only the first accepted report of a matter is rewarded).

Random sequences of accept, merge (mark as duplicate), verify (with a decision linked), propose
and reject on three reports of one enterprise; after every step, for every matter (a report and
those merged into it): the reports that hold a live reward or may be proposed one number one if
the matter is rewardable (handled on a report verified as true with its fine linked) and none
otherwise, and that one is the matter's first accepted report.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import Report
from portal.services.reporting import cases, rewards
from tests import factories
from tests.staff.conftest import make_staff

REPORTS = 3
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("accept"), st.integers(0, REPORTS - 1)),
        st.tuples(st.just("merge"), st.integers(1, REPORTS - 1), st.integers(0, REPORTS - 2)),
        st.tuples(st.just("verify"), st.integers(0, REPORTS - 1)),
        st.tuples(st.just("propose"), st.integers(0, REPORTS - 1)),
        st.tuples(st.just("reject"), st.integers(0, REPORTS - 1)),
        st.tuples(st.just("next_day")),
    ),
    min_size=1, max_size=14,
)
_fines = count(1)


def _step(step: tuple, reports: list[Report], day: date, handler, approver) -> None:
    kind, *args = step
    try:
        if kind == "accept":
            cases.accept(reports[args[0]], actor=handler, today=day)
        elif kind == "merge":
            later, earlier = args
            if earlier < later:  # only into a report received earlier
                cases.mark_duplicate(reports[later], actor=handler,
                                     original_id=reports[earlier].id, today=day)
        elif kind == "verify":
            report = reports[args[0]]
            cases.verify(report, actor=handler, result="true", today=day)
            # Unpublished: a decision is linked by its number, and the search index is not
            # what this test is about.
            decision = factories.decision(published=False, fine_yuan=Decimal(52_000),
                                          document_no=f"西应急罚〔2026〕P{next(_fines)}号")
            db.session.commit()
            cases.link_decision(report, actor=handler, document_no=decision.document_no,
                                today=day)
        elif kind == "propose":
            rewards.propose(reports[args[0]], actor=handler, today=day)
        elif kind == "reject":
            reward = reports[args[0]].reward
            if reward is not None and reward.status == "proposed":
                rewards.reject(reward, actor=approver, reason="复核后重新提出。", today=day)
    except (cases.CaseError, rewards.RewardError):
        db.session.rollback()  # a refused step changes nothing


def _check(reports: list[Report]) -> None:
    roots = {cases.matter_root(r).id: cases.matter_root(r) for r in reports}
    for root in roots.values():
        matter = cases.matter_reports(root)
        live = [r for r in matter if cases.has_live_reward(r)]
        eligible = []
        for report in matter:
            try:
                rewards.check_eligible(report)
            except rewards.RewardNotAllowed:
                continue
            eligible.append(report)
        rewardable = root.verification_result == "true" and root.decision is not None
        holders = live + eligible
        assert len(holders) == (1 if rewardable or live else 0), (
            [(r.id, r.accepted_on, r.duplicate_of_id, r.status) for r in matter], live, eligible)
        if holders:
            assert holders[0] is cases.first_accepted(matter)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=_steps)
def test_exactly_one_report_of_a_rewarded_matter_whatever_the_order(app_ctx, steps):
    handler = make_staff("handler")
    approver = make_staff("approver")
    enterprise = f"景洪市性质测试{next(_fines)}有限公司"
    reports = [factories.report(enterprise_name=enterprise, received_on=date(2026, 9, 1))
               for _ in range(REPORTS)]
    db.session.commit()
    day = date(2026, 9, 7)
    for step in steps:
        if step[0] == "next_day":
            day += timedelta(days=1)
            continue
        _step(step, reports, day, handler, approver)
        _check(reports)
