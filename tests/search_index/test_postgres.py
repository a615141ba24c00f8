"""The PostgreSQL backend's life cycle: updates, removals, a rebuild that blocks nothing and loses
nothing, many processes on one table; and how a plan becomes a tsquery."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
import sqlalchemy as sa

from search_index import Document, IndexBusy, SearchQuery, postgres
from search_index.planner import plan
from search_index.postgres import PostgresIndex, document_row, positional_tokens, tsquery
from tests.search_index.conftest import make_backend, postgres_search_url


def doc(id: int, text: str, kind: str = "decisions", **fields) -> Document:
    title = fields.pop("title", f"标题{id}")
    return Document(kind=kind, id=id, title=title, text=f"{title}\n{text}",
                    date=fields.pop("date", date(2026, 1, id % 28 + 1)), **fields)


def keys(index, q: str, **filters) -> set[str]:
    results = index.search(SearchQuery(q=q, per_page=100, **filters))
    assert results.total == len(results.hits)
    return {f"{h.kind}:{h.id}" for h in results.hits}


@pytest.fixture
def index(tmp_path) -> PostgresIndex:
    index = make_backend("postgres", tmp_path / "unused")
    yield index
    index.close()


def test_a_plan_becomes_a_tsquery_of_the_index_terms():
    # A Han run is a phrase over its bigrams, a letter/digit run over its trigrams: the index
    # decides it (a row without positions is found through LONG apart, and its text
    # confirms: PostgresIndex._where).
    assert tsquery(plan("矿山企业")) == "'矿山' <-> '山企' <-> '企业'"
    # (a word's first two trigrams, every third, its last: see decisive_terms)
    assert tsquery(plan("532822m")) == "'532' <-> '328' <3> '22m'"
    assert tsquery(plan("lng 矿山")) == "'lng' & '矿山'"
    # Other terms: every condition ANDed; a run that must start an index term is a prefix; one
    # that must end or sit inside one gives no condition (the others narrow, strpos decides).
    assert tsquery(plan("a矿")) == "'矿':*"  # 'a' must end a word: no condition
    assert tsquery(plan("矿")) == ""
    assert tsquery(plan("it's")) == "'s':*"
    assert tsquery(plan("12号")) == "'号':*"


def test_rows_hold_the_same_terms_as_the_whoosh_index():
    row = document_row(doc(1, "ＬＮＧ储罐区 GB50016\x00", title="非煤矿山"))
    tokens = {t.split("'")[1] for t in row["tokens"].split()}
    assert {"非煤", "煤矿", "矿山", "储罐", "罐区", "lng", "gb50016", "gb5", "001"} <= tokens
    assert row["body"].endswith("lng储罐区 gb50016\ufffd")  # normalised; U+0000 stood in for
    assert row["original"].startswith("非煤矿山\nＬＮＧ")
    assert row["title_chars"] == 4
    assert row["positional"]


def test_runs_sit_at_consecutive_positions_with_a_gap_between_runs():
    positions, title_end, complete = positional_tokens("非煤矿山 lng储罐区 gb50016 abc 矿", 4)
    assert complete and title_end == positions["矿山"][0]
    assert positions["非煤"][0] + 2 == positions["矿山"][0]
    assert positions["储罐"][0] + 1 == positions["罐区"][0]
    assert positions["矿山"][0] + 1 < positions["lng"][0] < positions["储罐"][0] - 1
    assert [positions[t][0] for t in ("gb5", "b50", "500", "001", "016")] == list(
        range(positions["gb5"][0], positions["gb5"][0] + 5))
    # a three-character word is its own trigram: one position
    assert len(positions["abc"]) == 1


def test_a_text_too_long_for_positions_is_still_found_exactly(index):
    # 16,383 positions at most, and 256 per lexeme: past either, the row has no positions.
    repeated = "矿山企业 " * 300  # 矿山 300 times
    long_text = "甲乙" * 9000  # positions beyond 16,383
    for text in (repeated, long_text):
        _, _, complete = positional_tokens(text)
        assert not complete
    index.update([doc(1, repeated + "末尾的现场检查"), doc(2, long_text + "现场检查记录"),
                  doc(3, "现场 检查"), doc(4, "短文现场检查")])
    assert not document_row(doc(1, repeated))["positional"]
    assert keys(index, "现场检查") == {"decisions:1", "decisions:2", "decisions:4"}
    assert keys(index, "山企") == {"decisions:1"}
    assert keys(index, "乙甲乙") == {"decisions:2"}
    assert keys(index, "检查记录") == {"decisions:2"}


def test_searching_before_any_write_finds_nothing(index):
    assert index.search(SearchQuery(q="矿山")).total == 0
    assert index.generation() == -1


def test_update_adds_replaces_and_deletes(index):
    index.rebuild([doc(1, "非煤矿山"), doc(2, "磨憨镇")])
    before = index.generation()
    index.update([doc(2, "勐腊县"), doc(3, "磨憨口岸")], deleted=["decisions:1"])
    assert keys(index, "矿山") == set()
    assert keys(index, "磨憨") == {"decisions:3"}
    assert keys(index, "勐腊") == {"decisions:2"}
    assert index.generation() > before
    index.update([doc(1, "非煤矿山 重新发布")])  # a removed item published again
    assert keys(index, "矿山") == {"decisions:1"}


def test_hits_carry_fields_and_an_escaped_snippet_of_the_original_text(index):
    text = "经查<script>alert(1)</script>该公司在ＬＮＧ储罐区非煤矿山作业"
    index.rebuild([doc(7, text, kind="accidents", title="某公司事故", date=date(2025, 6, 12),
                       withdrawn=True)])
    (hit,) = index.search(SearchQuery(q="lng 矿山")).hits
    assert (hit.kind, hit.id, hit.title, hit.date, hit.withdrawn) == (
        "accidents", 7, "某公司事故", date(2025, 6, 12), True)
    assert "<script>" not in hit.snippet_html and "&lt;script&gt;" in hit.snippet_html
    assert "<mark>ＬＮＧ</mark>" in hit.snippet_html and "<mark>矿山</mark>" in hit.snippet_html


def test_paging_walks_every_hit_once_and_counts_beyond_the_last_page(index):
    index.rebuild([doc(n, "矿山", date=date(2026, 1, 1)) for n in range(1, 48)])
    seen = []
    for page in range(1, 6):
        results = index.search(SearchQuery(q="矿山", page=page, per_page=10))
        assert results.total == 47
        seen.extend(h.id for h in results.hits)
    assert sorted(seen) == list(range(1, 48))
    beyond = index.search(SearchQuery(q="矿山", page=6, per_page=10))
    assert beyond.total == 47 and beyond.hits == []


def test_a_query_with_a_nul_character_is_answered(index):
    index.rebuild([doc(1, "矿山\x00设备")])
    assert keys(index, "山\x00设") == {"decisions:1"}
    assert keys(index, "\x00设备") == {"decisions:1"}


def test_another_process_sees_each_write_at_once(index):
    other = PostgresIndex(postgres_search_url())  # another worker, on another host
    try:
        index.update([doc(1, "矿山")])
        assert keys(other, "矿山") == {"decisions:1"}
        index.update([], deleted=["decisions:1"])
        assert keys(other, "矿山") == set()
    finally:
        other.close()


def paused_rebuild(index: PostgresIndex, documents: list[Document]):
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
    return thread, resume, errors


def test_updates_during_a_rebuild_do_not_wait_and_are_not_lost(index):
    other = PostgresIndex(postgres_search_url())
    index.rebuild([doc(1, "矿山"), doc(2, "矿山"), doc(3, "磨憨"), doc(4, "矿山 已撤下")])
    # The rebuild read the database before the updates below: 1–3 and 10–19 (4 is gone).
    documents = [doc(n, "矿山") for n in (1, 2, 3, *range(10, 20))]
    thread, resume, errors = paused_rebuild(index, documents)
    try:
        other.update([doc(30, "矿山 新发布")], deleted=["decisions:2"])
        other.update([doc(19, "磨憨镇 改正后")])  # an item the rebuild has not reached yet
        other.update([], deleted=["decisions:15"])  # nor this one
        # The updates did not wait for the rebuild: it is still paused mid-way (an update
        # that waited would hold until the pause gives up, failing the rebuild below).
        assert thread.is_alive() and not resume.is_set()
        assert "decisions:30" in keys(other, "矿山")  # found at once, during the rebuild
    finally:
        resume.set()
        thread.join(30)
        other.close()
    assert errors == []
    assert keys(index, "矿山") == {f"decisions:{n}" for n in (1, 3, 30, *range(10, 19))} - {
        "decisions:15"}
    assert keys(index, "改正后") == {"decisions:19"}
    assert keys(index, "已撤下") == set()


def test_one_rebuild_at_a_time(index):
    index.rebuild([doc(1, "矿山")])
    thread, resume, errors = paused_rebuild(index, [doc(n, "矿山") for n in range(2, 6)])
    second = PostgresIndex(postgres_search_url(), rebuild_timeout=0.3)
    try:
        with pytest.raises(IndexBusy):
            second.rebuild([doc(9, "矿山")])
    finally:
        resume.set()
        thread.join(30)
        second.close()
    assert errors == []
    assert keys(index, "矿山") == {f"decisions:{n}" for n in range(2, 6)}


def test_a_forked_worker_opens_its_own_connections(index):
    index.update([doc(1, "矿山")])
    assert index.opened == 1
    index._pid = -1  # what a forked child sees
    assert keys(index, "矿山") == {"decisions:1"}
    assert index.opened == 2


def test_without_the_rum_extension_search_is_still_exact_and_the_log_says_so(tmp_path, caplog):
    # A database without the extension: a GIN index, phrases checked on the row, every hit
    # ranked (slower), and a warning in the log.
    index = make_backend("postgres", tmp_path, purpose="gin", rum=False)
    try:
        index.update([doc(1, "现场检查记录"), doc(2, "现场 检查"), doc(3, "其他", title="现场检查"),
                      doc(4, "矿山企业")])
        with caplog.at_level("WARNING", logger="search_index.postgres"):
            results = index.search(SearchQuery(q="现场检查"))
        assert results.total == 2
        assert [h.id for h in results.hits] == [3, 1]  # the title match first
        assert keys(index, "矿山企业 -") == {"decisions:4"}
        assert keys(index, "检查", sort="date") == {"decisions:1", "decisions:2", "decisions:3"}
        assert any("RUM" in r.getMessage() for r in caplog.records)
        assert not index.has_rum(index._connect().connect())
    finally:
        index.close()


def cached_counts(index: PostgresIndex) -> list[tuple[str, int, int]]:
    with index._connect().connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT key, generation, total FROM search_counts ORDER BY key"))]


def test_a_count_is_kept_for_its_generation_and_dropped_when_the_index_changes(index):
    # Two terms: a query of one lexeme is counted from the lexemes' counts instead (below).
    q = "矿山 检查"
    index.rebuild([doc(1, "矿山检查"), doc(2, "矿山 检查")])
    assert index.search(SearchQuery(q=q)).total == 2
    ((key, generation, total),) = cached_counts(index)
    assert (generation, total) == (index.generation(), 2)
    # Asked again, the count is the one kept (made visible here by altering it by hand)…
    with index._connect().begin() as conn:
        conn.execute(sa.text("UPDATE search_counts SET total = 99"))
    assert index.search(SearchQuery(q=q)).total == 99
    assert index.search(SearchQuery(q=q, sort="date", page=2)).total == 99  # same hits
    # …until the index changes: a publication, a withdrawal, a rebuild, a change by hand.
    index.update([doc(3, "非煤矿山检查")])
    assert cached_counts(index) == []
    assert index.search(SearchQuery(q=q)).total == 3
    index.update([], deleted=["decisions:1"])
    assert index.search(SearchQuery(q=q)).total == 2
    index.rebuild([doc(1, "矿山检查")])
    assert index.search(SearchQuery(q=q)).total == 1
    before = index.generation()
    with index._connect().begin() as conn:
        conn.execute(sa.text("DELETE FROM search_documents"))
    assert index.generation() > before
    assert index.search(SearchQuery(q=q)).total == 0
    # Other filters are other counts.
    index.update([doc(1, "矿山检查", county="勐腊县"), doc(2, "矿山检查")])
    assert index.search(SearchQuery(q=q, county="勐腊县")).total == 1
    assert index.search(SearchQuery(q=q)).total == 2


def lexeme_counts(index: PostgresIndex) -> dict[str, int]:
    """The lexemes' counts kept, without the lexemes no row has any more."""
    with index._connect().connect() as conn:
        return dict(conn.execute(sa.text(
            f"SELECT lexeme, documents FROM {postgres.LEXEME_COUNTS} WHERE documents <> 0")).all())


def tallied(index: PostgresIndex) -> dict[str, int]:
    """The lexemes' counts as PostgreSQL tallies the table's rows now."""
    with index._connect().connect() as conn:
        return dict(conn.execute(sa.text(
            f"SELECT word, ndoc FROM ts_stat('SELECT tokens FROM {postgres.TABLE}')")).all())


def test_a_query_of_one_lexeme_is_counted_from_the_lexemes_counts(index):
    index.rebuild([doc(n, "矿山 检查" if n % 2 else "矿山企业") for n in range(1, 11)])
    assert lexeme_counts(index) == tallied(index)
    assert lexeme_counts(index)["矿山"] == 10
    # Read from the counts (made visible here by altering them by hand)…
    with index._connect().begin() as conn:
        conn.execute(sa.text(f"UPDATE {postgres.LEXEME_COUNTS} SET documents = 77 "
                             "WHERE lexeme = '矿山'"))
    assert index.search(SearchQuery(q="矿山")).total == 77
    assert index.search(SearchQuery(q="矿山", sort="date")).total == 77
    # …but not for a filter, several terms, or a term no single lexeme decides.
    assert index.search(SearchQuery(q="矿山", county="勐腊县")).total == 0
    assert index.search(SearchQuery(q="矿山", kinds=("decisions",))).total == 10
    assert index.search(SearchQuery(q="矿山 检查")).total == 5
    assert index.search(SearchQuery(q="矿山企业")).total == 5
    assert index.search(SearchQuery(q="矿")).total == 10
    # A lexeme no row has counts nothing, and its page is empty.
    results = index.search(SearchQuery(q="磨憨"))
    assert (results.total, results.hits) == (0, [])


def test_the_lexemes_counts_stay_exact_through_every_kind_of_change(index):
    index.update([doc(n, "矿山 abc 检查" if n % 3 else "矿山企业 现场") for n in range(1, 31)])
    assert lexeme_counts(index) == tallied(index)
    steps = [
        lambda: index.update([doc(2, "磨憨镇"), doc(31, "矿山 新发布")]),  # replace, add
        lambda: index.update([], deleted=["decisions:1", "decisions:4", "decisions:99"]),
        lambda: index.update([doc(1, "矿山 abc 重新发布")]),  # a removed item published again
        lambda: index.update([doc(5, "矿山 abc 检查", withdrawn=True)]),  # a withdrawal
        lambda: index.update([doc(6, "x" * 20000 + " 矿山 abc")]),  # too long for positions
        lambda: index.update([doc(7, "矿山")], deleted=["decisions:8"]),
        lambda: index.rebuild([doc(n, "矿山 abc" if n % 2 else "检查") for n in range(1, 21)]),
    ]
    for step in steps:
        step()
        assert lexeme_counts(index) == tallied(index)
        for q in ("矿山", "abc", "检查", "磨憨"):
            # The same count as the rows the index finds (``matching`` lists every hit).
            assert index.search(SearchQuery(q=q)).total == len(index.matching(SearchQuery(q=q)))
    # Changes by hand, and VACUUM (which moves no counted row).
    with index._connect().begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {postgres.TABLE} WHERE item_id IN (1, 3)"))
        conn.execute(sa.text(f"UPDATE {postgres.TABLE} SET tokens = to_tsvector('simple', '检查') "
                             "WHERE item_id = 5"))
    assert lexeme_counts(index) == tallied(index)
    with index._connect().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM (ANALYZE) {postgres.TABLE}"))
    assert lexeme_counts(index) == tallied(index)
    assert index.search(SearchQuery(q="abc")).total == tallied(index)["abc"]
    with index._connect().begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {postgres.TABLE}"))
    assert lexeme_counts(index) == {}
    assert index.search(SearchQuery(q="矿山")).total == 0


def test_the_lexemes_counts_keep_the_updates_made_during_a_rebuild(index):
    other = PostgresIndex(postgres_search_url())
    index.rebuild([doc(n, "矿山") for n in range(1, 5)])
    thread, resume, errors = paused_rebuild(index, [doc(n, "矿山 检查") for n in range(1, 20)])
    try:
        other.update([doc(30, "矿山 新发布")], deleted=["decisions:2"])
        other.update([doc(19, "磨憨镇 改正后")])  # an item the rebuild has not reached yet
        other.update([], deleted=["decisions:15"])
    finally:
        resume.set()
        thread.join(30)
        other.close()
    assert errors == []
    assert lexeme_counts(index) == tallied(index)
    assert index.search(SearchQuery(q="矿山")).total == 17  # 1, 3–14, 16–18 and 30
    assert index.search(SearchQuery(q="磨憨")).total == 1


def test_a_database_without_the_lexemes_counts_gets_them_counted_from_its_rows(index):
    index.update([doc(n, "矿山 检查") for n in range(1, 6)])
    with index._connect().begin() as conn:  # as before migration 0018p
        for event in ("insert", "update", "delete", "truncate"):
            conn.execute(sa.text(f"DROP TRIGGER {postgres.LEXEME_TRIGGER}_{event} "
                                 f"ON {postgres.TABLE}"))
        conn.execute(sa.text(f"DROP TABLE {postgres.LEXEME_COUNTS}"))
    reader = PostgresIndex(postgres_search_url())
    try:
        assert reader.search(SearchQuery(q="矿山")).total == 5  # counted on the rows
        with reader._connect().begin() as conn:
            postgres.ensure_lexeme_counts(conn)
        assert lexeme_counts(index) == tallied(index)
        reader.close()  # a process started after the migration
        assert reader.search(SearchQuery(q="矿山")).total == 5
        index.update([doc(6, "矿山")])
        assert reader.search(SearchQuery(q="矿山")).total == 6
    finally:
        reader.close()


def test_matching_by_date_lists_every_hit_newest_first(index):
    index.rebuild([doc(1, "矿山", date=date(2024, 1, 1)), doc(2, "矿山", date=date(2026, 1, 1)),
                   doc(3, "矿山", title="矿山", date=date(2025, 1, 1)), doc(4, "其他")])
    assert index.matching(SearchQuery(q="矿山", sort="date")) == [
        ("decisions", 2), ("decisions", 3), ("decisions", 1)]
    assert index.matching(SearchQuery(q="矿山")) == [
        ("decisions", 3), ("decisions", 2), ("decisions", 1)]


@pytest.mark.parametrize("walk_cost", [0, 5])
@pytest.mark.parametrize("few", [0, 1000])
def test_pages_of_many_hits_follow_the_tiers_across_their_boundary(index, monkeypatch, few,
                                                                   walk_cost):
    # Past FEW_HITS each tier's page is taken on its own (date index walks, or with WALK_COST
    # a sort of every hit where the walk would cost more); the pages must be the same slices
    # of the fully ranked list as when all hits are ranked at once.
    monkeypatch.setattr(postgres, "FEW_HITS", few)
    monkeypatch.setattr(postgres, "WALK_COST", walk_cost)
    documents = [doc(n, "矿山 检查" if n % 3 else "检查", date=date(2020 + n % 7, 1 + n % 12, 1),
                     title="矿山事故" if n % 5 == 0 else f"标题{n}") for n in range(1, 60)]
    index.rebuild(documents)
    for q, sort in (("矿山", "relevance"), ("矿山 检查", "relevance"), ("检查", "date"),
                    ("矿山", "date")):
        ranked = index.matching(SearchQuery(q=q, sort=sort))
        for page, per_page in ((1, 5), (2, 5), (3, 4), (2, 10), (4, 10), (9, 7)):
            results = index.search(SearchQuery(q=q, sort=sort, page=page, per_page=per_page))
            first = (page - 1) * per_page
            assert [(h.kind, h.id) for h in results.hits] == ranked[first:first + per_page], (
                q, sort, page, per_page)
            assert results.total == len(ranked)


def test_title_terms_are_out_of_line_and_their_tier_still_comes_first(index, monkeypatch):
    # Only the titles' index reads them; every test on a row reads the normalised title.
    monkeypatch.setattr(postgres, "FEW_HITS", 0)
    long = "西双版纳州应急管理局关于矿山企业安全生产许可证延续审查情况的通报" * 4
    index.rebuild([doc(n, "矿山 安全生产 应急管理", date=date(2020 + n % 5, 1, 1),
                       title=long if n % 4 == 0 else f"标题{n}关于检查情况的通报" * 4)
                   for n in range(1, 41)])
    with index._connect().connect() as conn:
        assert conn.scalar(sa.text(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = to_regclass(:t) "
            "AND attname = 'title_terms'"), {"t": postgres.TABLE}) == "e"
    for q in ("矿山", "矿山 安全生产", "应急管理 矿山"):
        ranked = index.matching(SearchQuery(q=q))
        assert {i for _, i in ranked[:10]} == {n for n in range(1, 41) if n % 4 == 0}, q
        for page, per_page in ((1, 5), (2, 5), (2, 7), (4, 10)):
            results = index.search(SearchQuery(q=q, page=page, per_page=per_page))
            first = (page - 1) * per_page
            assert [(h.kind, h.id) for h in results.hits] == ranked[first:first + per_page]
            assert [h.score for h in results.hits] == [
                1.0 if i % 4 == 0 else 0.0 for _, i in ranked[first:first + per_page]]


def test_a_chain_holds_for_every_text_containing_its_term():
    # The chain (the runs' terms at fixed distances) narrows a term of several runs: a text
    # containing the term must always have it, wherever the term sits in its runs.
    import random

    from search_index.analyzer import TOKEN_RUN, normalize
    from search_index.planner import plan_term
    from search_index.postgres import PREFIX, chain
    from tests.search_index.corpus import Corpus

    rng = random.Random(18)
    checked = 0
    for document in rng.sample(Corpus(600).documents, 300):
        body = normalize(document.text)
        positions, _, complete = positional_tokens(body)
        if not complete:
            continue
        at: dict[int, list[str]] = {}
        for lexeme, places in positions.items():
            for place in places:
                at.setdefault(place, []).append(lexeme)

        def has(place: int, lexeme: str, at: dict[int, list[str]] = at) -> bool:
            if lexeme.endswith(PREFIX):
                return any(t.startswith(lexeme.removesuffix(PREFIX)) for t in at.get(place, ()))
            return lexeme in at.get(place, ())

        for _ in range(40):
            start = rng.randrange(len(body))
            piece = body[start:start + rng.randint(2, 16)]
            term = plan_term(piece) if TOKEN_RUN.search(piece) else None
            linked = chain(term) if term else []
            if not linked:
                continue
            first = linked[0][0]
            assert any(all(has(p - first + offset, t) for offset, t in linked) for p in at), (
                piece, linked)
            checked += 1
    assert checked > 1000


def test_terms_of_several_runs_are_found_exactly(index):
    index.update([doc(1, "景洪应急罚〔2024〕12号 处罚决定"), doc(2, "景洪应急罚2024 12号"),
                  doc(3, "某某有限公司(演示) 检查"), doc(4, "某某有限公司演示 检查"),
                  doc(5, "2024年 检查"), doc(6, "2024 年 检查"), doc(7, "x2024年 检查")])
    # Narrowed by their runs' terms at fixed distances (the 文号's year, then its number two
    # positions on), confirmed on the text.
    (term,) = plan("景洪应急罚〔2024〕12号").terms
    assert "'2024' <2> '12'" in postgres.term_query(term)
    assert keys(index, "景洪应急罚〔2024〕12号") == {"decisions:1"}
    assert keys(index, "应急罚〔2024〕1") == {"decisions:1"}
    assert keys(index, "有限公司(演示)") == {"decisions:3"}
    assert keys(index, "公司(演") == {"decisions:3"}
    assert keys(index, "2024年") == {"decisions:5", "decisions:7"}
    assert keys(index, "024年 检查") == {"decisions:5", "decisions:7"}


def test_common_operands_are_left_to_the_text_and_the_hits_stay_exact(index):
    index.update([doc(n, "处罚决定" + (" 巴拉制糖" if n < 3 else "")) for n in range(1, 30)])
    # As if statistics said 决定 is in every row and 巴拉 in few: the common term is not
    # looked up in the index but confirmed on the candidates' texts.
    frequencies = postgres.Frequencies(["决定", "罚决", "处罚", "检查"], [1.0, 1.0, 1.0, 0.01])
    index._shares = (frequencies, time.monotonic())
    (common, rare) = plan("决定 巴拉制糖").terms
    assert postgres.term_plan(common, frequencies)[2] == 1.0
    assert postgres.term_plan(rare, frequencies)[2] < 1.0 / postgres.RARER
    with index._connect().connect() as conn:
        where, params = index._where(conn, plan("决定 巴拉制糖"), SearchQuery(q="决定 巴拉制糖"))
    assert "决定" not in params["tsq"] and "strpos" in where.confirm
    assert keys(index, "决定 巴拉制糖") == {"decisions:1", "decisions:2"}
    assert keys(index, "处罚决定 巴拉") == {"decisions:1", "decisions:2"}
    assert index.search(SearchQuery(q="决定")).total == 29


def test_some_trigrams_of_a_word_decide_it_as_all_of_them_would():
    # A word's first two trigrams, then every third, then its last: a text has them at those
    # offsets exactly when it contains the word, also among short words side by side.
    import random

    from search_index.postgres import decisive_terms

    rng = random.Random(16)
    alphabet = "9153282ab"
    checked = 0
    for _ in range(1500):
        body = " ".join("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7)))
                        for _ in range(30))
        positions, _, _ = positional_tokens(body)
        at: dict[int, set[str]] = {}
        for lexeme, places in positions.items():
            for place in places:
                at.setdefault(place, set()).add(lexeme)
        words = [w for w in body.split() if len(w) >= 4]
        for _ in range(10):
            word = "".join(rng.choice(alphabet) for _ in range(rng.randint(4, 16)))
            if words and rng.random() < 0.5:  # one found in the text, or a part of one
                found_word = rng.choice(words)
                start = rng.randrange(len(found_word) - 3)
                word = found_word[start:start + rng.randint(4, 16)]
            decisive = decisive_terms(plan(word).terms[0])
            assert len(decisive) <= postgres.MAX_PHRASE
            if len(word) >= 8:
                assert len(decisive) < len(word) - 2  # fewer than all its trigrams
            first = decisive[0][0]
            found = any(all(t in at.get(p - first + offset, ()) for offset, t in decisive)
                        for p in at)
            assert found == (word in body), (word, body)
            checked += found
    assert checked > 50


def explain(index: PostgresIndex, q: str, counted: bool) -> str:
    """The plan of ``q``'s count (``counted``) or of its candidates' finding."""
    with index._reading() as conn:
        where, params = index._where(conn, postgres._plan(q), SearchQuery(q=q))
        clause = where.counted if counted else str(where)
        return "\n".join(r[0] for r in conn.execute(sa.text(
            f"EXPLAIN SELECT count(*) FROM {postgres.TABLE} d WHERE {clause}"), params))


def test_counts_read_lexemes_without_positions_and_phrases_stay_on_rum(index):
    # Beside RUM, a GIN index on strip(tokens): an exact count reads its operands' lists
    # without positions (2-3 times faster); a phrase's positions only RUM has, and no query
    # for a phrase can be planned on the GIN index (it is on an expression phrases never use).
    index.rebuild([doc(n, "矿山企业 现场检查 2024年" if n % 2 else "矿山 检查") for n in range(1, 41)])
    with index._connect().connect() as conn:
        assert index.has_rum(conn) and index._lexemes_index(conn)
    assert f"{postgres.TABLE}_lexemes" in explain(index, "矿山", counted=True)
    assert f"{postgres.TABLE}_lexemes" not in explain(index, "矿山", counted=False)
    phrase = explain(index, "现场检查", counted=True)
    assert f"{postgres.TABLE}_terms" in phrase and f"{postgres.TABLE}_lexemes" not in phrase
    assert index.search(SearchQuery(q="矿山")).total == 40
    assert index.search(SearchQuery(q="现场检查")).total == 20
    assert index.search(SearchQuery(q="2024年 矿山")).total == 20
    # An update, a removal and a rebuild keep the index (the count's only way in).
    index.update([doc(41, "矿山")], deleted=["decisions:1"])
    assert index.search(SearchQuery(q="矿山")).total == 40
    assert index.search(SearchQuery(q="现场检查")).total == 19
    index.rebuild([doc(1, "矿山")])
    assert f"{postgres.TABLE}_lexemes" in explain(index, "矿山", counted=True)
    assert index.search(SearchQuery(q="矿山")).total == 1


def test_without_rum_there_is_no_index_of_lexemes_beside_gin(tmp_path):
    index = make_backend("postgres", tmp_path, purpose="gin", rum=False)
    try:
        index.rebuild([doc(1, "矿山企业"), doc(2, "矿山")])
        with index._connect().connect() as conn:
            assert not index._lexemes_index(conn)
        assert f"{postgres.TABLE}_lexemes" not in explain(index, "矿山", counted=True)
        assert index.search(SearchQuery(q="矿山")).total == 2
    finally:
        index.close()


def test_two_writers_of_several_statements_each_neither_deadlock_nor_fail(index):
    # Each writer's transaction writes rows in several statements (``update``: the tombstones,
    # then the upserts; or SQL by hand).  The counts' triggers serialise the writers with an
    # advisory lock; taken after a statement's row locks (an AFTER trigger), a writer waiting
    # for it holds its rows, and the holder, needing one of them, waits in turn: a deadlock,
    # which PostgreSQL breaks by failing one of them.  Taken before any row is locked (a BEFORE
    # statement trigger), the second writer waits holding nothing of the first's.
    index.update([doc(1, "矿山"), doc(2, "矿山")])
    engine = index._connect()
    first, second = engine.connect(), engine.connect()
    errors: list[BaseException] = []
    upsert = sa.text(postgres._UPSERT)
    try:
        waiting = second.scalar(sa.text("SELECT pg_backend_pid()"))
        second.commit()
        first.execute(upsert, document_row(doc(1, "矿山 一")))  # holds row 1 (and the lock)

        def write_row_2():
            try:
                second.execute(upsert, document_row(doc(2, "矿山 二")))
                second.commit()
            except BaseException as exc:  # reported by the test
                errors.append(exc)

        thread = threading.Thread(target=write_row_2)
        thread.start()
        with engine.connect() as watch:  # until the second writer waits for the first
            deadline = time.monotonic() + 10
            while watch.scalar(sa.text(
                    "SELECT wait_event_type IS DISTINCT FROM 'Lock' FROM pg_stat_activity "
                    "WHERE pid = :pid"), {"pid": waiting}):
                assert time.monotonic() < deadline
                time.sleep(0.02)
                watch.rollback()
        try:
            first.execute(upsert, document_row(doc(2, "矿山 三")))  # needs row 2
            first.commit()
        except BaseException as exc:
            errors.append(exc)
        thread.join(30)
    finally:
        first.close()
        second.close()
    assert errors == []
    # Both wrote, the second last; the counts hold both.
    assert keys(index, "三") == set() and keys(index, "二") == {"decisions:2"}
    assert keys(index, "一") == {"decisions:1"}
    assert lexeme_counts(index) == tallied(index)


def gram_counts(index: PostgresIndex) -> dict[str, tuple[int, int]]:
    """Each string kept: (its count, how many live rows contain it now)."""
    with index._connect().connect() as conn:
        return {row.gram: (row.documents, row.found) for row in conn.execute(sa.text(
            f"SELECT g.gram, g.documents, (SELECT count(*) FROM {postgres.TABLE} d "
            "WHERE NOT d.deleted AND strpos(d.body, g.gram) > 0) AS found "
            f"FROM {postgres.GRAM_COUNTS} g"))}


def assert_exact(index: PostgresIndex) -> None:
    kept = gram_counts(index)
    assert {g: n for g, (n, _) in kept.items()} == {g: found for g, (_, found) in kept.items()}


def test_a_query_of_one_frequent_string_is_counted_from_the_strings_counts(index):
    index.rebuild([doc(n, "安全生产 现场检查" if n % 2 else "2024年 有限公司(演示)")
                   for n in range(1, 11)])
    kept = gram_counts(index)
    assert kept["安全生产"] == (5, 5) and kept["有限公司(演示)"] == (5, 5)
    assert_exact(index)
    with index._connect().begin() as conn:  # read from the counts: made visible by hand
        conn.execute(sa.text(f"UPDATE {postgres.GRAM_COUNTS} SET documents = 77 "
                             "WHERE gram IN ('安全生产', '2024年')"))
    assert index.search(SearchQuery(q="安全生产")).total == 77
    assert index.search(SearchQuery(q="2024年")).total == 77
    # Not with a filter, several terms, a term too long, or a string not in the table.
    assert index.search(SearchQuery(q="安全生产", county="勐腊县")).total == 0
    assert index.search(SearchQuery(q="安全生产", kinds=("decisions",))).total == 5
    assert index.search(SearchQuery(q="安全生产 现场")).total == 5
    assert index.search(SearchQuery(q="安全生产 现场检查")).total == 5  # 9 characters with space
    assert index.search(SearchQuery(q="有限公司(演示")).total == 5
    assert index.search(SearchQuery(q="标题1")).total == 2  # 标题1, 标题10
    assert index.search(SearchQuery(q="矿山企业")).total == 0


def test_the_strings_counts_stay_exact_through_every_kind_of_change(index):
    index.rebuild([doc(n, "安全生产 abc 2024年" if n % 3 else "现场检查 有限公司") for n in range(1, 31)])
    assert_exact(index)
    steps = [
        lambda: index.update([doc(2, "磨憨镇 安全生产"), doc(31, "现场检查 新发布")]),
        lambda: index.update([], deleted=["decisions:1", "decisions:4", "decisions:99"]),
        lambda: index.update([doc(1, "安全生产 abc 重新发布")]),
        lambda: index.update([doc(5, "安全生产 abc 检查", withdrawn=True)]),
        lambda: index.update([doc(6, "x" * 20000 + " 安全生产安全生产 2024年")]),
        lambda: index.update([doc(7, "有限公司")], deleted=["decisions:8"]),
    ]
    for step in steps:
        step()
        assert_exact(index)
        for q in ("安全生产", "2024年", "有限公司", "现场检查", "abc 2"):
            assert index.search(SearchQuery(q=q)).total == len(index.matching(SearchQuery(q=q)))
    with index._connect().begin() as conn:  # by hand
        conn.execute(sa.text(f"DELETE FROM {postgres.TABLE} WHERE item_id IN (3, 9)"))
        conn.execute(sa.text(f"UPDATE {postgres.TABLE} SET body = '现场检查' WHERE item_id = 10"))
    assert_exact(index)
    with index._connect().begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {postgres.TABLE}"))
    assert gram_counts(index) == {}
    index.update([doc(1, "安全生产")])
    assert index.search(SearchQuery(q="安全生产")).total == 1  # counted on the rows


def test_the_strings_counts_keep_the_updates_made_during_a_rebuild(index):
    other = PostgresIndex(postgres_search_url())
    index.rebuild([doc(n, "安全生产") for n in range(1, 5)])
    thread, resume, errors = paused_rebuild(
        index, [doc(n, "安全生产 现场检查") for n in range(1, 20)])
    try:
        other.update([doc(30, "安全生产 新发布")], deleted=["decisions:2"])
        other.update([doc(19, "磨憨镇 改正后")])  # an item the rebuild has not reached yet
        other.update([], deleted=["decisions:15"])
    finally:
        resume.set()
        thread.join(30)
        other.close()
    assert errors == []
    assert_exact(index)
    assert gram_counts(index)["安全生产"] == (17, 17)  # 1, 3–14, 16–18 and 30
    assert index.search(SearchQuery(q="安全生产")).total == 17


def test_only_strings_in_enough_rows_are_kept_and_the_others_are_counted_on_the_rows(
        index, monkeypatch):
    monkeypatch.setattr(postgres, "GRAM_SHARE", 0.25)
    index.rebuild([doc(n, "安全生产" if n <= 5 else f"现场检查{n:03}") for n in range(1, 21)])
    kept = gram_counts(index)
    assert kept["安全生产"] == (5, 5) and "现场检查" in kept and "查006" not in kept
    assert all(n >= 5 for n, _ in kept.values())
    assert_exact(index)
    assert index.search(SearchQuery(q="查006")).total == 1


@pytest.mark.parametrize("few", [0, 1000])
def test_a_page_sorted_from_lexemes_confirms_the_phrases_on_the_texts(index, monkeypatch, few):
    # A page's candidates are found by the terms' lexemes alone (``_Where.sorted``): the newest
    # rows here have every bigram and trigram of the terms, never at their places; the page
    # must pass over them to the older rows that have the terms themselves.
    monkeypatch.setattr(postgres, "FEW_HITS", few)
    monkeypatch.setattr(postgres, "WALK_COST", 10**9)  # never walk: sort every candidate
    decoys = [doc(n, "事故在2020年 报告 1025 人员死亡 直接 经济 接经 济损 损失",
                  date=date(2026, 1, 1 + n)) for n in range(1, 21)]
    hits = [doc(n, "2025年 死亡 直接经济损失", date=date(2025, 1, n - 20)) for n in range(21, 31)]
    index.rebuild(decoys + hits)
    for q in ("2025年 死亡", "直接经济损失 死亡", '"直接经济损失"', "2025 死亡"):
        ranked = index.matching(SearchQuery(q=q))
        assert sorted(i for _, i in ranked) == list(range(21, 31)), q
        for page, per_page in ((1, 4), (2, 4), (3, 4), (1, 20)):
            results = index.search(SearchQuery(q=q, page=page, per_page=per_page))
            first = (page - 1) * per_page
            assert [(h.kind, h.id) for h in results.hits] == ranked[first:first + per_page], q
            assert results.total == 10, q
