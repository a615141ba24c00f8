"""Search benchmark: build time, index size, latency of /api/v1/search, FTS5 reference, recall.

    python bench/search.py [--size 100000] [--source demo|corpus] [--queries 200]

1. Generates N items with the demo generator (``portal.services.demo_data.load_demo``) into a
   temporary SQLite database (``--source corpus``: the test suite's generated corpus, no
   database), and reads them back as index documents.
2. Builds the Whoosh index from those documents: build time, size on disk.
3. Runs a fixed mixed query set (2-character words, place and enterprise names, AND, quoted
   phrases, 文号, credit codes and fragments) once each through the Flask test
   client against /api/v1/search, with the result cache off: p50 / p95 / max.  The first query
   (opening the index) is reported apart.
4. The same figures, on the same documents, for SQLite FTS5 over the same bigrams and words (each
   query term as an FTS5 phrase of its bigrams; count plus the top 20 by bm25), as a reference.
5. Recall and precision of every query (plus lone characters and random substrings) against a
   brute-force substring scan of all the documents (``--check-size N``: of an index of the first
   N documents instead).

Prints a report; nothing is written outside a temporary directory (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search_index import Document, SearchIndex, SearchQuery  # noqa: E402
from search_index.analyzer import TOKEN_RUN, han_grams, normalize, words  # noqa: E402
from search_index.planner import plan, split_terms  # noqa: E402

TWO_CHARACTER_WORDS = (
    "矿山", "隐患", "罚款", "景洪", "磨憨", "勐腊", "勐海", "化工", "燃气", "爆炸", "坍塌", "排查",
    "整改", "火灾", "中毒", "窒息", "建材", "仓库", "运输", "施工", "特种", "设备", "冶炼", "钢铁",
    "烟花", "爆竹", "民爆", "储罐", "隧道", "采场", "违法", "责令", "停产", "吊销", "许可", "培训",
    "应急", "预案", "死亡", "受伤",
)
PLACES = ("磨憨镇", "勐仑镇", "嘎洒镇", "勐罕镇", "基诺山乡", "勐遮镇", "打洛镇", "关累镇", "易武镇",
          "景洪市", "勐海县", "勐腊县", "非煤矿山", "危险化学品", "烟花爆竹", "建筑施工")
# Phrases people look for in enforcement texts: some in most documents, some in few.
PHRASES = ("重大事故隐患", "安全生产许可证", "特种作业操作证", "有限空间作业", "应急救援预案",
           "安全教育培训", "隐患排查治理", "责令限期改正", "停产停业整顿", "没收违法所得",
           "主要负责人", "安全管理人员", "生产安全事故", "非法储存", "超能力生产", "现场检查",
           "安全设备", "劳动防护用品", "高处坠落", "物体打击", "中毒窒息", "触电事故", "坍塌事故",
           "直接经济损失", "事故调查报告")
LONE_CHARACTERS = ("矿", "憨", "罚", "爆", "号")
CREDIT_CODE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{18}")
DOCUMENT_NO = re.compile(r"[\u4e00-\u9fff]{2,8}[〔\[（(【]\d{4}[〕\]）)】]\d{1,5}号")
BLACKLIST_TITLE = re.compile(r"^(.+)（([0-9A-Z]{18})）$")


@dataclass
class Timing:
    label: str
    seconds: list[float]

    def line(self) -> str:
        ms = sorted(s * 1000 for s in self.seconds)
        p95 = ms[min(len(ms) - 1, int(round(0.95 * len(ms))) - 1)]
        return (f"{self.label:<34} p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   "
                f"max {ms[-1]:7.1f} ms   (n={len(ms)})")

    def p(self, q: float) -> float:
        ms = sorted(self.seconds)
        return ms[min(len(ms) - 1, int(round(q * len(ms))) - 1)]


# -- documents --------------------------------------------------------------------------------


def demo_documents(app, size: int) -> list[Document]:
    """Load the demo data set into the bench's database, then read it back as documents."""
    from unittest import mock

    from portal import database, search_sync
    from portal.services.demo_data import load_demo

    with app.app_context():
        database.upgrade()
        started = time.perf_counter()
        # load_demo rebuilds the index at its end; the bench builds it once, timed, below.
        with mock.patch.object(search_sync, "reindex_all", lambda: 0):
            counts = load_demo(size=size)
        print(f"demo data: {counts} in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        documents = list(search_sync.published_documents())
        print(f"read {len(documents)} published documents in {time.perf_counter() - started:.1f} s")
    return documents


def corpus_documents(size: int) -> list[Document]:
    from tests.search_index.corpus import Corpus

    return Corpus(size).documents


# -- queries ----------------------------------------------------------------------------------


def query_set(documents: list[Document], count: int, seed: int = 20261128) -> list[tuple[str, str]]:
    """A fixed mixed set of (category, query) drawn from the documents with a fixed seed."""
    rng = random.Random(seed)
    sample = rng.sample(documents, min(len(documents), 3000))
    names, codes, numbers = [], [], []
    for d in sample:
        codes.extend(CREDIT_CODE.findall(d.text))
        numbers.extend(DOCUMENT_NO.findall(d.text))
        if d.kind == "blacklist" and (m := BLACKLIST_TITLE.match(d.title)):
            names.append(m.group(1))
    names, codes, numbers = (sorted(set(x)) for x in (names, codes, numbers))
    queries: list[tuple[str, str]] = []
    queries += [("2-char word", w) for w in TWO_CHARACTER_WORDS]
    queries += [("place/sector", p) for p in PLACES]
    queries += [("enterprise name", n) for n in rng.sample(names, min(25, len(names)))]
    queries += [("name part + word", f"{n[2:6]} {rng.choice(TWO_CHARACTER_WORDS)}")
                for n in rng.sample(names, min(10, len(names)))]
    queries += [("AND", f"{rng.choice(TWO_CHARACTER_WORDS)} {rng.choice(PLACES)}") for _ in range(15)]
    queries += [("AND", " ".join(rng.sample(TWO_CHARACTER_WORDS, 2))) for _ in range(10)]
    queries += [("phrase", f'"{p}"') for p in PHRASES]
    queries += [("文号", n) for n in rng.sample(numbers, min(20, len(numbers)))]
    queries += [("credit code", c) for c in rng.sample(codes, min(15, len(codes)))]
    for c in rng.sample(codes, min(10, len(codes))):
        a = rng.randrange(0, 10)
        queries.append(("credit code fragment", c[a:a + 8]))
    return queries[:count]


# -- FTS5 reference ---------------------------------------------------------------------------


def fts5_build(documents: list[Document], path: str) -> tuple[sqlite3.Connection, float]:
    db = sqlite3.connect(path)
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(t, tokenize = 'unicode61')")
    started = time.perf_counter()
    with db:
        db.executemany(
            "INSERT INTO docs(rowid, t) VALUES (?, ?)",
            ((i, " ".join(han_grams(text) + words(text)))
             for i, text in enumerate(normalize(d.text) for d in documents)),
        )
    return db, time.perf_counter() - started


def fts5_expression(q: str) -> str:
    """Each term as an FTS5 phrase of its bigrams (a lone character or word run as a prefix)."""
    parts = []
    for term in split_terms(normalize(q)):
        tokens = []
        for match in TOKEN_RUN.finditer(term):
            run = match.group()
            if match.lastgroup == "han" and len(run) > 1:
                tokens.extend(run[i:i + 2] for i in range(len(run) - 1))
            else:
                tokens.append(run + "*")
        if tokens:
            parts.append(" + ".join(f'"{t[:-1]}"*' if t.endswith("*") else f'"{t}"' for t in tokens))
    return " AND ".join(f"({p})" for p in parts)


def fts5_search(db: sqlite3.Connection, q: str) -> int:
    expression = fts5_expression(q)
    (count,) = db.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (expression,)).fetchone()
    db.execute("SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 20",
               (expression,)).fetchall()
    return count


# -- main -------------------------------------------------------------------------------------


def size_of(path: Path) -> tuple[int, int]:
    """(Whoosh files, side files) in bytes."""
    whoosh = side = 0
    for f in path.iterdir():
        if f.is_file():
            if f.name.startswith("text-"):
                side += f.stat().st_size
            else:
                whoosh += f.stat().st_size
    return whoosh, side


def recall_precision(index: SearchIndex, documents: list[Document],
                     queries: list[tuple[str, str]]) -> tuple[float, float, list[str]]:
    texts = [(d.kind, d.id, normalize(d.text)) for d in documents]
    tp = fp = fn = 0
    wrong = []
    for _, q in queries:
        terms = plan(q).texts
        expected = {(k, i) for k, i, t in texts if all(term in t for term in terms)}
        found = index.matching(SearchQuery(q=q))
        got = set(found)
        tp += len(got & expected)
        fp += len(got - expected) + (len(found) - len(got))
        fn += len(expected - got)
        if got != expected or len(found) != len(got):
            wrong.append(q)
    return tp / max(1, tp + fn), tp / max(1, tp + fp), wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--source", choices=("demo", "corpus"), default="demo")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--check-size", type=int, default=0,
                        help="check recall on a separate index of the first N documents "
                             "(default: on the whole index)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    from portal import create_app

    work = Path(tempfile.mkdtemp(prefix="search-bench-"))
    print(f"work directory: {work}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
    app = create_app({
        "env": "test",
        "database_url": f"sqlite:///{work / 'portal.db'}",
        "index_dir": str(work / "index"),
        "ratelimit_search": "100000000 per minute",
    })
    try:
        documents = (demo_documents(app, args.size) if args.source == "demo"
                     else corpus_documents(args.size))
        print(f"{len(documents)} documents, {sum(len(d.text) for d in documents) / len(documents):.0f} "
              "characters on average")

        index: SearchIndex = app.extensions["search_index"]
        index.cache_size = 0  # measure every query, not the result cache
        started = time.perf_counter()
        index.rebuild(documents)
        build = time.perf_counter() - started
        whoosh_bytes, side_bytes = size_of(work / "index")
        print(f"\nWhoosh build: {build:.1f} s ({len(documents) / build:.0f} documents/s); size "
              f"{(whoosh_bytes + side_bytes) / 2**20:.0f} MB = index {whoosh_bytes / 2**20:.0f} MB "
              f"+ side file {side_bytes / 2**20:.0f} MB")

        queries = query_set(documents, args.queries)
        by_category: dict[str, int] = {}
        for category, _ in queries:
            by_category[category] = by_category.get(category, 0) + 1
        print(f"{len(queries)} queries: " + ", ".join(f"{k} {v}" for k, v in by_category.items()))

        client = app.test_client()
        started = time.perf_counter()
        response = client.get("/api/v1/search", query_string={"q": "矿山"})
        assert response.status_code == 200, response.get_data(as_text=True)
        print(f"first query (opens the index, reads its tables): "
              f"{(time.perf_counter() - started) * 1000:.0f} ms")
        # A segment's lexicons are read on their first use; warm them as a running server would.
        for q in ("12号", "ma", "矿"):
            started = time.perf_counter()
            client.get("/api/v1/search", query_string={"q": q})
            print(f"  warming {q}: {(time.perf_counter() - started) * 1000:.0f} ms")

        api: dict[str, list[float]] = {}
        raw: list[float] = []
        counts: dict[str, int] = {}
        slowest = []
        for category, q in queries:
            started = time.perf_counter()
            response = client.get("/api/v1/search", query_string={"q": q})
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (q, response.get_json())
            api.setdefault(category, []).append(elapsed)
            counts[q] = response.get_json()["count"]
            slowest.append((elapsed, category, q, counts[q]))
        for _, q in queries:
            started = time.perf_counter()
            index.search(SearchQuery(q=q))
            raw.append(time.perf_counter() - started)

        fts, fts_build = fts5_build(documents, str(work / "fts5.db"))
        fts_bytes = (work / "fts5.db").stat().st_size
        fts_times: dict[str, list[float]] = {}
        fts_counts = {}
        for category, q in queries:
            started = time.perf_counter()
            fts_counts[q] = fts5_search(fts, q)
            fts_times.setdefault(category, []).append(time.perf_counter() - started)

        all_api = [t for ts in api.values() for t in ts]
        all_fts = [t for ts in fts_times.values() for t in ts]
        whoosh_api = Timing("Whoosh /api/v1/search (client)", all_api)
        whoosh_raw = Timing("Whoosh SearchIndex.search", raw)
        fts5 = Timing("SQLite FTS5, same bigrams", all_fts)
        print(f"\nFTS5 build: {fts_build:.1f} s; size {fts_bytes / 2**20:.0f} MB")
        print("\nlatency over the query set (each query once, result cache off):")
        for timing in (whoosh_api, whoosh_raw, fts5):
            print("  " + timing.line())
        print(f"  ratio Whoosh(client)/FTS5: p50 {whoosh_api.p(0.5) / fts5.p(0.5):.2f}"
              f"   p95 {whoosh_api.p(0.95) / fts5.p(0.95):.2f}   max {max(all_api) / max(all_fts):.2f}")
        print("\n  by category (ms)            Whoosh p50    p95    max |  FTS5 p50    p95    max")
        for category, times in api.items():
            w, f = Timing(category, times), Timing(category, fts_times[category])
            print(f"  {category:<24} {len(times):3}  {w.p(0.5) * 1000:7.1f} {w.p(0.95) * 1000:6.1f} "
                  f"{max(times) * 1000:6.1f} | {f.p(0.5) * 1000:7.1f} {f.p(0.95) * 1000:6.1f} "
                  f"{max(fts_times[category]) * 1000:6.1f}")
        print("  slowest Whoosh queries:")
        for elapsed, category, q, count in sorted(slowest)[-8:]:
            print(f"    {elapsed * 1000:7.1f} ms  {category:<22} {q}  ({count} hits)")
        differ = [q for q in counts if counts[q] != fts_counts[q]]
        print(f"  FTS5 counts differ from the exact ones on {len(differ)} of {len(counts)} queries "
              "(a phrase of bigrams also matches across punctuation; fragments are prefixes only)")

        if args.check_size and args.check_size < len(documents):
            check = documents[: args.check_size]
            check_index = SearchIndex(str(work / "check-index"), cache_size=0)
            check_index.rebuild(check)
        else:
            check, check_index = documents, index
        rng = random.Random(7)
        extra = [("lone character", c) for c in LONE_CHARACTERS]
        while len(extra) < 45:  # random substrings of random documents, 1 to 8 characters
            text = rng.choice(check).text
            a = rng.randrange(len(text))
            piece = " ".join(text[a : a + rng.randint(1, 8)].split())
            if TOKEN_RUN.search(piece) and not any(c in piece for c in '"“”「」'):
                extra.append(("substring", f'"{piece}"' if " " in piece else piece))
        started = time.perf_counter()
        recall, precision, wrong = recall_precision(check_index, check, queries + extra)
        print(f"\nrecall {recall:.4f}, precision {precision:.4f} over {len(queries) + len(extra)} "
              f"queries (the set above, lone characters, random substrings) on {len(check)} "
              f"documents against a brute-force substring scan "
              f"({time.perf_counter() - started:.0f} s)" + (f"; wrong: {wrong}" if wrong else ""))
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
