"""Chinese working days, with the government's swapped working weekends (调休).

The `holidays` library knows the calendar; an administrator can add a year's official schedule
(published each November) before the library has it.  A date that falls in a year neither knows
is counted Monday–Friday (less any holiday the library estimates) and marked provisional.

Two kinds of deadline:

- ``add_working_days``: a period counted in working days (publication of decisions, acceptance
  of a report).  Its last day is a working day by construction.
- ``add_calendar_days``: a period counted in calendar days (verification of a report, its
  extension, the reward claim period).  The starting day is not counted (民法典 Art. 201), and
  a last day that is a rest day — a weekend not worked under 调休, or a public holiday — moves to
  the next working day (Art. 203: "期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的
  最后一日").  Only the last day moves; the period's own length never changes.

Art. 203 governs periods within which someone must act.  It does not move the end of a state that
lasts a period (a blacklist listing ends on its day, ``portal.domain.blacklist``), nor the first
day something becomes possible (early removal after 12 months), nor a certificate's validity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

import holidays


@dataclass(frozen=True)
class Deadline:
    due: date
    provisional: bool  # the calendar for some day up to ``due`` is not official yet


# More than any run of consecutive rest days (the longest, Spring Festival, is 9 days in 2026):
# how much later than its calendar end a period's last day can be moved (Art. 203).
MAX_REST_DAYS_IN_A_ROW = 15
# Where to stop looking back for the library's last official year (调休 has existed since 2008).
_EARLIEST_SCHEDULE_YEAR = 2008


class WorkingCalendar:
    def __init__(
        self, extra_schedule: dict[int, dict[str, set[date]]] | None = None,
        *, library_official_through: int | None = None,
    ) -> None:
        """``extra_schedule``: official schedules added by an administrator, by year.
        ``library_official_through``: the last year whose library schedule counts as official
        (found from the library when not given; tests pin it so they do not depend on the
        library's version or on today's date)."""
        self._extra = extra_schedule or {}
        self._by_year: dict[int, holidays.HolidayBase] = {}
        if library_official_through is not None:
            self.__dict__["latest_library_year"] = library_official_through

    @classmethod
    def from_file(cls, path: str | Path | None, **options: int | None) -> WorkingCalendar:
        """Load extra official schedules: {"2028": {"holidays": [...], "workdays": [...]}}."""
        if not path:
            return cls(**options)
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        extra = {
            int(year): {
                key: {date.fromisoformat(d) for d in spec.get(key, [])}
                for key in ("holidays", "workdays")
            }
            for year, spec in raw.items()
        }
        return cls(extra, **options)

    def _library(self, year: int) -> holidays.HolidayBase:
        if year not in self._by_year:
            self._by_year[year] = holidays.China(years=year)
        return self._by_year[year]

    @cached_property
    def latest_library_year(self) -> int:
        """The last year for which the library has the official 调休 schedule (the library only
        estimates later years, without swapped working weekends)."""
        for year in range(date.today().year + 2, _EARLIEST_SCHEDULE_YEAR - 1, -1):
            if any(d.year == year for d in holidays.China(years=year).weekend_workdays):
                return year
        return _EARLIEST_SCHEDULE_YEAR - 1

    @property
    def first_unofficial_day(self) -> date:
        """The first day whose calendar the library alone does not know officially: a stored
        deadline on or after it may change when a schedule is configured."""
        return date(self.latest_library_year + 1, 1, 1)

    def is_official(self, year: int) -> bool:
        return year <= self.latest_library_year or year in self._extra

    def is_working_day(self, day: date) -> bool:
        extra = self._extra.get(day.year)
        if extra is not None:
            if day in extra["workdays"]:
                return True
            if day in extra["holidays"]:
                return False
            return day.weekday() < 5
        return self._library(day.year).is_working_day(day)

    def add_working_days(self, start: date, days: int) -> Deadline:
        """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day, left, provisional = start, days, False
        while left:
            day += timedelta(days=1)
            if not self.is_official(day.year):
                provisional = True
            if self.is_working_day(day):
                left -= 1
        return Deadline(day, provisional)

    def next_working_day(self, day: date) -> Deadline:
        """``day`` if it is a working day, else the first working day after it (民法典 Art. 203
        for the last day of a period)."""
        provisional = not self.is_official(day.year)
        while not self.is_working_day(day):
            day += timedelta(days=1)
            provisional = provisional or not self.is_official(day.year)
        return Deadline(day, provisional)

    def add_calendar_days(self, start: date, days: int) -> Deadline:
        """The last day of a period of ``days`` calendar days after ``start`` (``start`` not
        counted), moved to the next working day if it is a rest day (民法典 Arts. 201, 203)."""
        if days < 0:
            raise ValueError("days must not be negative")
        return self.next_working_day(start + timedelta(days=days))

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if end < start)."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count
