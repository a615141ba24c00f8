import random
from collections import Counter

import pytest

from search_index.analyzer import (
    GramTokenizer,
    changed_characters,
    han_grams,
    index_terms,
    normalize,
    word_trigrams,
    words,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits
        ("91532801MA6NKX0Y3K", "91532801ma6nkx0y3k"),  # credit codes match in any case
        ("西应急罚〔2026〕12号", "西应急罚(2026)12号"),  # 文号 bracket styles are one
        ("西应急罚[2026]12号", "西应急罚(2026)12号"),
        ("西应急罚【2026】12号", "西应急罚(2026)12号"),
        ("西应急罚（2026）12号", "西应急罚(2026)12号"),
        ("“6・12”事故", "“6·12”事故"),  # middle-dot variants are one
        ("景洪市\n勐海县\t勐腊县　磨憨", "景洪市 勐海县 勐腊县 磨憨"),  # any white space is a space
        ("非煤矿山", "非煤矿山"),  # Han text is unchanged
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_keeps_the_length_and_is_idempotent():
    rng = random.Random(1)
    alphabet = "矿山ＡａZz９9〔〕【】（）·・\n\t　İﬁ㎡①Ⅱ😀é" + "".join(chr(c) for c in range(0x20, 0x7F))
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        normalised = normalize(text)
        assert len(normalised) == len(text)
        assert normalize(normalised) == normalised


def test_characters_that_would_expand_are_kept():
    # NFKC turns ㎡ into "m2" and ﬁ into "fi": two characters for one would shift offsets.
    assert normalize("㎡ﬁ") == "㎡ﬁ"


def test_changed_characters_restore_the_original():
    text = "ＬＮＧ储罐〔2026〕No.5"
    normalised = normalize(text)
    chars = list(normalised)
    for offset, original in changed_characters(text):
        chars[offset] = original
    assert "".join(chars) == text


def test_han_grams_are_overlapping_bigrams_of_each_run():
    assert han_grams("非煤矿山") == ["非煤", "煤矿", "矿山"]
    # Punctuation and other characters end a run: no bigram spans them.
    assert han_grams("矿，山") == ["矿", "山"]
    assert han_grams("采矿 山坡") == ["采矿", "山坡"]
    assert han_grams("2026年6月") == ["年", "月"]
    assert han_grams("abc") == []


def test_words_are_lowercased_letter_and_digit_runs():
    text = normalize("代码91532801MA6NKX0Y3K，LNG储罐、GB 50016-2014")
    assert words(text) == ["91532801ma6nkx0y3k", "lng", "gb", "50016", "2014"]
    assert words(normalize("〔2026〕12号")) == ["2026", "12"]


def test_index_terms_count_frequencies():
    grams, found = index_terms(normalize("矿山矿山 LNG lng"))
    assert grams == Counter({"矿山": 2, "山矿": 1})
    assert found == Counter({"lng": 2})


def test_whoosh_tokenizer_yields_the_same_terms():
    text = "西应急罚〔2026〕12号：ＬＮＧ储罐区非煤矿山，矿"
    tokens = [t.text for t in GramTokenizer()(text)]
    normalised = normalize(text)
    assert Counter(tokens) == Counter(han_grams(normalised)) + Counter(words(normalised))


def test_whoosh_tokenizer_reports_character_offsets():
    text = "磨憨镇 LNG"
    tokens = [(t.text, t.startchar, t.endchar) for t in GramTokenizer()(text, chars=True)]
    assert tokens == [("磨憨", 0, 2), ("憨镇", 1, 3), ("lng", 4, 7)]


def test_word_trigrams_cover_runs_of_three_or_more():
    assert word_trigrams(normalize("代码5328MA，No.5 lng")) == ["532", "328", "28m", "8ma", "lng"]
