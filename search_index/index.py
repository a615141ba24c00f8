"""One Whoosh index over the four kinds, searched by a query planner (DESIGN.md §7).

Search, per segment, in bulk (numpy arrays of document numbers, no Python step per hit):

1. Conditions (``planner``) are resolved to posting lists, decoded a block at a time
   (``postings``) and kept in a per-process cache; the rarest (by the reader's document
   frequencies) gives the candidates, and the others narrow them while reading a list costs
   less than the confirmations it saves (``*_COST``; nothing when cached).
2. A term that is one two-character Han word is *decided* by its posting list: a bigram's
   posting list is exactly the set of documents containing it, with its frequency.
3. Every other term is confirmed by an exact substring test on the candidate's normalised text
   (the memory-mapped side file, ``store``), run in C by ``map(mmap.find, …)``; a one-term
   search remembers what it confirmed, per segment.
4. When no condition is selective (one common character, a short fragment of digits) the
   segment's documents are the candidates: bounded by their number.
5. Every survivor is counted; bounds on each score (BM25 on exact substring frequencies, plus a
   bonus when the term is in the title) leave only the hits that can reach the page to be
   scored in full.
6. A one-term search without filters for a *frequent string* (3 to 8 characters in at least
   0.5 % of the documents: 安全生产, 915328, 有限公司(演示)) is neither confirmed nor counted
   hit by hit: its exact count is kept per Whoosh generation (``strings-<generation>.dat`` in
   the generation directory: chosen and counted by a rebuild, ``strings.StringCounter``; carried
   by every update, which subtracts the strings of the texts it removes or replaces and adds
   those of the texts it adds, and writes the file before it commits), and the candidates are
   confirmed in the order of a bound on their rank, a growing batch at a time, until none left
   can reach the page (``_Execution._rank_lazily``): the first ask of 安全生产 at 20,000 items
   confirmed 19,937 texts (15-30 ms), now about a hundred.  A generation without the file (an
   index written before it existed) is searched as in 1-5, and updates do not make one up.

Counts are exact: they count confirmed live documents, never ``doc_frequency`` (which still counts
deleted and replaced documents until their segment is merged).  Whoosh's public APIs are used
throughout, except that ``postings`` reads the W3 codec's posting blocks itself (Whoosh 2.7.4,
pinned; a test checks it against the public matcher).

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
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from itertools import repeat
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.filedb.filestore import FileStorage
from whoosh.index import IndexError as WhooshIndexError
from whoosh.index import LockError
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from search_index import planner
from search_index.analyzer import normalize as _normalize
from search_index.postings import PostingCache, Postings
from search_index.schema import GRAMS, KEY, POINTER, TRIGRAMS, WORDS, make_schema
from search_index.snippets import highlight, snippet
from search_index.store import (
    KIND_CODES,
    DocTable,
    SideFiles,
    SideWriter,
    encode,
    file_numbers,
    pointer_text,
    record_texts,
)
from search_index.strings import SHARE, StringCounter, TextSample, count_grams, frequent_grams
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
# Relative costs (measured on this machine, in µs) that choose between reading a posting list
# and confirming candidates on the text: a term lookup in Whoosh's hash file, one posting
# decoded in bulk (``postings.read_postings``; nothing once cached), one candidate looked up in
# a list read, one substring test on a document's text.
LOOKUP_COST = 40.0
DECODE_COST = 0.2
INTERSECT_COST = 0.05
CONFIRM_COST = 0.3
# Decoded posting lists a process keeps (``postings.PostingCache``), 8 bytes a posting; warm-up
# fills up to half of it with the broadest bigrams, the lists a search reads most often.
POSTINGS_CACHE_BYTES = 128 * 2**20
PREFILL_MIN_DF = 500  # warm-up decodes only posting lists at least this long (and ≥ 2 % of docs)
CONFIRMED = "confirmed"  # the posting cache's pseudo-field for terms confirmed on the text
MAX_PAGE = 1000
MAX_PER_PAGE = 100
# A ranked hit: (key, key, -leaf, -document number), larger is better.  The keys are (score,
# date) for relevance and (date, score) for date order; ties fall back to the position in the
# index, which is stable while the index does not change, so paging walks every hit once.
_Ranked = tuple[float, float, int, int]
# Exact counts of frequent strings, per Whoosh generation (``strings-<generation>.dat`` in the
# generation directory): the strings of 3 to 8 characters found in at least ``strings.SHARE``
# of the documents, and at least this many, chosen by a rebuild as the PostgreSQL backend
# chooses its ``search_gram_counts`` and kept exact by every update.  A one-term search for one
# of them without filters is not counted on the texts: its count is read, and only the
# candidates that can still reach the page are confirmed (``_Execution._rank_lazily``).
STRINGS_LEAST = 100
STRINGS_FILE = re.compile(r"^strings-(\d+)\.dat$")
PREFETCH = 1000  # with the LRU on, rank at least this many: the next pages come from the LRU
CACHE_HITS = 300_000  # at most this many ranked hits in the LRU (~30 MB)


class _TopK:
    """The best ``k`` hits (all of them when ``k`` is None), and how many there were.

    The search counts every hit but offers only those that can still enter (their first key
    at least ``floor``, picked with numpy): most hits of a broad query never cost a tuple.
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

    def __init__(self, table: DocTable, key: str) -> None:
        self.table = table
        self.key = key  # the segment in the posting cache: generation and segment id
        self.lexicons: dict[str, Lexicon] = {}
        self.dfs: dict[tuple[str, bytes], int] = {}
        self.live: tuple[int, np.ndarray] | None = None


class _Leaf:
    """A segment as one search sees it: its reader, its cached state, the posting cache."""

    def __init__(self, reader: IndexReader, state: LeafState, postings: PostingCache) -> None:
        self.reader = reader
        self.state = state
        self.table = state.table
        self.cache = postings

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

    def live_mask(self) -> np.ndarray:
        """Which document numbers are live (not deleted), as a boolean array."""
        reader = self.reader
        deleted = reader.doc_count_all() - reader.doc_count()
        if self.state.live is None or self.state.live[0] != deleted:
            if deleted:
                mask = np.zeros(reader.doc_count_all(), dtype=bool)
                mask[list(reader.all_doc_ids())] = True
            else:
                mask = np.ones(reader.doc_count_all(), dtype=bool)
            self.state.live = (deleted, mask)
        return self.state.live[1]

    def read_cost(self, condition: Condition) -> float:
        """What reading the condition's postings costs (µs, see ``*_COST``)."""
        uncached = sum(1 for term in condition.terms
                       if (self.state.key, condition.field, term) not in self.cache)
        if not uncached:
            return 0.0
        return LOOKUP_COST * uncached + DECODE_COST * condition.df

    def postings(self, condition: Condition) -> Postings:
        """Documents having any of the condition's terms, ascending (deleted ones included),
        and for a single term its frequencies."""
        lists = [self.cache.get(self.reader, self.state.key, condition.field, term)
                 for term in condition.terms]
        if len(lists) == 1:
            return lists[0]
        ids = np.unique(np.concatenate([found for found, _ in lists]))
        return ids, np.ones(len(ids), dtype=np.float32)

    def find_first(self, needle: bytes, docnums: np.ndarray) -> np.ndarray:
        """Where ``needle`` first occurs in each document's text (-1: nowhere)."""
        columns = self.table.columns
        return self._find(needle, docnums, columns.start[docnums].tolist(),
                          columns.end[docnums].tolist())

    def most_frequent(self, term: int, conditions: list[Condition],
                      docnums: np.ndarray) -> np.ndarray | None:
        """A bound on how often a term occurs in each of ``docnums`` (which all have it): its
        rarest bigram's frequency, when a posting list of its bigrams is cached; else None."""
        bound = None
        for condition in conditions:
            if (condition.term == term and condition.field == GRAMS
                    and len(condition.terms) == 1 and not self.read_cost(condition)):
                ids, freqs = self.postings(condition)
                _, at = _locate(ids, docnums)
                found = freqs[at].astype(np.float64)
                bound = found if bound is None else np.minimum(bound, found)
        return bound

    def confirmed(self, needle: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(documents, first positions) of a term an earlier search confirmed on the text."""
        return self.cache.peek((self.state.key, CONFIRMED, needle))

    def remember_confirmed(self, needle: bytes, docnums: np.ndarray, firsts: np.ndarray) -> None:
        self.cache.put((self.state.key, CONFIRMED, needle), (docnums, firsts))

    def _find(self, needle: bytes, docnums: np.ndarray, starts: list[int],
              ends: list[int]) -> np.ndarray:
        single = self.table.single_map
        if single is not None:  # the usual case: map() runs the loop in C
            found: Iterable[int] = map(single.find, repeat(needle), starts, ends)
        else:
            maps = self.table.maps
            found = (maps[d].find(needle, s, e)
                     for d, s, e in zip(docnums.tolist(), starts, ends, strict=True))
        return np.fromiter(found, dtype=np.int64, count=len(starts))

    def count_after(self, needle: bytes, docnums: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """How often ``needle`` occurs in each document's text from ``starts`` on."""
        ends = self.table.columns.end[docnums].tolist()
        single = self.table.single_map
        if single is not None:
            pieces = map(single.__getitem__, map(slice, starts.tolist(), ends))
        else:
            maps = self.table.maps
            pieces = (maps[d][s:e] for d, s, e in zip(docnums.tolist(), starts.tolist(), ends,
                                                       strict=True))
        return np.fromiter(map(bytes.count, pieces, repeat(needle)), dtype=np.float64,
                           count=len(ends))


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
        postings_cache_bytes: int = POSTINGS_CACHE_BYTES,
        strings_least: int = STRINGS_LEAST,
    ) -> None:
        self.root = str(directory)
        self.strings_least = strings_least
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
        self._directory: str | None = None  # the open generation's directory
        # The frequent strings' counts of the Whoosh generation open (None: none kept).
        self._strings: tuple[int, FrequentStrings | None] | None = None
        self.cache_size = cache_size
        # Kept across _reset(): its entries are keyed by generation and segment, whose postings
        # never change, and a forked worker shares the parent's arrays (copy on write).
        self._postings = PostingCache(postings_cache_bytes)
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
            self.opened = 0  # counts this process's opens (the parent's were its own)

    def _reset(self) -> None:
        self._open.close()
        self._ix = None
        self._files = None
        self._states = {}
        self._seen = None
        self._number = 0
        self._directory = None
        self._strings = None
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
            self._directory = directory
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
                state = LeafState(DocTable(pointers, self._files), f"{self._number}/{segment_id}")
            states[segment_id] = state
            leaves.append(_Leaf(reader, state, self._postings))
        if states.keys() != self._states.keys():
            self._states = states
            self._files.forget({n for s in states.values() for n in s.table.files})
            self._postings.keep({s.key for s in states.values()})
        return leaves

    def generation(self) -> int:
        """The generation of the index this process reads (-1 before any index exists); it
        grows with every update and every rebuild."""
        with self._lock:
            searcher = self._current()
            if searcher is None:
                return -1
            return self._number * GENERATION_STRIDE + searcher.reader().generation()

    def frequent_strings(self, searcher: Searcher | None = None) -> FrequentStrings | None:
        """The exact counts of the frequent strings in the index this process reads (None when
        this generation keeps none: built by a version without them, or by an update whose
        previous generation had none)."""
        with self._lock:
            searcher = searcher or self._current()
            if searcher is None or self._directory is None:
                return None
            generation = searcher.reader().generation()
            if self._strings is None or self._strings[0] != generation:
                self._strings = (generation, _load_strings(self._directory, generation))
            return self._strings[1]

    def warm(self, queries: Iterable[str] = ("矿山", "矿", "12号", "ma")) -> int:
        """Open the searcher and fill what a search caches (segment tables, lexicons, term
        lookups, the posting lists of the broadest bigrams) by running ``queries``, so the
        first visitor does not pay for it.  Returns the generation opened (-1: no index yet)."""
        self.prefill()
        self.frequent_strings()
        for q in queries:
            self.search(SearchQuery(q=q))
        self._results.clear()  # warm the index, not the results
        self._cached = 0
        return self.generation()

    def prefill(self) -> int:
        """Decode the posting lists of the broadest bigrams into the posting cache, broadest
        first, up to half its budget: a search for a common word then reads no postings.
        Returns the bytes the cache holds.

        Called in gunicorn's master before it forks (``gunicorn.conf.py``), the arrays are
        shared by every worker: a child's pages stay the parent's until written, and these are
        never written."""
        with self._lock:
            searcher = self._current()
            if searcher is not None:
                self._prefill(self._leaves(searcher))
            return self._postings.used

    def _prefill(self, leaves: list[_Leaf]) -> None:
        cache = self._postings
        for leaf in leaves:
            lexicon = leaf.lexicon(GRAMS)
            smallest = max(PREFILL_MIN_DF, leaf.reader.doc_count_all() // 50)
            for i in sorted(range(len(lexicon.terms)), key=lambda i: -lexicon.dfs[i]):
                if lexicon.dfs[i] < smallest or cache.used >= cache.budget // 2:
                    break
                leaf.postings(Condition(GRAMS, [lexicon.terms[i]], lexicon.dfs[i]))

    def close(self) -> None:
        """Close the searcher and drop the maps (the next search opens them again)."""
        with self._lock:
            self._reset()

    # -- writing ------------------------------------------------------------------------------

    @contextmanager
    def _live_writer(self) -> Iterator[tuple[writing.SegmentWriter, str,
                                             whoosh_index.Index]]:
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
                yield writer, directory, ix
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
        sample = TextSample()  # of the texts, for the frequent strings
        try:
            for document in documents:
                if document.key in seen:
                    continue
                seen.add(document.key)
                sample.offer(_add(writer, side, document, update=False))
                count += 1
            side.close()
            writer.commit()
        except BaseException:
            side.close()
            writer.cancel()
            raise
        self._count_strings(ix, directory, side, sample, count)
        return count

    def _count_strings(self, ix: whoosh_index.Index, directory: str, side: SideWriter,
                       sample: TextSample, count: int) -> None:
        """Choose the frequent strings of a new generation and count them on every text (the
        side file holds each document once), for the Whoosh generation just committed; the
        rebuild has not swapped it in yet, so no reader sees it without its counts."""
        least = max(self.strings_least, int(SHARE * count))
        texts = sample.texts
        grams = (frequent_grams(texts, max(1, least * len(texts) // (2 * count)))
                 if count >= least else set())
        counted = StringCounter(grams).count(text for _, text in record_texts(side.path))
        _write_strings(directory, ix.latest_generation(),
                       {g: n for g, n in counted.items() if n >= least})

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
            texts: dict[str, str] = {}
            try:
                for document in latest.values():
                    texts[document.key] = _add(writer, side, document, update=True)
            finally:
                side.close()
            _carry_strings(ix, writer, directory, texts, list(gone))
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
        with self._live_writer() as (writer, directory, ix):
            for key in gone:
                writer.delete_by_term(KEY, key)
            texts: dict[str, str] = {}
            if latest:
                numbers = file_numbers(directory)
                side = SideWriter(directory, numbers[-1] if numbers else 1)
                try:
                    for document in latest.values():
                        texts[document.key] = _add(writer, side, document, update=True)
                finally:
                    side.close()
            _carry_strings(ix, writer, directory, texts, gone)
            self._journal(latest.values(), gone)
            writer.commit()
            _prune_strings(directory, writer.generation)

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
        execution = _Execution(leaves, plan, query, self.frequent_strings(searcher))
        # A counted query's page costs about a page: prefetching would confirm far more.
        ahead = wanted if execution.counted is not None else PREFETCH
        k = max(wanted, ahead, 2 * len(cached[1]) if cached else 0) if self.cache_size else wanted
        collected = execution.run(_TopK(k))
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


def _add(writer: writing.SegmentWriter, side: SideWriter, document: Document, update: bool) -> str:
    """Add (or replace) a document; returns its normalised text."""
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
    return encoded.text


def _strings_path(directory: str, generation: int) -> str:
    return os.path.join(directory, f"strings-{generation}.dat")


# The counts file: a header line, the counts (little-endian int64), then the strings (UTF-8, one
# a line: none has white space).  Read in ~3 ms for 22,000 strings, where JSON took ~18 ms: each
# worker reads it at its first search after every update.
_STRINGS_HEADER = "whoosh-strings 1 {generation} {count}\n"


class FrequentStrings(Mapping[str, int]):
    """The counts of one generation as read from its file, looked up without building a dict:
    the strings' lines are searched for ``\\n<string>\\n`` (~0.1 ms), so a worker's first search
    after an update does not parse 22,000 strings (~15 ms)."""

    def __init__(self, counts: np.ndarray, lines: bytes) -> None:
        self._counts = counts
        self._lines = lines  # b"\\n" + one string a line, each followed by b"\\n"

    def __getitem__(self, string: str) -> int:
        if "\n" in string:
            raise KeyError(string)
        at = self._lines.find(b"\n" + string.encode("utf-8") + b"\n")
        if at < 0:
            raise KeyError(string)
        return int(self._counts[self._lines.count(b"\n", 0, at)])

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines[1:-1].decode("utf-8").split("\n") if len(self._counts) else ())

    def __len__(self) -> int:
        return len(self._counts)

    def as_dict(self) -> dict[str, int]:
        """Every string with its count, in one pass (not one search of the lines each)."""
        return dict(zip(self, self._counts.tolist(), strict=True))


def _load_strings(directory: str, generation: int) -> FrequentStrings | None:
    """The frequent strings' counts of a Whoosh generation, None when it has none."""
    try:
        with open(_strings_path(directory, generation), "rb") as f:
            data = f.read()
        end = data.index(b"\n") + 1
        magic, version, written, number = data[:end].decode("ascii").split()
        count = int(number)
        if (magic, version, int(written)) != ("whoosh-strings", "1", generation):
            return None
        counts = np.frombuffer(data, dtype="<i8", count=count, offset=end)
        lines = b"\n" + data[end + 8 * count :] + b"\n"
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError):
        return None  # damaged: the searches count on the texts (slower, as exact)
    if lines.count(b"\n") != count + 1 and count:
        return None
    return FrequentStrings(counts, lines)


def _write_strings(directory: str, generation: int, counts: dict[str, int]) -> None:
    """Write a generation's counts (one rename: a reader sees them whole or not at all)."""
    path = _strings_path(directory, generation)
    temporary = f"{path}.{os.getpid()}.{threading.get_ident()}"
    strings = list(counts)
    with open(temporary, "wb") as f:
        f.write(_STRINGS_HEADER.format(generation=generation, count=len(strings)).encode())
        f.write(np.array([counts[s] for s in strings], dtype="<i8").tobytes())
        f.write("\n".join(strings).encode("utf-8"))
    os.replace(temporary, path)


def _prune_strings(directory: str, generation: int) -> None:
    """Remove the counts of generations before the previous one (a reader still on an older
    generation finds none and counts on the texts)."""
    for entry in os.listdir(directory):
        if (m := STRINGS_FILE.match(entry)) and int(m.group(1)) < generation - 1:
            with _suppress_oserror():
                os.unlink(os.path.join(directory, entry))


def _carry_strings(ix: whoosh_index.Index, writer: writing.SegmentWriter, directory: str,
                   added: dict[str, str], gone: list[str]) -> None:
    """Write the counts of the generation ``writer`` is about to commit: those of the
    generation it started from, minus the strings of the documents it removes or replaces
    (their texts read back from the side file), plus those of the texts it adds.  Called under
    the write lock before the commit, so a reader never sees the commit without its counts;
    a writer that dies before committing leaves a file that the next commit overwrites."""
    kept = _load_strings(directory, writer.generation - 1)
    if kept is None:
        return  # none kept: the next rebuild chooses the strings
    counts = kept.as_dict()
    grams = set(counts)
    delta: Counter[str] = Counter(count_grams(added.values(), grams))
    with ix.searcher() as searcher:  # the generation the writer started from
        pointers = None
        for key in [*added, *gone]:
            for docnum in searcher.document_numbers(**{KEY: key}):
                if pointers is None:
                    pointers = searcher.reader().column_reader(POINTER)
                delta.subtract(count_grams([pointer_text(directory, pointers[docnum])], grams))
    for gram, change in delta.items():
        if change:
            counts[gram] += change
    _write_strings(directory, writer.generation, counts)


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
    """One search over the current leaves (segments), in bulk: numpy arrays of candidates, not
    a Python step per hit (issue 9 §2).

    Per leaf: (1) candidates from the rarest condition's posting list, narrowed by the others
    while reading a list costs less than the confirmations it saves (``*_COST``); a term that is
    one bigram is *decided* by its posting list, which gives its frequency too; (2) every other
    term is confirmed on the text (``mmap.find`` through ``map``: the loop runs in C); (3) all
    survivors are counted; (4) bounds of each score from what is known so far pick the few
    that can still reach the page, and only those get exact scores (title test, frequency).
    """

    def __init__(self, leaves: list[_Leaf], plan: planner.Plan, query: SearchQuery,
                 strings: Mapping[str, int] | None = None) -> None:
        self.leaves = leaves
        self.plan = plan
        self.query = query
        self.kind_codes = [KIND_CODES[k] for k in query.kinds] if query.kinds else None
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
        # The exact count of a one-term query without filters whose term is a frequent string
        # (``STRINGS_LEAST``): its hits need not all be confirmed.
        self.counted = (strings.get(plan.terms[0].text)
                        if strings and len(plan.terms) == 1 and not self.filtered else None)

    # -- filters ------------------------------------------------------------------------------

    def _allowed(self, leaf: _Leaf) -> np.ndarray:
        """Live documents of the leaf that pass the filters, as a mask by document number."""
        live = leaf.live_mask()
        if not self.filtered:
            return live
        columns = leaf.table.columns
        allowed = live.copy()
        if self.kind_codes is not None:
            allowed &= np.isin(columns.kind, self.kind_codes)
        for value, codes, column in ((self.query.county, columns.county_codes, columns.county),
                                     (self.query.sector, columns.sector_codes, columns.sector)):
            if value:
                code = codes.get(value)
                if code is None:
                    return np.zeros_like(live)
                allowed &= column == code
        if self.date_range is not None:
            allowed &= (columns.date >= self.date_range[0]) & (columns.date <= self.date_range[1])
        return allowed

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

    # -- execution ----------------------------------------------------------------------------

    def run(self, hits: _TopK) -> _TopK:
        """Collect the hits into ``hits`` (counted, and kept when among the best)."""
        n = max(1, self.live_docs)
        per_leaf = [self._conditions(leaf) for leaf in self.leaves]
        idf = [_idf(n, df) for df in self._dfs(per_leaf)]
        constants = [self._bm25(value) for value in idf]
        if hits.k is None:
            self.counted = None  # every hit is wanted: each is confirmed anyway
        for i, leaf in enumerate(self.leaves):
            if (conditions := per_leaf[i]) is not None:
                self._run_leaf(i, leaf, conditions, constants, hits)
        if self.counted is not None:
            hits.count = self.counted
        return hits

    def _dfs(self, per_leaf: list[list[Condition] | None]) -> list[int]:
        """Documents per term, for idf: exact for a bigram (up to deleted documents), else the
        bound given by the rarest of the term's own conditions."""
        dfs = []
        for i in range(len(self.plan.terms)):
            df = 0
            for leaf, conditions in zip(self.leaves, per_leaf, strict=True):
                if conditions is not None:
                    own = [c.df for c in conditions if c.term == i]
                    df += min(own, default=leaf.reader.doc_count())
            dfs.append(min(df, self.live_docs))
        return dfs

    def _bm25(self, idf: float) -> tuple[float, float, float, float]:
        """(idf·(k1+1), k1·(1-b), k1·b/avgdl, title bonus): the per-term constants of
        score = idf·(k1+1)·tf / (tf + k1·(1-b) + k1·b·dl/avgdl) + bonus·[term in title]."""
        return idf * (K1 + 1.0), K1 * (1.0 - B), K1 * B / self.avgdl, TITLE_BOOST * idf

    def _run_leaf(self, li: int, leaf: _Leaf, conditions: list[Condition],
                  constants: list[tuple[float, float, float, float]], hits: _TopK) -> None:
        terms = self.plan.terms
        size = max(1, leaf.reader.doc_count_all())
        allowed = self._allowed(leaf)
        # Frequencies of the decided terms (one bigram: its posting list is the exact answer),
        # aligned with the candidates.
        tfs: dict[int, np.ndarray] = {}
        # Where each confirmed term first occurs, aligned with the candidates too.
        firsts: dict[int, np.ndarray] = {}
        # Terms confirmed by an earlier search in this segment (see below): their documents
        # are known without reading any text.
        remembered = {i: found for i, term in enumerate(terms)
                      if not term.is_bigram and (found := leaf.confirmed(term.needle)) is not None}
        first = conditions[0] if conditions else None
        if remembered:
            i = min(remembered, key=lambda i: len(remembered[i][0]))
            ids, positions = remembered[i]
            keep = allowed[ids]
            candidates, firsts[i] = ids[keep], positions[keep]
            rest, used = conditions, {i}
        elif first is not None and (leaf.read_cost(first)
                                    < CONFIRM_COST * (leaf.reader.doc_count() - first.df)):
            ids, freqs = leaf.postings(first)
            keep = allowed[ids]
            candidates = ids[keep]
            if terms[first.term].is_bigram:
                tfs[first.term] = freqs[keep]
            rest, used = conditions[1:], {first.term}
        else:  # nothing selective enough: every allowed document is a candidate
            candidates = np.flatnonzero(allowed).astype(np.int32)
            rest, used = conditions, set()
        for condition in rest:
            if len(candidates) <= CONFIRM_DIRECTLY:
                break
            if condition.term in used:
                # The other bigrams of one word nearly always come with the first (矿山 and 山企
                # in 矿山企业): they exclude too few to be worth reading.
                continue
            decided = terms[condition.term].is_bigram
            excluded = max(0.0, 1.0 - condition.df / size)
            saved = CONFIRM_COST * len(candidates) * (excluded + (1.0 if decided else 0.0))
            if leaf.read_cost(condition) + INTERSECT_COST * len(candidates) >= saved:
                continue
            ids, freqs = leaf.postings(condition)
            present, at = _locate(ids, candidates)
            candidates = _narrowed(candidates, present, tfs, firsts)
            if decided:
                tfs[condition.term] = freqs[at[present]]
            used.add(condition.term)
        if self.counted is not None and not tfs and not firsts:
            self._rank_lazily(li, leaf, conditions, candidates, constants[0], hits)
            return
        # Confirm the other terms, the one that excludes most first: on the text, or by what an
        # earlier search remembered.
        order = sorted((i for i in range(len(terms)) if i not in tfs and i not in firsts),
                       key=lambda i: min((c.df for c in conditions if c.term == i), default=size))
        for i in order:
            if not len(candidates):
                return
            if i in remembered:
                ids, positions = remembered[i]
                present, at = _locate(ids, candidates)
                candidates = _narrowed(candidates, present, tfs, firsts)
                firsts[i] = positions[at[present]]
            else:
                found = leaf.find_first(terms[i].needle, candidates)
                keep = found >= 0
                candidates = _narrowed(candidates, keep, tfs, firsts)
                firsts[i] = found[keep]
        if len(terms) == 1 and not self.filtered and 0 in firsts and 0 not in remembered:
            # Every live document with the term, found on the text: remember it, so the next
            # search for it (another page, sort or filter) reads no text (a broad phrase at
            # 100,000 documents costs 30-60 ms to confirm).
            leaf.remember_confirmed(terms[0].needle, candidates, firsts[0])
        if not len(candidates):
            return
        hits.count += len(candidates)
        self._rank(li, leaf, conditions, candidates, tfs, firsts, constants, hits)

    def _rank_lazily(self, li: int, leaf: _Leaf, conditions: list[Condition],
                     candidates: np.ndarray, constants: tuple[float, float, float, float],
                     hits: _TopK) -> None:
        """Offer the best hits of a one-term query whose count is known, confirming on the
        text only the candidates that can still reach the page.

        The candidates are taken in the order of a bound on their first key (the date; or the
        score with the term's frequency bounded by the rarest of its bigrams' or trigrams'
        frequencies, which the posting lists give, and its title part exact), a growing batch
        at a time; each batch is confirmed and scored exactly, and the walk stops when the
        next bound is below the k-th best key found.  (The postings of a Han term's bigrams
        count every occurrence, a letter/digit term's trigrams every occurrence inside a word:
        the term cannot occur more often than any of them.)
        """
        assert hits.k is not None
        needle = self.plan.terms[0].needle
        weight, norm, slope, bonus = constants
        columns = leaf.table.columns
        if not self.by_date:
            # The frequency bound: every single-term bigram or trigram list of the term that
            # is cached, or the rarest one read.
            own = [c for c in conditions
                   if c.term == 0 and c.field in (GRAMS, TRIGRAMS) and len(c.terms) == 1]
            bounding = [c for c in own if not leaf.read_cost(c)] or own[:1]
            most: np.ndarray | None = None
            for condition in bounding:
                ids, freqs = leaf.postings(condition)
                present, at = _locate(ids, candidates)
                found = freqs[at[present]].astype(np.float64)
                candidates = candidates[present]
                most = found if most is None else np.minimum(most[present], found)
        length = columns.length[candidates]
        dates = columns.date[candidates]
        title = np.where(columns.title_mask(leaf.table, needle)[candidates], bonus, 0.0)
        if self.by_date:
            bound = dates.astype(np.float64)
        elif most is None:
            bound = title + weight
        else:
            bound = title + weight * most / (most + norm + slope * length)
        done, size = 0, 4 * hits.k
        # The first batch is the best ``size`` bounds (argpartition: sorting every candidate's
        # bound cost more than the batch's confirmations); past it, the rest in order.
        order = _best_first(bound, size)
        offer, by_date = hits.offer, self.by_date
        while done < len(bound):
            floor = hits.floor
            least = floor - 1e-9 * max(1.0, abs(floor))
            if done == len(order):
                rest = np.ones(len(bound), dtype=bool)
                rest[order] = False
                left = np.flatnonzero(rest)
                if bound[left].max() < least:
                    break  # none of the rest can reach the page
                order = np.concatenate((order, left[np.argsort(-bound[left], kind="stable")]))
            if bound[order[done]] < least:
                break  # none of the rest can reach the page
            chosen = order[done : done + size]
            done += len(chosen)
            size *= 2
            found = leaf.find_first(needle, candidates[chosen])
            keep = found >= 0
            chosen, found = chosen[keep], found[keep]
            if not len(chosen):
                continue
            docnums = candidates[chosen]
            tf = 1.0 + leaf.count_after(needle, docnums, found + len(needle))
            score = title[chosen] + weight * tf / (tf + norm + slope * length[chosen])
            for s, d, docnum in zip(score.tolist(), dates[chosen].tolist(), docnums.tolist(),
                                    strict=True):
                if by_date:
                    if d >= floor:
                        floor = offer((d, s, -li, -docnum))
                elif s >= floor:
                    floor = offer((s, d, -li, -docnum))

    def _rank(self, li: int, leaf: _Leaf, conditions: list[Condition], candidates: np.ndarray,
              tfs: dict[int, np.ndarray], firsts: dict[int, np.ndarray],
              constants: list[tuple[float, float, float, float]], hits: _TopK) -> None:
        """Offer the candidates that can still be among the best, with their exact scores.

        A decided term's part of the score is known (frequency from its postings, title from
        the segment's titles); a confirmed term's title test is known (its first occurrence)
        but not its frequency beyond 1.  So each score lies between bounds, and only the
        candidates whose upper bound reaches the k-th best lower bound (or whose date reaches
        the k-th best date) have their frequencies counted.  The margin keeps rounding from
        dropping a tie.
        """
        columns = leaf.table.columns
        terms = self.plan.terms
        length = columns.length[candidates]
        dates = columns.date[candidates]
        k = hits.k
        known = np.zeros(len(candidates))
        unknown = [i for i in range(len(terms)) if i not in tfs]
        for i, (weight, norm, slope, bonus) in enumerate(constants):
            needle = terms[i].needle
            if i in tfs:
                tf = tfs[i].astype(np.float64)
                known += weight * tf / (tf + norm + slope * length)
                known += np.where(columns.title_mask(leaf.table, needle)[candidates],
                                  bonus, 0.0)
            else:
                known += np.where(firsts[i] + len(needle) <= columns.title_end[candidates],
                                  bonus, 0.0)

        def exact(chosen: np.ndarray) -> np.ndarray:
            """The scores of ``candidates[chosen]``: the unknown frequencies counted."""
            score = known[chosen]
            for i in unknown:
                weight, norm, slope, _bonus = constants[i]
                needle = terms[i].needle
                tf = 1.0 + leaf.count_after(needle, candidates[chosen],
                                            firsts[i][chosen] + len(needle))
                score = score + weight * tf / (tf + norm + slope * length[chosen])
            return score

        if unknown and k is not None and len(candidates) > k:
            if self.by_date:
                chosen = np.flatnonzero(dates >= max(float(_kth_largest(dates, k)), hits.floor))
                score = exact(chosen)
            else:
                lower, upper = known.copy(), known.copy()
                for i in unknown:
                    weight, norm, slope, _bonus = constants[i]
                    lower += weight / (1.0 + norm + slope * length)
                    most = leaf.most_frequent(i, conditions, candidates)
                    upper += weight if most is None else weight * most / (most + norm
                                                                          + slope * length)
                # Score the most promising few first: their k-th best is a higher threshold
                # than the k-th best lower bound, so fewer of the rest need counting.
                size = min(len(candidates), 4 * k)
                sample = np.argpartition(upper, len(upper) - size)[len(upper) - size:]
                sampled = exact(sample)
                threshold = max(float(_kth_largest(lower, k)), float(_kth_largest(sampled, k)),
                                hits.floor)
                reach = upper >= threshold - 1e-9 * max(1.0, abs(threshold))
                reach[sample] = False
                rest = np.flatnonzero(reach)
                chosen = np.concatenate((sample, rest))
                score = np.concatenate((sampled, exact(rest)))
            candidates, dates = candidates[chosen], dates[chosen]
        else:
            score = exact(np.arange(len(candidates)))
        # Only the best k (ties included) become Python tuples.
        if k is not None and len(candidates) > k:
            keys = dates if self.by_date else score
            keep = keys >= max(float(_kth_largest(keys, k)), hits.floor)
            candidates, dates, score = candidates[keep], dates[keep], score[keep]
        offer, floor = hits.offer, hits.floor
        by_date = self.by_date
        for s, d, docnum in zip(score.tolist(), dates.tolist(), candidates.tolist(), strict=True):
            if by_date:
                if d >= floor:
                    floor = offer((d, s, -li, -docnum))
            elif s >= floor:
                floor = offer((s, d, -li, -docnum))


# ``_locate`` goes through a table by document number when there are at least 1/DENSE_LOCATE as
# many candidates as document numbers up to the list's last: filling the table and one gather
# are linear, where a binary search per candidate is not (a broad phrase's ~20,000 candidates in
# a bigram's list of ~20,000: 0.34 ms searched, 0.12 ms through the table, measured).
DENSE_LOCATE = 8


def _locate(ids: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(which candidates are in ``ids``, where in ``ids`` they are); both ascending.  Where a
    candidate is absent its position is 0 (any valid index: callers read only the present)."""
    if not len(ids):
        return np.zeros(len(candidates), dtype=bool), np.zeros(len(candidates), dtype=np.int64)
    span = int(ids[-1]) + 1
    if len(candidates) * DENSE_LOCATE >= span:
        where = np.full(span, -1, dtype=np.int64)
        where[ids] = np.arange(len(ids))
        at = np.full(len(candidates), -1, dtype=np.int64)
        inside = candidates < span
        at[inside] = where[candidates[inside]]
        present = at >= 0
        at[~present] = 0
        return present, at
    at = np.searchsorted(ids, candidates)
    at[at == len(ids)] = 0
    return ids[at] == candidates, at


def _narrowed(candidates: np.ndarray, keep: np.ndarray, *aligned: dict[int, np.ndarray]
              ) -> np.ndarray:
    """The kept candidates; the arrays aligned with them are narrowed in place."""
    for arrays in aligned:
        for i in arrays:
            arrays[i] = arrays[i][keep]
    return candidates[keep]


def _best_first(values: np.ndarray, size: int) -> np.ndarray:
    """Indexes of the ``size`` largest ``values`` (all when fewer), largest first."""
    if size < len(values):
        head = np.argpartition(-values, size - 1)[:size]
    else:
        head = np.arange(len(values))
    return head[np.argsort(-values[head], kind="stable")]


def _kth_largest(values: np.ndarray, k: int) -> Any:
    return np.partition(values, len(values) - k)[len(values) - k]


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
