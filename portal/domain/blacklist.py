"""Blacklist (严重失信主体名单) status derived from dates (应急管理部令第11号)."""

from __future__ import annotations

import enum
from datetime import date


class BlacklistStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REMOVED = "removed"  # removed early (信用修复)
    PENDING = "pending"  # listing date still in the future

    @property
    def label(self) -> str:
        return {
            "active": "公示中",
            "expired": "已期满移出",
            "removed": "已提前移出（信用修复）",
            "pending": "待生效",
        }[self.value]


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def listing_end(listed_on: date, years: int) -> date:
    """The first day the entry is no longer active."""
    return add_years(listed_on, years)


def earliest_removal(listed_on: date, min_years: int) -> date:
    """The first day an early removal (信用修复) may take effect."""
    return add_years(listed_on, min_years)


def status(*, listed_on: date, ends_on: date, removed_on: date | None, today: date) -> BlacklistStatus:
    if removed_on is not None and removed_on <= today:
        return BlacklistStatus.REMOVED
    if today < listed_on:
        return BlacklistStatus.PENDING
    if today >= ends_on:
        return BlacklistStatus.EXPIRED
    return BlacklistStatus.ACTIVE
