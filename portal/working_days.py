"""Deadlines with the app's working calendar (``portal.domain.workdays``).

- counted in working days: publication of decisions (below), acceptance of a report;
- counted in calendar days, the last day moved off a rest day (民法典 Art. 203): verification of a
  report and its extension (``portal.services.reporting.cases``), the reward claim period
  (``portal.services.reporting.rewards``) — ``period_end``;
- counted in years, the last day moved off a rest day the same way: the accident assessment due
  a year after 批复 — ``assessment_due``;
- not moved (Art. 203 does not apply, see ``portal.domain.workdays``): the end of a blacklist
  listing, the first day of early removal (``portal.domain.blacklist``), a credit certificate's
  validity — none is a period within which someone must act.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, has_app_context

from portal.domain.blacklist import add_years
from portal.domain.catalog import ACCIDENT_ASSESSMENT_YEARS, DECISION_PUBLISH_WORKING_DAYS
from portal.domain.workdays import Deadline, WorkingCalendar

_default_calendar: WorkingCalendar | None = None


def working_calendar() -> WorkingCalendar:
    """The app's calendar (with any configured extra years), or the library's alone."""
    global _default_calendar
    if has_app_context() and "working_calendar" in current_app.extensions:
        return current_app.extensions["working_calendar"]
    if _default_calendar is None:
        _default_calendar = WorkingCalendar()
    return _default_calendar


def decision_publish_deadline(decision_type: str, decision_date: date | None) -> Deadline | None:
    """The last day to publish a decision: 7 working days for a penalty, 20 for the others."""
    days = DECISION_PUBLISH_WORKING_DAYS.get(decision_type)
    if days is None or decision_date is None:
        return None
    return working_calendar().add_working_days(decision_date, days)


def period_end(start: date, days: int) -> Deadline:
    """The last day of a period of ``days`` calendar days after ``start``, moved to the next
    working day if it is a rest day (民法典 Arts. 201, 203)."""
    return working_calendar().add_calendar_days(start, days)


def off_rest_day(day: date) -> Deadline:
    """``day`` as the last day of a period: the next working day if it is a rest day."""
    return working_calendar().next_working_day(day)


def assessment_due(approved_on: date) -> date:
    """The last day to publish the assessment of an accident's remedial measures: a year after
    its 批复 (the corresponding day, 民法典 Arts. 201–202), moved off a rest day (Art. 203)."""
    return off_rest_day(add_years(approved_on, ACCIDENT_ASSESSMENT_YEARS)).due
