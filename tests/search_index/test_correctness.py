"""Recall and precision 1.0 on a generated corpus, against a brute-force substring scan.

Every query's hits (walked page by page) and count must equal the set of documents whose
normalised text contains every term: 2-character words inside longer words, place names inside
longer names, phrases, several words, 文号 in any bracket style, credit codes and fragments,
single characters, mixed Latin and digits, and random substrings of the documents.
"""

from __future__ import annotations

import pytest

from search_index import SearchQuery
from search_index.backend import SearchBackend
from tests.search_index.conftest import BACKENDS, make_backend
from tests.search_index.corpus import Corpus, brute_force, quote

CORPUS_SIZE = 2400


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(CORPUS_SIZE)


# The very same tests for every backend (issue 9 §5).
@pytest.fixture(scope="module", params=BACKENDS)
def index(request, corpus, tmp_path_factory) -> SearchBackend:
    index = make_backend(request.param, tmp_path_factory.mktemp("correctness") / "index",
                         purpose="correctness")
    assert index.rebuild(corpus.documents) == CORPUS_SIZE
    yield index
    index.close()


def all_hits(index: SearchBackend, q: str, **filters) -> tuple[int, list[tuple[str, int]]]:
    """Walk every page; returns (count, hits in order)."""
    hits: list[tuple[str, int]] = []
    page = 1
    while True:
        results = index.search(SearchQuery(q=q, page=page, per_page=100, **filters))
        hits.extend((h.kind, h.id) for h in results.hits)
        if not results.has_next:
            return results.total, hits
        page += 1


def test_corpus_contains_the_traps(corpus):
    # The corpus is only a good test if the hard cases occur in it.
    def count(*terms):
        return len(brute_force(corpus.documents, list(terms)))

    assert count("非煤矿山") > 50 and count("矿山") > count("非煤矿山")
    assert count("磨憨镇") > 20 and count("磨憨") > count("磨憨镇")
    assert count("矿，山") > 0 and count("采矿 山坡") > 0
    assert count("２０") > 0  # full-width digits match half-width queries
    assert count("LNG") > count("lng储运")  # case-insensitive


def test_every_query_finds_exactly_the_documents_containing_it(corpus, index):
    failures = []
    queries = corpus.queries(200)
    for terms in queries:
        q = quote(terms)
        expected = brute_force(corpus.documents, terms)
        total, hits = all_hits(index, q)
        if total != len(expected) or len(hits) != len(set(hits)) or set(hits) != expected:
            failures.append((q, total, len(expected), len(set(hits) - expected),
                             len(expected - set(hits))))
    # Report as (query, count, expected count, false hits, missed documents).
    assert failures == []
    assert sum(1 for terms in queries if brute_force(corpus.documents, terms)) > 150


@pytest.mark.parametrize(
    "filters",
    [
        {"kinds": ("decisions",)},
        {"kinds": ("accidents", "blacklist")},
        {"county": "勐腊县"},
        {"sector": "非煤矿山"},
        {"year": 2024},
        {"kinds": ("decisions",), "county": "景洪市", "year": 2021},
    ],
)
@pytest.mark.parametrize("terms", [["矿山"], ["磨憨"], ["隐患", "整改"], ["矿"], ["2026"]])
def test_filters_keep_exactly_the_matching_documents(corpus, index, filters, terms):
    expected = brute_force(corpus.documents, terms, **filters)
    total, hits = all_hits(index, quote(terms), **filters)
    assert total == len(expected)
    assert set(hits) == expected


def test_sort_by_date_is_newest_first(corpus, index):
    dates = {(d.kind, d.id): d.date for d in corpus.documents}
    _, hits = all_hits(index, "隐患", sort="date")
    ordered = [dates[h] for h in hits]
    assert ordered == sorted(ordered, reverse=True)


def test_relevance_puts_documents_with_the_term_in_the_title_first(index):
    results = index.search(SearchQuery(q="燃气", per_page=10))
    assert results.total > 10
    assert all("燃气" in hit.title for hit in results.hits)


@pytest.mark.parametrize("decided", ["rum", "text"])
@pytest.mark.parametrize("chains", ["rum", "text"])
def test_counts_are_exact_however_the_count_reads_phrases(corpus, index, monkeypatch, decided,
                                                          chains):
    # The PostgreSQL backend counts through other indexes than it finds the page with
    # (``PostgresIndex._counting``): each way of reading a phrase gives the same counts.
    from search_index import postgres

    if not isinstance(index, postgres.PostgresIndex):
        pytest.skip("counting is the PostgreSQL backend's own")
    monkeypatch.setattr(postgres, "COUNT_PHRASES", {"long": decided, "text": chains})
    with index._connect().begin() as conn:  # not the counts kept under another setting
        conn.execute(postgres.sa.text(f"DELETE FROM {postgres.COUNTS}"))
    failures = []
    for terms in corpus.queries(200):
        expected = len(brute_force(corpus.documents, terms))
        total = index.search(SearchQuery(q=quote(terms), per_page=1)).total
        if total != expected:
            failures.append((quote(terms), total, expected))
    assert failures == []
