"""The Whoosh adapter: schema, Chinese analyzer, writer, query planner. Knows no Flask views."""

from search_index.index import SearchIndex
from search_index.types import (
    KINDS,
    Document,
    Hit,
    IndexBusy,
    QueryInvalid,
    SearchQuery,
    SearchResults,
    SearchUnavailable,
)

__all__ = [
    "KINDS",
    "Document",
    "Hit",
    "IndexBusy",
    "QueryInvalid",
    "SearchIndex",
    "SearchQuery",
    "SearchResults",
    "SearchUnavailable",
]
