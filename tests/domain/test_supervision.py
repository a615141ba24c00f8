"""挂牌督办 rules (DOMAIN §7): the stage machine at every transition, and the deadlines at their
boundaries on the 2026 calendar with its 调休 (National Day: 1–7 October off, Sunday 20 September
and Saturday 10 October worked; Mid-Autumn: Friday 25 September off)."""

from __future__ import annotations

from datetime import date

import pytest

from portal.domain import supervision as rules
from portal.domain.supervision import Stage, Step, StepRefused
from portal.domain.workdays import WorkingCalendar


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar(library_official_through=2026)


ALLOWED = {
    (Stage.LISTED, Step.RECTIFYING): Stage.RECTIFYING,
    (Stage.LISTED, Step.EXTENDED): Stage.LISTED,
    (Stage.RECTIFYING, Step.APPLIED): Stage.APPLIED,
    (Stage.RECTIFYING, Step.EXTENDED): Stage.RECTIFYING,
    (Stage.APPLIED, Step.PASSED): Stage.PASSED,
    (Stage.APPLIED, Step.FAILED): Stage.RECTIFYING,
    (Stage.PASSED, Step.CLOSED): Stage.CLOSED,
}


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("step", [s for s in Step if s is not Step.LISTED])
def test_every_transition_is_allowed_or_refused(stage, step):
    if (stage, step) in ALLOWED:
        assert rules.next_stage(stage, step) is ALLOWED[(stage, step)]
    else:
        with pytest.raises(StepRefused):
            rules.next_stage(stage, step)


def test_no_stage_can_be_skipped():
    # From 挂牌 straight to 申请销号, 验收 or 销号: refused, naming what may come next.
    for step in (Step.APPLIED, Step.PASSED, Step.CLOSED):
        with pytest.raises(StepRefused, match="开始整改"):
            rules.next_stage(Stage.LISTED, step)
    with pytest.raises(StepRefused, match="已销号"):
        rules.next_stage(Stage.CLOSED, Step.RECTIFYING)


def test_a_step_is_not_dated_before_the_previous_one_nor_in_the_future():
    rules.check_step_date(date(2026, 5, 1), date(2026, 5, 1), date(2026, 6, 1))
    with pytest.raises(StepRefused) as refused:
        rules.check_step_date(date(2026, 4, 30), date(2026, 5, 1), date(2026, 6, 1))
    assert refused.value.field == "on"
    with pytest.raises(StepRefused):
        rules.check_step_date(date(2026, 6, 2), date(2026, 5, 1), date(2026, 6, 1))


def test_listing_is_published_within_5_working_days_counting_the_swapped_saturday(calendar):
    # Wed 30 Sep: 8, 9, Sat 10 (worked), 12, 13 October.
    assert rules.listing_publish_due(calendar, date(2026, 9, 30)).due == date(2026, 10, 13)
    # An ordinary week: Mon 2 Nov → Mon 9 Nov.
    assert rules.listing_publish_due(calendar, date(2026, 11, 2)).due == date(2026, 11, 9)
    assert rules.closure_publish_due(calendar, date(2026, 9, 30)).due == date(2026, 10, 13)


def test_inspection_within_10_days_its_last_day_moved_off_a_holiday(calendar):
    assert rules.inspection_due(calendar, date(2026, 9, 20)).due == date(2026, 9, 30)
    # 21 Sep + 10 days = 1 October, a holiday: the first working day after is 8 October.
    assert rules.inspection_due(calendar, date(2026, 9, 21)).due == date(2026, 10, 8)


def test_rectification_period_is_at_most_a_year():
    rules.check_deadline(date(2026, 3, 1), date(2027, 3, 1))
    with pytest.raises(StepRefused, match="最长"):
        rules.check_deadline(date(2026, 3, 1), date(2027, 3, 2))
    with pytest.raises(StepRefused, match="晚于挂牌日期"):
        rules.check_deadline(date(2026, 3, 1), date(2026, 3, 1))


def test_accident_supervision_lasts_60_days(calendar):
    # 1 Aug + 60 days = 30 Sep, a working day.
    assert rules.default_deadline(calendar, rules.ACCIDENT, date(2026, 8, 1)) == date(2026, 9, 30)
    # 2 Aug + 60 days = 1 Oct, a holiday: moved to 8 Oct.
    assert rules.default_deadline(calendar, rules.ACCIDENT, date(2026, 8, 2)) == date(2026, 10, 8)


def test_extension_window_is_the_last_20_working_days(calendar):
    deadline = date(2026, 10, 13)
    # Counting back from Tue 13 Oct: the holidays and Mid-Autumn do not count, Sun 20 Sep and
    # Sat 10 Oct do — the 20th working day is Thu 10 Sep.
    assert rules.earliest_extension_application(calendar, deadline) == date(2026, 9, 10)

    def extend(applied, decided, new=date(2026, 12, 1), already=False):
        return rules.check_extension(calendar, deadline=deadline, already_extended=already,
                                     applied_on=applied, decided_on=decided, new_deadline=new)

    assert extend(date(2026, 9, 10), date(2026, 9, 11)).new_deadline == date(2026, 12, 1)
    with pytest.raises(StepRefused) as early:
        extend(date(2026, 9, 9), date(2026, 9, 11))
    assert early.value.field == "applied_on"
    extend(deadline, deadline)  # on the deadline itself
    with pytest.raises(StepRefused, match="届满前"):
        extend(date(2026, 10, 14), date(2026, 10, 14))
    with pytest.raises(StepRefused, match="只能延期一次"):
        extend(date(2026, 9, 30), date(2026, 9, 30), already=True)
    with pytest.raises(StepRefused, match="晚于原期限"):
        extend(date(2026, 9, 30), date(2026, 9, 30), new=deadline)


def test_extension_is_decided_within_10_working_days(calendar):
    deadline = date(2026, 10, 13)
    # Applied Wed 30 Sep: 8, 9, 10, 12, 13, 14, 15, 16, 19, 20 October.
    kwargs = dict(deadline=deadline, already_extended=False, applied_on=date(2026, 9, 30),
                  new_deadline=date(2026, 12, 1))
    rules.check_extension(calendar, decided_on=date(2026, 10, 20), **kwargs)
    with pytest.raises(StepRefused, match="10 个工作日"):
        rules.check_extension(calendar, decided_on=date(2026, 10, 21), **kwargs)
    with pytest.raises(StepRefused, match="早于申请日期"):
        rules.check_extension(calendar, decided_on=date(2026, 9, 29), **kwargs)


@pytest.mark.parametrize(("stage", "applied_on", "today", "overdue"), [
    (Stage.LISTED, None, date(2026, 5, 31), False),  # the deadline day itself
    (Stage.LISTED, None, date(2026, 6, 1), True),
    (Stage.RECTIFYING, None, date(2026, 6, 1), True),
    (Stage.APPLIED, date(2026, 5, 31), date(2026, 9, 1), False),  # applied in time
    (Stage.APPLIED, date(2026, 6, 1), date(2026, 6, 2), True),  # applied late
    (Stage.PASSED, date(2026, 6, 1), date(2026, 6, 2), True),
    (Stage.CLOSED, date(2026, 6, 1), date(2027, 1, 1), False),
])
def test_overdue(stage, applied_on, today, overdue):
    assert rules.is_overdue(stage=stage, due_on=date(2026, 5, 31), applied_on=applied_on,
                            today=today) is overdue
