"""A term's whole posting list as two numpy arrays (document numbers, frequencies), read in bulk.

Why not Whoosh's matcher: it hands out one posting per Python call (``id``/``weight``/``next``,
about 1 µs a posting), and a broad bigram at 100,000 documents has 100,000 postings — 100 ms
before any scoring.  Read here a block at a time (128 postings: one ``zlib`` and one ``pickle``
call, then numpy), the same list costs a few milliseconds, and the arrays are kept per segment
(``PostingCache``) and filled for the broadest terms at warm start.

This reads the on-disk layout of Whoosh's W3 codec (``whoosh/codec/whoosh3.py``):

    "W3Bl" | block | block | … ; block = length (!i, negative for the last) | info pickle
    (postings, last id, max weight, compression, min length, max length) | data (zlib if
    compression) = pickle (delta-coded ids, weights: None = all 1, a float = all equal, or a
    tuple, values)

Whoosh 2.7.4 is the last release (2016) and is pinned in pyproject.toml; a test compares these
arrays with the public matcher API for every term of an index, so a change of layout fails the
suite instead of returning wrong results.  Anything that is not a W3 leaf matcher (postings
inlined in the term info, for a term in one document) goes through the public API.
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from collections import OrderedDict
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3LeafMatcher
from whoosh.reading import IndexReader, TermNotFound

_LENGTH = struct.Struct("!i")
EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))

Postings = tuple[np.ndarray, np.ndarray]


def read_postings(reader: IndexReader, field_name: str, term: bytes) -> Postings:
    """(document numbers ascending as int32, frequencies as float32) of ``term`` in one segment
    reader; empty arrays when the term is not there.  Deleted documents are included, as in
    Whoosh's own postings."""
    try:
        matcher = reader.postings(field_name, term)
    except TermNotFound:
        return EMPTY
    if type(matcher) is W3LeafMatcher:
        return _read_blocks(matcher)
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.array(ids, dtype=np.int32), np.array(weights, dtype=np.float32)


def _read_blocks(matcher: Any) -> Postings:
    length = matcher._length
    # W3TermInfo.from_bytes leaves the length as the 1-tuple struct.unpack returned (harmless
    # to Whoosh, which reads block by block and never uses it).
    if isinstance(length, tuple):
        (length,) = length
    raw = matcher._postfile.get(matcher._startoffset, length)
    if raw[:4] != WHOOSH3_HEADER_MAGIC:
        raise ValueError("not a W3 posting list")
    deltas: list[int] = []
    weights: list[float] = []
    firsts: list[int] = []  # index of each block's first posting in ``deltas``
    last_ids: list[int] = []
    view = memoryview(raw)
    pos = 4
    end = len(raw)
    unpack_length = _LENGTH.unpack_from
    while pos < end:
        (length,) = unpack_length(raw, pos)
        pos += 4
        block_end = pos + abs(length)
        stream = io.BytesIO(view[pos:block_end])
        # Whoosh unpickles the very same bytes; the index is the app's own (mode 0700).
        count, last_id, _maxweight, compression, _mn, _mx = pickle.load(stream)  # noqa: S301
        data = view[pos + stream.tell() : block_end]
        raw_block = zlib.decompress(data) if compression else data
        ids, block_weights, _values = pickle.loads(raw_block)  # noqa: S301
        firsts.append(len(deltas))
        last_ids.append(last_id)
        deltas.extend(ids)
        if block_weights is None:
            weights.extend([1.0] * count)
        elif isinstance(block_weights, float):
            weights.extend([block_weights] * count)
        else:
            weights.extend(block_weights)
        pos = block_end
        if length < 0:
            break
    ids_array = np.array(deltas, dtype=np.int64)
    # Each block is delta-coded from 0: make its first delta relative to the previous block's
    # last id, and one cumulative sum decodes the whole list.
    if len(firsts) > 1:
        ids_array[firsts[1:]] -= np.array(last_ids[:-1], dtype=np.int64)
    return np.cumsum(ids_array).astype(np.int32), np.array(weights, dtype=np.float32)


class PostingCache:
    """Decoded posting lists of one process, by (segment, field, term), within a byte budget
    (least recently used first out); the search keeps other per-segment arrays of a term in it
    too (``put``/``peek``).  Segments never change, so an entry is valid as long as its
    segment is part of the index; ``keep`` drops those of merged-away segments."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.used = 0
        self._entries: OrderedDict[tuple[str, str, bytes], Postings] = OrderedDict()

    def __contains__(self, key: tuple[str, str, bytes]) -> bool:
        return key in self._entries

    def get(self, reader: IndexReader, segment_id: str, field_name: str, term: bytes) -> Postings:
        key = (segment_id, field_name, term)
        found = self.peek(key)
        if found is None:
            found = read_postings(reader, field_name, term)
            self.put(key, found)
        return found

    def peek(self, key: tuple[str, str, bytes]) -> Postings | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: tuple[str, str, bytes], arrays: Postings) -> None:
        size = arrays[0].nbytes + arrays[1].nbytes
        if size > self.budget or key in self._entries:
            return
        self._entries[key] = arrays
        self.used += size
        while self.used > self.budget:
            _, (first, second) = self._entries.popitem(last=False)
            self.used -= first.nbytes + second.nbytes

    def keep(self, segments: set[str]) -> None:
        for key in [k for k in self._entries if k[0] not in segments]:
            ids, tfs = self._entries.pop(key)
            self.used -= ids.nbytes + tfs.nbytes

    def clear(self) -> None:
        self._entries.clear()
        self.used = 0
