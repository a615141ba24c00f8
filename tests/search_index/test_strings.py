"""Exact counts of frequent strings per index generation (the Whoosh backend): chosen by a
rebuild, kept exact by every update and by the updates a rebuild replays, and a counted query's
page the same as when every hit is confirmed."""

from __future__ import annotations

import os

import pytest

from search_index import SearchIndex, SearchQuery
from search_index.analyzer import normalize
from search_index.strings import StringCounter, count_grams, frequent_grams
from tests.search_index.test_index import doc, paused_rebuild

TEMPLATE = "安全生产监督检查记录：执法人员现场检查发现{0}，责令限期改正。{1}"
PHRASES = ("安全生产", "现场检查", "责令限期改正", "执法人员")


def documents(first: int, count: int, extra: str = "") -> list:
    # Every second item has 有限空间作业 twice; some of them in the title too.
    return [doc(n, TEMPLATE.format("有限空间作业" * (1 + n % 2), extra),
                title=f"决定{n}" + ("有限空间作业" if n % 5 == 0 else ""))
            for n in range(first, first + count)]


def truth(index: SearchIndex, texts: dict[str, str]) -> None:
    """Every kept count equals the count by brute force over ``texts`` (key: normalised
    text), and every query for a kept string finds what brute force finds, with the page
    that ranking every hit gives."""
    counts = index.frequent_strings()
    assert counts, "the index keeps no frequent strings"
    for gram, n in counts.items():
        assert n == sum(gram in t for t in texts.values()), gram
    for q in (*PHRASES, "有限空间作业"):
        assert q in counts
        found = {k for k, t in texts.items() if q in t}
        for sort in ("relevance", "date"):
            results = index.search(SearchQuery(q=q, sort=sort, per_page=5))
            assert results.total == len(found)
            ranked = index.matching(SearchQuery(q=q, sort=sort))
            assert {f"{kind}:{id}" for kind, id in ranked} == found
            assert [(h.kind, h.id) for h in results.hits] == ranked[:5]


def normalised(docs: list) -> dict[str, str]:
    return {d.key: normalize(d.text) for d in docs}


@pytest.fixture
def index(tmp_path) -> SearchIndex:
    return SearchIndex(str(tmp_path / "index"), strings_least=3)


def test_a_rebuild_counts_the_frequent_strings(index):
    docs = documents(1, 40)
    index.rebuild(docs)
    truth(index, normalised(docs))
    # A string found in fewer items than the least is not kept.
    index.rebuild([*docs, doc(99, "独一无二的文字")])
    assert "独一无二" not in index.frequent_strings()


def test_publication_replacement_and_withdrawal_keep_the_counts_exact(index):
    docs = documents(1, 40)
    index.rebuild(docs)
    texts = normalised(docs)
    other = SearchIndex(index.root, strings_least=3)  # another worker reads along
    # Published: more items with the strings.
    added = documents(100, 5)
    index.update(added)
    texts |= normalised(added)
    truth(index, texts)
    truth(other, texts)
    # Replaced: an item loses the strings, another gains them twice.
    edited = [doc(1, "内容已更正"), doc(2, "安全生产 安全生产 现场检查 执法人员 责令限期改正")]
    index.update(edited)
    texts |= normalised(edited)
    truth(index, texts)
    # Withdrawn (removed from search), and replaced again and again in one segment after another.
    index.update([], deleted=["decisions:3", "decisions:100", "decisions:404"])
    del texts["decisions:3"], texts["decisions:100"]
    for n in range(3):
        again = [doc(4, f"第{n}版 有限空间作业")]
        index.update(again)
        texts |= normalised(again)
    truth(index, texts)
    truth(other, texts)
    assert index.search(SearchQuery(q="安全生产")).total == sum(
        "安全生产" in t for t in texts.values())
    # Only the latest generations' counts are kept on disk.
    assert len([n for n in os.listdir(index.directory) if n.startswith("strings-")]) <= 2


def test_updates_during_a_rebuild_are_counted_after_the_swap(tmp_path):
    index = SearchIndex(str(tmp_path / "index"), strings_least=3)
    other = SearchIndex(str(tmp_path / "index"), strings_least=3)
    docs = documents(1, 30)
    index.rebuild(docs)
    thread, resume = paused_rebuild(index, docs)
    try:
        other.update(documents(50, 4), deleted=["decisions:5"])
        other.update([doc(6, "内容已更正")])
    finally:
        resume.set()
        thread.join(30)
    assert thread.errors == []
    texts = normalised([*docs, *documents(50, 4), doc(6, "内容已更正")])
    del texts["decisions:5"]
    truth(other, texts)
    truth(index, texts)


def test_without_counts_the_search_counts_on_the_texts(index):
    """A generation without its counts (written by an older version, or a file lost) is
    searched as before, and updates do not make up counts for it."""
    docs = documents(1, 20)
    index.rebuild(docs)
    for name in os.listdir(index.directory):
        if name.startswith("strings-"):
            os.unlink(os.path.join(index.directory, name))
    index.update(documents(30, 3))
    fresh = SearchIndex(index.root, strings_least=3)
    assert fresh.frequent_strings() is None
    assert fresh.search(SearchQuery(q="安全生产")).total == 23
    for sort in ("relevance", "date"):
        query = SearchQuery(q="有限空间作业", sort=sort, per_page=5)
        assert [(h.kind, h.id) for h in fresh.search(query).hits] == fresh.matching(query)[:5]


def test_a_counted_query_confirms_about_a_page_not_every_hit(index, monkeypatch):
    from search_index import index as module

    docs = documents(1, 300)
    index.rebuild(docs)
    confirmed: list[int] = []
    find_first = module._Leaf.find_first

    def counting(self, needle, docnums):
        confirmed.append(len(docnums))
        return find_first(self, needle, docnums)

    monkeypatch.setattr(module._Leaf, "find_first", counting)
    for sort in ("date", "relevance"):
        confirmed.clear()
        results = index.search(SearchQuery(q="现场检查", sort=sort, per_page=5))
        assert results.total == 300 and len(results.hits) == 5
        assert sum(confirmed) <= 60, sort
    # Filtered, the count is not kept: every candidate is confirmed.
    confirmed.clear()
    assert index.search(SearchQuery(q="现场检查", kinds=("decisions",))).total == 300
    assert sum(confirmed) == 300


def test_the_string_counter_counts_as_the_postgresql_backend_does():
    from tests.search_index.corpus import Corpus

    texts = [normalize(d.text) for d in Corpus(300).documents]
    texts += ["", "安全", "安全生产 安全生产", "𠀀𠀁𠀂 ab1", "a b c d"]  # short, repeated, astral
    grams = frequent_grams(texts, 3) | {"𠀀𠀁𠀂", "ab1", "不存在的", "安全 生产"}
    counted = StringCounter(grams).count(texts)
    expected = {g: n for g, n in count_grams(texts, grams).items() if n}
    assert counted == expected and len(expected) > 1000


def test_a_damaged_counts_file_is_ignored(index):
    docs = documents(1, 20)
    index.rebuild(docs)
    (name,) = [n for n in os.listdir(index.directory) if n.startswith("strings-")]
    with open(os.path.join(index.directory, name), "r+b") as f:
        f.write(b"garbage")
    fresh = SearchIndex(index.root, strings_least=3)
    assert fresh.frequent_strings() is None
    assert fresh.search(SearchQuery(q="现场检查")).total == 20
    fresh.update(documents(30, 2))  # and no counts are made up from it
    assert fresh.frequent_strings() is None
    assert fresh.search(SearchQuery(q="现场检查")).total == 22


def test_frequent_strings_are_found_level_by_level_and_counted_once_per_text():
    texts = ["安全生产 现场检查", "安全生产许可证", "现场检查 2024年", "无关 2024年"]
    found = frequent_grams(texts, 2)
    assert {"安全生", "安全生产", "现场检查", "2024年", "024年"} <= found
    assert "生产许可" not in found and "产 现" not in found  # rare; white space
    assert all(3 <= len(g) <= 8 and not any(c.isspace() for c in g) for g in found)
    # Brute force: the same strings, each in at least two texts.
    every = {t[i : i + n] for t in texts for n in range(3, 9) for i in range(len(t) - n + 1)}
    assert found == {g for g in every if " " not in g and sum(g in t for t in texts) >= 2}
    assert count_grams(texts + ["安全生产安全生产"], {"安全生产", "2024年", "矿山企业"}) == {
        "安全生产": 3, "2024年": 2}
    # Counted piece by piece between white space: the same counts as every string of the texts.
    again = texts + ["现场检查 安全生产\n现场检查", "2024年 安全生产许可证"] * 2
    every = {g for g in every if " " not in g}
    assert count_grams(again, every) == {
        g: n for g in every if (n := sum(g in t for t in again))}
