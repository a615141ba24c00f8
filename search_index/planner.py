"""From a user's query to what the index must narrow and what the text must confirm.

A query is a list of *terms*, all required (AND): words separated by white space, or phrases in
quotes ("…" or “…”).  A document matches when its normalised text contains every term as a
substring: that is the whole definition, and the brute-force check in the tests uses it.

For each term the planner derives *conditions*: sets of index terms that every matching document
necessarily has.  A Han run of two or more characters in the term gives its bigrams.  A lone Han
character or a letter/digit run gives a pattern over the field's lexicon, chosen by where the run
sits in the term: a run with a character of another class on both sides must be a whole index
term; with one only on its left it must start an index term, only on its right end one, and a
run that is the whole term may be anywhere inside an index term.  Conditions only narrow the
candidates; the exact substring test decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from search_index.analyzer import TOKEN_RUN, normalize
from search_index.schema import GRAMS, WORDS
from search_index.types import QueryInvalid

MAX_QUERY_CHARS = 200
MAX_TERMS = 10

_QUOTES = {'"': '"', "“": "”", "「": "」"}
_ALL_QUOTES = set(_QUOTES) | set(_QUOTES.values())
# (neighbour on the left, neighbour on the right) -> how the index term relates to the run
_MODES = {(True, True): "exact", (True, False): "prefix", (False, True): "suffix",
          (False, False): "infix"}


@dataclass(frozen=True)
class Pattern:
    """Index terms of ``field`` that are, start with, end with or contain ``fragment``."""

    field: str
    fragment: str
    mode: str  # "exact" | "prefix" | "suffix" | "infix"


@dataclass(frozen=True)
class TermPlan:
    text: str  # normalised term: the substring every hit contains
    grams: tuple[str, ...] = ()  # bigrams every hit has (each its own posting list)
    patterns: tuple[Pattern, ...] = ()  # each: a hit has at least one matching index term
    trigrams: tuple[str, ...] = ()  # trigrams of letter/digit runs every hit has
    needle: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needle", self.text.encode("utf-8"))

    @property
    def is_bigram(self) -> bool:
        """The term is exactly one Han bigram: its posting list alone is the exact answer."""
        return len(self.text) == 2 and self.grams == (self.text,)


@dataclass(frozen=True)
class Plan:
    terms: tuple[TermPlan, ...]

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(t.text for t in self.terms)


def split_terms(q: str) -> list[str]:
    """The raw terms of a query: white-space separated words and quoted phrases.

    Raises ``QueryInvalid`` (with a message for the user) for unbalanced quotes.
    """
    terms: list[str] = []
    word: list[str] = []
    i = 0
    while i < len(q):
        char = q[i]
        if char in _QUOTES:
            closing = _QUOTES[char]
            end = q.find(closing, i + 1)
            if end < 0:
                raise QueryInvalid("引号没有配对：请补全引号，或去掉引号后再搜索。")
            if word:
                terms.append("".join(word))
                word = []
            phrase = " ".join(q[i + 1 : end].split())
            if phrase:
                terms.append(phrase)
            i = end + 1
            continue
        if char in _ALL_QUOTES:  # a closing quote with no opening one
            raise QueryInvalid("引号没有配对：请补全引号，或去掉引号后再搜索。")
        if char.isspace():
            if word:
                terms.append("".join(word))
                word = []
        else:
            word.append(char)
        i += 1
    if word:
        terms.append("".join(word))
    return terms


def plan_term(text: str) -> TermPlan | None:
    """The conditions of one normalised term; None if it has no letter, digit or Han character."""
    runs = list(TOKEN_RUN.finditer(text))
    if not runs:
        return None
    grams: list[str] = []
    patterns: list[Pattern] = []
    trigrams: list[str] = []
    for match in runs:
        run = match.group()
        left = match.start() > 0
        right = match.end() < len(text)
        if match.lastgroup == "han" and len(run) > 1:
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
            continue
        mode = _MODES[left, right]
        if match.lastgroup == "word" and len(run) > 2:
            # Wherever the run sits inside a word, the word has the run's trigrams; a pattern
            # is still worth keeping when it is a cheap lookup (a whole word, a prefix).
            trigrams.extend(run[i : i + 3] for i in range(len(run) - 2))
            if mode in ("suffix", "infix"):
                continue
        # A lone Han character (the index has it inside a bigram, or as itself when its run is
        # one character long) or a letter/digit run (the index has whole runs): a neighbour of
        # another class inside the term fixes that end of the index term.
        field_name = GRAMS if match.lastgroup == "han" else WORDS
        patterns.append(Pattern(field_name, run, mode))
    return TermPlan(text, tuple(dict.fromkeys(grams)), tuple(dict.fromkeys(patterns)),
                    tuple(dict.fromkeys(trigrams)))


def plan(q: str) -> Plan:
    """Parse and plan a query; raises ``QueryInvalid`` with a message for the user."""
    if len(q) > MAX_QUERY_CHARS:
        raise QueryInvalid(f"搜索词太长了（{len(q)} 个字），请精简到 {MAX_QUERY_CHARS} 个字以内。")
    raw = split_terms(normalize(q.strip()))
    if not raw:
        raise QueryInvalid("请输入要搜索的词语，例如企业名称、文号或统一社会信用代码。")
    plans: list[TermPlan] = []
    for term in dict.fromkeys(raw):
        planned = plan_term(term)
        if planned is not None:
            plans.append(planned)
    if not plans:
        raise QueryInvalid("搜索词只有标点符号：请输入文字、字母或数字。")
    if len(plans) > MAX_TERMS:
        raise QueryInvalid(f"搜索词太多（{len(plans)} 个），请减少到 {MAX_TERMS} 个以内。")
    # A term contained in another adds no condition (both must occur anyway) but is kept for
    # highlighting; drop it from matching.
    texts = [p.text for p in plans]
    needed = tuple(p for p in plans if not any(p.text != o and p.text in o for o in texts))
    return Plan(needed)


def highlight_terms(q: str) -> tuple[str, ...]:
    """All normalised terms of a query (including those implied by longer ones), for snippets."""
    try:
        raw = split_terms(normalize(q.strip()))
    except QueryInvalid:
        return ()
    return tuple(t for t in dict.fromkeys(raw) if TOKEN_RUN.search(t))
