"""Text normalisation and the index terms of Chinese text.

Two rules make search correct for Chinese, and everything else follows from them:

* ``normalize`` maps every character to exactly one character (full-width to half-width, upper to
  lower case, bracket and dot variants to one form, any white space to a space).  Because it keeps
  the length, an offset in the normalised text is the same offset in the original, so snippets
  can show the original while matching runs on the normalised text.
* The index holds, per document, overlapping bigrams of every run of Han characters (a run of one
  character is indexed as that character), and every run of other letters and digits as a
  lowercased word.  These terms are only used to *narrow* the candidates: a document that
  contains a query term as a substring necessarily has all the bigrams of the term's Han runs and
  a word that contains each of the term's letter/digit runs.  The exact substring test on the
  normalised text then decides (see ``search_index.planner``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

from whoosh.analysis import Token, Tokenizer

# Han ideographs: 〇, extension A, the unified block, compatibility ideographs, extensions B–H.
HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003347f"
HAN_RUN = re.compile(f"[{HAN}]+")
# Letters and digits that are not Han ("words": Latin, digits, kana, …); "_" is punctuation here.
WORD_RUN = re.compile(rf"[^\W_{HAN}]+")
TOKEN_RUN = re.compile(rf"(?P<han>[{HAN}]+)|(?P<word>[^\W_{HAN}]+)")

# Variants that people use interchangeably in 文号 and titles: one form for each.
_OPENING = "([（〔【［〖〘⦅"
_CLOSING = ")]）〕】］〗〙⦆"
_DOTS = "·・‧•∙⋅･"


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    """The character map of ``normalize`` over the Basic Multilingual Plane (built once)."""
    table: dict[int, str] = {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        mapped = unicodedata.normalize("NFKC", char)
        if len(mapped) != 1:
            mapped = char  # keep the length: a character that expands stays as it is
        lower = mapped.lower()
        if len(lower) == 1:
            mapped = lower
        if mapped.isspace():
            mapped = " "
        if mapped != char:
            table[code] = mapped
    for char in _OPENING:
        table[ord(char)] = "("
    for char in _CLOSING:
        table[ord(char)] = ")"
    for char in _DOTS:
        table[ord(char)] = "·"
    table.pop(ord("·"), None)
    return table


@lru_cache(maxsize=1)
def _mapper() -> tuple[re.Pattern[str], dict[str, str]]:
    table = _table()
    chars = "".join(chr(code) for code in sorted(table))
    return re.compile(f"[{re.escape(chars)}]"), {chr(k): v for k, v in table.items()}


def normalize(text: str) -> str:
    """The form both documents and queries are matched in; ``len(normalize(s)) == len(s)``."""
    # A regex finds the few characters that change: about twice as fast as str.translate,
    # which looks up every character of mostly-Han text in the table.
    pattern, mapping = _mapper()
    return pattern.sub(lambda match: mapping[match.group()], text)


def changed_characters(text: str) -> list[tuple[int, str]]:
    """(offset, original character) wherever ``normalize`` changes ``text``."""
    pattern, _ = _mapper()
    return [(match.start(), match.group()) for match in pattern.finditer(text)]


def han_grams(text: str) -> list[str]:
    """Overlapping bigrams of each Han run of a *normalised* text; a lone character as itself."""
    grams: list[str] = []
    for run in HAN_RUN.findall(text):
        if len(run) == 1:
            grams.append(run)
        else:
            grams.extend([run[i : i + 2] for i in range(len(run) - 1)])
    return grams


def words(text: str) -> list[str]:
    """The letter/digit runs of a *normalised* text (already lower case)."""
    return WORD_RUN.findall(text)


def word_trigrams(text: str) -> list[str]:
    """Overlapping trigrams of each letter/digit run of three or more characters (normalised).

    They let a fragment of a credit code or a number (``532822m``) be narrowed by postings:
    the whole words would have to be found in the lexicon one by one.
    """
    grams: list[str] = []
    for word in WORD_RUN.findall(text):
        if len(word) > 2:
            grams.extend([word[i : i + 3] for i in range(len(word) - 2)])
    return grams


def index_terms(text: str) -> tuple[Counter[str], Counter[str]]:
    """Term frequencies of a normalised text: (Han grams, words)."""
    return Counter(han_grams(text)), Counter(words(text))


class GramTokenizer(Tokenizer):
    """Whoosh tokenizer yielding the same terms as ``han_grams`` + ``words``.

    The index writes terms through ``search_index.schema.TermsField`` (faster); this tokenizer
    exists so Whoosh tools that analyse text (``field.tokenize``, highlighters) see the same terms.
    """

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        text = normalize(value)
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for match in TOKEN_RUN.finditer(text):
            run = match.group()
            if match.lastgroup == "word" or len(run) == 1:
                pieces = [(run, match.start())]
            else:
                pieces = [(run[i : i + 2], match.start() + i) for i in range(len(run) - 1)]
            for piece, offset in pieces:
                token.text = piece
                token.boost = 1.0
                if keeporiginal:
                    token.original = piece
                token.stopped = False
                if positions:
                    token.pos = pos
                    pos += 1
                if chars:
                    token.startchar = start_char + offset
                    token.endchar = start_char + offset + len(piece)
                yield token
