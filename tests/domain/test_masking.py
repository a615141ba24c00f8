"""Personal data of natural persons is masked before publication."""

import re
from datetime import date

import pytest

from portal.domain.masking import (
    id_check_character,
    is_resident_id,
    mask_html,
    mask_markdown,
)
from portal.domain.masking import mask_personal_data as mask
from portal.sanitize import markdown_to_html
from tests.reader import seen

# Valid resident ID numbers: real birth dates and the MOD 11-2 check character.
ID_A = "532801199001011235"
ID_B = "532822198507123450"
ID_X = "11010519491231002X"


def test_check_character_follows_iso_7064():
    # The worked example of GB 11643-1999.
    assert id_check_character("11010519491231002") == "X"
    assert is_resident_id(ID_A) and is_resident_id(ID_B) and is_resident_id(ID_X)
    assert not is_resident_id("532801199001011234")  # wrong check character


@pytest.mark.parametrize(("text", "expected"), [
    (f"身份证号{ID_A}。", "身份证号5328**************。"),
    (f"身份证号{ID_X}", "身份证号1101**************"),
    (f"身份证号{ID_X.lower()}，", "身份证号1101**************，"),
    ("旧证532801900101123号", "旧证5328***********号"),
    ("电话13812345678", "电话138****5678"),
    ("手机：138 1234 5678。", "手机：138****5678。"),
    ("手机：138-1234-5678", "手机：138****5678"),
    ("联系方式+8613912345678", "联系方式139****5678"),
    (f"张三（{ID_B}，13987654321）", "张三（5328**************，139****4321）"),
    # Full-width digits, as some input methods type them.
    ("电话１３８１２３４５６７８。", "电话138****5678。"),
    ("身份证号５３２８０１１９９００１０１１２３５", "身份证号5328**************"),
    # ID numbers written in groups.
    ("身份证号 5328 0119 9001 0112 35 已核实", "身份证号 5328************** 已核实"),
    ("身份证号532801 19900101 1235", "身份证号5328**************"),
])
def test_ids_and_mobile_numbers_are_masked(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "统一社会信用代码91532801MA6K3T8R1Q",
    "代码91350100M000100Y43",
    # An all-numeric credit code whose digits 11–14 look like a month and day: no valid ID
    # (the year 0043 and the check character both fail).
    "统一社会信用代码125328004301012341",
    "文号西景应急罚〔2026〕12号",
    "罚款人民币50000元，直接经济损失12345678.90元",
    "罚没款19900000000.00元",  # an amount, not a mobile number
    "合计 19900000000.5 元",
    "银行账号62220219990101123456789",  # a longer digit run is not an ID number
    "编号532801199013401234",  # month 13: not a birth date, so not an ID number
    "座机0691-2123456",  # office landlines stay
    "电话12812345678",  # 12x is not a mobile prefix
    "",
])
def test_other_numbers_are_left_alone(text):
    assert mask(text) == text


def test_html_is_masked_in_its_text_and_link_targets_not_its_markup():
    html = ('<p class="x">电话13812345678</p>'
            '<p><a href="https://example.org/13912345678" title="x">链接</a></p>')
    assert mask_html(html) == (
        '<p class="x">电话138****5678</p>'
        '<p><a href="https://example.org/139****5678" title="x">链接</a></p>'
    )


def test_masked_markdown_renders_the_mask_not_emphasis():
    source = f"当事人电话13812345678，身份证{ID_A}。"
    html = markdown_to_html(mask_markdown(source))
    assert "<strong>" not in html and "<em>" not in html
    assert "138****5678" in html and "5328**************" in html


# --- what a reader would still read as a number (issue 14 §5) ----------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    # A typo in the check character still identifies the person.
    ("身份证号532801198503121230。", "身份证号5328**************。"),
    ("编号532801199001011234", "编号5328**************"),
    # Mobiles in other spellings.
    ("手机 138  1234  5678", "手机 138****5678"),
    ("手机138.1234.5678。", "手机138****5678。"),
    ("手机1381 2345 678", "手机138****5678"),
    ("手机1381-2345-678，", "手机138****5678，"),
    ("手机 +86 138 1234 5678", "手机 138****5678"),
    ("手机138\u200b1234\u200b5678", "手机138****5678"),
    # Digits of other scripts render as digits too.
    ("手机\U0001d7cf\U0001d7d1\U0001d7d6\U0001d7cf\U0001d7d0\U0001d7d1\U0001d7d2\U0001d7d3"
     "\U0001d7d4\U0001d7d5\U0001d7d6", "手机138****5678"),
    # A valid credit code is left alone, but not when the text says it is an ID number.
    ("身份证号码：121101199001010878", "身份证号码：1211**************"),
])
def test_numbers_in_other_spellings_are_masked(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    # A valid all-numeric 统一社会信用代码 whose digits read as a birth date and check character.
    "统一社会信用代码121101199001010878",
    "代码 121101199001010878 的单位",
    "罚款 1,381.5 元；版本 13.8.1234.5678；日期 2013.12.31",
    "第 13 14 15 16 17 18 条",
])
def test_credit_codes_and_other_numbers_in_text_stay(text):
    assert mask(text) == text


@pytest.mark.parametrize(("markdown", "hidden"), [
    ("电话138**1234**5678。", "13812345678"),  # split by emphasis
    ("电话138*1234*5678。", "13812345678"),
    ("电话&#49;3812345678。", "13812345678"),  # a character reference
    ("电话&#x31;&#51;8 1234 5678。", "13812345678"),
    ("[拨打电话](tel:13812345678)", "13812345678"),  # a link target
    ("[写信](mailto:13812345678@example.org)", "13812345678"),
    ("身份证**5328**01198503121230", "532801198503121230"),
])
def test_rendered_markdown_is_masked_as_a_browser_shows_it(markdown, hidden):
    html = mask_html(markdown_to_html(markdown))
    assert hidden not in html
    assert hidden not in seen(html)
    assert "****" in seen(html) or "****" in html


def test_a_number_across_block_elements_is_not_joined():
    html = "<table><tr><td>138</td><td>12345678</td></tr></table><p>1381234</p><p>5678</p>"
    assert mask_html(html) == html


# --- property tests ----------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from portal.domain import credit_code  # noqa: E402

_CODE_CHARS = credit_code.ALPHABET


@st.composite
def valid_credit_codes(draw, numeric: bool = False):
    alphabet = "0123456789" if numeric else _CODE_CHARS
    body = "".join(draw(st.lists(st.sampled_from(alphabet), min_size=17, max_size=17)))
    code = body + credit_code.check_character(body)
    if numeric and not code.isdigit():
        from hypothesis import assume

        assume(False)
    return code


@st.composite
def id_like_credit_codes(draw):
    """All-numeric valid credit codes whose digits 7–14 read as a birth date (the area code
    ends in 19 or 20): the ones a resident-ID rule mistakes for ID numbers."""
    from hypothesis import assume

    head = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=6, max_size=6)))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)))
    tail = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=3, max_size=3)))
    body = head + born.strftime("%Y%m%d") + tail
    check = credit_code.check_character(body)
    assume(check.isdigit())
    return body + check


@settings(max_examples=200, deadline=None)
@given(code=st.one_of(valid_credit_codes(), valid_credit_codes(numeric=True),
                      id_like_credit_codes()),
       before=st.sampled_from(["统一社会信用代码", "代码：", "（", " ", ""]),
       after=st.sampled_from(["）", "。", " 的单位", ""]))
def test_a_valid_credit_code_is_never_masked(code, before, after):
    text = f"{before}{code}{after}"
    assert mask(text) == text
    assert mask_html(f"<p>{text}</p>") == f"<p>{text}</p>"


@st.composite
def mobiles(draw):
    prefix = draw(st.sampled_from("3456789"))
    rest = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9)))
    return "1" + prefix + rest


_SEPARATORS = [" ", "  ", "-", ".", " - ", "\u00a0", "\u3000", "\u200b"]
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")


@settings(max_examples=200, deadline=None)
@given(number=mobiles(), sep=st.sampled_from(_SEPARATORS),
       grouping=st.sampled_from([(11,), (3, 4, 4), (4, 4, 3), (3, 8), (3, 3, 5)]),
       full_width=st.booleans(), prefix=st.sampled_from(["", "+86 ", "86-", "+86"]),
       before=st.sampled_from(["电话", "手机：", "联系方式 ", "（"]),
       after=st.sampled_from(["", "。", "）", " 联系"]))
def test_a_mobile_in_any_spelling_is_always_masked(
    number, sep, grouping, full_width, prefix, before, after
):
    parts, at = [], 0
    for size in grouping:
        parts.append(number[at : at + size])
        at += size
    written = sep.join(parts)
    if full_width:
        written = written.translate(_FULL)
    text = f"{before}{prefix}{written}{after}"
    masked = mask(text)
    folded = masked.translate({0xFF10 + d: 0x30 + d for d in range(10)})
    assert number not in re.sub(r"[^0-9]", "", folded)
    assert f"{number[:3]}****{number[-4:]}" in masked
    # Rendered: the same number split by emphasis or written with references.
    split = f"{before}{number[:3]}**{number[3:7]}**{number[7:]}{after}"
    html = mask_html(markdown_to_html(split))
    assert number not in seen(html)
    referenced = f"<p>{before}&#{ord(number[0])};{number[1:]}{after}</p>"
    assert number not in seen(mask_html(referenced))


@st.composite
def resident_ids(draw):
    province = draw(st.sampled_from(["11", "31", "44", "53", "65"]))
    area = province + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=4, max_size=4)))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2020, 12, 31)))
    seq = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=3, max_size=3)))
    first17 = area + born.strftime("%Y%m%d") + seq
    check = draw(st.one_of(st.just(id_check_character(first17)), st.sampled_from("0123456789X")))
    return first17 + check


@settings(max_examples=200, deadline=None)
@given(number=resident_ids(), lower=st.booleans(),
       grouping=st.sampled_from([(18,), (6, 8, 4), (4, 4, 4, 4, 2), (6, 4, 4, 4)]),
       sep=st.sampled_from([" ", "  ", "-", "\u3000"]),
       before=st.sampled_from(["身份证号", "身份证号码：", "证件 ", "（"]),
       after=st.sampled_from(["", "。", "）", " 已核实"]))
def test_a_resident_id_in_any_spelling_is_always_masked(number, lower, grouping, sep, before, after):
    parts, at = [], 0
    for size in grouping:
        parts.append(number[at : at + size])
        at += size
    written = sep.join(parts)
    if lower:
        written = written.lower()
    # About one ID number in 31 is also a valid credit code, and a valid credit code is left
    # alone, unless the text says the number is an ID number.
    if credit_code.is_valid(number):
        before = "身份证号"
    masked = mask(f"{before}{written}{after}")
    assert masked == f"{before}{number[:4]}{'*' * 14}{after}"


# --- natural persons: surname only, address to the county ------------------------------------

from portal.domain.masking import county_level_address, natural_person_name  # noqa: E402


@pytest.mark.parametrize(("name", "shown"), [
    ("张三", "张某"), ("张三丰", "张某"), ("欧阳娜娜", "欧阳某"), ("岩温", "岩某"),
    ("张某", "张某"), ("欧阳某", "欧阳某"), ("张某某", "张某"), (" 李 四 ", "李某"),
    ("王五（个体经营者）", "王某"), ("John Smith", "J某"),
])
def test_a_natural_person_is_published_by_surname(name, shown):
    assert natural_person_name(name) == shown
    assert natural_person_name(shown) == shown


@pytest.mark.parametrize(("address", "county", "shown"), [
    ("西双版纳州景洪市嘎洒镇曼景法村12号", "景洪市", "西双版纳州景洪市"),
    ("勐海县勐海镇曼尾村5组", "勐海县", "勐海县"),
    ("云南省昆明市五华区某路1号", "景洪市", "云南省昆明市"),
    ("曼景法村12号", "景洪市", "景洪市"),
    ("", "景洪市", ""),
    ("景洪市", "景洪市", "景洪市"),
])
def test_a_natural_persons_address_is_no_finer_than_the_county(address, county, shown):
    assert county_level_address(address, county) == shown
