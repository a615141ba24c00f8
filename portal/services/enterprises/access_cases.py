"""What 信用修复 applications and objections (异议) share, so that the two cannot drift apart:
the draft kept for a day, the access code that finds a case (only its Argon2id digest is
stored, ``portal.receipts``), the deadline set when a draft is sent, and the purge of personal
content after ``report_retention_years``.

``Case`` is either model: both have ``status`` ("draft" until sent), ``created_on``,
``access_digest``, ``received_on``, ``due_on``, ``due_provisional``, ``closed_on`` and
``purged_on``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import select

from portal import receipts
from portal.extensions import db
from portal.models import local_date, local_today, utcnow
from portal.translation import lazy_gettext as _l
from portal.working_days import working_calendar

# An unsent draft is deleted after this long.
DRAFT_MAX_AGE = timedelta(days=1)

Case = TypeVar("Case")


class CaseError(Exception):
    """Base of the errors about applications and objections; ``str()`` is a message for the
    person (``repair.RepairError`` is this class)."""


class ApplicationInvalid(CaseError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(map(str, errors.values())))
        self.errors = errors


class AccessCodeNotFound(CaseError):
    """No case has this access code (or it is not a code, or the case was purged)."""


def retention_years() -> int:
    return current_app.config["SETTINGS"].report_retention_years


def clean_fields(values: dict[str, Any], names: tuple[str, ...],
                 required: tuple[tuple[str, Any, int], ...]) -> dict[str, str]:
    """``values`` of ``names`` trimmed, NULs dropped; each (name, label, most characters) in
    ``required`` filled in and not too long, or ``ApplicationInvalid`` naming each problem
    (lazy strings: in the reader's language)."""
    out = {name: str(values.get(name) or "").replace("\x00", "").strip() for name in names}
    errors: dict[str, Any] = {}
    for name, label, limit in required:
        if not out[name]:
            errors[name] = _l("请填写%(what)s。", what=label)
        elif len(out[name]) > limit:
            errors[name] = _l("%(label)s不超过 %(n)s 个字。", label=label, n=limit)
    if errors:
        raise ApplicationInvalid(errors)
    return out


def get_draft(model: type[Case], draft_id: Any) -> Case | None:
    """The unsent draft ``draft_id`` (from the session) of ``model``, if it is still there."""
    if not isinstance(draft_id, int):
        return None
    return db.session.scalars(select(model).where(
        model.id == draft_id, model.status == "draft")).first()  # type: ignore[attr-defined]


def find_by_code(model: type[Case], raw: str) -> Case:
    """The case of ``model`` whose access code is in ``raw``: one Argon2id hash whether the code
    is right, wrong or not a code at all (``receipts.candidate_digests``); a purged case is not
    found.  ``AccessCodeNotFound`` otherwise."""
    digests = receipts.candidate_digests(raw or "", current_app.config["SETTINGS"].secret_keys)
    found = db.session.scalars(select(model).where(
        model.access_digest.in_(digests))).first() if digests else None  # type: ignore[attr-defined]
    if found is None or found.purged_on is not None:  # type: ignore[attr-defined]
        raise AccessCodeNotFound("wrong code")
    return found


def send(draft: Any, working_days: int) -> str:
    """Mark a checked draft sent today with a deadline of ``working_days`` working days and a
    fresh access code; returns the code (canonical), which is shown once and never stored."""
    today = local_today()
    secret = current_app.config["SETTINGS"].secret_keys[0]
    code = receipts.new_code(secret)
    deadline = working_calendar().add_working_days(today, working_days)
    draft.access_digest = receipts.digest(code, secret)
    draft.status = "submitted"
    draft.received_on = today
    draft.due_on = deadline.due
    draft.due_provisional = deadline.provisional
    return code


@dataclass(frozen=True)
class Sweep:
    """What ``sweep`` found: the drafts it deleted and the cases whose content is due."""

    today: date
    cutoff: date  # cases closed before this day are purged
    drafts: int
    due: list[Any]


def sweep(model: type[Case], now: datetime | None = None) -> Sweep:
    """Delete ``model``'s drafts older than ``DRAFT_MAX_AGE``; list the cases closed more than
    the retention period ago and not purged yet (the caller erases their personal content,
    sets ``purged_on`` and commits)."""
    from portal.services.reporting.reports import retention_cutoff

    now = now or utcnow()
    today = local_date(now)
    drafts = list(db.session.scalars(select(model).where(
        model.status == "draft",  # type: ignore[attr-defined]
        model.created_on < local_date(now - DRAFT_MAX_AGE))))  # type: ignore[attr-defined]
    for draft in drafts:
        db.session.delete(draft)
    cutoff = retention_cutoff(today, retention_years())
    due = list(db.session.scalars(select(model).where(
        model.purged_on.is_(None), model.closed_on < cutoff)))  # type: ignore[attr-defined]
    return Sweep(today, cutoff, len(drafts), due)
