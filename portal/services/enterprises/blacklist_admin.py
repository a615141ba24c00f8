"""Blacklist management (应急管理部令第11号): listing terms, early removal, reinstatement.

Listing itself is ``publishing.create_item("blacklist", …)`` then ``publish_item``: the end date
follows from the listing date and the configured duration.  An entry's status is derived from
its dates (``BlacklistEntry.status``), so an expired listing stops being active on its own.
Every change to a published entry is kept in its public history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from portal.domain.blacklist import BlacklistStatus, earliest_removal
from portal.extensions import db
from portal.models import BlacklistEntry, local_today
from portal.services.publication.publishing import (
    TransitionRefused,
    ValuesInvalid,
    record_change,
    require_reason,
)


class RemovalRefused(TransitionRefused):
    """Early removal is not allowed for this entry (yet)."""


class ReinstatementRefused(TransitionRefused):
    """The entry was not removed early, so there is nothing to reinstate."""


def minimum_months_before_removal() -> int:
    """Months a listing runs before early removal may be applied for (configured)."""
    return current_app.config["SETTINGS"].blacklist_min_months_before_removal


def earliest_removal_date(entry: BlacklistEntry) -> date:
    """The first day an early removal (信用修复) of ``entry`` may take effect (configured minimum)."""
    return earliest_removal(entry.listed_on, minimum_months_before_removal())


@dataclass(frozen=True)
class EntryPage:
    items: list[BlacklistEntry]
    total: int
    page: int
    pages: int


def list_entries(
    *, status: BlacklistStatus | None = None, today: date | None = None, page: int = 1,
    page_size: int = 20,
) -> EntryPage:
    """Published, not withdrawn entries in ``status`` (all when None), newest listing first."""
    today = today or local_today()
    conditions = [BlacklistEntry.published_at.is_not(None), BlacklistEntry.withdrawn_at.is_(None)]
    if status is not None:
        conditions.append(BlacklistEntry.status_clause(status, today))
    total = db.session.scalar(
        select(func.count()).select_from(BlacklistEntry).where(*conditions)
    ) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    items = list(
        db.session.scalars(
            select(BlacklistEntry)
            .where(*conditions)
            .order_by(BlacklistEntry.listed_on.desc(), BlacklistEntry.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).unique()
    )
    return EntryPage(items, total, page, pages)


def remove_early(entry: BlacklistEntry, *, removed_on: date, reason: str) -> None:
    """Remove an active entry early (信用修复), no sooner than the minimum listing period."""
    reason = require_reason(reason, "理由")
    today = local_today()
    if not entry.is_published or entry.is_withdrawn:
        raise RemovalRefused("只有已公开且未撤回的名单条目可以提前移出。")
    if entry.status(today) is not BlacklistStatus.ACTIVE:
        raise RemovalRefused(f"该条目当前状态为“{entry.status(today).label}”，不能提前移出。")
    earliest = earliest_removal_date(entry)
    if removed_on < earliest:
        raise ValuesInvalid(
            {"removed_on": f"列入满 {minimum_months_before_removal()} 个月后方可申请信用修复："
                           f"最早可于 {earliest.isoformat()} 移出。"}
        )
    if removed_on > today:
        raise ValuesInvalid({"removed_on": "移出日期不能晚于今天。"})
    record_change(
        entry, {"removed_on": removed_on, "removal_reason": reason},
        history_summary=f"提前移出（信用修复）：{reason}", action="remove",
        audit_summary={"removed_on": removed_on, "reason": reason},
    )


def reinstate(entry: BlacklistEntry, *, reason: str) -> None:
    """Restore a listing whose early removal was revoked (e.g. obtained by fraud)."""
    reason = require_reason(reason, "理由")
    if entry.removed_on is None:
        raise ReinstatementRefused("该条目未被提前移出，无需恢复。")
    if entry.is_withdrawn:
        raise ReinstatementRefused("该条目已撤回。")
    was = entry.removed_on
    record_change(
        entry, {"removed_on": None, "removal_reason": None},
        history_summary=f"撤销信用修复，恢复列入：{reason}", action="reinstate",
        audit_summary={"removed_on_was": was, "reason": reason},
    )
