import pytest

from search_index.planner import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    Pattern,
    highlight_terms,
    plan,
    plan_term,
    split_terms,
)
from search_index.types import QueryInvalid


def test_split_terms_by_white_space_and_quotes():
    assert split_terms("矿山 隐患") == ["矿山", "隐患"]
    assert split_terms('"非煤矿山 重大隐患" 景洪') == ["非煤矿山 重大隐患", "景洪"]
    assert split_terms("“磨憨镇”罚款") == ["磨憨镇", "罚款"]
    assert split_terms("「勐腊县」") == ["勐腊县"]
    # White space inside a phrase is one space, as in normalised text.
    assert split_terms('"a   b"') == ["a b"]
    assert split_terms('""  x') == ["x"]


@pytest.mark.parametrize("q", ['"矿山', "矿山”", "“矿山", '矿山 "隐患', "」"])
def test_unbalanced_quotes_are_refused_with_a_message(q):
    with pytest.raises(QueryInvalid, match="引号"):
        split_terms(q)


def test_plan_refuses_empty_long_punctuation_only_and_too_many_terms():
    with pytest.raises(QueryInvalid, match="请输入"):
        plan("   ")
    with pytest.raises(QueryInvalid, match="太长"):
        plan("矿" * (MAX_QUERY_CHARS + 1))
    with pytest.raises(QueryInvalid, match="标点"):
        plan("，。！？ ——")
    with pytest.raises(QueryInvalid, match="太多"):
        plan(" ".join(f"词{i}" for i in range(MAX_TERMS + 1)))


def test_plan_drops_punctuation_terms_and_terms_implied_by_longer_ones():
    assert plan("矿山 ， 非煤矿山").texts == ("非煤矿山",)
    assert plan("矿山 隐患 矿山").texts == ("矿山", "隐患")


def test_plan_normalises_terms():
    assert plan("ＬＮＧ 西应急罚〔2026〕12号").texts == ("lng", "西应急罚(2026)12号")


def test_a_two_character_han_word_is_one_exact_bigram():
    term = plan_term("矿山")
    assert term.is_bigram
    assert term.grams == ("矿山",)
    assert not plan_term("非煤矿山").is_bigram


def test_longer_han_terms_need_all_their_bigrams():
    assert plan_term("磨憨镇").grams == ("磨憨", "憨镇")
    assert plan_term("矿山矿山").grams == ("矿山", "山矿")  # each bigram once


def test_lone_han_character_and_word_runs_become_lexicon_patterns():
    # A term that is one character: any index term containing it.
    assert plan_term("矿").patterns == (Pattern("g", "矿", "infix"),)
    # 12号: "12" ends a word (a Han character follows it in the term), 号 starts a Han run.
    assert plan_term("12号").patterns == (Pattern("w", "12", "suffix"), Pattern("g", "号", "prefix"))
    # Inside a 文号 the year is a whole word, the number ends one.
    term = plan_term("西应急罚(2026)12号")
    assert term.grams == ("西应", "应急", "急罚")
    assert term.patterns == (
        Pattern("w", "2026", "exact"),
        Pattern("w", "12", "exact"),
        Pattern("g", "号", "prefix"),
    )
    # A credit code or a fragment of one may sit inside a longer word: its trigrams narrow.
    term = plan_term("ma6nkx")
    assert term.trigrams == ("ma6", "a6n", "6nk", "nkx")
    assert term.patterns == ()
    # Too short for trigrams: found through the lexicon.
    assert plan_term("ma").patterns == (Pattern("w", "ma", "infix"),)
    # A whole word between Han characters is one lookup, kept beside its trigrams.
    term = plan_term("代码91532801ma号")
    assert term.patterns[0] == Pattern("w", "91532801ma", "exact")
    assert term.trigrams[0] == "915"


def test_terms_without_letters_or_digits_have_no_plan():
    assert plan_term("，、") is None


def test_highlight_terms_keep_implied_terms():
    assert highlight_terms("矿山 非煤矿山") == ("矿山", "非煤矿山")
    assert highlight_terms('"unbalanced') == ()
