"""Personal data of natural persons is masked before publication."""

import pytest

from portal.domain.masking import mask_personal_data as mask


@pytest.mark.parametrize(("text", "expected"), [
    ("身份证号532801199001011234。", "身份证号5328**************。"),
    ("身份证号53280119900101123X", "身份证号5328**************"),
    ("身份证号53280119900101123x，", "身份证号5328**************，"),
    ("旧证532801900101123号", "旧证5328***********号"),
    ("电话13812345678", "电话138****5678"),
    ("手机：138 1234 5678。", "手机：138****5678。"),
    ("手机：138-1234-5678", "手机：138****5678"),
    ("联系方式+8613912345678", "联系方式139****5678"),
    ("张三（532822198507123456，13987654321）",
     "张三（5328**************，139****4321）"),
])
def test_ids_and_mobile_numbers_are_masked(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "统一社会信用代码91532801MA6K3T8R1Q",
    "代码91350100M000100Y43",
    "文号西景应急罚〔2026〕12号",
    "罚款人民币50000元，直接经济损失12345678.90元",
    "银行账号62220219990101123456789",  # a longer digit run is not an ID number
    "编号532801199013401234",  # month 13: not a birth date, so not an ID number
    "座机0691-2123456",  # office landlines stay
    "电话12812345678",  # 12x is not a mobile prefix
    "",
])
def test_other_numbers_are_left_alone(text):
    assert mask(text) == text


def test_none_and_empty_pass_through():
    assert mask("") == ""
