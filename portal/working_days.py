"""Publication deadlines counted in Chinese working days."""

from __future__ import annotations

from datetime import date

from flask import current_app, has_app_context

from portal.domain.catalog import DECISION_PUBLISH_WORKING_DAYS
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
