"""Credit check rules: the restrictions of a listing, certificate numbers."""

import re

import pytest

from portal.domain.credit import (
    BLACKLIST_RESTRICTIONS,
    CROCKFORD,
    new_certificate_number,
    parse_certificate_number,
)


def test_the_restrictions_are_the_seeds_list_in_its_order():
    assert "、".join(BLACKLIST_RESTRICTIONS) == (
        "经营、投融资、政府采购、工程招投标、国有土地出让、荣誉授予、进出口、出入境、资质审核"
    )


def test_a_new_number_is_three_groups_of_four_crockford_symbols_after_the_portals_prefix():
    numbers = {new_certificate_number() for _ in range(200)}
    assert len(numbers) == 200  # random: 40 bits, no repeats in a few hundred
    for number in numbers:
        assert re.fullmatch(rf"XSBN-[{CROCKFORD}]{{4}}-[{CROCKFORD}]{{4}}", number)
        assert not set(number) & set("ILOU")


@pytest.mark.parametrize("raw", [
    "XSBN-7KQ2-XM9D",
    "xsbn-7kq2-xm9d",
    " XSBN 7KQ2 XM9D ",
    "XSBN7KQ2XM9D",
    "７KQ2-XM9D",  # full-width digit, prefix left out
    "7kq2xm9d",
])
def test_case_spaces_hyphens_and_the_prefix_do_not_matter(raw):
    assert parse_certificate_number(raw) == "XSBN-7KQ2-XM9D"


def test_letters_people_type_for_digits_are_read_as_digits():
    assert parse_certificate_number("XSBN-IKQ2-XM9O") == "XSBN-1KQ2-XM90"
    assert parse_certificate_number("xsbn-lkq2-xm9o") == "XSBN-1KQ2-XM90"


@pytest.mark.parametrize("raw", ["", "XSBN", "XSBN-7KQ2", "XSBN-7KQ2-XM9D-1234", "XSBN-7KQ2-XM9U",
                                 "XSBN-7KQ2-XM9!", "企业信用"])
def test_what_cannot_be_a_number_is_refused(raw):
    assert parse_certificate_number(raw) is None
