"""The one small protocol both search backends implement, and how the portal picks one.

``whoosh`` (the default) keeps an embedded index in a local directory (``SearchIndex``);
``postgres`` keeps it in a table of the application's PostgreSQL database (``PostgresIndex``), so
any number of processes on any number of hosts search the same data and see a publication at
once.  Both plan a query the same way (``planner``), narrow by the same bigram and word terms,
confirm every candidate by the same exact substring test on the same normalised text, and so
find exactly the same documents.  The views and ``portal.search_sync`` only see this protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from search_index.types import Document, SearchQuery, SearchResults

BACKENDS = ("whoosh", "postgres")


@runtime_checkable
class SearchBackend(Protocol):
    """What the portal asks of a search index."""

    opened: int  # how many times this process opened the index (a warm start opens it once)

    def search(self, query: SearchQuery) -> SearchResults:
        """One page of hits; raises ``QueryInvalid``, ``SearchUnavailable``."""
        ...

    def matching(self, query: SearchQuery) -> list[tuple[str, int]]:
        """(kind, id) of every hit in rank order (``page``/``per_page`` ignored)."""
        ...

    def update(self, documents: Iterable[Document], deleted: Iterable[str] = ()) -> None:
        """Add or replace ``documents`` and remove the keys in ``deleted`` ("kind:id")."""
        ...

    def rebuild(self, documents: Iterable[Document]) -> int:
        """Replace the whole index with ``documents`` without blocking updates; returns how
        many.  Updates made meanwhile are not lost."""
        ...

    def generation(self) -> int:
        """A number that grows whenever the index changes (-1: no index yet)."""
        ...

    def warm(self) -> int:
        """Open the index and fill what searches cache; returns ``generation()``."""
        ...

    def close(self) -> None:
        """Release what this process holds (files, connections); the next call reopens."""
        ...


def open_backend(name: str, *, directory: str, database_url: str) -> SearchBackend:
    """The backend called ``name``: Whoosh in ``directory``, or PostgreSQL at ``database_url``
    (then ``directory`` is not used)."""
    if name == "whoosh":
        from search_index.index import SearchIndex

        return SearchIndex(directory)
    if name == "postgres":
        from search_index.postgres import PostgresIndex

        return PostgresIndex(database_url)
    raise ValueError(f"unknown search backend {name!r}: one of {', '.join(BACKENDS)}")
