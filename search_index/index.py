"""One Whoosh index over the four kinds, searched by a query planner (DESIGN.md §7).

Search, per segment:

1. Conditions (``planner``) are resolved to posting lists; the rarest (by the reader's document
   frequencies) gives the candidates, and rarer conditions of the other terms narrow them while
   reading a list costs less than confirming what it would exclude (``*_COST``).
2. Each candidate is confirmed by an exact substring test of every term on its normalised text
   (the memory-mapped side file, ``store``); the term frequencies found there score it (BM25,
   plus a bonus when the term is in the title).
3. A query of one two-character Han word is answered from its posting list alone: a bigram's
   posting list is exactly the set of documents containing it, with its frequency.
4. When no condition is selective (one common character, a short fragment of digits, a phrase
   in nearly every document) the segment's documents are scanned: bounded by their number.

Counts are exact: they count confirmed live documents, never ``doc_frequency`` (which still counts
deleted and replaced documents until their segment is merged).  Only public Whoosh APIs are used
(``postings``, ``iter_field``, ``iter_prefix``, ``doc_frequency``, ``column_reader``, matcher
``id``/``weight``/``next``/``skip_to``/``all_ids``).

One process holds one searcher and opens a new one when the index generation changes (another
process may have written) or when a rebuild swapped in a new generation directory.  Writers wait
for the lock up to a timeout, then raise ``IndexBusy``; a rebuild builds beside the live index
and blocks writers only while it replays the updates made meanwhile and swaps (see ``CURRENT``).
"""

from __future__ import annotations

import fcntl
import heapq
import json
import math
import os
import re
import shutil
import struct
import threading
import time
import weakref
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.filedb.filestore import FileStorage
from whoosh.index import IndexError as WhooshIndexError
from whoosh.index import LockError
from whoosh.reading import IndexReader, TermNotFound
from whoosh.searching import Searcher

from search_index import planner
from search_index.analyzer import normalize as _normalize
from search_index.schema import GRAMS, KEY, POINTER, TRIGRAMS, WORDS, make_schema
from search_index.snippets import highlight, snippet
from search_index.store import (
    KIND_CODES,
    DocTable,
    SideFiles,
    SideWriter,
    encode,
    file_numbers,
)
from search_index.types import (
    KINDS,
    SORTS,
    Document,
    Hit,
    IndexBusy,
    QueryInvalid,
    SearchQuery,
    SearchResults,
    SearchUnavailable,
)

# BM25 (Robertson/Spärck Jones), on exact substring frequencies; document length in bytes.
K1 = 1.2
B = 0.75
TITLE_BOOST = 1.5  # a term in the title counts as much as this many extra idf units
# A lexicon pattern matching more index terms than this is too broad to narrow by.
MAX_EXPANSION = 2000
# Stop narrowing by further posting lists once this few candidates remain: confirming them on
# the text is cheaper than reading another list.
CONFIRM_DIRECTLY = 64
# Relative costs (measured on this machine, in µs) that choose between reading postings and
# confirming candidates on the text: a term lookup in Whoosh's hash file, one posting read
# through the public matcher API, one skip_to, one confirmation (slice, count, score).
LOOKUP_COST = 40.0
POSTING_COST = 1.0
SKIP_COST = 3.0
CONFIRM_COST = 1.5
MAX_PAGE = 1000
MAX_PER_PAGE = 100
# A ranked hit: (key, key, -leaf, -document number), larger is better.  The keys are (score,
# date) for relevance and (date, score) for date order; ties fall back to the position in the
# index, which is stable while the index does not change, so paging walks every hit once.
_Ranked = tuple[float, float, int, int]
PREFETCH = 1000  # with the LRU on, rank at least this many: the next pages come from the LRU
CACHE_HITS = 300_000  # at most this many ranked hits in the LRU (~30 MB)


class _TopK:
    """The best ``k`` hits (all of them when ``k`` is None), and how many there were.

    The search loops count every hit but build an entry only for a hit that can still enter
    (its first key at least ``floor``): most hits of a broad query never cost a tuple.
    """

    __slots__ = ("k", "heap", "count")

    def __init__(self, k: int | None) -> None:
        self.k = k
        self.heap: list[_Ranked] = []
        self.count = 0

    @property
    def floor(self) -> float:
        heap = self.heap
        return heap[0][0] if self.k is not None and len(heap) >= self.k else -math.inf

    def offer(self, entry: _Ranked) -> float:
        """Keep ``entry`` if it is among the best; returns the new floor."""
        heap = self.heap
        if self.k is None:
            heap.append(entry)
            return -math.inf
        if len(heap) < self.k:
            heapq.heappush(heap, entry)
            return heap[0][0] if len(heap) == self.k else -math.inf
        if entry > heap[0]:
            heapq.heapreplace(heap, entry)
        return heap[0][0]

    def ranked(self) -> list[_Ranked]:
        return sorted(self.heap, reverse=True)


@dataclass
class Condition:
    """Documents having at least one of ``terms`` in ``field`` (one term: a posting list)."""

    field: str
    terms: list[bytes]
    df: int  # sum of document frequencies (counts deleted documents: only for planning)
    term: int = 0  # which query term it belongs to


class Lexicon:
    """All terms of one field of one segment, joined, to find terms by a part of them."""

    def __init__(self, reader: IndexReader, field_name: str) -> None:
        terms: list[bytes] = []
        dfs = array("q")
        for term, info in reader.iter_field(field_name):
            terms.append(term)
            dfs.append(info.doc_frequency())
        self.terms = terms
        self.dfs = dfs
        self.joined = b"\n" + b"\n".join(terms) + b"\n"
        starts = array("q")
        pos = 1
        for term in terms:
            starts.append(pos)
            pos += len(term) + 1
        self.starts = starts

    def matching(self, fragment: bytes, mode: str, limit: int) -> list[int] | None:
        """Indexes of the terms that end with (``suffix``) or contain (``infix``) ``fragment``;
        None when more than ``limit``."""
        needle = fragment + b"\n" if mode == "suffix" else fragment
        found: list[int] = []
        joined, starts = self.joined, self.starts
        pos = joined.find(needle)
        while pos != -1:
            index = bisect_right(starts, pos) - 1
            found.append(index)
            if len(found) > limit:
                return None
            # next search from the start of the following term: one hit per term
            pos = joined.find(needle, starts[index + 1] if index + 1 < len(starts) else len(joined))
        return found


class LeafState:
    """What a process keeps per segment, valid as long as the segment: its doc table, lexicons,
    document frequencies asked so far, and its live documents (per deletion count)."""

    def __init__(self, table: DocTable) -> None:
        self.table = table
        self.lexicons: dict[str, Lexicon] = {}
        self.dfs: dict[tuple[str, bytes], int] = {}
        self.live: tuple[int, list[int]] | None = None


class _Leaf:
    """A segment as one search sees it: its reader and its cached state."""

    def __init__(self, reader: IndexReader, state: LeafState) -> None:
        self.reader = reader
        self.state = state
        self.table = state.table

    def df(self, field_name: str, term: bytes) -> int:
        # A term lookup in Whoosh's hash file costs ~20 µs; the answer never changes for a segment.
        key = (field_name, term)
        dfs = self.state.dfs
        value = dfs.get(key)
        if value is None:
            if len(dfs) > 100_000:
                dfs.clear()
            value = dfs[key] = self.reader.doc_frequency(field_name, term)
        return value

    def lexicon(self, field_name: str) -> Lexicon:
        lexicon = self.state.lexicons.get(field_name)
        if lexicon is None:
            lexicon = self.state.lexicons[field_name] = Lexicon(self.reader, field_name)
        return lexicon

    def live(self) -> list[int]:
        reader = self.reader
        deleted = reader.doc_count_all() - reader.doc_count()
        if self.state.live is None or self.state.live[0] != deleted:
            self.state.live = (deleted, list(reader.all_doc_ids()))
        return self.state.live[1]

    def ids(self, condition: Condition) -> list[int]:
        """Live documents having any of the condition's terms, ascending."""
        lists = []
        for term in condition.terms:
            try:
                lists.append(self.reader.postings(condition.field, term).all_ids())
            except TermNotFound:
                continue
        if len(lists) == 1:
            return list(lists[0])  # a posting list is in document order already
        ids: set[int] = set()
        for found in lists:
            ids.update(found)
        return sorted(ids)


class _Open:
    """The searcher a SearchIndex holds open."""

    def __init__(self) -> None:
        self.searcher: Searcher | None = None

    def close(self) -> None:
        if self.searcher is not None:
            with _suppress_oserror():
                self.searcher.close()
        self.searcher = None


# The layout of the index directory (issue 9 §3).  Each rebuild writes a new generation directory
# beside the live one and swaps ``CURRENT`` to it with one rename; updates made meanwhile go to
# the live generation as usual *and* to ``JOURNAL``, which the rebuild replays into the new
# generation under the write lock just before the swap.  So no update waits for a rebuild (only
# for the replay of what happened during it), and nothing published goes missing.
CURRENT = "CURRENT"  # the name of the live generation directory
WRITE_LOCK = "WRITE.lock"  # held by every update, and by a rebuild while it replays and swaps
REBUILD_LOCK = "REBUILD.lock"  # one rebuild at a time
JOURNAL = "JOURNAL"  # exists while a rebuild runs: the updates made since it began, JSON lines
GENERATION_PATTERN = re.compile(r"^gen-(\d{6})$")
# generation() is the directory's number times this plus Whoosh's generation inside it, so it
# only grows, across rebuilds too.
GENERATION_STRIDE = 10**9
# Files of an index written before generations existed (Whoosh's and the side files), removed
# by the first rebuild.
LEGACY_FILE = re.compile(r"^(_?MAIN_.*|text-\d{6}\.dat)$")
LOCK_POLL = 0.02  # seconds between attempts to take a file lock


class _FileLock:
    """An exclusive ``flock`` on a file, waited for up to ``timeout`` seconds (then ``IndexBusy``).

    ``flock`` locks belong to the open file, so two threads of one process exclude each other as
    two processes do, and the kernel releases the lock when a process dies.
    """

    def __init__(self, path: str, timeout: float, busy: str) -> None:
        self.path = path
        self.timeout = timeout
        self.busy = busy
        self._file: Any = None

    def __enter__(self) -> _FileLock:
        f = open(self.path, "a")  # noqa: SIM115 (closed in __exit__)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    f.close()
                    raise IndexBusy(self.busy) from None
                time.sleep(LOCK_POLL)
        self._file = f
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()
        self._file = None


class SearchIndex:
    """The search index in ``directory`` (created on first write): generations of a Whoosh
    index with their side files, the pointer to the live one, a journal during rebuilds."""

    def __init__(
        self,
        directory: str,
        *,
        write_timeout: float = 10.0,
        rebuild_timeout: float = 120.0,
        limitmb: int = 256,
        cache_size: int = 256,
    ) -> None:
        self.root = str(directory)
        self.write_timeout = write_timeout
        self.rebuild_timeout = rebuild_timeout
        self.limitmb = limitmb
        self._lock = threading.RLock()
        self._pid: int | None = None
        self._ix: whoosh_index.Index | None = None
        # The open searcher lives in a holder that a finalizer closes when this object is
        # collected: its files are closed even when nobody calls close().
        self._open = _Open()
        weakref.finalize(self, self._open.close)
        self._files: SideFiles | None = None
        self._states: dict[str, LeafState] = {}
        self._seen: tuple[int, int] | None = None  # CURRENT's (inode, mtime) when opened
        self._number = 0  # the open generation's directory number
        self.cache_size = cache_size
        self._results: OrderedDict[tuple[Any, ...], tuple[int, list[_Ranked]]] = OrderedDict()
        self._cached = 0  # ranked hits held by the LRU
        self.opened = 0  # searchers this process has opened (warm start is checked by it)

    # -- the directory layout -----------------------------------------------------------------

    @property
    def directory(self) -> str:
        """The live generation's directory (the root itself before any index exists)."""
        name = self._pointer()
        return os.path.join(self.root, name) if name else self.root

    def _pointer(self) -> str | None:
        """The name of the live generation, None before the first index."""
        try:
            with open(os.path.join(self.root, CURRENT), encoding="ascii") as f:
                name = f.read().strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise SearchUnavailable(f"the search index pointer cannot be read: {exc}") from exc
        if not GENERATION_PATTERN.match(name):
            raise SearchUnavailable("the search index pointer is damaged: rebuild it with "
                                    "`flask --app portal reindex`")
        return name

    def _stamp(self) -> tuple[int, int] | None:
        """CURRENT's identity: ``os.replace`` gives it a new inode at each swap."""
        try:
            st = os.stat(os.path.join(self.root, CURRENT))
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _make_root(self) -> str:
        # Owner only: the index holds the published texts, but nothing else should write there.
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        return self.root

    def _refuse_legacy(self) -> None:
        """An index written by a version without generations must be rebuilt first."""
        if os.path.isdir(self.root) and FileStorage(self.root).index_exists():
            raise SearchUnavailable(
                "the search index was written by another version of the portal: "
                "rebuild it with `flask --app portal reindex`"
            )

    def _generations(self) -> list[int]:
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(int(m.group(1)) for n in names if (m := GENERATION_PATTERN.match(n)))

    def _create_generation(self) -> str:
        """A new, empty generation directory with an empty index; returns its name."""
        number = max(self._generations(), default=0) + 1
        while True:
            name = f"gen-{number:06d}"
            try:
                os.mkdir(os.path.join(self.root, name), mode=0o700)
                break
            except FileExistsError:
                number += 1
        FileStorage(os.path.join(self.root, name)).create_index(make_schema())
        return name

    def _swap(self, name: str) -> None:
        """Make ``name`` the live generation: one atomic rename, seen by every process."""
        temporary = os.path.join(self.root, f"{CURRENT}.{os.getpid()}.{threading.get_ident()}")
        with open(temporary, "w", encoding="ascii") as f:
            f.write(name + "\n")
        os.replace(temporary, os.path.join(self.root, CURRENT))

    def _clean(self, keep: str) -> None:
        """Remove every generation but ``keep``, and the files of a pre-generation index.

        Readers in other processes that still have old files open or mapped keep reading them
        (POSIX unlink semantics) until they notice the swap and reopen.
        """
        for number in self._generations():
            name = f"gen-{number:06d}"
            if name != keep:
                shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)
        for entry in os.listdir(self.root):
            if LEGACY_FILE.match(entry):
                with _suppress_oserror():
                    os.unlink(os.path.join(self.root, entry))

    def _write_lock(self, timeout: float | None = None) -> _FileLock:
        return _FileLock(os.path.join(self._make_root(), WRITE_LOCK),
                         self.write_timeout if timeout is None else timeout,
                         "another process is writing the search index")

    # -- opening and refreshing ---------------------------------------------------------------

    def _check_process(self) -> None:
        # After a fork (gunicorn --preload) the child must not share file positions with its
        # parent: it opens its own (closing the inherited copies does not affect the parent).
        pid = os.getpid()
        if self._pid != pid:
            self._pid = pid
            self._reset()

    def _reset(self) -> None:
        self._open.close()
        self._ix = None
        self._files = None
        self._states = {}
        self._seen = None
        self._number = 0
        self._results.clear()
        self._cached = 0

    def _current(self) -> Searcher | None:
        """The process's searcher on the live generation, refreshed if another writer committed
        since, reopened if a rebuild swapped in another generation."""
        self._check_process()
        stamp = self._stamp()
        if stamp is None:
            self._reset()
            self._refuse_legacy()
            return None
        if self._open.searcher is not None and stamp != self._seen:
            self._reset()  # a rebuild swapped generations: nothing of the old one is kept
        if self._open.searcher is None:
            name = self._pointer()
            if name is None:
                return None
            directory = os.path.join(self.root, name)
            storage = FileStorage(directory)
            if not storage.index_exists():
                raise SearchUnavailable(f"the live search index {name} is missing: rebuild it "
                                        "with `flask --app portal reindex`")
            self._ix = storage.open_index()
            self._open.searcher = self._ix.searcher()
            self._files = SideFiles(directory)
            self._seen = stamp
            self._number = int(name[4:])
            self.opened += 1
            self._check_schema()
        elif not self._open.searcher.up_to_date():
            # A new searcher on the latest generation.  Whoosh 2.7's own refresh() means to
            # reuse unchanged segment readers but reopens them all anyway (its reuse map is
            # keyed by generation, looked up by segment id) and leaves some files unclosed;
            # what is worth keeping per segment is kept here (LeafState).
            old = self._open.searcher
            assert self._ix is not None
            self._open.searcher = self._ix.searcher()
            old.close()
            self._check_schema()
        return self._open.searcher

    def _check_schema(self) -> None:
        searcher = self._open.searcher
        if searcher is not None and not _compatible(searcher.schema):
            self._reset()
            raise SearchUnavailable(
                "the search index was written by another version of the portal: "
                "rebuild it with `flask --app portal reindex`"
            )

    def _leaves(self, searcher: Searcher) -> list[_Leaf]:
        assert self._files is not None
        if searcher.doc_count_all() == 0:
            return []
        leaves: list[_Leaf] = []
        states: dict[str, LeafState] = {}
        for reader, _offset in searcher.reader().leaf_readers():
            segment_id = reader.segment().segment_id()
            state = self._states.get(segment_id)
            if state is None:
                pointers = list(reader.column_reader(POINTER))
                state = LeafState(DocTable(pointers, self._files))
            states[segment_id] = state
            leaves.append(_Leaf(reader, state))
        if states.keys() != self._states.keys():
            self._states = states
            self._files.forget({n for s in states.values() for n in s.table.files})
        return leaves

    def generation(self) -> int:
        """The generation of the index this process reads (-1 before any index exists); it
        grows with every update and every rebuild."""
        with self._lock:
            searcher = self._current()
            if searcher is None:
                return -1
            return self._number * GENERATION_STRIDE + searcher.reader().generation()

    def warm(self, queries: Iterable[str] = ("矿山", "矿", "12号", "ma")) -> int:
        """Open the searcher and fill what a search caches (segment tables, lexicons, term
        lookups) by running ``queries``, so the first visitor does not pay for it.  Returns the
        generation opened (-1: no index yet)."""
        for q in queries:
            self.search(SearchQuery(q=q))
        self._results.clear()  # warm the index, not the results
        self._cached = 0
        return self.generation()

    def close(self) -> None:
        """Close the searcher and drop the maps (the next search opens them again)."""
        with self._lock:
            self._reset()

    # -- writing ------------------------------------------------------------------------------

    @contextmanager
    def _live_writer(self) -> Iterator[tuple[writing.SegmentWriter, str]]:
        """A Whoosh writer on the live generation (created if there is none) and its directory,
        under the write lock.

        Writing does not hold the process lock: searches in other threads go on meanwhile (on
        the previous generation)."""
        with self._lock:
            self._check_process()
        with self._write_lock():
            name = self._pointer()
            if name is None:
                self._refuse_legacy()
                name = self._create_generation()
                self._swap(name)
            directory = os.path.join(self.root, name)
            ix = FileStorage(directory).open_index()
            if not _compatible(ix.schema):
                raise SearchUnavailable(
                    "the search index was written by another version of the portal: "
                    "rebuild it with `flask --app portal reindex`"
                )
            try:
                writer = self._whoosh_writer(ix, self.write_timeout)
            except LockError as exc:
                raise IndexBusy("another process is writing the search index") from exc
            try:
                yield writer, directory
            except BaseException:
                writer.cancel()
                raise

    def _whoosh_writer(self, ix: whoosh_index.Index, timeout: float) -> writing.SegmentWriter:
        # compound=False: a compound segment's postings are copied into each reading process's
        # heap; separate files are memory-mapped and shared (DESIGN.md §7).
        return ix.writer(timeout=timeout, delay=0.05, compound=False, limitmb=self.limitmb)

    def rebuild(self, documents: Iterable[Document]) -> int:
        """Replace the whole index with ``documents``; returns how many.

        The new index is built in a new generation directory while the live one keeps serving
        and taking updates; those updates are journalled and replayed into the new one, which
        then replaces the live one in one rename.  Readers see the old index until the swap and
        the new one after it, never a part.  Only one rebuild runs at a time (``IndexBusy``
        after ``rebuild_timeout``).
        """
        root = self._make_root()
        journal = os.path.join(root, JOURNAL)
        with _FileLock(os.path.join(root, REBUILD_LOCK), self.rebuild_timeout,
                       "another process is rebuilding the search index"):
            # From here on every update is also journalled; the documents are read after it,
            # so an update either is in what they read or in the journal (or both).
            with self._write_lock():
                open(journal, "w").close()
                name = self._create_generation()
            directory = os.path.join(root, name)
            try:
                ix = FileStorage(directory).open_index()
                count = self._build(ix, directory, documents)
                with self._write_lock(self.rebuild_timeout):
                    self._replay(ix, directory, journal)
                    self._swap(name)
                    os.unlink(journal)
            except BaseException:
                with _suppress_oserror():
                    os.unlink(journal)
                shutil.rmtree(directory, ignore_errors=True)
                raise
            self._clean(keep=name)
        return count

    def _build(self, ix: whoosh_index.Index, directory: str, documents: Iterable[Document]) -> int:
        writer = self._whoosh_writer(ix, self.rebuild_timeout)
        side = SideWriter(directory, 1)
        count = 0
        seen: set[str] = set()
        try:
            for document in documents:
                if document.key in seen:
                    continue
                seen.add(document.key)
                _add(writer, side, document, update=False)
                count += 1
            side.close()
            writer.commit()
        except BaseException:
            side.close()
            writer.cancel()
            raise
        return count

    def _replay(self, ix: whoosh_index.Index, directory: str, journal: str) -> None:
        """Apply the journalled updates, in their order, to the new generation."""
        latest: dict[str, Document] = {}
        gone: dict[str, None] = {}
        with open(journal, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # an update that died while writing its line: it did not commit
                entry = json.loads(line)
                if "doc" in entry:
                    document = _document_from_json(entry["doc"])
                    latest[document.key] = document
                    gone.pop(document.key, None)
                else:
                    latest.pop(entry["del"], None)
                    gone[entry["del"]] = None
        if not latest and not gone:
            return
        writer = self._whoosh_writer(ix, self.rebuild_timeout)
        try:
            for key in gone:
                writer.delete_by_term(KEY, key)
            side = SideWriter(directory, file_numbers(directory)[-1])
            try:
                for document in latest.values():
                    _add(writer, side, document, update=True)
            finally:
                side.close()
            writer.commit()
        except BaseException:
            writer.cancel()
            raise

    def update(self, documents: Iterable[Document], deleted: Iterable[str] = ()) -> None:
        """Add or replace ``documents`` and remove the keys in ``deleted``, in one commit."""
        latest = {d.key: d for d in documents}
        gone = [key for key in dict.fromkeys(deleted) if key not in latest]
        if not latest and not gone:
            return
        with self._live_writer() as (writer, directory):
            for key in gone:
                writer.delete_by_term(KEY, key)
            if latest:
                numbers = file_numbers(directory)
                side = SideWriter(directory, numbers[-1] if numbers else 1)
                try:
                    for document in latest.values():
                        _add(writer, side, document, update=True)
                finally:
                    side.close()
            self._journal(latest.values(), gone)
            writer.commit()

    def _journal(self, documents: Iterable[Document], gone: list[str]) -> None:
        """While a rebuild runs, record an update for it to replay (under the write lock)."""
        path = os.path.join(self.root, JOURNAL)
        if not os.path.exists(path):
            return
        lines = [json.dumps({"doc": _document_to_json(d)}, ensure_ascii=False) for d in documents]
        lines += [json.dumps({"del": key}) for key in gone]
        with open(path, "a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))

    # -- searching ----------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResults:
        """Find the documents containing every term of ``query.q``; raises ``QueryInvalid``."""
        _check_query(query)
        plan = planner.plan(query.q)
        with self._lock:
            try:
                searcher = self._current()
                if searcher is None:
                    return SearchResults(total=0, page=query.page, per_page=query.per_page)
                leaves = self._leaves(searcher)
                total, top = self._ranked(searcher, leaves, plan, query)
                first = (query.page - 1) * query.per_page
                hits = _hits(leaves, top[first : first + query.per_page], query)
            except (OSError, WhooshIndexError, struct.error) as exc:
                # Drop what this process holds: the next search opens the index afresh.
                self.close()
                raise SearchUnavailable(str(exc)) from exc
        return SearchResults(total=total, hits=hits, page=query.page, per_page=query.per_page)

    def matching(self, query: SearchQuery) -> list[tuple[str, int]]:
        """(kind, id) of every hit of ``query`` in rank order, without snippets (``page`` and
        ``per_page`` are ignored): for checks and exports that need all hits at once."""
        _check_query(query)
        plan = planner.plan(query.q)
        with self._lock:
            try:
                searcher = self._current()
                if searcher is None:
                    return []
                leaves = self._leaves(searcher)
                hits = _Execution(leaves, plan, query).run(_TopK(None)).ranked()
            except (OSError, WhooshIndexError, struct.error) as exc:
                self.close()
                raise SearchUnavailable(str(exc)) from exc
            return [(leaves[-li].table.kind_name(-d), leaves[-li].table.doc_id[-d])
                    for _, _, li, d in hits]

    def _ranked(self, searcher: Searcher, leaves: list[_Leaf], plan: planner.Plan,
                query: SearchQuery) -> tuple[int, list[_Ranked]]:
        """(count, the best ``page * per_page`` hits in order), from the LRU when possible.

        The LRU is keyed by the index generation, so a count is always that of the index as it
        is; it makes walking the pages of one query cheap (each page needs all hits ranked).
        """
        wanted = query.page * query.per_page
        key = (searcher.reader().generation(), plan.texts, query.kinds, query.county,
               query.sector, query.year, query.sort)
        cached = self._results.get(key)
        if cached is not None and (len(cached[1]) >= wanted or len(cached[1]) == cached[0]):
            self._results.move_to_end(key)
            return cached
        if cached is not None:
            del self._results[key]
            self._cached -= len(cached[1])
        k = max(wanted, PREFETCH, 2 * len(cached[1]) if cached else 0) if self.cache_size else wanted
        collected = _Execution(leaves, plan, query).run(_TopK(k))
        top = collected.ranked()
        ranked = (collected.count, top)
        if self.cache_size:
            self._results[key] = ranked
            self._cached += len(top)
            while len(self._results) > self.cache_size or self._cached > CACHE_HITS:
                _, (_, dropped) = self._results.popitem(last=False)
                self._cached -= len(dropped)
        return ranked

def _compatible(schema: Any) -> bool:
    """Whether an index's schema is the one this version writes and reads."""
    return sorted(schema.names()) == sorted(make_schema().names())


def _document_to_json(document: Document) -> dict[str, Any]:
    return {
        "kind": document.kind, "id": document.id, "title": document.title, "text": document.text,
        "date": document.date.isoformat() if document.date else None,
        "county": document.county, "sector": document.sector,
        "department": document.department, "withdrawn": document.withdrawn,
        "published_at": document.published_at.isoformat() if document.published_at else None,
    }


def _document_from_json(data: dict[str, Any]) -> Document:
    return Document(
        kind=data["kind"], id=data["id"], title=data["title"], text=data["text"],
        date=date.fromisoformat(data["date"]) if data["date"] else None,
        county=data["county"], sector=data["sector"], department=data["department"],
        withdrawn=data["withdrawn"],
        published_at=(datetime.fromisoformat(data["published_at"]) if data["published_at"]
                      else None),
    )


@contextmanager
def _suppress_oserror() -> Iterator[None]:
    try:
        yield
    except OSError:
        pass


def _add(writer: writing.SegmentWriter, side: SideWriter, document: Document, update: bool) -> None:
    encoded = encode(document)
    pointer = side.append(encoded.record)
    fields = {
        KEY: document.key,
        GRAMS: encoded.text,
        WORDS: encoded.text,
        TRIGRAMS: encoded.text,
        POINTER: pointer,
    }
    if update:
        writer.update_document(**fields)
    else:
        writer.add_document(**fields)


def _check_query(query: SearchQuery) -> None:
    unknown = [k for k in query.kinds if k not in KINDS]
    if unknown:
        raise QueryInvalid("未知的信息类别：" + "、".join(unknown))
    if query.sort not in SORTS:
        raise QueryInvalid("排序方式只能是按相关度或按日期。")
    if not 1 <= query.page <= MAX_PAGE:
        raise QueryInvalid(f"页码应在 1 到 {MAX_PAGE} 之间。")
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        raise QueryInvalid(f"每页条数应在 1 到 {MAX_PER_PAGE} 之间。")


def _idf(n: int, df: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


class _Execution:
    """One search over the current leaves (segments)."""

    def __init__(self, leaves: list[_Leaf], plan: planner.Plan, query: SearchQuery) -> None:
        self.leaves = leaves
        self.plan = plan
        self.query = query
        self.kind_codes = {KIND_CODES[k] for k in query.kinds} if query.kinds else None
        self.date_range = (
            (date(query.year, 1, 1).toordinal(), date(query.year, 12, 31).toordinal())
            if query.year
            else None
        )
        self.filtered = bool(self.kind_codes or query.county or query.sector or self.date_range)
        self.live_docs = sum(leaf.reader.doc_count() for leaf in leaves)
        all_docs = sum(leaf.reader.doc_count_all() for leaf in leaves)
        total_bytes = sum(leaf.table.total_bytes for leaf in leaves)
        self.avgdl = max(1.0, total_bytes / max(1, all_docs))
        self.by_date = query.sort == "date"

    # -- filters ------------------------------------------------------------------------------

    def _allowed(self, table: DocTable, docnum: int) -> bool:
        if self.kind_codes is not None and table.kind[docnum] not in self.kind_codes:
            return False
        if self.query.county and table.county[docnum] != self.query.county:
            return False
        if self.query.sector and table.sector[docnum] != self.query.sector:
            return False
        if self.date_range is not None:
            ordinal = table.date[docnum]
            if not self.date_range[0] <= ordinal <= self.date_range[1]:
                return False
        return True

    def _filter(self, table: DocTable, docnums: list[int]) -> list[int]:
        if not self.filtered:
            return docnums
        allowed = self._allowed
        return [d for d in docnums if allowed(table, d)]

    # -- conditions ---------------------------------------------------------------------------

    @staticmethod
    def _resolve(leaf: _Leaf, pattern: planner.Pattern, term: int) -> Condition | None:
        """The index terms matching a pattern; None when too many to narrow by."""
        fragment = pattern.fragment.encode("utf-8")
        if pattern.mode == "exact":
            return Condition(pattern.field, [fragment], leaf.df(pattern.field, fragment), term)
        if pattern.mode == "prefix":
            # Whoosh's term cursor reads the sorted term file: no lexicon needed.
            terms, df = [], 0
            for text, info in leaf.reader.iter_prefix(pattern.field, fragment):
                terms.append(text)
                df += info.doc_frequency()
                if len(terms) > MAX_EXPANSION:
                    return None
            return Condition(pattern.field, terms, df, term)
        lexicon = leaf.lexicon(pattern.field)
        found = lexicon.matching(fragment, pattern.mode, MAX_EXPANSION)
        if found is None:
            return None
        return Condition(pattern.field, [lexicon.terms[i] for i in found],
                         sum(lexicon.dfs[i] for i in found), term)

    def _conditions(self, leaf: _Leaf) -> list[Condition] | None:
        """Every selective condition of the plan in this leaf, rarest first (None: no hits)."""
        conditions: list[Condition] = []
        for i, term in enumerate(self.plan.terms):
            for gram in term.grams:
                encoded = gram.encode("utf-8")
                conditions.append(Condition(GRAMS, [encoded], leaf.df(GRAMS, encoded), i))
            for trigram in term.trigrams:
                encoded = trigram.encode("utf-8")
                conditions.append(Condition(TRIGRAMS, [encoded], leaf.df(TRIGRAMS, encoded), i))
            for pattern in term.patterns:
                condition = self._resolve(leaf, pattern, i)
                if condition is not None:
                    conditions.append(condition)
        if any(c.df == 0 for c in conditions):
            return None
        conditions.sort(key=lambda c: c.df)
        return conditions

    @staticmethod
    def _narrow(leaf: _Leaf, candidates: list[int], condition: Condition) -> list[int] | None:
        """The candidates (ascending) that have the condition; None when narrowing by it costs
        more than confirming the candidates it would exclude."""
        size = max(1, leaf.reader.doc_count_all())
        saved = CONFIRM_COST * len(candidates) * max(0.0, 1.0 - condition.df / size)
        read = LOOKUP_COST * len(condition.terms) + POSTING_COST * condition.df
        skip = LOOKUP_COST + SKIP_COST * len(candidates)
        if len(condition.terms) == 1 and skip < read:
            if skip >= saved:
                return None
            # A long list and few candidates: skip through the list block by block.
            try:
                matcher = leaf.reader.postings(condition.field, condition.terms[0])
            except TermNotFound:
                return []
            kept = []
            for docnum in candidates:
                matcher.skip_to(docnum)
                if not matcher.is_active():
                    break
                if matcher.id() == docnum:
                    kept.append(docnum)
            return kept
        if read >= saved:
            return None
        ids = set(leaf.ids(condition))
        return [d for d in candidates if d in ids]

    # -- execution ----------------------------------------------------------------------------

    def run(self, hits: _TopK) -> _TopK:
        """Collect the hits into ``hits`` (counted, and kept when among the best)."""
        n = max(1, self.live_docs)
        # One two-character word is answered from its posting list; several words go through
        # the confirm path, which reads only the rarest list and checks the others on the text
        # (cheaper than skipping through long lists).
        one_word = len(self.plan.terms) == 1 and self.plan.terms[0].is_bigram
        per_leaf = [None if one_word else self._conditions(leaf) for leaf in self.leaves]
        idf = [_idf(n, df) for df in self._dfs(per_leaf, one_word)]
        for i, leaf in enumerate(self.leaves):
            if one_word:
                self._run_postings(i, leaf, idf, hits)
            elif (conditions := per_leaf[i]) is not None:
                self._run_confirmed(i, leaf, conditions, idf, hits)
        return hits

    def _dfs(self, per_leaf: list[list[Condition] | None], one_word: bool) -> list[int]:
        """Documents per term, for idf: exact for a bigram (up to deleted documents), else the
        bound given by the rarest of the term's own conditions."""
        dfs = []
        for i, term in enumerate(self.plan.terms):
            df = 0
            for leaf, conditions in zip(self.leaves, per_leaf, strict=True):
                if one_word:
                    df += leaf.df(GRAMS, term.needle)
                elif conditions is not None:
                    own = [c.df for c in conditions if c.term == i]
                    df += min(own, default=leaf.reader.doc_count())
            dfs.append(min(df, self.live_docs))
        return dfs

    def _bm25(self, idf: float) -> tuple[float, float, float, float]:
        """(idf·(k1+1), k1·(1-b), k1·b/avgdl, title bonus): the per-term constants of
        score = idf·(k1+1)·tf / (tf + k1·(1-b) + k1·b·dl/avgdl) + bonus·[term in title]."""
        return idf * (K1 + 1.0), K1 * (1.0 - B), K1 * B / self.avgdl, TITLE_BOOST * idf

    def _run_postings(self, li: int, leaf: _Leaf, idf: list[float],
                      hits: _TopK) -> None:
        """One two-character word: its posting list is the exact answer, with frequencies."""
        reader, table = leaf.reader, leaf.table
        (term,) = self.plan.terms
        needle = term.needle
        if leaf.df(GRAMS, needle) == 0:
            return
        start, end, title_end, dates = table.start, table.end, table.title_end, table.date
        single_map = table.single_map
        single_find = single_map.find if single_map is not None else None
        maps = table.maps
        allowed = self._allowed if self.filtered else None
        weight, norm, slope, bonus = self._bm25(idf[0])
        by_date = self.by_date
        offer, floor, count = hits.offer, hits.floor, 0
        matcher = reader.postings(GRAMS, needle)
        while matcher.is_active():
            docnum = matcher.id()
            if allowed is None or allowed(table, docnum):
                count += 1
                if by_date and dates[docnum] < floor:
                    matcher.next()
                    continue
                tf = matcher.weight()
                s = start[docnum]
                score = weight * tf / (tf + norm + slope * (end[docnum] - s))
                # Whether the title has the word (the title is the start of the text, so one
                # short find) matters only if the bonus can lift the hit among the best.
                if (by_date or score + bonus >= floor) and (
                        (single_find or maps[docnum].find)(needle, s, title_end[docnum]) >= 0):
                    score += bonus
                if by_date:
                    floor = offer((dates[docnum], score, -li, -docnum))
                elif score >= floor:
                    floor = offer((score, dates[docnum], -li, -docnum))
            matcher.next()
        hits.count += count

    def _run_confirmed(self, li: int, leaf: _Leaf, conditions: list[Condition],
                       idf: list[float], hits: _TopK) -> None:
        """Narrow by the rarest conditions, then confirm every term on the text."""
        table = leaf.table
        size = leaf.reader.doc_count()
        # Read the rarest condition's postings when that costs less than confirming the
        # documents it excludes; otherwise scan the segment.
        first = conditions[0] if conditions else None
        if first is not None and (LOOKUP_COST * len(first.terms) + POSTING_COST * first.df
                                  < CONFIRM_COST * (size - first.df)):
            candidates = leaf.ids(first)
            rest = conditions[1:]
        else:
            candidates = leaf.live()
            rest = []
        candidates = self._filter(table, candidates)
        # Narrow by other terms only: the bigrams of one word nearly always come together
        # (矿山 and 山企 in 矿山企业), so a second bigram of the same term excludes few.
        used = {first.term} if rest else set()
        for condition in rest:
            if len(candidates) <= CONFIRM_DIRECTLY:
                break
            if condition.term in used:
                continue
            narrowed = self._narrow(leaf, candidates, condition)
            if narrowed is None:  # the rest are commoner still: no gain from them either
                break
            candidates = narrowed
            used.add(condition.term)
        # Confirm the term that excludes most first (fewest documents by its conditions).
        order = sorted(range(len(self.plan.terms)),
                       key=lambda i: min((c.df for c in conditions if c.term == i), default=size))
        terms = [(self.plan.terms[i].needle, len(self.plan.terms[i].needle), *self._bm25(idf[i]))
                 for i in order]
        self._confirm(li, table, candidates, terms, hits)

    def _confirm(self, li: int, table: DocTable, candidates: list[int],
                 terms: list[tuple[bytes, int, float, float, float, float]],
                 hits: _TopK) -> None:
        """Keep the candidates whose text contains every term, scored by BM25 on the exact
        substring frequency.

        The hot loop of the search: everything is a local; the text is searched in place in
        the map; the title test is the first match's position.  A hit is counted as soon as
        every term is found; the frequencies (a copy of the rest of the text, to count) are
        needed only when the hit can still rank: its date is not older than the k-th best
        (date order), or its score's bound (idf·(k1+1) + bonus, whatever the frequency)
        reaches the k-th best score.
        """
        start, end, title_end, dates, maps = (table.start, table.end, table.title_end,
                                              table.date, table.maps)
        single_map = table.single_map
        single_find = single_map.find if single_map is not None else None
        offer, floor, count = hits.offer, hits.floor, 0
        by_date = self.by_date
        if len(terms) == 1:
            ((needle, length, weight, norm, slope, bonus),) = terms
            titled_bound = weight + bonus
            for docnum in candidates:
                s = start[docnum]
                e = end[docnum]
                find = single_find or maps[docnum].find
                p = find(needle, s, e)
                if p < 0:
                    continue
                count += 1
                in_title = p + length <= title_end[docnum]
                if by_date:
                    if dates[docnum] < floor:
                        continue
                elif (titled_bound if in_title else weight) < floor:
                    continue
                tf = 1 + (single_map or maps[docnum])[p + length : e].count(needle)
                score = weight * tf / (tf + norm + slope * (e - s))
                if in_title:
                    score += bonus
                if by_date:
                    if dates[docnum] >= floor:
                        floor = offer((dates[docnum], score, -li, -docnum))
                elif score >= floor:
                    floor = offer((score, dates[docnum], -li, -docnum))
            hits.count += count
            return
        for docnum in candidates:
            s = start[docnum]
            e = end[docnum]
            find = single_find or maps[docnum].find
            first = []
            bound = 0.0
            for needle, length, weight, _norm, _slope, bonus in terms:
                p = find(needle, s, e)
                if p < 0:
                    break
                first.append(p)
                bound += weight + bonus if p + length <= title_end[docnum] else weight
            else:
                count += 1
                if by_date:
                    if dates[docnum] < floor:
                        continue
                elif bound < floor:
                    continue
                text = single_map or maps[docnum]
                score = 0.0
                for (needle, length, weight, norm, slope, bonus), p in zip(terms, first,
                                                                          strict=True):
                    tf = 1 + text[p + length : e].count(needle)
                    score += weight * tf / (tf + norm + slope * (e - s))
                    if p + length <= title_end[docnum]:
                        score += bonus
                if by_date:
                    if dates[docnum] >= floor:
                        floor = offer((dates[docnum], score, -li, -docnum))
                elif score >= floor:
                    floor = offer((score, dates[docnum], -li, -docnum))
        hits.count += count


def _hits(leaves: list[_Leaf], ranked: list[_Ranked], query: SearchQuery) -> list[Hit]:
    """What a page shows of its ranked hits: titles, dates, snippets."""
    terms = planner.highlight_terms(query.q)
    by_date = query.sort == "date"
    hits = []
    for first, second, li, docnum in ranked:
        li, docnum = -li, -docnum
        table = leaves[li].table
        title, original, normalised, body = table.details(docnum)
        hits.append(Hit(
            kind=table.kind_name(docnum),
            id=table.doc_id[docnum],
            title=title,
            date=table.event_date(docnum),
            snippet_html=snippet(original, normalised, terms, body),
            title_html=highlight(title, _normalize(title), terms),
            withdrawn=bool(table.withdrawn[docnum]),
            score=second if by_date else first,
        ))
    return hits
