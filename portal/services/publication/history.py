"""Changes to published items: apply new values, keep the earlier version for the public history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import DisclosureMixin, ItemVersion, utcnow


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def apply_changes(item: DisclosureMixin, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set ``values`` on ``item``; return ``{field: [old, new]}`` for those that really changed."""
    changes: dict[str, list[Any]] = {}
    for name, new in values.items():
        old = getattr(item, name)
        if old != new:
            changes[name] = [_jsonable(old), _jsonable(new)]
            setattr(item, name, new)
    return changes


def record_version(
    session: Session, item: DisclosureMixin, changes: dict[str, list[Any]], summary: str
) -> ItemVersion | None:
    """Keep what changed on a published item and bump its modified time.

    Drafts have no public history, so nothing is kept for them.
    """
    if not changes or not item.is_published:
        return None
    number = (
        session.scalar(
            select(func.max(ItemVersion.number)).where(
                ItemVersion.kind == item.KIND, ItemVersion.item_id == item.id
            )
        )
        or 0
    ) + 1
    item.modified_at = utcnow()
    version = ItemVersion(
        kind=item.KIND, item_id=item.id, number=number, summary=summary, changes=changes
    )
    session.add(version)
    return version


def history(session: Session, item: DisclosureMixin) -> list[ItemVersion]:
    """The item's versions, newest first."""
    return list(
        session.scalars(
            select(ItemVersion)
            .where(ItemVersion.kind == item.KIND, ItemVersion.item_id == item.id)
            .order_by(ItemVersion.number.desc())
        )
    )
