"""Chinese working days, with the government's swapped working weekends (调休).

The `holidays` library knows the calendar; an administrator can add a year's official schedule
(published each November) before the library has it.  A date that falls in a year neither knows
is counted Monday–Friday (less any holiday the library estimates) and marked provisional.
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


class WorkingCalendar:
    def __init__(self, extra_schedule: dict[int, dict[str, set[date]]] | None = None) -> None:
        self._extra = extra_schedule or {}
        self._by_year: dict[int, holidays.HolidayBase] = {}

    @classmethod
    def from_file(cls, path: str | Path | None) -> WorkingCalendar:
        """Load extra official schedules: {"2028": {"holidays": [...], "workdays": [...]}}."""
        if not path:
            return cls()
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        extra = {
            int(year): {
                key: {date.fromisoformat(d) for d in spec.get(key, [])}
                for key in ("holidays", "workdays")
            }
            for year, spec in raw.items()
        }
        return cls(extra)

    def _library(self, year: int) -> holidays.HolidayBase:
        if year not in self._by_year:
            self._by_year[year] = holidays.China(years=year)
        return self._by_year[year]

    @cached_property
    def latest_library_year(self) -> int:
        """The last year for which the library has the official 调休 schedule."""
        this_year = date.today().year
        for year in range(this_year + 2, this_year - 3, -1):
            if any(d.year == year for d in holidays.China(years=year).weekend_workdays):
                return year
        return this_year - 3

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

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if end < start)."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count
