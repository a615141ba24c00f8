"""Working-day deadlines with the official holidays and swapped working weekends (调休)."""

import json
from datetime import date

import pytest

from portal.domain.workdays import Deadline, WorkingCalendar


@pytest.fixture(scope="module")
def calendar():
    return WorkingCalendar()


def test_penalty_decision_across_national_day_with_a_working_saturday(calendar):
    # 2026: 10-01..10-07 off; Sunday 09-20 and Saturday 10-10 are working days.
    # 09-29, 09-30, 10-08, 10-09, 10-10 (Sat), 10-12, 10-13 are the seven working days.
    assert calendar.add_working_days(date(2026, 9, 28), 7) == Deadline(date(2026, 10, 13), False)


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 10, 1), False), (date(2026, 10, 7), False), (date(2026, 10, 8), True),
    (date(2026, 10, 10), True),  # Saturday, 调休 working day
    (date(2026, 10, 11), False), (date(2026, 9, 20), True),  # Sunday, 调休 working day
    (date(2026, 2, 14), True), (date(2026, 2, 28), True),  # Spring Festival working Saturdays
    (date(2026, 2, 16), False), (date(2026, 2, 23), False),
])
def test_the_official_2026_schedule(calendar, day, working):
    assert calendar.is_working_day(day) is working


def test_spring_festival_2026(calendar):
    # Off 02-15..02-23; Saturdays 02-14 and 02-28 are worked.  From Thursday 02-12:
    # 02-13, 02-14 (Sat), 02-24, 02-25, 02-26, 02-27, 02-28 (Sat).
    assert calendar.add_working_days(date(2026, 2, 12), 7) == Deadline(date(2026, 2, 28), False)


def test_twenty_working_days_for_other_decisions(calendar):
    # From 2026-09-28 the 20th working day: 7 as above to 10-13, then 13 more weekdays.
    assert calendar.add_working_days(date(2026, 9, 28), 20).due == date(2026, 10, 30)


def test_zero_days_is_the_start_and_negative_is_refused(calendar):
    assert calendar.add_working_days(date(2026, 5, 6), 0) == Deadline(date(2026, 5, 6), False)
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 5, 6), -1)


def test_a_year_without_an_official_schedule_is_provisional_not_a_crash(calendar):
    # 2031 is beyond what the library knows officially: counted Monday to Friday.
    deadline = calendar.add_working_days(date(2031, 3, 3), 5)
    assert deadline == Deadline(date(2031, 3, 10), True)
    assert calendar.add_working_days(date(2040, 9, 28), 7).provisional


def test_a_deadline_running_into_the_next_unofficial_year_is_provisional():
    # Pinned: the library's schedule counts as official through 2026 only, whatever the
    # installed version knows and whatever today's date is.
    calendar = WorkingCalendar(library_official_through=2026)
    assert calendar.is_official(2026) and not calendar.is_official(2027)
    # 12-29, 12-30, 12-31, (1 January off), 01-04 … 01-07.
    assert calendar.add_working_days(date(2026, 12, 28), 7) == Deadline(date(2027, 1, 7), True)
    # 12-22 … 12-25, 12-28, 12-29, 12-30: all in 2026, official.
    assert calendar.add_working_days(date(2026, 12, 21), 7) == Deadline(date(2026, 12, 30), False)


def test_a_configured_next_year_makes_the_same_deadline_official(tmp_path):
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"2027": {"holidays": ["2027-01-01", "2027-01-04"],
                                         "workdays": []}}), encoding="utf-8")
    calendar = WorkingCalendar.from_file(path, library_official_through=2026)
    # Monday 01-04 configured off as well: one day later, and no longer provisional.
    assert calendar.add_working_days(date(2026, 12, 28), 7) == Deadline(date(2027, 1, 8), False)


def test_the_library_knows_the_official_2026_schedule(calendar):
    # What the pinned library version (holidays >= 0.109) has: 2026's swapped working days.
    assert calendar.latest_library_year >= 2026
    assert calendar.first_unofficial_day == date(calendar.latest_library_year + 1, 1, 1)


# Periods counted in calendar days: the last day moves off a rest day (民法典 Art. 203).
# Each date below was counted by hand on the official 2026 calendar.
@pytest.mark.parametrize(("start", "days", "due"), [
    (date(2026, 4, 2), 60, date(2026, 6, 1)),  # ends Monday 06-01
    (date(2026, 6, 2), 60, date(2026, 8, 3)),  # Saturday 08-01 → Monday 08-03
    (date(2026, 8, 4), 60, date(2026, 10, 8)),  # Saturday 10-03, National Day 10-01..10-07
    (date(2026, 9, 1), 30, date(2026, 10, 8)),  # Thursday 10-01, National Day
    (date(2025, 12, 17), 60, date(2026, 2, 24)),  # Sunday 02-15, Spring Festival 02-15..02-23
    (date(2026, 8, 11), 60, date(2026, 10, 10)),  # Saturday 10-10, a swapped working day
    (date(2026, 7, 22), 60, date(2026, 9, 20)),  # Sunday 09-20, a swapped working day
    (date(2026, 5, 6), 0, date(2026, 5, 6)),  # no days: the start itself, a Wednesday
])
def test_calendar_days_end_on_a_working_day(calendar, start, days, due):
    assert calendar.add_calendar_days(start, days) == Deadline(due, False)


def test_calendar_days_into_an_unofficial_year_are_provisional(tmp_path):
    calendar = WorkingCalendar(library_official_through=2026)
    # 2026-12-01 + 60 days = Saturday 2027-01-30 → Monday 02-01, by Monday–Friday counting.
    assert calendar.add_calendar_days(date(2026, 12, 1), 60) == Deadline(date(2027, 2, 1), True)
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"2027": {"holidays": [], "workdays": ["2027-01-30"]}}))
    configured = WorkingCalendar.from_file(path, library_official_through=2026)
    assert configured.add_calendar_days(date(2026, 12, 1), 60) == Deadline(date(2027, 1, 30), False)
    with pytest.raises(ValueError):
        calendar.add_calendar_days(date(2026, 12, 1), -1)


def test_a_configured_year_is_official(tmp_path):
    schedule = {"2031": {"holidays": ["2031-10-01", "2031-10-02", "2031-10-03", "2031-10-06",
                                      "2031-10-07"],
                         "workdays": ["2031-10-11"]}}
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps(schedule), encoding="utf-8")
    calendar = WorkingCalendar.from_file(path)
    assert calendar.is_official(2031)
    assert calendar.is_working_day(date(2031, 10, 11))  # a Saturday made a working day
    assert not calendar.is_working_day(date(2031, 10, 6))  # a Monday made a holiday
    # From Monday 2031-09-29: 09-30, 10-08, 10-09, 10-10, 10-11 (Sat).
    assert calendar.add_working_days(date(2031, 9, 29), 5) == Deadline(date(2031, 10, 11), False)


def test_no_file_means_the_library_alone():
    assert WorkingCalendar.from_file(None).is_official(2031) is False


def test_working_days_between(calendar):
    assert calendar.working_days_between(date(2026, 9, 28), date(2026, 10, 13)) == 7
    assert calendar.working_days_between(date(2026, 10, 13), date(2026, 9, 28)) == -7
    assert calendar.working_days_between(date(2026, 10, 13), date(2026, 10, 13)) == 0


def test_decision_deadline_through_the_model(db_session):
    from tests import factories

    penalty = factories.decision(decision_date=date(2026, 9, 28))
    inspection = factories.decision(decision_type="行政检查", decision_date=date(2026, 9, 28))
    db_session.commit()
    assert (penalty.publish_due, penalty.publish_due_provisional) == (date(2026, 10, 13), False)
    assert inspection.publish_due == date(2026, 10, 30)


@pytest.mark.usefixtures("test_database")
def test_the_app_uses_the_configured_calendar(tmp_path):
    from portal.working_days import decision_publish_deadline
    from tests.conftest import make_app

    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"2031": {"holidays": ["2031-03-04"], "workdays": []}}))
    app = make_app(tmp_path, workday_calendar_file=str(path))
    with app.app_context():
        # Tuesday 03-04 is a configured holiday: one day later than Monday-to-Friday counting.
        assert decision_publish_deadline("行政处罚", date(2031, 3, 3)) == Deadline(date(2031, 3, 13), False)
    assert decision_publish_deadline("未知类型", date(2031, 3, 3)) is None
