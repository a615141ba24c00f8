"""The bulk search (issue 9 §2): posting lists read in bulk, and the best hits picked by score
bounds, must give exactly what the plain way gives.

- ``read_postings`` equals Whoosh's public matcher for every term of every field, deleted
  documents and one-document (inlined) terms included.
- A page of hits equals the same slice of ``matching()``, which scores every hit: with the
  result cache off, each page ranks only ``page * per_page`` hits, so any candidate the bounds
  dropped wrongly shows as a difference.  Queries cover decided bigrams, terms confirmed on
  the text, both together, codes, lone characters, both sorts and the filters.
- Terms remembered from an earlier search stay exact when the index changes.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import search_index.index
from search_index import SearchIndex, SearchQuery
from search_index.postings import read_postings
from search_index.schema import GRAMS, TRIGRAMS, WORDS
from tests.search_index.corpus import Corpus, brute_force

CORPUS_SIZE = 1500
QUERIES = ("矿山", "隐患", "整改", "矿", "磨憨镇", "非煤矿山", '"安全管理条例"', "矿山 整改",
           "隐患 磨憨镇", "景洪市 矿山 隐患", "2026", "lng", "号")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(CORPUS_SIZE)


@pytest.fixture(scope="module")
def index(corpus, tmp_path_factory) -> SearchIndex:
    # The result cache off: every page is ranked afresh with k = page * per_page.
    index = SearchIndex(str(tmp_path_factory.mktemp("bulk") / "index"), cache_size=0)
    index.rebuild(corpus.documents)
    # A second segment with deletions and replacements, as after publishing for a while.
    index.update(corpus.documents[:40], deleted=[d.key for d in corpus.documents[40:60]])
    yield index
    index.close()


def test_bulk_postings_equal_the_public_matcher(index):
    searcher = index._current()
    checked = 0
    for reader, _ in searcher.reader().leaf_readers():
        for field_name in (GRAMS, WORDS, TRIGRAMS):
            for term, _info in reader.iter_field(field_name):
                ids, freqs = read_postings(reader, field_name, term)
                matcher = reader.postings(field_name, term)
                expected_ids, expected_freqs = [], []
                while matcher.is_active():
                    expected_ids.append(matcher.id())
                    expected_freqs.append(matcher.weight())
                    matcher.next()
                assert ids.tolist() == expected_ids, (field_name, term)
                assert freqs.tolist() == expected_freqs, (field_name, term)
                checked += 1
    assert checked > 5000


@pytest.mark.parametrize("sort", ["relevance", "date"])
@pytest.mark.parametrize("filters", [{}, {"kinds": ("decisions",)}, {"county": "勐腊县"},
                                     {"year": 2024}])
def test_pages_equal_the_fully_ranked_hits(index, sort, filters):
    for q in QUERIES:
        ranked = index.matching(SearchQuery(q=q, sort=sort, **filters))
        for page, per_page in ((1, 1), (1, 10), (2, 10), (3, 7)):
            results = index.search(SearchQuery(q=q, sort=sort, page=page, per_page=per_page,
                                               **filters))
            first = (page - 1) * per_page
            assert [(h.kind, h.id) for h in results.hits] == ranked[first : first + per_page], (
                q, sort, filters, page, per_page)
            assert results.total == len(ranked)


def test_counts_match_a_brute_force_scan(index, corpus):
    live = {d.key: d for d in corpus.documents[60:]} | {d.key: d for d in corpus.documents[:40]}
    for q in QUERIES:
        terms = [t.strip('"') for t in q.split()]
        assert index.search(SearchQuery(q=q)).total == len(brute_force(list(live.values()),
                                                                      terms)), q


def test_a_remembered_term_stays_exact_when_the_index_changes(tmp_path, corpus):
    index = SearchIndex(str(tmp_path / "index"), cache_size=0)
    documents = corpus.documents[:300]
    index.rebuild(documents)
    q = "安全生产"
    having = [d for d in documents if "安全生产" in d.text]
    assert len(having) > 5
    before = index.search(SearchQuery(q=q)).total  # confirmed on the text, then remembered
    assert before == len(having)
    assert index.search(SearchQuery(q=q)).total == before  # from what was remembered
    added = replace(documents[0], id=10_000, text="安全生产" + documents[0].text)
    index.update([added], deleted=[having[0].key])
    assert index.search(SearchQuery(q=q)).total == before  # one more, one fewer
    found = index.matching(SearchQuery(q=q))
    assert (added.kind, added.id) in found
    assert (having[0].kind, having[0].id) not in found
    index.close()


def test_warm_up_decodes_the_broadest_bigrams(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(search_index.index, "PREFILL_MIN_DF", 10)
    index = SearchIndex(str(tmp_path / "index"), cache_size=0)
    index.rebuild(corpus.documents[:400])
    assert index._postings.used == 0
    index.warm()
    assert index._postings.used > 0
    index.close()
