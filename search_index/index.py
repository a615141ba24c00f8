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
process may have written).  Writers wait for the lock up to a timeout, then raise ``IndexBusy``.
"""

from __future__ import annotations

import heapq
import math
import os
import struct
import threading
import weakref
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.filedb.filestore import FileStorage
from whoosh.index import IndexError as WhooshIndexError
from whoosh.index import LockError
from whoosh.reading import IndexReader, TermNotFound
from whoosh.searching import Searcher
from whoosh.util.filelock import try_for

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
    file_name,
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


class SearchIndex:
    """The search index in ``directory`` (created on first write)."""

    def __init__(
        self,
        directory: str,
        *,
        write_timeout: float = 10.0,
        rebuild_timeout: float = 120.0,
        limitmb: int = 256,
        cache_size: int = 256,
    ) -> None:
        self.directory = str(directory)
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
        self.cache_size = cache_size
        self._results: OrderedDict[tuple[Any, ...], tuple[int, list[_Ranked]]] = OrderedDict()
        self._cached = 0  # ranked hits held by the LRU

    # -- opening and refreshing ---------------------------------------------------------------

    def _storage(self) -> FileStorage:
        # Owner only: the index holds the published texts, but nothing else should write there.
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        return FileStorage(self.directory)

    def _index(self, create: bool, fresh: bool = False) -> whoosh_index.Index | None:
        """The Whoosh index; ``create``: create it if missing; ``fresh``: also replace one
        written with another schema (by an older version: only a rebuild may do that)."""
        if self._ix is not None and not (fresh and not _compatible(self._ix.schema)):
            return self._ix
        storage = self._storage()
        exists = storage.index_exists()
        if not exists and not create:
            return None
        if not exists or (fresh and not _compatible(storage.open_index().schema)):
            # Two processes may try to create it at once: only one may (creating clears).
            lock = storage.lock("CREATE")
            if not _acquire(lock, self.write_timeout):
                raise IndexBusy("the search index is being created by another process")
            try:
                if not storage.index_exists() or not _compatible(storage.open_index().schema):
                    storage.create_index(make_schema())
            finally:
                lock.release()
        self._ix = storage.open_index()
        return self._ix

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
        self._results.clear()
        self._cached = 0

    def _current(self) -> Searcher | None:
        """The process's searcher, refreshed if another writer committed since."""
        self._check_process()
        if self._open.searcher is None:
            ix = self._index(create=False)
            if ix is None:
                return None
            self._open.searcher = ix.searcher()
            self._files = SideFiles(self.directory)
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
        """The generation of the index this process reads (-1 before any index exists)."""
        with self._lock:
            searcher = self._current()
            return searcher.reader().generation() if searcher is not None else -1

    def close(self) -> None:
        """Close the searcher and drop the maps (the next search opens them again)."""
        with self._lock:
            self._reset()

    # -- writing ------------------------------------------------------------------------------

    @contextmanager
    def _writer(self, timeout: float, fresh: bool = False) -> Iterator[writing.SegmentWriter]:
        # Writing does not hold the process lock: searches in other threads go on meanwhile
        # (on the previous generation), and Whoosh's file lock orders the writers.
        with self._lock:
            self._check_process()
            ix = self._index(create=True, fresh=fresh)
        assert ix is not None
        if not _compatible(ix.schema):
            raise SearchUnavailable(
                "the search index was written by another version of the portal: "
                "rebuild it with `flask --app portal reindex`"
            )
        try:
            # compound=False: a compound segment's postings are copied into each reading
            # process's heap; separate files are memory-mapped and shared (DESIGN.md §7).
            writer = ix.writer(timeout=timeout, delay=0.05, compound=False, limitmb=self.limitmb)
        except LockError as exc:
            raise IndexBusy("another process is writing the search index") from exc
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise

    def rebuild(self, documents: Iterable[Document]) -> int:
        """Replace the whole index with ``documents`` in one commit; returns how many.

        Readers see the old index until the commit and the new one after it, never a part.
        """
        with self._writer(self.rebuild_timeout, fresh=True) as writer:
            old = file_numbers(self.directory)
            side = SideWriter(self.directory, (old[-1] + 1) if old else 1)
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
                # CLEAR: the new segment replaces every old one in this one commit.
                writer.commit(mergetype=writing.CLEAR)
            except BaseException:
                side.close()
                os.unlink(side.path)
                raise
        for number in old:
            # Readers that still map an old file keep their pages (POSIX unlink semantics).
            with _suppress_oserror():
                os.unlink(os.path.join(self.directory, file_name(number)))
        return count

    def update(self, documents: Iterable[Document], deleted: Iterable[str] = ()) -> None:
        """Add or replace ``documents`` and remove the keys in ``deleted``, in one commit."""
        latest = {d.key: d for d in documents}
        gone = [key for key in dict.fromkeys(deleted) if key not in latest]
        if not latest and not gone:
            return
        with self._writer(self.write_timeout) as writer:
            for key in gone:
                writer.delete_by_term(KEY, key)
            if latest:
                numbers = file_numbers(self.directory)
                side = SideWriter(self.directory, numbers[-1] if numbers else 1)
                try:
                    for document in latest.values():
                        _add(writer, side, document, update=True)
                finally:
                    side.close()
            writer.commit()

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


def _acquire(lock: Any, timeout: float) -> bool:
    return bool(try_for(lock.acquire, timeout=timeout, delay=0.05))


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
                tf = matcher.weight()
                s = start[docnum]
                score = weight * tf / (tf + norm + slope * (end[docnum] - s))
                # In the title: the title is the start of the text, so one short find.
                if (single_find or maps[docnum].find)(needle, s, title_end[docnum]) >= 0:
                    score += bonus
                if by_date:
                    if dates[docnum] >= floor:
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
