"""The side file of confirming texts: one memory-mapped UTF-8 file shared by every worker.

Why a side file and not the process heap: the planner confirms each candidate by an exact
substring test on the document's normalised text, so the texts must be at hand.  Kept as ``str``
in each worker they cost ~120 MB per worker at 100,000 documents and must be loaded at start;
memory-mapped, the pages live once in the OS page cache, shared by all workers and processes on
the host, loaded lazily, and a test runs on the mapped bytes without decoding (``mmap.find``: UTF-8
is self-synchronising, so a byte substring of whole characters is a character substring).
Stored fields in Whoosh were measured too slow for this (p95 205 ms).

Layout: files ``text-NNNNNN.dat`` in the index directory, append-only; a record per document
version::

    header (RECORD) | county | sector | extra (JSON: title, original characters) | text

The Whoosh document keeps a pointer ``(file number << 40) | record offset`` in a column.  Records
are written (and flushed) while the writer holds the index lock and before it commits, so every
committed pointer refers to bytes already in the file.  A rebuild writes a new generation
directory with its own side file; the old generation is deleted after the swap (mapped pages stay
valid for readers still using them).
"""

from __future__ import annotations

import json
import mmap
import os
import re
import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from search_index.analyzer import changed_characters, normalize
from search_index.types import KINDS, Document

# text bytes, extra bytes, doc id, date ordinal (0: none), kind, withdrawn, county bytes,
# sector bytes, bytes of the normalised title at the start of the text (0: the text does not
# start with it).
RECORD = struct.Struct("<IIQiBBHHI")
FILE_SHIFT = 40
OFFSET_MASK = (1 << FILE_SHIFT) - 1
FILE_PATTERN = re.compile(r"^text-(\d{6})\.dat$")
KIND_CODES = {kind: code for code, kind in enumerate(KINDS)}


def file_name(number: int) -> str:
    return f"text-{number:06d}.dat"


def file_numbers(directory: str | os.PathLike[str]) -> list[int]:
    """Numbers of the side files present, ascending."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(m.group(1)) for name in names if (m := FILE_PATTERN.match(name)))


@dataclass(frozen=True)
class Encoded:
    """A document ready to index: its normalised texts and its side-file record."""

    document: Document
    text: str  # normalised
    title: str  # normalised
    record: bytes


def encode(document: Document) -> Encoded:
    """The side-file record of a document (and its normalised text for the index terms)."""
    # Lone surrogates cannot be encoded; "?" keeps the length (one per code unit).
    original = document.text.encode("utf-8", "replace").decode("utf-8")
    text = normalize(original)
    title = normalize(document.title)
    text_bytes = text.encode("utf-8")
    title_bytes = title.encode("utf-8", "replace")
    title_len = len(title_bytes) if text_bytes.startswith(title_bytes) else 0
    # The original characters where normalisation changed them: enough to show the original
    # text in snippets without storing it twice (normalisation keeps the length).
    changed = changed_characters(original)
    extra = json.dumps({"title": document.title, "orig": changed}, ensure_ascii=False).encode()
    county = document.county.encode("utf-8")[:65535]
    sector = document.sector.encode("utf-8")[:65535]
    header = RECORD.pack(
        len(text_bytes),
        len(extra),
        document.id,
        document.date.toordinal() if document.date else 0,
        KIND_CODES[document.kind],
        1 if document.withdrawn else 0,
        len(county),
        len(sector),
        title_len,
    )
    return Encoded(document, text, title, b"".join((header, county, sector, extra, text_bytes)))


class SideWriter:
    """Appends records to one side file; call only while holding the index's write lock."""

    def __init__(self, directory: str, number: int) -> None:
        self.number = number
        self.path = Path(directory) / file_name(number)
        self._file: BinaryIO = open(self.path, "ab")  # noqa: SIM115 (closed in close())
        self._offset = self._file.seek(0, os.SEEK_END)

    def append(self, record: bytes) -> int:
        """Write a record; returns its pointer."""
        pointer = (self.number << FILE_SHIFT) | self._offset
        self._file.write(record)
        self._offset += len(record)
        return pointer

    def close(self) -> None:
        # Flushed, the bytes are in the page cache and visible to every process before the
        # commit that points at them.  No fsync: the index is derived data, and a crash is
        # repaired by ``reindex`` (Whoosh does not fsync its own segment files either).
        self._file.close()


def _text_at(header: tuple[Any, ...], offset: int) -> tuple[int, int]:
    """Where the text of the record at ``offset`` with ``header`` (``RECORD`` unpacked)
    begins, and its length in bytes: past the header, the county, the sector and the extra."""
    text_len, extra_len, *_, county_len, sector_len, _ = header
    return offset + RECORD.size + county_len + sector_len + extra_len, text_len


def record_texts(path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    """(offset, normalised text) of every record of one side file, in file order (read
    through a map: the file is not loaded whole)."""
    with open(path, "rb") as f:
        if not os.fstat(f.fileno()).st_size:
            return
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        pos = 0
        while pos + RECORD.size <= len(data):
            start, text_len = _text_at(RECORD.unpack_from(data, pos), pos)
            yield pos, data[start : start + text_len].decode("utf-8")
            pos = start + text_len
    finally:
        data.close()


def pointer_text(directory: str | os.PathLike[str], pointer: int) -> str:
    """The normalised text of the record at ``pointer`` (a document's POINTER column)."""
    number, offset = pointer >> FILE_SHIFT, pointer & OFFSET_MASK
    with open(Path(directory) / file_name(number), "rb") as f:
        f.seek(offset)
        start, text_len = _text_at(RECORD.unpack(f.read(RECORD.size)), offset)
        f.seek(start)
        return f.read(text_len).decode("utf-8")


class SideFiles:
    """Read access: a map of each side file, remapped when it has grown."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self._maps: dict[int, mmap.mmap] = {}

    def view(self, number: int, end: int) -> mmap.mmap:
        """A map of file ``number`` covering at least ``end`` bytes."""
        current = self._maps.get(number)
        if current is not None and len(current) >= end:
            return current
        with open(self.directory / file_name(number), "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if len(mapped) < end:
            raise OSError(f"side file {number} is shorter than the index expects")
        # An older map stays alive while a DocTable refers to it; its bytes do not change.
        self._maps[number] = mapped
        return mapped

    def forget(self, keep: set[int]) -> None:
        for number in list(self._maps):
            if number not in keep:
                del self._maps[number]


class DocTable:
    """Per-segment arrays read once from the side file: what filtering and scoring need.

    Indexed by the segment's document number; immutable like the segment itself.
    """

    __slots__ = ("files", "maps", "single_map", "start", "end", "record", "date", "kind",
                 "withdrawn", "county", "sector", "title_end", "doc_id", "total_bytes",
                 "columns")

    def __init__(self, pointers: list[int], files: SideFiles) -> None:
        n = len(pointers)
        # Lists, not arrays: the search loops index them per candidate, and a list index is
        # ~25 % faster than an array's (which boxes a new int each time).
        self.maps: list[mmap.mmap] = []
        self.start: list[int] = [0] * n  # text start, bytes
        self.end: list[int] = [0] * n
        self.title_end: list[int] = [0] * n  # end of the title at the start of the text
        self.date: list[int] = [0] * n  # ordinal, 0: none
        self.record = array("q", bytes(8 * n))
        self.doc_id = array("q", bytes(8 * n))
        self.kind = bytearray(n)
        self.withdrawn = bytearray(n)
        self.county: list[str] = []
        self.sector: list[str] = []
        interned: dict[bytes, str] = {}
        unpack = RECORD.unpack_from
        size = RECORD.size
        total = 0
        self.files: set[int] = set()
        for docnum, pointer in enumerate(pointers):
            number, offset = pointer >> FILE_SHIFT, pointer & OFFSET_MASK
            self.files.add(number)
            mm = files.view(number, offset + size)
            (text_len, extra_len, doc_id, ordinal, kind, withdrawn, county_len, sector_len,
             title_len) = unpack(mm, offset)
            pos = offset + size
            county = mm[pos : pos + county_len]
            pos += county_len
            sector = mm[pos : pos + sector_len]
            pos += sector_len + extra_len
            if len(mm) < pos + text_len:
                mm = files.view(number, pos + text_len)
            self.maps.append(mm)
            self.record[docnum] = offset
            self.start[docnum] = pos
            self.end[docnum] = pos + text_len
            self.title_end[docnum] = pos + title_len
            self.date[docnum] = ordinal
            self.doc_id[docnum] = doc_id
            self.kind[docnum] = kind
            self.withdrawn[docnum] = withdrawn
            self.county.append(interned.get(county) or interned.setdefault(county, county.decode()))
            self.sector.append(interned.get(sector) or interned.setdefault(sector, sector.decode()))
            total += text_len
        self.total_bytes = total
        # The usual case: the whole segment in one file, so one map (the latest, which covers
        # every record) serves every document and the loops need not look it up per document.
        self.single_map: mmap.mmap | None = None
        if len(self.files) == 1 and n:
            (number,) = self.files
            self.single_map = files.view(number, max(self.end))
            self.maps = [self.single_map] * n
        self.columns = Columns(self)

    def text_bytes(self, docnum: int) -> bytes:
        return self.maps[docnum][self.start[docnum] : self.end[docnum]]

    def details(self, docnum: int) -> tuple[str, str, str, int]:
        """(title, original text, normalised text, characters of the title at the start of the
        text) of a document, for display."""
        mm = self.maps[docnum]
        offset = self.record[docnum]
        _, extra_len, *_, county_len, sector_len, _ = RECORD.unpack_from(mm, offset)
        pos = offset + RECORD.size + county_len + sector_len
        extra = json.loads(mm[pos : pos + extra_len])
        normalised = self.text_bytes(docnum).decode("utf-8")
        if extra["orig"]:
            chars = list(normalised)
            for index, char in extra["orig"]:
                chars[index] = char
            original = "".join(chars)
        else:
            original = normalised
        title_chars = len(mm[self.start[docnum] : self.title_end[docnum]].decode("utf-8"))
        return extra["title"], original, normalised, title_chars

    def kind_name(self, docnum: int) -> str:
        return KINDS[self.kind[docnum]]

    def event_date(self, docnum: int) -> date | None:
        ordinal = self.date[docnum]
        return date.fromordinal(ordinal) if ordinal else None


class Columns:
    """The same per-document values as numpy arrays, for the search's bulk steps (filtering,
    scoring and picking the best of many hits without a Python step per hit)."""

    __slots__ = ("start", "end", "title_end", "length", "date", "kind", "county", "sector",
                 "county_codes", "sector_codes", "_titles")

    def __init__(self, table: DocTable) -> None:
        self.start = np.array(table.start, dtype=np.int64)
        self.end = np.array(table.end, dtype=np.int64)
        self.title_end = np.array(table.title_end, dtype=np.int64)
        self.length = (self.end - self.start).astype(np.float64)  # BM25's document length
        self.date = np.array(table.date, dtype=np.int64)
        self.kind = np.frombuffer(bytes(table.kind), dtype=np.uint8)
        self.county_codes: dict[str, int] = {}
        self.sector_codes: dict[str, int] = {}
        self.county = np.array([self.county_codes.setdefault(c, len(self.county_codes))
                                for c in table.county], dtype=np.int32)
        self.sector = np.array([self.sector_codes.setdefault(c, len(self.sector_codes))
                                for c in table.sector], dtype=np.int32)
        self._titles: tuple[bytes, np.ndarray] | None = None

    def title_mask(self, table: DocTable, needle: bytes) -> np.ndarray:
        """Which documents have ``needle`` in their (normalised) title, by document number.

        The titles are joined with newlines (no term contains one, so no match spans two) and
        searched with numpy: the positions of the needle's rarest byte, narrowed byte by byte.
        Bounded by the titles' size, whatever the number of hits (a find per hit was 35 ms for
        a word in 88,000 titles)."""
        if self._titles is None:
            joined = b"\n".join(table.maps[d][s:e] for d, (s, e)
                                 in enumerate(zip(table.start, table.title_end, strict=True)))
            lengths = self.title_end - self.start + 1
            offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(lengths) else lengths
            data = np.frombuffer(joined, dtype=np.uint8)
            self._titles = (data, offsets, np.bincount(data, minlength=256))
        data, offsets, byte_counts = self._titles
        mask = np.zeros(len(offsets), dtype=bool)
        pattern = np.frombuffer(needle, dtype=np.uint8)
        if not len(pattern) or len(pattern) > len(data):
            return mask
        rarest = int(np.argmin(byte_counts[pattern]))
        starts = np.flatnonzero(data == pattern[rarest]) - rarest
        starts = starts[(starts >= 0) & (starts <= len(data) - len(pattern))]
        for j, byte in enumerate(pattern):
            if j != rarest and len(starts):
                starts = starts[data[starts + j] == byte]
        if len(starts):
            mask[np.searchsorted(offsets, starts, side="right") - 1] = True
        return mask
