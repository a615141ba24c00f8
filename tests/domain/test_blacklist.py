"""Blacklist status follows from the dates (应急管理部令第11号)."""

from datetime import date, timedelta

import pytest

from portal.domain.blacklist import (
    BlacklistStatus,
    add_years,
    earliest_removal,
    listing_end,
    status,
)

LISTED = date(2026, 3, 1)
ENDS = listing_end(LISTED, 3)
S = BlacklistStatus


def test_a_listing_lasts_three_years_to_the_day():
    assert ENDS == date(2029, 3, 1)
    assert listing_end(LISTED, 1) == date(2027, 3, 1)  # the 2017 rules' one year


def test_29_february_ends_on_28_february():
    assert add_years(date(2028, 2, 29), 3) == date(2031, 2, 28)
    assert add_years(date(2028, 2, 29), 4) == date(2032, 2, 29)


def test_early_removal_possible_after_a_year():
    assert earliest_removal(LISTED, 1) == date(2027, 3, 1)


@pytest.mark.parametrize(("today", "expected"), [
    (LISTED - timedelta(days=1), S.PENDING),
    (LISTED, S.ACTIVE),
    (ENDS - timedelta(days=1), S.ACTIVE),
    (ENDS, S.EXPIRED),  # the end date is the first day it no longer applies
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
    for today in (date(2026, 2, 28), LISTED, date(2026, 12, 31), date(2027, 6, 1), ENDS, date(2025, 1, 1)):
        for state in S:
            found = set(db_session.scalars(
                select(BlacklistEntry.id).where(BlacklistEntry.status_clause(state, today))))
            expected = {e.id for e in entries if e.status(today) is state}
            assert found == expected, (today, state)
