"""The adapter's life cycle: rebuild, update, delete, refresh across instances, locks, errors."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date

import pytest
from whoosh.index import open_dir

from search_index import (
    Document,
    IndexBusy,
    QueryInvalid,
    SearchIndex,
    SearchQuery,
    SearchUnavailable,
)
from search_index.store import file_numbers


def doc(id: int, text: str, kind: str = "decisions", **fields) -> Document:
    title = fields.pop("title", f"标题{id}")
    return Document(kind=kind, id=id, title=title, text=f"{title}\n{text}",
                    date=fields.pop("date", date(2026, 1, id % 28 + 1)), **fields)


def keys(index: SearchIndex, q: str, **filters) -> set[str]:
    results = index.search(SearchQuery(q=q, per_page=100, **filters))
    assert results.total == len(results.hits)
    return {f"{h.kind}:{h.id}" for h in results.hits}


@pytest.fixture
def index(tmp_path) -> SearchIndex:
    return SearchIndex(str(tmp_path / "index"))


def test_searching_before_any_index_exists_finds_nothing(index):
    results = index.search(SearchQuery(q="矿山"))
    assert results.total == 0 and results.hits == []
    assert index.generation() == -1


def test_rebuild_replaces_everything(index):
    assert index.rebuild([doc(1, "非煤矿山"), doc(2, "危险化学品")]) == 2
    assert keys(index, "矿山") == {"decisions:1"}
    assert index.rebuild([doc(3, "矿山救护")]) == 1
    assert keys(index, "矿山") == {"decisions:3"}
    assert keys(index, "化学") == set()


def test_rebuild_skips_repeated_keys(index):
    assert index.rebuild([doc(1, "矿山"), doc(1, "矿山")]) == 1


def test_update_adds_replaces_and_deletes(index):
    index.rebuild([doc(1, "非煤矿山"), doc(2, "磨憨镇")])
    index.update([doc(2, "勐腊县"), doc(3, "磨憨口岸")], deleted=["decisions:1"])
    assert keys(index, "矿山") == set()
    assert keys(index, "磨憨") == {"decisions:3"}
    assert keys(index, "勐腊") == {"decisions:2"}


def test_counts_stay_exact_when_documents_are_replaced_many_times(index):
    # Whoosh's doc_frequency still counts replaced documents until their segment is merged;
    # the count must not.
    index.rebuild([doc(1, "矿山 一"), doc(2, "矿山 二")])
    for n in range(6):
        index.update([doc(1, f"矿山 第{n}版")])
    index.update([], deleted=["decisions:2"])
    for q in ("矿山", "矿", "矿山 第5版", '"第5版"'):
        results = index.search(SearchQuery(q=q))
        assert (q, results.total, [h.id for h in results.hits]) == (q, 1, [1])
    assert index.search(SearchQuery(q="第4版")).total == 0


def test_another_instance_sees_writes_after_refresh(tmp_path):
    writer = SearchIndex(str(tmp_path / "index"))
    reader = SearchIndex(str(tmp_path / "index"))
    writer.rebuild([doc(1, "矿山")])
    assert keys(reader, "矿山") == {"decisions:1"}
    generation = reader.generation()
    writer.update([doc(2, "非煤矿山")])
    assert reader.generation() > generation
    assert keys(reader, "矿山") == {"decisions:1", "decisions:2"}
    writer.rebuild([doc(3, "矿山救护队")])  # a new side file; the old one is removed
    assert keys(reader, "矿山") == {"decisions:3"}
    assert len(file_numbers(writer.directory)) == 1


def test_readers_see_the_old_index_until_a_rebuild_commits(tmp_path):
    writer = SearchIndex(str(tmp_path / "index"))
    reader = SearchIndex(str(tmp_path / "index"))
    writer.rebuild([doc(1, "矿山"), doc(2, "矿山")])
    seen = []

    def documents():
        for n in range(10, 20):
            if n == 15:  # halfway through the rebuild, another process searches
                seen.append(keys(reader, "矿山"))
            yield doc(n, "矿山")

    writer.rebuild(documents())
    assert seen == [{"decisions:1", "decisions:2"}]
    assert len(keys(reader, "矿山")) == 10


def test_a_failed_rebuild_leaves_the_index_as_it_was(index, tmp_path):
    index.rebuild([doc(1, "矿山")])

    def broken():
        yield doc(2, "矿山")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        index.rebuild(broken())
    assert keys(index, "矿山") == {"decisions:1"}
    assert len(file_numbers(index.directory)) == 1
    assert sorted(os.listdir(tmp_path / "index")) == ["CURRENT", "REBUILD.lock", "WRITE.lock",
                                                       os.path.basename(index.directory)]


def test_writers_wait_for_the_lock_then_give_up(tmp_path):
    index = SearchIndex(str(tmp_path / "index"), write_timeout=0.3)
    index.rebuild([doc(1, "矿山")])
    held = open_dir(index.directory).writer()  # another process writing
    try:
        with pytest.raises(IndexBusy):
            index.update([doc(2, "隐患")])
    finally:
        held.cancel()
    index.update([doc(2, "隐患")])
    assert keys(index, "隐患") == {"decisions:2"}


def test_withdrawn_items_are_found_and_marked(index):
    index.rebuild([doc(1, "矿山", withdrawn=True), doc(2, "矿山")])
    hits = {h.id: h.withdrawn for h in index.search(SearchQuery(q="矿山")).hits}
    assert hits == {1: True, 2: False}


def test_hits_carry_title_date_kind_and_an_escaped_snippet(index):
    text = "经查<script>alert(1)</script>该公司在ＬＮＧ储罐区非煤矿山作业"
    index.rebuild([doc(7, text, kind="accidents", title="某公司事故", date=date(2025, 6, 12))])
    (hit,) = index.search(SearchQuery(q="lng 矿山")).hits
    assert (hit.kind, hit.id, hit.title, hit.date) == ("accidents", 7, "某公司事故", date(2025, 6, 12))
    assert "<script>" not in hit.snippet_html
    assert "&lt;script&gt;" in hit.snippet_html
    # The original characters are shown, the match is marked.
    assert "<mark>ＬＮＧ</mark>" in hit.snippet_html
    assert "<mark>矿山</mark>" in hit.snippet_html


def test_paging_walks_every_hit_once_in_a_stable_order(index):
    index.rebuild([doc(n, "矿山", date=date(2026, 1, 1)) for n in range(1, 48)])
    seen = []
    for page in range(1, 6):
        results = index.search(SearchQuery(q="矿山", page=page, per_page=10))
        assert results.total == 47 and results.pages == 5
        seen.extend(h.id for h in results.hits)
    assert sorted(seen) == list(range(1, 48))
    beyond = index.search(SearchQuery(q="矿山", page=6, per_page=10))
    assert beyond.total == 47 and beyond.hits == []


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(q="矿山", kinds=("nonsense",)),
        SearchQuery(q="矿山", sort="popularity"),
        SearchQuery(q="矿山", page=0),
        SearchQuery(q="矿山", per_page=101),
        SearchQuery(q='"矿山'),
        SearchQuery(q="。"),
    ],
)
def test_invalid_queries_raise_query_invalid(index, query):
    index.rebuild([doc(1, "矿山")])
    with pytest.raises(QueryInvalid):
        index.search(query)


def test_a_damaged_index_raises_search_unavailable(tmp_path):
    index = SearchIndex(str(tmp_path / "index"))
    index.rebuild([doc(1, "矿山")])
    for number in file_numbers(index.directory):
        os.unlink(os.path.join(index.directory, f"text-{number:06d}.dat"))
    with pytest.raises(SearchUnavailable):
        SearchIndex(str(tmp_path / "index")).search(SearchQuery(q="矿山"))


def test_results_are_cached_per_generation(index):
    index.rebuild([doc(1, "矿山")])
    assert index.search(SearchQuery(q="矿山")).total == 1
    index.update([doc(2, "矿山")])
    assert index.search(SearchQuery(q="矿山")).total == 2  # not the cached 1


def test_after_a_fork_the_child_opens_its_own_searcher(index):
    index.rebuild([doc(1, "矿山")])
    assert keys(index, "矿山") == {"decisions:1"}
    index._pid = -1  # what the child sees: another process id
    assert keys(index, "矿山") == {"decisions:1"}
    assert index._pid == os.getpid()


def test_document_fields_survive_the_side_file(index):
    original = doc(3, "文本", kind="blacklist", county="勐腊县", sector="工贸", title="标题（Ａ）")
    index.rebuild([original, replace(original, id=4, date=None)])
    by_id = {h.id: h for h in index.search(SearchQuery(q="文本", county="勐腊县", sector="工贸",
                                                        kinds=("blacklist",))).hits}
    assert by_id[3].title == "标题（Ａ）" and by_id[3].date == original.date
    assert by_id[4].date is None


def test_matching_lists_every_hit_in_rank_order(index):
    index.rebuild([doc(n, "矿山" * n) for n in range(1, 30)])
    ranked = index.matching(SearchQuery(q="矿山"))
    assert sorted(ranked) == [("decisions", n) for n in range(1, 30)]
    pages = [h for p in (1, 2, 3) for h in index.search(SearchQuery(q="矿山", page=p, per_page=10)).hits]
    assert ranked == [(h.kind, h.id) for h in pages]


def test_an_index_of_another_version_is_refused_until_rebuilt(tmp_path):
    from whoosh import fields
    from whoosh.index import create_in

    directory = tmp_path / "index"
    directory.mkdir()
    old = create_in(str(directory), fields.Schema(key=fields.ID(unique=True), ti=fields.TEXT()))
    with old.writer() as writer:
        writer.add_document(key="decisions:1", ti="矿山")
    index = SearchIndex(str(directory))
    with pytest.raises(SearchUnavailable, match="reindex"):
        index.search(SearchQuery(q="矿山"))
    with pytest.raises(SearchUnavailable, match="reindex"):
        index.update([doc(1, "矿山")])
    assert index.rebuild([doc(2, "非煤矿山")]) == 1
    assert keys(index, "矿山") == {"decisions:2"}
    # The old layout's files are gone: the index lives in its generation directory now.
    assert not [p for p in directory.iterdir() if p.is_file() and "MAIN" in p.name]


# -- rebuilding without blocking (issue 9 §3) -------------------------------------------------


def paused_rebuild(index: SearchIndex, documents: list[Document]):
    """Start a rebuild in a thread that pauses halfway through reading its documents (as a
    rebuild reading a large database would); returns (thread, paused event, resume event)."""
    import threading

    paused, resume = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_documents():
        for n, document in enumerate(documents):
            if n == len(documents) // 2:
                paused.set()
                assert resume.wait(10)
            yield document

    def run():
        try:
            index.rebuild(slow_documents())
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert paused.wait(10)
    thread.errors = errors  # type: ignore[attr-defined]
    return thread, resume


def test_updates_during_a_rebuild_do_not_wait_and_are_not_lost(tmp_path):
    index = SearchIndex(str(tmp_path / "index"))
    other = SearchIndex(str(tmp_path / "index"))  # another worker process
    index.rebuild([doc(1, "矿山"), doc(2, "矿山"), doc(3, "磨憨")])
    # The rebuild reads the database as it was when it began: items 1–3 and 10–19.
    thread, resume = paused_rebuild(index, [doc(n, "矿山") for n in (1, 2, 3, *range(10, 20))])
    try:
        other.update([doc(30, "矿山 新发布")], deleted=["decisions:2"])  # published meanwhile
        other.update([doc(10, "磨憨镇 改正后")])  # an edit of an item the rebuild read before
        # The updates did not wait for the rebuild: it is still paused mid-way (an update
        # that waited would hold until the pause gives up, failing the rebuild below).
        assert thread.is_alive() and not resume.is_set()
        # The live index takes the updates at once and keeps serving.
        assert keys(other, "新发布") == {"decisions:30"}
        assert keys(other, "矿山") == {"decisions:1", "decisions:30"}
    finally:
        resume.set()
        thread.join(30)
    assert thread.errors == []
    # After the swap: the rebuild's documents with the updates replayed on top.
    found = keys(other, "矿山")
    assert "decisions:30" in found and "decisions:2" not in found and "decisions:10" not in found
    assert found == {f"decisions:{n}" for n in (1, 3, 30, *range(11, 20))}
    assert keys(other, "改正后") == {"decisions:10"}
    # Nothing was journalled twice or left behind.
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == [
        "CURRENT", "REBUILD.lock", "WRITE.lock", os.path.basename(index.directory)]


def test_a_rebuild_swaps_generations_and_cleans_up_the_old_ones(tmp_path):
    index = SearchIndex(str(tmp_path / "index"))
    reader = SearchIndex(str(tmp_path / "index"))
    index.update([doc(1, "矿山")])  # the first write creates the first generation
    first = index.directory
    assert keys(reader, "矿山") == {"decisions:1"}
    before = reader.generation()
    for n in range(2, 5):
        index.rebuild([doc(n, "矿山")])
    assert index.directory != first and not os.path.exists(first)
    generations = [p.name for p in (tmp_path / "index").iterdir() if p.name.startswith("gen-")]
    assert generations == [os.path.basename(index.directory)]
    # Another process notices the swap and reopens: the new documents, a larger generation.
    assert keys(reader, "矿山") == {"decisions:4"}
    assert reader.generation() > before


def test_a_failed_rebuild_leaves_no_generation_or_journal_behind(tmp_path):
    index = SearchIndex(str(tmp_path / "index"))
    index.rebuild([doc(1, "矿山")])

    def broken():
        yield doc(2, "矿山")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        index.rebuild(broken())
    index.update([doc(3, "矿山")])  # no journal left behind to write into
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == [
        "CURRENT", "REBUILD.lock", "WRITE.lock", os.path.basename(index.directory)]
    assert keys(index, "矿山") == {"decisions:1", "decisions:3"}


def test_one_rebuild_at_a_time(tmp_path):
    index = SearchIndex(str(tmp_path / "index"))
    index.rebuild([doc(1, "矿山")])
    thread, resume = paused_rebuild(index, [doc(n, "矿山") for n in range(2, 6)])
    try:
        with pytest.raises(IndexBusy):
            SearchIndex(str(tmp_path / "index"), rebuild_timeout=0.2).rebuild([doc(9, "矿山")])
    finally:
        resume.set()
        thread.join(30)
    assert thread.errors == []
    assert keys(index, "矿山") == {f"decisions:{n}" for n in range(2, 6)}


@pytest.mark.parametrize("span, listed, asked", [
    (1000, 900, 800),  # many candidates: through the table by document number
    (1000, 900, 20),  # few: a binary search each
    (1000, 30, 600),  # a short list, candidates past its last document
    (5, 1, 5),
])
def test_locating_candidates_in_a_posting_list_gives_the_same_either_way(span, listed, asked):
    import numpy as np

    from search_index.index import _locate

    rng = np.random.default_rng(span + listed + asked)
    ids = np.sort(rng.choice(span, listed, replace=False)).astype(np.int32)
    candidates = np.sort(rng.choice(span, asked, replace=False)).astype(np.int32)
    present, at = _locate(ids, candidates)
    expected = np.isin(candidates, ids)
    assert (present == expected).all()
    assert (ids[at[present]] == candidates[present]).all()
    assert ((at >= 0) & (at < len(ids))).all()  # absent ones point anywhere valid
    empty_present, _ = _locate(ids[:0], candidates)
    assert not empty_present.any()
