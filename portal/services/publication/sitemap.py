"""The sitemap: every published item's permalink and the public list pages (staff and report
pages never).  Over ``MAX_URLS`` addresses it becomes a sitemap index of numbered files, as the
sitemaps.org protocol requires (50,000 URLs per file)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice

from sqlalchemy import func, select

from portal import kinds
from portal.extensions import db
from portal.models import DISCLOSURE_MODELS, local_date

MAX_URLS = 50_000
# Public pages that are not items, in the order they are listed; a path is listed only if the
# app serves it (some are built by other parts of the portal).
# The home page, each kind's list (portal.kinds), then the other public pages.
PAGES = ("/", *(f"/{k.key}" for k in kinds.KINDS), "/credit", "/data", "/stats", "/compliance")
YIELD_PER = 2_000


@dataclass(frozen=True)
class Entry:
    path: str
    lastmod: date | None = None


def count(pages: tuple[str, ...]) -> int:
    """How many URLs the sitemap lists (pages plus published items)."""
    items = sum(
        db.session.scalar(select(func.count()).select_from(model)
                          .where(model.published_at.is_not(None))) or 0
        for model in DISCLOSURE_MODELS.values()
    )
    return len(pages) + items


def entries(pages: tuple[str, ...]) -> Iterator[Entry]:
    """Every URL of the sitemap in a stable order: pages, then each kind's items by id."""
    for path in pages:
        yield Entry(path)
    for kind, model in DISCLOSURE_MODELS.items():
        stmt = (
            select(model.id, model.modified_at)
            .where(model.published_at.is_not(None))
            .order_by(model.id)
            .execution_options(yield_per=YIELD_PER)
        )
        for item_id, modified_at in db.session.execute(stmt):
            yield Entry(f"/{kind}/{item_id}", local_date(modified_at) if modified_at else None)


def files(total: int) -> int:
    """How many sitemap files ``total`` URLs need (1 means no index)."""
    return max(1, -(-total // MAX_URLS))


def part(pages: tuple[str, ...], number: int) -> Iterator[Entry]:
    """The URLs of sitemap file ``number`` (1-based)."""
    start = (number - 1) * MAX_URLS
    return islice(entries(pages), start, start + MAX_URLS)
