"""统一社会信用代码 (GB 32100-2015)."""

import pytest

from portal.domain.credit_code import (
    CreditCodeInvalid,
    check_character,
    complete,
    is_valid,
    normalize,
    parse,
)

VALID = ("91350100M000100Y43", "91110000802100433B")


@pytest.mark.parametrize("code", VALID)
def test_the_standards_examples_are_valid(code):
    assert parse(code).value == code
    assert check_character(code[:17]) == code[17]


def test_area_code():
    assert parse("91350100M000100Y43").area_code == "350100"


@pytest.mark.parametrize(("raw", "expected"), [
    ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),  # full-width
    ("91350100m000100y43", "91350100M000100Y43"),  # lower case
    ("  9135 0100-M000 100Y43 ", "91350100M000100Y43"),  # spaces and hyphens
    ("91110000802100433b", "91110000802100433B"),
])
def test_input_is_normalised_before_the_check(raw, expected):
    assert normalize(raw) == expected
    assert parse(raw).value == expected


def test_a_wrong_check_character_names_the_expected_one():
    with pytest.raises(CreditCodeInvalid) as exc:
        parse("91350100M000100Y44")
    message = str(exc.value)
    assert "第 18 位应为“3”" in message and "您输入的是“4”" in message


def test_two_swapped_characters_are_caught():
    assert not is_valid("91350100M000100Y34")


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_letters_outside_the_alphabet_are_named(letter):
    code = "9135010" + letter + "M000100Y43"
    with pytest.raises(CreditCodeInvalid) as exc:
        parse(code)
    message = str(exc.value)
    assert f"第 8 位“{letter}”" in message
    assert "I、O、Z、S、V" in message


def test_a_letter_o_typed_for_zero_gets_a_hint():
    with pytest.raises(CreditCodeInvalid, match="是否应为“0”"):
        parse("9135O100M000100Y43")


@pytest.mark.parametrize(("raw", "count"), [("91350100M000100Y4", 17), ("91350100M000100Y433", 19)])
def test_wrong_length(raw, count):
    with pytest.raises(CreditCodeInvalid, match=f"应为 18 位，您输入了 {count} 位"):
        parse(raw)


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_input_asks_for_a_code(raw):
    with pytest.raises(CreditCodeInvalid, match="请输入"):
        parse(raw)


def test_punctuation_is_not_a_code_character():
    with pytest.raises(CreditCodeInvalid, match="第 9 位"):
        parse("91350100#000100Y43")


# Codes published in the national enterprise credit publicity system, checked by hand.
PUBLISHED = (
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
)


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid_and_one_changed_character_is_not(code):
    assert parse(code).value == code
    assert check_character(code[:17]) == code[17]
    assert not is_valid(code[:17] + ("0" if code[17] != "0" else "1"))


# Check characters computed by hand (GB 32100-2015: weights 3^(i-1) mod 31 = 1 3 9 27 19 26 16
# 17 20 29 25 13 8 24 10 30 28; values 0-9, A=10 … Y=30 without I O Z S V; check = 31 − sum mod
# 31, and 0 when that is 31).
@pytest.mark.parametrize(("first17", "expected"), [
    # 9·1+1·3+5·9+3·27+2·19+8·26+0·16+1·17+M21·20+A10·29+6·25+K19·13+3·8+T26·24+8·10+R25·30
    # +1·28 = 3014; 3014 mod 31 = 7; 31 − 7 = 24 = Q
    ("91532801MA6K3T8R1", "Q"),
    # the same with Q24 last: 3014 − 28 + 24·28 = 3658 = 31·118, remainder 0: check 0
    ("91532801MA6K3T8RQ", "0"),
    # the standard's example: sum 1640, 1640 mod 31 = 28, 31 − 28 = 3
    ("91350100M000100Y4", "3"),
])
def test_complete_appends_the_hand_computed_check_character(first17, expected):
    assert check_character(first17) == expected
    assert complete(first17) == first17 + expected
    with pytest.raises(CreditCodeInvalid):
        complete("9135")


# --- one typo away (the credit check's suggestions) ----------------------------------------------

from portal.domain.credit_code import CheckCharacterMismatch, one_typo_away  # noqa: E402


def test_a_check_character_mismatch_is_its_own_error_with_the_expected_character():
    with pytest.raises(CheckCharacterMismatch) as exc:
        parse("91350100m000100y44")
    assert exc.value.code == "91350100M000100Y44"
    assert exc.value.expected == "3"
    assert isinstance(exc.value, CreditCodeInvalid)


def test_every_variant_one_typo_away_is_valid_and_differs_in_one_place_or_one_swap():
    typed = "91350100M000100Y44"
    variants = one_typo_away(typed)
    assert "91350100M000100Y43" in variants  # the check character itself mistyped
    assert len(variants) == len(set(variants))
    for variant in variants:
        assert is_valid(variant)
        differing = [i for i, (a, b) in enumerate(zip(variant, typed, strict=True)) if a != b]
        swapped = (len(differing) == 2 and differing[1] == differing[0] + 1
                   and variant[differing[0]] == typed[differing[1]])
        assert len(differing) == 1 or swapped, variant


def test_a_mistyped_digit_in_the_body_is_found_among_the_variants():
    real = "91110000802100433B"
    typed = real[:5] + ("9" if real[5] != "9" else "8") + real[6:]
    assert not is_valid(typed)
    assert real in one_typo_away(typed)


def test_two_swapped_neighbours_are_found():
    real = "91350100M000100Y43"
    typed = "91350100M000100Y34"
    assert real in one_typo_away(typed)


def test_look_alike_letters_are_read_as_what_they_look_like():
    assert one_typo_away("9135O100M000100Y43")[0] == "91350100M000100Y43"
    assert one_typo_away(" 9135o100 m000100y43 ")[0] == "91350100M000100Y43"


@pytest.mark.parametrize("raw", ["", "9135", "91350100M000100Y433", "91350100#000100Y44"])
def test_nothing_to_mend_in_input_of_the_wrong_length_or_with_other_characters(raw):
    assert one_typo_away(raw) == []


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from portal.domain.credit_code import ALPHABET  # noqa: E402

_bodies = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@given(body=_bodies, position=st.integers(0, 17), symbol=st.sampled_from(ALPHABET))
def test_any_single_substitution_is_caught_and_the_original_is_among_the_variants(body, position,
                                                                                  symbol):
    real = complete(body)
    typed = real[:position] + symbol + real[position + 1:]
    if typed == real:
        return
    assert not is_valid(typed)  # GB 32100's check catches every single substitution
    assert real in one_typo_away(typed)


@given(body=_bodies, position=st.integers(0, 16))
def test_any_swap_of_neighbours_that_the_check_catches_has_the_original_among_the_variants(
        body, position):
    real = complete(body)
    typed = real[:position] + real[position + 1] + real[position] + real[position + 2:]
    if typed == real or is_valid(typed):
        return
    assert real in one_typo_away(typed)
