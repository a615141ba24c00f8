"""Personal data of natural persons is masked before publication."""

import pytest

from portal.domain.masking import (
    id_check_character,
    is_resident_id,
    mask_html,
    mask_markdown,
)
from portal.domain.masking import mask_personal_data as mask
from portal.sanitize import markdown_to_html

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
    "编号532801199001011234",  # a valid date but the wrong check character
    "座机0691-2123456",  # office landlines stay
    "电话12812345678",  # 12x is not a mobile prefix
    "",
])
def test_other_numbers_are_left_alone(text):
    assert mask(text) == text


def test_html_is_masked_in_its_text_not_its_markup():
    html = '<p>电话13812345678</p><p><a href="https://example.org/13912345678">链接</a></p>'
    assert mask_html(html) == (
        '<p>电话138****5678</p><p><a href="https://example.org/13912345678">链接</a></p>'
    )


def test_masked_markdown_renders_the_mask_not_emphasis():
    source = f"当事人电话13812345678，身份证{ID_A}。"
    html = markdown_to_html(mask_markdown(source))
    assert "<strong>" not in html and "<em>" not in html
    assert "138****5678" in html and "5328**************" in html
