"""Blacklist status follows from the dates (应急管理部令第11号)."""

from datetime import date, timedelta

import pytest

from portal.domain.blacklist import (
    BlacklistStatus,
    add_months,
    add_years,
    earliest_removal,
    listing_end,
    period_end,
    status,
)

LISTED = date(2026, 3, 1)
ENDS = listing_end(LISTED, 3)
S = BlacklistStatus


def test_a_listing_lasts_three_years_counted_per_the_civil_code():
    # 民法典 Arts. 201–202: the listing day is not counted; the period ends on the
    # corresponding day, which is the last active day.
    assert ENDS == date(2029, 3, 1)
    assert listing_end(LISTED, 1) == date(2027, 3, 1)  # the 2017 rules' one year


@pytest.mark.parametrize(("listed", "years", "last_day"), [
    (date(2024, 2, 29), 3, date(2027, 2, 28)),  # no 29 February: the month's last day
    (date(2024, 2, 29), 4, date(2028, 2, 29)),
    (date(2026, 12, 31), 3, date(2029, 12, 31)),
    (date(2026, 1, 1), 3, date(2029, 1, 1)),
    (date(2028, 2, 28), 3, date(2031, 2, 28)),
])
def test_listing_end_at_the_boundaries(listed, years, last_day):
    ends = listing_end(listed, years)
    assert ends == last_day
    assert status(listed_on=listed, ends_on=ends, removed_on=None, today=last_day) is S.ACTIVE
    assert status(listed_on=listed, ends_on=ends, removed_on=None,
                  today=last_day + timedelta(days=1)) is S.EXPIRED


def test_29_february_ends_on_28_february():
    assert add_years(date(2028, 2, 29), 3) == date(2031, 2, 28)
    assert add_years(date(2028, 2, 29), 4) == date(2032, 2, 29)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 3, 31), 6, date(2026, 9, 30)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2026, 5, 15), 0, date(2026, 5, 15)),
    (date(2026, 5, 15), 18, date(2027, 11, 15)),
])
def test_period_end_in_months(day, months, expected):
    assert period_end(day, months=months) == expected
    assert add_months(day, months) == expected


@pytest.mark.parametrize(("listed", "months", "first_day"), [
    (date(2026, 3, 1), 12, date(2027, 3, 2)),  # 12 months run through 2027-03-01
    (date(2024, 2, 29), 12, date(2025, 3, 1)),  # …through 2025-02-28
    (date(2026, 8, 31), 6, date(2027, 3, 1)),  # …through 2027-02-28
    (date(2026, 3, 1), 0, date(2026, 3, 2)),
])
def test_early_removal_after_the_minimum_months(listed, months, first_day):
    assert earliest_removal(listed, months) == first_day


@pytest.mark.parametrize(("today", "expected"), [
    (LISTED - timedelta(days=1), S.PENDING),
    (LISTED, S.ACTIVE),
    (ENDS - timedelta(days=1), S.ACTIVE),
    (ENDS, S.ACTIVE),  # the end date is the last day it applies
    (ENDS + timedelta(days=1), S.EXPIRED),
    (ENDS + timedelta(days=400), S.EXPIRED),
])
def test_status_over_time(today, expected):
    assert status(listed_on=LISTED, ends_on=ENDS, removed_on=None, today=today) is expected


@pytest.mark.parametrize(("today", "expected"), [
    (date(2027, 5, 31), S.ACTIVE),  # removal decided for a later day: still listed
    (date(2027, 6, 1), S.REMOVED),
    (date(2030, 1, 1), S.REMOVED),  # stays "removed early", never turns "expired"
])
def test_removed_early(today, expected):
    assert status(listed_on=LISTED, ends_on=ENDS, removed_on=date(2027, 6, 1), today=today) is expected


def test_labels_are_chinese():
    assert S.ACTIVE.label == "公示中"
    assert S.EXPIRED.label == "已期满移出"
    assert S.REMOVED.label.startswith("已提前移出")


def test_sql_filter_agrees_with_the_rule(db_session):
    from sqlalchemy import select

    from portal.models import BlacklistEntry
    from tests import factories

    entries = [
        factories.blacklist_entry(listed_on=LISTED),
        factories.blacklist_entry(listed_on=date(2027, 1, 1)),
        factories.blacklist_entry(listed_on=date(2022, 1, 1)),
        factories.blacklist_entry(listed_on=LISTED, removed_on=date(2027, 6, 1), removal_reason="信用修复"),
    ]
    db_session.commit()
    for today in (date(2026, 2, 28), LISTED, date(2026, 12, 31), date(2027, 6, 1), ENDS,
                  ENDS + timedelta(days=1), date(2025, 1, 1)):
        for state in S:
            found = set(db_session.scalars(
                select(BlacklistEntry.id).where(BlacklistEntry.status_clause(state, today))))
            expected = {e.id for e in entries if e.status(today) is state}
            assert found == expected, (today, state)
