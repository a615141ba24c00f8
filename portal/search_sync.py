"""Keeps the search index in step with the database: after each commit, and on ``reindex``.

The index is derived data: ``reindex_all`` rebuilds it from the database at any time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    DISCLOSURE_MODELS,
    AccidentReport,
    BlacklistEntry,
    Decision,
    DisclosureMixin,
    PowerItem,
)
from portal.sanitize import plain_text
from search_index import Document, SearchIndex


def search_index() -> SearchIndex:
    return current_app.extensions["search_index"]


def _body(item: DisclosureMixin) -> list[str]:
    if isinstance(item, PowerItem):
        return [item.code, item.power_type, item.legal_basis, item.responsibilities,
                item.accountability, " ".join(item.workflow or []), item.remarks]
    if isinstance(item, Decision):
        return [item.document_no, item.decision_type, item.party_name, item.uscc or "",
                item.facts, item.legal_basis, item.penalty]
    if isinstance(item, AccidentReport):
        return [item.enterprise_name, item.uscc or "", item.accident_level.label, item.summary,
                plain_text(item.report_html)]
    if isinstance(item, BlacklistEntry):
        return [item.enterprise_name, item.uscc, item.grounds, item.basis]
    raise TypeError(f"not a disclosure: {item!r}")


def document_for(item: DisclosureMixin) -> Document:
    """The index's view of a published item (drafts are never indexed)."""
    county = getattr(item, "county", "")
    sector = getattr(item, "sector", "")
    department = item.department.name if item.department else ""
    parts = [item.title, *_body(item), county, sector, department]
    return Document(
        kind=item.KIND,
        id=item.id,
        title=item.title,
        text="\n".join(p for p in parts if p),
        date=item.event_date,
        county=county,
        sector=sector,
        department=department,
        withdrawn=item.is_withdrawn,
        published_at=item.published_at,
    )


def published_documents(batch_size: int = 2000) -> Iterator[Document]:
    for model in DISCLOSURE_MODELS.values():
        stmt = (
            select(model)
            .where(model.published_at.is_not(None))
            .order_by(model.id)
            .execution_options(yield_per=batch_size)
        )
        for item in db.session.scalars(stmt):
            yield document_for(item)
        db.session.expunge_all()


def reindex_all() -> int:
    """Rebuild the whole index from the database; returns the number of documents."""
    return search_index().rebuild(published_documents())


@contextmanager
def suspended() -> Iterator[None]:
    """Skip the after-commit updates inside (bulk loads); call ``reindex_all`` afterwards."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.extensions["search_sync_suspended"] = True
    try:
        yield
    finally:
        app.extensions["search_sync_suspended"] = False


def register(app: Flask) -> None:
    """Hook the after-commit update (implemented with the search adapter)."""
    app.extensions.setdefault("search_sync_suspended", False)
