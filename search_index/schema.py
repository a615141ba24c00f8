"""The Whoosh schema: terms without positions, a pointer into the side file, and the key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from whoosh import columns, fields, formats
from whoosh.system import pack_uint

from search_index.analyzer import GramTokenizer, han_grams, word_trigrams, words


class TermsField(fields.FieldType):
    """A field of precomputed terms from normalised text, with frequencies and no positions.

    Positions are not needed: the planner confirms candidates on the text itself, and leaving
    them out made the index 2.7 times smaller (DESIGN.md §7).  ``index`` counts the terms in
    one pass instead of going through Whoosh's token objects (the analyzer is kept for tools
    that tokenize).
    """

    def __init__(self, extract: Callable[[str], list[str]]) -> None:
        # scorable=True although scores are computed elsewhere: Whoosh 2.7 asks for each posting's
        # field length while writing, and without a length column every ask is a stat() of the
        # missing column file (that made building four times slower).
        super().__init__(formats.Frequency(), GramTokenizer(), scorable=True, stored=False)
        self.extract = extract

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        for term, freq in Counter(self.extract(value)).items():
            yield term.encode("utf-8"), freq, float(freq), pack_uint(freq)


# Field names are part of the on-disk format: an index written with other names is rebuilt.
KEY, GRAMS, WORDS, TRIGRAMS, POINTER = "key", "g", "w", "w3", "ptr"


def make_schema() -> fields.Schema:
    return fields.Schema(
        **{
            KEY: fields.ID(unique=True),  # "kind:id": update_document replaces by it
            GRAMS: TermsField(han_grams),  # Han bigrams (a lone Han character as itself)
            WORDS: TermsField(words),  # lowercased letter/digit runs
            TRIGRAMS: TermsField(word_trigrams),  # their trigrams: fragments of codes, numbers
            POINTER: fields.COLUMN(columns.NumericColumn("Q")),  # side-file record pointer
        }
    )
