"""Blacklist (严重失信主体名单) status derived from dates (应急管理部令第11号).

Periods in years and months are counted as the Civil Code says (民法典 Arts. 201–202): the day
the period starts from is not counted, and the period ends on the corresponding day of its last
month, or on that month's last day where it has no such day.  So a listing made on 2026-03-01
for 3 years is active through 2029-03-01, and one made on 2024-02-29 through 2027-02-28.
"""

from __future__ import annotations

import calendar
import enum
from datetime import date, timedelta


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


def add_months(day: date, months: int) -> date:
    """The corresponding day ``months`` later; the month's last day where there is none."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    """The corresponding day ``years`` later (29 February → 28 February in a common year)."""
    return add_months(day, 12 * years)


def period_end(start: date, *, years: int = 0, months: int = 0) -> date:
    """The last day of a period of ``years`` and ``months`` counted from ``start`` (民法典
    Arts. 201–202: ``start`` itself not counted; the period ends on the corresponding day)."""
    return add_months(start, 12 * years + months)


def listing_end(listed_on: date, years: int) -> date:
    """The last day the entry is active (inclusive): 2026-03-01 + 3 years → 2029-03-01."""
    return period_end(listed_on, years=years)


def earliest_removal(listed_on: date, min_months: int) -> date:
    """The first day an early removal (信用修复) may take effect: the day after the minimum
    period of ``min_months`` months, counted like the listing, has run in full."""
    return period_end(listed_on, months=min_months) + timedelta(days=1)


def status(*, listed_on: date, ends_on: date, removed_on: date | None, today: date) -> BlacklistStatus:
    """The entry's status on ``today``; ``ends_on`` is the last active day."""
    if removed_on is not None and removed_on <= today:
        return BlacklistStatus.REMOVED
    if today < listed_on:
        return BlacklistStatus.PENDING
    if today > ends_on:
        return BlacklistStatus.EXPIRED
    return BlacklistStatus.ACTIVE


# Who may be listed (应急管理部令第11号 Art. 2; DOMAIN.md §8): a production or business entity, a
# body that carries out safety assessment, certification, testing or inspection (the plan's
# 中介服务机构), or a responsible person of either.  A person's entry carries the body they
# belong to (its name and credit code) as ``enterprise_name`` and ``uscc``.
ENTERPRISE, INSTITUTION, PERSON = "enterprise", "institution", "person"
SUBJECT_TYPES: dict[str, str] = {
    ENTERPRISE: "生产经营单位",
    INSTITUTION: "安全评价/认证/检测/检验机构",
    PERSON: "有关人员",
}


class IdNumberInvalid(ValueError):
    """Not a resident ID number (18 characters, the last a digit or X; or 15 digits)."""


def mask_id_number(raw: str) -> str:
    """A person's ID number as it may be stored and published (DOMAIN.md §1 masking: the first
    four digits, the province and prefecture of issue, then asterisks).  The full number is
    never kept: this is applied on every way in, before anything is stored."""
    from portal.domain.masking import ID_KEPT_DIGITS, MASK, _fold

    text = "".join(_fold(raw or "").split()).upper()
    if not (len(text) == 18 and text[:17].isdigit() and (text[17].isdigit() or text[17] == "X")) \
            and not (len(text) == 15 and text.isdigit()):
        # Already masked (an edit of a stored entry): kept as it is.
        if len(text) in (15, 18) and text[:ID_KEPT_DIGITS].isdigit() and \
                set(text[ID_KEPT_DIGITS:]) == {MASK}:
            return text
        raise IdNumberInvalid("身份证号码应为 18 位（最后一位可为 X）或 15 位数字。")
    return text[:ID_KEPT_DIGITS] + MASK * (len(text) - ID_KEPT_DIGITS)
