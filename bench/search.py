"""Search benchmark: both backends over HTTP, side by side, alternating; build time; recall.

    python bench/search.py [--size 20000] [--source demo|corpus] [--queries 200] [--repeats 3]
                           [--database-url postgresql+psycopg://…/portal_bench_search]
                           [--reuse-index] [--no-recall] [--times FILE]

1. Loads N items with the demo generator (``portal.services.demo.published.load_demo``) into a
   PostgreSQL database of its own (``portal_bench_search_<source>_<N>`` on the local server by
   default, kept between runs: the demo loader is idempotent), and reads them back as index
   documents (``--source corpus``: the test suite's generated corpus instead).
2. Builds the Whoosh index (in a temporary directory) and the PostgreSQL search table from those
   documents: build time and size of each (``--reuse-index``: the PostgreSQL table a previous run
   built is kept, vacuumed, its count cache emptied).
3. Starts two gunicorn servers on loopback ports with the production ``gunicorn.conf.py`` (the
   same number of workers, warm-started as in production), one per backend
   (``PORTAL_SEARCH_BACKEND``), with the Whoosh result cache off (``bench/search_wsgi.py``).
   Each query of a fixed mixed set (2-character words, place and enterprise names, AND, quoted
   phrases, 文号, credit codes and fragments) is sent to ``/api/v1/search`` on both,
   alternating which goes first, once ("first") and then ``--repeats`` more times (their
   median: "again"), over one keep-alive connection per server.  So both pay the same HTTP,
   Flask and JSON work in the same minutes of a shared machine, and their ratio is fair (the old
   bench timed Whoosh through Flask and FTS5 bare, minutes apart).  A bare request
   (``/bench/ok``) after each search, on the same server, gives the floor every request pays;
   the verdict of issue 18 §1 (p95 ≤ 10× and max ≤ 30× its median: PASS or FAIL) is printed per
   backend, for the first ask and again.
4. Recall and precision of every query (plus lone characters and random substrings) on each
   backend against a brute-force substring scan of the documents.

Prints a report; the index directory is temporary (``--keep`` keeps it).

At 1,000,000 items (PostgreSQL alone; README "Search at scale") the work is split so that each
step is timed by itself and the build is the real command::

    python bench/search.py --size 1000000 --backends postgres --load-only --database-url URL
    PORTAL_DATABASE_URL=URL_demo_1000000 PORTAL_SEARCH_BACKEND=postgres flask --app portal reindex
    python bench/search.py --size 1000000 --backends postgres --reuse --repeats 1 --no-recall \
        --database-url URL

``--load-only`` loads the demo data set as every run does (``load_demo``: the generator's rows
in bulk inserts of 2,000) and stops; the 督办事项 beyond ``--supervision-made`` (1,000, so all
of them up to 100,000 items) are copies of the rows of those made through the services
(``fill_supervision``): made one by one, they run at ~4 a second at 20,000 items and 0.6 at
1,000,000.  ``--reuse`` serves the search table
already in the database, neither loading nor building, and draws the same query set as a full
run (from the table's keys, reading only the sampled documents' texts).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search_index import Document, SearchQuery  # noqa: E402
from search_index.analyzer import TOKEN_RUN, normalize  # noqa: E402
from search_index.backend import SearchBackend  # noqa: E402
from search_index.planner import plan  # noqa: E402

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
HAN_ONLY = re.compile(r"[^\u4e00-\u9fff]")


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


def demo_documents(app, size: int, read: bool = True,
                   made: int = 0) -> list[Document]:
    """Load the demo data set into the bench's database, then read it back as documents
    (``read=False``: load only).  Up to ``made`` 督办事项 (default ``SUPERVISION_MADE``) are made
    through the services, the rest copied (``fill_supervision``)."""
    from unittest import mock

    from portal import database, search_sync
    from portal.services.demo.published import load_demo
    from portal.services.demo.supervision import load_demo_supervision, supervision_count

    with app.app_context():
        database.upgrade()
        started = time.perf_counter()
        # load_demo rebuilds the index at its end; the bench builds it once, timed, below.
        with mock.patch.object(search_sync, "reindex_all", lambda: 0):
            counts = load_demo(size=size)
        # The fifth kind (督办事项) as ``flask demo`` makes them, through the real services: one
        # per 100 items, at least 60 (none added if the kept database has them already); beyond
        # SUPERVISION_MADE of them (above 100,000 items), copies of those (see fill_supervision).
        wanted = supervision_count(size)
        with search_sync.suspended():
            counts["supervision"] = load_demo_supervision(min(wanted, made or SUPERVISION_MADE))
            if wanted > counts["supervision"]:
                counts["supervision"] += fill_supervision(wanted - counts["supervision"])
        print(f"demo data: {counts} in {time.perf_counter() - started:.1f} s")
        if not read:
            return []
        started = time.perf_counter()
        documents = list(search_sync.published_documents())
        print(f"read {len(documents)} published documents in {time.perf_counter() - started:.1f} s")
    return documents


# 督办事项 made one by one through the real services (steps, photos, audit) run at ~4 a second
# at 20,000 items and 0.6 at 1,000,000 on 2 shared cores: the 10,000 of a 1,000,000-item data
# set would take hours.  Up to this many (all of them up to 100,000 items) are made that way;
# the rest are copies of their rows.
SUPERVISION_MADE = 1000
NOTICE_NUMBER = "〕[0-9]+号"


def fill_supervision(extra: int) -> int:
    """Add ``extra`` 督办事项 as copies of the rows made through the services (bulk SQL).

    Copy *n* is the row of the made item *n mod made* (drafts and published ones alike, so the
    share of each stage stays the same), with its own 督办通知书编号: the original's number
    replaced by the copy's position (``西安督〔2026〕1234号（演示）``; positions follow the made
    ones, so numbers stay unique).  Titles, texts, enterprises, dates and stages are the
    original's: at 1,000,000 items the 10,000 督办事项 hold the same 1,000 distinct texts ten
    times over (the made ones already repeat their enterprises and hazards).  The copies have
    no steps, photos or audit entries of their own: they exist for search and listing pages,
    which read the item's row only.  Nothing here goes through the search sync: ``flask
    reindex`` indexes them like any published item.
    """
    import sqlalchemy as sa

    from portal.extensions import db

    table = sa.inspect(db.engine).get_columns("supervision_items")
    columns = [c["name"] for c in table if c["name"] not in ("id", "notice_no")]
    made = db.session.scalar(sa.text("SELECT count(*) FROM supervision_items"))
    listed = ", ".join(columns)
    copied = ", ".join(f"t.{c}" for c in columns)
    db.session.execute(sa.text(
        f"INSERT INTO supervision_items (notice_no, {listed}) "
        f"SELECT regexp_replace(t.notice_no, CAST(:number AS text), '〕' || n || '号'), {copied} "
        "FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS n "
        "JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS position, * "
        "      FROM supervision_items) AS t ON t.position = n % CAST(:made AS int) "
        "ORDER BY n"),
        {"number": NOTICE_NUMBER, "first": made + 1, "last": made + extra, "made": made})
    db.session.commit()
    return extra


class TableDocuments(Sequence):
    """The documents of a search table already built (``--reuse``), read on demand.

    The query set needs the number of documents and a fixed-seed sample of them: only the keys
    are read up front (in ``published_documents``' order, kind by kind, by id, so the sample
    and the query set are the ones a run that reads every document would draw), and a
    document's text when it is asked for.  At 1,000,000 items reading every text back through
    the ORM would take longer than the queries.
    """

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        from portal.models import DISCLOSURE_MODELS

        self.engine = sa.create_engine(url)
        order = list(DISCLOSURE_MODELS)
        with self.engine.connect() as conn:
            self.keys = [(k, i) for k, i in conn.execute(sa.text(
                "SELECT kind, item_id FROM search_documents WHERE NOT deleted "
                "ORDER BY array_position(CAST(:order AS text[]), kind::text), item_id"),
                {"order": order})]
            self.average = conn.scalar(sa.text(
                "SELECT avg(char_length(original)) FROM search_documents WHERE NOT deleted"))

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.read([self.keys[index]])[0]

    def read(self, keys: list[tuple[str, int]]) -> list[Document]:
        import sqlalchemy as sa

        found = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 1000):
                chunk = keys[start:start + 1000]
                rows = conn.execute(sa.text(
                    "SELECT kind, item_id, title, original, event_date, county, sector, withdrawn "
                    "FROM search_documents WHERE (kind, item_id) IN "
                    "(SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:ids AS int[])))"),
                    {"kinds": [k for k, _ in chunk], "ids": [i for _, i in chunk]})
                for kind, item_id, title, text, day, county, sector, withdrawn in rows:
                    found[(kind, item_id)] = Document(
                        kind=kind, id=item_id, title=title, text=text, date=day, county=county,
                        sector=sector, withdrawn=withdrawn)
        return [found[k] for k in keys]

    def of_kind(self, kind: str) -> list[Document]:
        return self.read([k for k in self.keys if k[0] == kind])


def corpus_documents(size: int) -> list[Document]:
    from tests.search_index.corpus import Corpus

    return Corpus(size).documents


# -- queries ----------------------------------------------------------------------------------


# Words of enforcement texts that people type and that occur in most items (the broadest and
# slowest queries); only those in at least COMMON of the sampled items are used.
COMMON_WORDS = ("安全", "应急", "管理", "生产", "行政", "决定", "规定", "人员", "现场", "单位", "公司",
                "检查", "处罚", "依据", "执法", "发现", "事故", "违反", "责令", "罚款", "有限")
COMMON_PHRASES = ("安全生产", "应急管理", "演示数据", "有限公司", "行政处罚", "现场检查", "中华人民",
                  "执法人员", "监督检查", "限期改正", "询问笔录", "检查记录", "处罚决定", "人民政府",
                  "事故调查", "生产经营", "安全管理", "主要负责")
COMPANY_SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司", "公司", "(演示)", "有限公司(演示)")
# What a journalist types: a county or place with a kind of accident, a year, a consequence.
JOURNALIST = ("较大事故", "死亡", "重伤", "直接经济损失", "事故调查报告", "一般事故", "爆炸事故",
              "中毒和窒息", "火灾事故", "挂牌督办", "黑名单", "失信", "2024年", "2025年 死亡",
              "勐海县 爆炸", "景洪市 火灾事故", "勐腊县 死亡", "有限公司 死亡", "罚款 有限公司",
              "勐海县 有限公司", "景洪 罚款 2024")
# Words of 督办事项 (the fifth kind): its name, its stages, its deadlines.
SUPERVISION_WORDS = ("督办", "挂牌督办", "销号", "整改期限", "重大事故隐患 督办", "事故查处",
                     "延期", "勐腊县 督办")
COMMON = 0.3
LATIN_RUN = re.compile(r"[0-9A-Za-z]+")


def document_frequencies(sample: list[Document], grams: int) -> dict[str, int]:
    """In how many of ``sample`` each Han n-gram (``grams`` characters) occurs."""
    from collections import Counter

    from search_index.analyzer import HAN_RUN

    counts: Counter[str] = Counter()
    for d in sample:
        seen: set[str] = set()
        for run in HAN_RUN.findall(normalize(d.text)):
            seen.update(run[i:i + grams] for i in range(len(run) - grams + 1))
        counts.update(seen)
    return counts


def query_set(documents: Sequence[Document], count: int, seed: int = 20261128) -> list[tuple[str, str]]:
    """A fixed mixed set of (category, query) drawn from the documents with a fixed seed.

    Beside the queries the search was tuned on (words, places, names, 文号, codes), the classes
    of issue 18 §1 that nobody tuned for: words and four-character phrases found in most items,
    the generic suffixes of company names, prefixes of credit codes (a county's: 91532822…),
    and the mix a journalist and an enterprise type.  Categories are interleaved, so a smaller
    ``count`` keeps every class.
    """
    rng = random.Random(seed)
    sample = rng.sample(documents, min(len(documents), 3000))
    names, codes, numbers = [], [], []
    for d in sample:
        codes.extend(CREDIT_CODE.findall(d.text))
        numbers.extend(DOCUMENT_NO.findall(d.text))
        if d.kind == "blacklist" and (m := BLACKLIST_TITLE.match(d.title)):
            names.append(m.group(1))
    names, codes, numbers = (sorted(set(x)) for x in (names, codes, numbers))
    bigram_df = document_frequencies(sample, 2)
    phrase_df = document_frequencies(sample, 4)
    common = COMMON * len(sample)
    prefixes = sorted({c[:n] for c in codes for n in (6, 8)} | {c[2:8] for c in codes},
                      key=lambda p: (-sum(c.startswith(p) or c[2:].startswith(p) for c in codes), p))
    bare_names = sorted({re.sub(r"(有限责任公司|股份有限公司|有限公司|公司)?[(（]演示[)）]$", "", n)
                         for n in names})
    classes: list[list[tuple[str, str]]] = []
    classes.append([("2-char word", w) for w in TWO_CHARACTER_WORDS])
    classes.append([("place/sector", p) for p in PLACES])
    classes.append([("enterprise name", n) for n in rng.sample(names, min(25, len(names)))])
    classes.append([("name part + word", f"{n[2:6]} {rng.choice(TWO_CHARACTER_WORDS)}")
                    for n in rng.sample(names, min(10, len(names)))])
    classes.append([("AND", f"{rng.choice(TWO_CHARACTER_WORDS)} {rng.choice(PLACES)}")
                    for _ in range(15)])
    classes.append([("AND", " ".join(rng.sample(TWO_CHARACTER_WORDS, 2))) for _ in range(10)])
    classes.append([("phrase", f'"{p}"') for p in PHRASES])
    classes.append([("文号", n) for n in rng.sample(numbers, min(20, len(numbers)))])
    classes.append([("credit code", c) for c in rng.sample(codes, min(15, len(codes)))])
    fragments = []
    for c in rng.sample(codes, min(10, len(codes))):
        a = rng.randrange(0, 10)
        fragments.append(("credit code fragment", c[a:a + 8]))
    classes.append(fragments)
    # Issue 18 §1: the classes nobody tuned for.
    classes.append([("common word", w) for w in COMMON_WORDS if bigram_df.get(w, 0) >= common])
    broad = [p for p in COMMON_PHRASES if phrase_df.get(p, 0) >= common]
    # …and the commonest four-character windows of the texts themselves, whatever they are.
    windows = [p for p, df in sorted(phrase_df.items(), key=lambda kv: (-kv[1], kv[0]))
               if df >= common and p not in broad][:40]
    broad += rng.sample(windows, min(8, len(windows)))
    classes.append([("common phrase", p) for p in broad])
    classes.append([("company suffix", s) for s in COMPANY_SUFFIXES])
    classes.append([("code prefix", p) for p in prefixes[:12]])
    classes.append([("journalist", q) for q in JOURNALIST])
    enterprise = []
    for n in rng.sample(bare_names, min(12, len(bare_names))):
        brand = HAN_ONLY.sub("", n)[-4:]
        enterprise.append(("enterprise mix", rng.choice((
            f"{brand} 处罚", f"{n} 事故", f"{brand}有限公司", f"{brand} {rng.choice(COMMON_WORDS)}"))))
    classes.append(enterprise)
    # The fifth kind (督办事项): its notice numbers, and what people look for in it.
    supervision = (documents.of_kind("supervision") if isinstance(documents, TableDocuments)
                   else documents)
    notices = sorted({n for d in supervision if d.kind == "supervision"
                      for n in DOCUMENT_NO.findall(d.title + " " + d.text)})
    classes.append([("督办", q) for q in (*SUPERVISION_WORDS,
                                         *rng.sample(notices, min(8, len(notices))))])
    queries: list[tuple[str, str]] = []
    longest = max(len(c) for c in classes)
    for i in range(longest):
        queries.extend(c[i] for c in classes if i < len(c))
    return queries[:count]


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


def recall_precision(index: SearchBackend, documents: list[Document],
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


def bench_database(url: str, size: int, source: str) -> str:
    """The URL of the bench's own database (created if missing): one per size and source."""
    import sqlalchemy as sa

    from tests.databases import sibling_database

    return sibling_database(url, f"{sa.make_url(url).database}_{source}_{size}")


def drop_search_table(url: str) -> None:
    import sqlalchemy as sa

    from search_index.postgres import TABLE

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
    engine.dispose()


def search_rows(url: str) -> int:
    """Rows of the search table (0: none, or no table)."""
    import sqlalchemy as sa

    from search_index.postgres import TABLE

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        exists = conn.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None
        rows = conn.scalar(sa.text(f"SELECT count(*) FROM {TABLE}")) if exists else 0
    engine.dispose()
    return int(rows or 0)


def vacuum_search_table(url: str) -> None:
    """VACUUM (ANALYZE) the reused table, as a rebuild ends (statistics, visibility map), and
    forget the counts a previous run kept (each query's first ask must count)."""
    import sqlalchemy as sa

    from search_index.postgres import TABLE

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"VACUUM (ANALYZE) {TABLE}"))
        if conn.scalar(sa.text("SELECT to_regclass('search_counts')")) is not None:
            conn.execute(sa.text("DELETE FROM search_counts"))
    engine.dispose()


def table_size(url: str) -> dict[str, int]:
    """Bytes of the search table: rows, TOAST, each index; and of the whole database."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        sizes = {
            "table": conn.scalar(sa.text("SELECT pg_table_size('search_documents')")),
            "indexes": conn.scalar(sa.text("SELECT pg_indexes_size('search_documents')")),
            "database": conn.scalar(sa.text("SELECT pg_database_size(current_database())")),
        }
        for name, size in conn.execute(sa.text(
                "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = to_regclass('search_documents')")):
            sizes[name] = size
    engine.dispose()
    return {k: int(v or 0) for k, v in sizes.items()}


def worker_memory(master: int) -> list[tuple[int, int, int]]:
    """(pid, RSS, PSS) in bytes of each worker of a gunicorn master (``smaps_rollup``)."""
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    found = []
    for pid in map(int, children):
        fields = {}
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
                key, value = line.split(":", 1)
                fields[key] = int(value.split()[0]) * 1024
        except OSError:
            continue
        found.append((pid, fields.get("Rss", 0), fields.get("Pss", 0)))
    return found


class Server:
    """gunicorn with gunicorn.conf.py on a free loopback port (``BENCH_PORT`` and the ports
    after it, when set), one search backend."""

    started = 0  # servers started by this process (the offset from BENCH_PORT)

    def __init__(self, backend: str, env: dict[str, str], workers: int, log: Path) -> None:
        import socket
        import subprocess

        if os.environ.get("BENCH_PORT"):
            # A fixed range (machines where each user has its own ports): BENCH_PORT, then
            # the next port for the next server.
            self.port = int(os.environ["BENCH_PORT"]) + Server.started
        else:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        Server.started += 1
        self.backend = backend
        self.log = log
        env = os.environ | env | {
            "PORTAL_SEARCH_BACKEND": backend,
            "PORTAL_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "PORTAL_ACCESS_LOG": "/dev/null",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--error-logfile", str(log), "bench.search_wsgi:app"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.connection = None
        deadline = time.monotonic() + 120
        while True:
            try:
                self.get("/bench/ok")
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{backend} server did not start; see {log}") from None
                self.connection = None
                time.sleep(0.2)
        # The first worker answers while the others may still be warming up (2-3 s of CPU
        # each, post_worker_init): measured then, the first queries paid for their warm-up
        # (15-120 ms for the first of the set, on a 2-core machine), not for the search.
        while (log.exists() and log.read_text(errors="replace").count(" warm: ") < workers
               and time.monotonic() < deadline and self.process.poll() is None):
            time.sleep(0.2)

    def get(self, path: str) -> tuple[int, bytes, float]:
        """(status, body, seconds) of a GET on the keep-alive connection; a connection the
        server closed meanwhile (gunicorn's keep-alive timeout) is reopened, untimed."""
        import http.client

        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.connection.connect()
            try:
                started = time.perf_counter()
                self.connection.request("GET", path)
                response = self.connection.getresponse()
                body = response.read()
                return response.status, body, time.perf_counter() - started
            except (http.client.RemoteDisconnected, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.process.terminate()
        self.process.wait(timeout=60)


P95_GOAL, MAX_GOAL = 10.0, 30.0  # issue 18 §1: multiples of a bare request's median


def ratio_verdict(name: str, label: str, searches: list[float], bare: list[float]) -> str:
    """One line: the searches' p95 and max as multiples of the bare requests' median on the
    same server, and PASS or FAIL against ``P95_GOAL`` and ``MAX_GOAL``."""
    floor = statistics.median(bare)
    t = Timing("", searches)
    p95, worst = t.p(0.95) / floor, t.p(1.0) / floor
    verdict = "PASS" if p95 <= P95_GOAL and worst <= MAX_GOAL else "FAIL"
    return (f"{name} ({label}) / bare p50 {floor * 1000:.2f} ms: p95 {p95:.1f}× (goal "
            f"≤ {P95_GOAL:.0f}×)   max {worst:.1f}× (goal ≤ {MAX_GOAL:.0f}×)   {verdict}")


def search_path(q: str) -> str:
    from urllib.parse import quote

    return "/api/v1/search?q=" + quote(q)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--source", choices=("demo", "corpus"), default="demo")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_search",
                        help="the PostgreSQL server and base name of the bench's database")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--backends", default="whoosh,postgres",
                        help="which to build and serve (one alone: no comparison)")
    parser.add_argument("--times", type=Path,
                        help="write every query's times and count to this file (JSON lines)")
    parser.add_argument("--reuse-index", action="store_true",
                        help="keep the PostgreSQL search table a previous run built in the bench's "
                             "database (no drop, no rebuild: a 100,000-item build takes minutes); "
                             "the table is still migrated (upgrade) and vacuumed")
    parser.add_argument("--no-recall", action="store_true",
                        help="skip the brute-force recall check (slow at large sizes)")
    parser.add_argument("--load-only", action="store_true",
                        help="load the demo data set into the bench's database and stop (then "
                             "time `flask reindex` on it, and come back with --reuse)")
    parser.add_argument("--supervision-made", type=int, default=SUPERVISION_MADE,
                        help="督办事项 made through the services; beyond, copies of their rows")
    parser.add_argument("--reuse", action="store_true",
                        help="PostgreSQL alone: serve the search table already built in the "
                             "bench's database (by `flask reindex`), neither load nor build")
    args = parser.parse_args()
    if args.reuse and args.backends != "postgres":
        parser.error("--reuse serves the PostgreSQL search table alone: add --backends postgres")
    if args.reuse and not args.no_recall:
        parser.error("--reuse needs --no-recall (the check reads every document)")
    if (args.reuse or args.load_only) and args.source != "demo":
        parser.error("--reuse and --load-only are for the demo data set")

    from portal import create_app

    work = Path(tempfile.mkdtemp(prefix="search-bench-"))
    print(f"work directory: {work}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
    database_url = bench_database(args.database_url, args.size, args.source)
    env = {
        "PORTAL_ENV": "test",
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_INDEX_DIR": str(work / "index"),
        "PORTAL_RATELIMIT_SEARCH": "100000000 per minute",
    }
    settings = {"env": "test", "database_url": database_url, "index_dir": str(work / "index"),
                "ratelimit_search": "100000000 per minute"}
    whoosh_app = create_app(settings | {"search_backend": "whoosh"})
    postgres_app = create_app(settings | {"search_backend": "postgres"})
    servers: list[Server] = []
    try:
        if args.load_only:
            demo_documents(whoosh_app, args.size, read=False, made=args.supervision_made)
            sizes = table_size(database_url)
            print(f"whole database {sizes['database'] / 2**20:.0f} MB; "
                  f"load average at the end: {os.getloadavg()}")
            return
        if args.reuse:
            documents = TableDocuments(database_url)
            if not documents:
                raise SystemExit(f"no search table to reuse in {database_url}: run "
                                 "`flask --app portal reindex` with PORTAL_SEARCH_BACKEND=postgres")
        elif args.source == "demo":
            documents = demo_documents(whoosh_app, args.size, made=args.supervision_made)
        else:
            from portal import database

            with whoosh_app.app_context():
                database.upgrade()
            documents = corpus_documents(args.size)
        average = (documents.average if isinstance(documents, TableDocuments)
                   else sum(len(d.text) for d in documents) / len(documents))
        print(f"{len(documents)} documents, {average:.0f} characters on average")

        whoosh = whoosh_app.extensions["search_index"]
        postgres = postgres_app.extensions["search_index"]
        chosen = args.backends.split(",")
        built = [(label, index) for label, index, name in (
            ("Whoosh", whoosh, "whoosh"), ("PostgreSQL", postgres, "postgres")) if name in chosen]
        reused = args.reuse_index and search_rows(database_url) > 0
        if args.reuse:
            sizes = table_size(database_url)
            print("PostgreSQL search table reused: " + ", ".join(
                f"{k} {v / 2**20:.0f} MB" for k, v in sizes.items()))
            built = []  # nothing to build
        elif reused:
            print(f"PostgreSQL search table reused: {search_rows(database_url)} rows (no build)")
            vacuum_search_table(database_url)
        else:
            drop_search_table(database_url)  # a first build, not a rebuild over old rows
        for label, index in built:
            if reused and index is postgres:
                continue
            started = time.perf_counter()
            index.rebuild(documents)
            build = time.perf_counter() - started
            if index is whoosh:
                whoosh_bytes, side_bytes = size_of(Path(whoosh.directory))
                size = (f"{(whoosh_bytes + side_bytes) / 2**20:.0f} MB = index "
                        f"{whoosh_bytes / 2**20:.0f} MB + side file {side_bytes / 2**20:.0f} MB")
            else:
                sizes = table_size(database_url)
                size = (f"{(sizes['table'] + sizes['indexes']) / 2**20:.0f} MB = table and TOAST "
                        f"{sizes['table'] / 2**20:.0f} MB + indexes "
                        f"{sizes['indexes'] / 2**20:.0f} MB ("
                        + ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in sizes.items()
                                    if k.startswith("search_documents"))
                        + f"); whole database {sizes['database'] / 2**20:.0f} MB")
            print(f"{label} build: {build:.1f} s ({len(documents) / build:.0f} documents/s); "
                  f"size {size}")
        whoosh.close()
        postgres.close()

        queries = query_set(documents, args.queries)
        by_category: dict[str, int] = {}
        for category, _ in queries:
            by_category[category] = by_category.get(category, 0) + 1
        print(f"{len(queries)} queries: " + ", ".join(f"{k} {v}" for k, v in by_category.items()))

        for backend in chosen:
            started = time.perf_counter()
            servers.append(Server(backend, env, args.workers, work / f"{backend}.log"))
            print(f"{backend} server up (warm start) in {time.perf_counter() - started:.1f} s, "
                  f"{args.workers} workers")
        names = [s.backend for s in servers]
        first: dict[str, dict[str, list[float]]] = {n: {} for n in names}
        again: dict[str, dict[str, list[float]]] = {n: {} for n in names}
        floor: dict[str, list[float]] = {n: [] for n in names}
        counts: dict[str, dict[str, int]] = {n: {} for n in names}

        def timed(server: Server, path: str) -> tuple[float, bytes]:
            status, body, elapsed = server.get(path)
            assert status == 200, (server.backend, path, status, body[:200])
            return elapsed, body

        import json

        for n, (category, q) in enumerate(queries):
            path = search_path(q)
            repeats: dict[str, list[float]] = {name: [] for name in names}
            for rep in range(1 + args.repeats):
                # Alternate which server goes first, so neither always follows the other.
                order = servers if (n + rep) % 2 == 0 else servers[::-1]
                for server in order:
                    elapsed, body = timed(server, path)
                    if rep == 0:
                        first[server.backend].setdefault(category, []).append(elapsed)
                        counts[server.backend][q] = json.loads(body)["count"]
                    else:
                        repeats[server.backend].append(elapsed)
                    floor[server.backend].append(timed(server, "/bench/ok")[0])
            for name in names:
                again[name].setdefault(category, []).append(statistics.median(repeats[name]))

        def flat(times: dict[str, list[float]]) -> list[float]:
            return [t for ts in times.values() for t in ts]

        print(f"\n/api/v1/search over HTTP (loopback, keep-alive), result cache off, "
              f"{args.workers} gunicorn workers per backend, alternating:")
        for label, table in (("first", first), ("again", again)):
            for name in names:
                print("  " + Timing(f"{name}, {label}", flat(table[name])).line())
        for name in names:
            print("  " + Timing(f"{name}, bare /bench/ok", floor[name]).line())
        # Issue 18 §1: p95 ≤ 10× and max ≤ 30× the median bare request on the same server.
        for label, table in (("first", first), ("again", again)):
            for name in names:
                print("  " + ratio_verdict(name, label, flat(table[name]), floor[name]))
            if len(names) < 2:
                continue
            w, p = Timing("", flat(table["whoosh"])), Timing("", flat(table["postgres"]))
            print(f"  ratio PostgreSQL/Whoosh ({label}): p50 {p.p(0.5) / w.p(0.5):.2f}   "
                  f"p95 {p.p(0.95) / w.p(0.95):.2f}   max {p.p(1.0) / w.p(1.0):.2f}")
        print("\n  by category, again (ms)   n" + "".join(
            f" | {name} p50    p95    max" for name in names))
        for category, times in again[names[0]].items():
            cells = []
            for name in names:
                t = Timing(category, again[name][category])
                cells.append(f" | {t.p(0.5) * 1000:7.1f} {t.p(0.95) * 1000:6.1f} "
                             f"{t.p(1.0) * 1000:6.1f}")
            print(f"  {category:<24} {len(times):3}" + "".join(cells))
        for name in names:
            for label, table in (("first", first), ("again", again)):
                slowest = sorted(
                    (t, category, q)
                    for category, times in table[name].items()
                    for t, (c, q) in zip(times, [x for x in queries if x[0] == category],
                                         strict=True)
                )
                print(f"  slowest {name} queries ({label}):")
                for elapsed, category, q in slowest[-5:]:
                    print(f"    {elapsed * 1000:7.1f} ms  {category:<22} {q}  "
                          f"({counts[name][q]} hits)")
        if args.times:
            with args.times.open("w", encoding="utf-8") as out:
                for name in names:
                    for category in first[name]:
                        asked = [q for c, q in queries if c == category]
                        for q, once, median in zip(asked, first[name][category],
                                                   again[name][category], strict=True):
                            out.write(json.dumps({
                                "backend": name, "category": category, "q": q,
                                "first_ms": round(once * 1000, 2),
                                "again_ms": round(median * 1000, 2), "count": counts[name][q]},
                                ensure_ascii=False) + "\n")
        for server in servers:
            memory = worker_memory(server.process.pid)
            print(f"  memory of each {server.backend} worker after the queries: "
                  + "; ".join(f"RSS {rss / 2**20:.0f} MB, PSS {pss / 2**20:.0f} MB"
                              for _, rss, pss in memory))
        if len(names) == 2:
            differ = [q for q in counts["whoosh"]
                      if counts["whoosh"][q] != counts["postgres"][q]]
            print(f"  counts differ between the backends on {len(differ)} of {len(queries)} "
                  "queries" + (f": {differ}" if differ else ""))
        for server in servers:
            server.stop()
        servers = []

        rng = random.Random(7)
        extra = [("lone character", c) for c in LONE_CHARACTERS]
        while len(extra) < 45:  # random substrings of random documents, 1 to 8 characters
            text = rng.choice(documents).text
            a = rng.randrange(len(text))
            piece = " ".join(text[a : a + rng.randint(1, 8)].split())
            if TOKEN_RUN.search(piece) and not any(c in piece for c in '"“”「」'):
                extra.append(("substring", f'"{piece}"' if " " in piece else piece))
        for label, index in ([] if args.no_recall else built):
            started = time.perf_counter()
            recall, precision, wrong = recall_precision(index, documents, queries + extra)
            print(f"\n{label}: recall {recall:.4f}, precision {precision:.4f} over "
                  f"{len(queries) + len(extra)} queries (the set above, lone characters, random "
                  f"substrings) on {len(documents)} documents against a brute-force substring "
                  f"scan ({time.perf_counter() - started:.0f} s)"
                  + (f"; wrong: {wrong}" if wrong else ""))
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        for server in servers:
            server.stop()
        whoosh_app.extensions["search_index"].close()
        postgres_app.extensions["search_index"].close()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
