"""What the search adapter takes and gives back; it knows nothing of Flask or the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# The published kinds are declared once, in portal.kinds (a plain module: no Flask, no database).
from portal.kinds import KEYS as KINDS

__all__ = ["KINDS", "SORTS", "Document", "Hit", "IndexBusy", "QueryInvalid", "SearchQuery",
           "SearchResults", "SearchUnavailable"]

SORTS = ("relevance", "date")


@dataclass(frozen=True)
class Document:
    """One published item as the index sees it."""

    kind: str
    id: int
    title: str
    text: str  # everything searchable: title, 文号, names, credit code, body, department
    date: date | None  # the decision or event date (sort by date, year filter)
    county: str = ""
    sector: str = ""
    department: str = ""
    withdrawn: bool = False
    published_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class SearchQuery:
    q: str
    kinds: tuple[str, ...] = ()
    county: str = ""
    sector: str = ""
    year: int | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class Hit:
    kind: str
    id: int
    title: str
    date: date | None
    snippet_html: str  # escaped text with <mark> around matches; safe to render
    withdrawn: bool = False
    score: float = 0.0
    title_html: str = ""  # the title escaped, matches in <mark>; safe to render


@dataclass(frozen=True)
class SearchResults:
    total: int
    hits: list[Hit] = field(default_factory=list)
    page: int = 1
    per_page: int = 20

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class QueryInvalid(ValueError):
    """The query cannot be searched; ``str()`` is a message for the user."""


class IndexBusy(RuntimeError):
    """Another process held the index's write lock for longer than the timeout."""


class SearchUnavailable(RuntimeError):
    """The index cannot be read (missing files, a damaged index): rebuild it with ``reindex``."""
