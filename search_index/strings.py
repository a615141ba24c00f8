"""Frequent strings: which strings of 3 to 8 characters are found in many texts
(``frequent_grams``, from a sample) and in how many texts each is found (``count_grams`` for a
few texts, ``StringCounter`` for many): what both backends keep exact counts of (the Whoosh
backend's ``strings-<generation>.dat``, see ``search_index.index``; PostgreSQL's
``search_gram_counts``, see ``search_index.postgres``).

``count_grams`` builds every string of 3 to 8 characters of each text in Python, about
1.5 ms a text (30 s at 20,000 items, a third of a rebuild).  ``StringCounter`` looks at the
texts of a batch as one array of code points, and each level of string length is one lookup per
position: a string of length L is the id of its first L-1 characters (a string of the level
below: every frequent string's start is frequent too) and its last character, so a window is
one 64-bit key, looked up with ``searchsorted`` among the keys of the strings counted.  Exact:
keys are not hashes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

import numpy as np

SHORTEST, LONGEST = 3, 8  # the lengths counted (PostgreSQL's GRAM_LENGTHS)
SHARE = 0.005  # the share of texts a string is in, at least, to be counted (at a rebuild)
SAMPLE = 2000  # texts sampled to find the candidates (``frequent_grams``)
BATCH = 4000  # texts looked at together (memory: ~60 bytes a character of the batch)
_BITS = 21  # a code point's bits


class TextSample:
    """A uniform sample of at most SAMPLE of the texts a rebuild writes (reservoir sampling,
    seeded: the same texts give the same sample), for ``frequent_grams`` to choose the strings
    that are then counted on every text."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.offered = 0
        self._draw = random.Random(0)

    def offer(self, text: str) -> None:
        self.offered += 1
        if len(self.texts) < SAMPLE:
            self.texts.append(text)
        elif (n := self._draw.randrange(self.offered)) < SAMPLE:
            self.texts[n] = text


class StringCounter:
    """Counts, for a fixed set of strings, in how many texts each is found."""

    def __init__(self, strings: Iterable[str]) -> None:
        by_length: dict[int, list[str]] = {}
        for s in set(strings):
            if SHORTEST <= len(s) <= LONGEST and not any(c.isspace() for c in s):
                by_length.setdefault(len(s), []).append(s)
        # Per level: the keys, ascending, and the strings in the same order.
        self.levels: list[tuple[np.ndarray, list[str]]] = []
        below: dict[str, int] = {}
        for length in range(SHORTEST, LONGEST + 1):
            keyed = []
            for s in by_length.get(length, ()):
                if length == SHORTEST:
                    key = (ord(s[0]) << 2 * _BITS) | (ord(s[1]) << _BITS) | ord(s[2])
                elif s[:-1] in below:
                    key = (below[s[:-1]] << _BITS) | ord(s[-1])
                else:
                    continue  # its start is not counted: neither is it (never from a rebuild)
                keyed.append((key, s))
            if not keyed:
                break
            keyed.sort()
            self.levels.append((np.array([k for k, _ in keyed], dtype=np.uint64),
                                [s for _, s in keyed]))
            below = {s: i for i, (_, s) in enumerate(keyed)}

    @property
    def strings(self) -> set[str]:
        return {s for _, strings in self.levels for s in strings}

    def count(self, texts: Iterable[str]) -> dict[str, int]:
        """In how many of ``texts`` each string is found (only those found at least once)."""
        totals = [np.zeros(len(keys), dtype=np.int64) for keys, _ in self.levels]
        if self.levels:
            for batch in _batches(texts):
                self._count_batch(batch, totals)
        return {s: int(n) for (_, strings), counted in zip(self.levels, totals, strict=True)
                for s, n in zip(strings, counted.tolist(), strict=True) if n}

    def _count_batch(self, texts: list[str], totals: list[np.ndarray]) -> None:
        # One space after each text: no counted string has white space, so none spans two.
        codes = np.frombuffer(" ".join(texts).encode("utf-32-le") + b" \0\0\0",
                              dtype=np.uint32).astype(np.uint64)
        text_of = np.repeat(np.arange(len(texts), dtype=np.int64),
                            [len(t) + 1 for t in texts])
        ids: np.ndarray | None = None  # per window start: id of the window's string, or -1
        for level, ((keys, _), total) in enumerate(zip(self.levels, totals, strict=True)):
            length = SHORTEST + level
            if len(codes) < length:
                return
            if ids is None:
                key = ((codes[:-2] << np.uint64(2 * _BITS)) | (codes[1:-1] << np.uint64(_BITS))
                       | codes[2:])
                starts = np.arange(len(key))
            else:
                starts = np.flatnonzero(ids[: len(codes) - length + 1] >= 0)
                key = ((ids[starts].astype(np.uint64) << np.uint64(_BITS))
                       | codes[starts + length - 1])
            at = np.searchsorted(keys, key)
            at[at == len(keys)] = 0
            hit = keys[at] == key
            ids = np.full(len(codes) - length + 1, -1, dtype=np.int64)
            ids[starts[hit]] = at[hit]
            found = np.flatnonzero(ids >= 0)
            if not len(found):
                return
            # Each (text, string) once: sorted, then the first of each run of equal pairs
            # (np.unique's hashing was 15 times slower here).
            pairs = np.sort(text_of[found] * len(keys) + ids[found])
            pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
            total += np.bincount(pairs % len(keys), minlength=len(keys))


def _grams(text: str, length: int) -> set[str]:
    return {text[i : i + length] for i in range(len(text) - length + 1)}


def frequent_grams(texts: list[str], least: int) -> set[str]:
    """The strings of SHORTEST to LONGEST characters, without white space, found in at least
    ``least`` of ``texts``.  Level by level: a string can be that frequent only if both the
    string one character shorter at its start and the one at its end are."""
    from collections import Counter

    low, high = SHORTEST, LONGEST
    found: set[str] = set()
    shorter: set[str] | None = None
    for length in range(low, high + 1):
        counted: Counter[str] = Counter()
        for text in texts:
            grams = _grams(text, length)
            if shorter is not None:
                grams = {g for g in grams if g[:-1] in shorter and g[1:] in shorter}
            counted.update(grams)
        shorter = {g for g, n in counted.items()
                   if n >= least and (shorter is not None or not any(c.isspace() for c in g))}
        found |= shorter
        if not shorter:
            break
    return found


def count_grams(texts: Iterable[str], grams: set[str]) -> dict[str, int]:
    """In how many of ``texts`` each of ``grams`` is found (no string of ``grams`` has white
    space: a text's are those of its pieces between white space)."""
    from collections import Counter

    low, high = SHORTEST, LONGEST
    counted: Counter[str] = Counter()
    for text in texts:
        found: set[str] = set()
        for piece in text.split():
            n = len(piece)
            for length in range(low, min(high, n) + 1):
                found.update(map(piece.__getitem__,
                                 map(slice, range(n - length + 1), range(length, n + 1))))
        counted.update(found & grams)
    return counted


def _batches(texts: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
