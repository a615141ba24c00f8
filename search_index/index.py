"""Placeholder until the Whoosh adapter lands (same interface)."""

from __future__ import annotations

from collections.abc import Iterable

from search_index.types import Document, SearchQuery, SearchResults


class SearchIndex:
    def __init__(self, directory: str) -> None:
        self.directory = directory

    def rebuild(self, documents: Iterable[Document]) -> int:
        return sum(1 for _ in documents)

    def update(self, documents: Iterable[Document], deleted: Iterable[str] = ()) -> None:
        return None

    def search(self, query: SearchQuery) -> SearchResults:
        return SearchResults(total=0, page=query.page, per_page=query.per_page)
