"""Mask personal data of natural persons before publication (行政处罚法 Art. 48, DOMAIN §1).

Numbers.  A resident ID number is recognised by its shape, not by its check character: a typo
in a decision (a wrong check digit) still identifies a person, so an 18-character number with a
province code and a plausible birth date is masked whatever its check character.  A valid
统一社会信用代码 is never masked (all-numeric ones can look like an ID number), unless the text
right before it says it is an ID number.  A mobile number is eleven digits starting 13–19.
Both are found however they are spelled: full-width or other Unicode digits, in groups joined
by spaces (one or several), hyphens, dots or invisible characters, in 3-4-4 or 4-4-3 groups,
with a +86 prefix.  A number glued to letters, digits or a decimal part is something else (a
longer code, an amount such as ``19900000000.00元``).

Rendered text.  What a reader sees is what must be masked: ``mask_html`` works on the rendered
HTML (after Markdown), on the text as a browser shows it — character references decoded, and a
number split by inline markup (``138<strong>1234</strong>5678``) read as one — and on link
targets (``tel:``, ``mailto:``) and titles.

Names and addresses.  A natural person who is a party to a decision is published by surname
only (``张某``) and with an address no finer than the county (``natural_person_name``,
``county_level_address``); ``portal.fieldspec.mask_values`` applies both on every way in.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from html.parser import HTMLParser

from portal.domain import credit_code

MASK = "*"
# In Markdown an asterisk is emphasis: the source an editor typed is masked with escaped ones so
# that it renders as the literal mask.
MARKDOWN_MASK = "\\*"
# Digits kept at the start of a masked ID number (the province and prefecture of issue).
ID_KEPT_DIGITS = 4
EARLIEST_BIRTH_YEAR = 1900
# First two digits of a resident ID number (GB/T 2260 provinces; 71 台湾, 81–83 港澳台 permits).
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
})
# Words that say the number after them is an ID number, even if it is also a valid credit code.
_ID_CONTEXT = re.compile(r"(?:身份证|身份号码|证件)[^0-9]{0,12}$")
ID_CONTEXT_CHARS = 24
NATURAL_PERSON_MARK = "某"

_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# What people put between groups of digits: spaces of every width, hyphens and dashes, dots,
# and the invisible characters a copy and paste brings along.  At most three in a row.
_SEP_CLASS = (
    "[ \t\u00a0\u00ad\u2000-\u200d\u2060\u202f\u205f\u3000\ufeff"
    ".\u00b7\u30fb\\-\u2010-\u2015\u2212]"
)
_RUN = re.compile(
    r"(?<![0-9A-Za-z])[0-9]+[Xx]?(?:" + _SEP_CLASS + r"{1,3}[0-9]+[Xx]?)*(?![0-9A-Za-z])"
)
_GROUP = re.compile(r"[0-9]+[Xx]?")
# Groups of a number written in parts: a mobile in 3-4-4 or 4-4-3, an ID in 6-8-4 or 4-4-4-4-2.
MOBILE_MIN_GROUP = 3
ID_MIN_GROUP = 2
_COUNTRY_CODES = ("86", "0086")


def _fold(text: str) -> str:
    """``text`` with full-width forms and every other kind of decimal digit as ASCII, one
    character for one, so positions in the folded copy are positions in the original."""
    folded = text.translate(_FULL_WIDTH)
    if folded.isascii():
        return folded
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch
        for ch in folded
    )


_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_ID_CHECK = "10X98765432"


def id_check_character(first17: str) -> str:
    """The check character of an 18-character resident ID (ISO 7064 MOD 11-2)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _birth_date_ok(year: int, month: int, day: int, today: date) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(EARLIEST_BIRTH_YEAR, 1, 1) <= born <= today


def is_resident_id(number: str, today: date | None = None) -> bool:
    """True if ``number`` (digits only, 15 or 18 long) is a correct resident ID number: a real
    birth date and, for 18 characters, the right check character."""
    today = today or date.today()
    number = number.upper()
    if len(number) == 18 and number[:17].isdigit():
        return (_birth_date_ok(int(number[6:10]), int(number[10:12]), int(number[12:14]), today)
                and id_check_character(number[:17]) == number[17])
    if len(number) == 15 and number.isdigit():
        # Legacy numbers (before 1999) carry a two-digit year of the 1900s and no check digit.
        return _birth_date_ok(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]), today)
    return False


def looks_like_resident_id(number: str, today: date | None = None) -> bool:
    """True if ``number`` has the shape of a resident ID number, typos in the check character
    included: a province code and a plausible year, month and day of birth."""
    today = today or date.today()
    number = number.upper()
    if len(number) == 18 and number[:17].isdigit() and number[17] in "0123456789X":
        year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    elif len(number) == 15 and number.isdigit():
        year, month, day = 1900 + int(number[6:8]), int(number[8:10]), int(number[10:12])
    else:
        return False
    return (number[:2] in PROVINCE_CODES and EARLIEST_BIRTH_YEAR <= year <= today.year
            and 1 <= month <= 12 and 1 <= day <= 31)


def _is_mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


def _lone_dot(separator: str) -> bool:
    # A number continued by a lone dot is a decimal or a dotted series, not one of ours.
    return separator == "."


def _find(folded: str, mask: str, today: date) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of every ID and mobile number in ``folded``, in order."""
    found: list[tuple[int, int, str]] = []
    for run in _RUN.finditer(folded):
        groups = [(m.start() + run.start(), m.end() + run.start())
                  for m in _GROUP.finditer(run.group(0))]
        seps = [folded[groups[k - 1][1] : groups[k][0]] for k in range(1, len(groups))]
        i = 0
        while i < len(groups):
            hit = _longest_at(folded, groups, seps, i, mask, today)
            if hit is None:
                i += 1
                continue
            j, start, replacement = hit
            found.append((start, groups[j][1], replacement))
            i = j + 1
    return found


def _longest_at(
    folded: str, groups: list[tuple[int, int]], seps: list[str], i: int, mask: str, today: date
) -> tuple[int, int, str] | None:
    """The longest number starting at group ``i``: (last group, start, replacement)."""
    if i > 0 and _lone_dot(seps[i - 1]):
        return None
    for j in range(min(len(groups) - 1, i + 8), i - 1, -1):
        if j < len(groups) - 1 and _lone_dot(seps[j]):
            continue
        parts = [folded[a:b] for a, b in groups[i : j + 1]]
        number = "".join(parts).upper()
        if "X" in number[:-1] or len(number) > 18:
            continue
        shortest = min(len(p) for p in parts) if j > i else len(number)
        start = groups[i][0]
        if (len(number) in (15, 18) and shortest >= ID_MIN_GROUP
                and looks_like_resident_id(number, today)
                and (not credit_code.is_valid(number) or _said_to_be_id(folded, start))):
            return j, start, number[:ID_KEPT_DIGITS] + mask * (len(number) - ID_KEPT_DIGITS)
        if "X" in number:
            continue
        digits = number
        for prefix in _COUNTRY_CODES:  # glued: 8613812345678, +86138 1234 5678
            if digits.startswith(prefix) and _is_mobile(digits[len(prefix):]):
                digits = digits[len(prefix):]
        if _is_mobile(digits) and shortest >= MOBILE_MIN_GROUP:
            if i > 0 and folded[groups[i - 1][0] : groups[i - 1][1]] in _COUNTRY_CODES:
                start = groups[i - 1][0]  # +86 138 1234 5678: the prefix goes with it
            if start > 0 and folded[start - 1] == "+":
                start -= 1
            return j, start, f"{digits[:3]}{mask * 4}{digits[-4:]}"
    return None


def _said_to_be_id(folded: str, start: int) -> bool:
    return bool(_ID_CONTEXT.search(folded[max(0, start - ID_CONTEXT_CHARS) : start]))


def _apply(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    out, cursor = [], 0
    for start, end, replacement in spans:
        out += [text[cursor:start], replacement]
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def mask_personal_data(text: str, mask: str = MASK) -> str:
    """Replace resident ID numbers and mobile numbers in ``text`` with masked forms.

    ``mask`` is the character written for each hidden one (``MARKDOWN_MASK`` for Markdown).
    """
    if not text:
        return text
    return _apply(text, _find(_fold(text), mask, date.today()))


# ------------------------------------------------------------------ HTML, as a reader sees it

# Elements that flow inside a line: a number split by them still reads as one number.
INLINE_TAGS = frozenset({"a", "b", "strong", "i", "em", "span", "sup", "sub", "code"})
# Attributes whose value a reader sees or follows.
MASKED_ATTRIBUTES = frozenset({"href", "title"})


class _Tokenizer(HTMLParser):
    """Sanitised HTML as a list of (kind, tag or decoded text, attributes)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple[str, str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(("start", tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(("startend", tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(("end", tag, []))

    def handle_data(self, data: str) -> None:
        self.tokens.append(("text", data, []))


def _tag(kind: str, tag: str, attrs: list[tuple[str, str | None]]) -> str:
    if kind == "end":
        return f"</{tag}>"
    rendered = "".join(
        f" {name}" if value is None
        else f' {name}="{html_lib.escape(mask_personal_data(value) if name in MASKED_ATTRIBUTES else value)}"'
        for name, value in attrs
    )
    return f"<{tag}{rendered}{' /' if kind == 'startend' else ''}>"


def _mask_line(texts: list[str]) -> list[str]:
    """Mask text nodes that read as one line; a number's replacement goes where it starts."""
    joined = "".join(texts)
    spans = _find(_fold(joined), MASK, date.today())
    if not spans:
        return texts
    out, offset = [], 0
    for text in texts:
        end = offset + len(text)
        pieces, cursor = [], offset
        for start, stop, replacement in spans:
            if stop <= offset or start >= end:
                continue
            pieces.append(joined[cursor:max(start, offset)])
            if start >= offset:
                pieces.append(replacement)
            cursor = min(stop, end)
        pieces.append(joined[cursor:end])
        out.append("".join(pieces))
        offset = end
    return out


def mask_html(html: str) -> str:
    """Mask (sanitised) HTML as it renders: text with character references decoded, numbers
    split by inline markup, and link targets; the markup itself stays as it is."""
    if not html:
        return html
    tokenizer = _Tokenizer()
    tokenizer.feed(html)
    tokenizer.close()
    out: list[str] = []
    line: list[tuple[int, str]] = []  # (index in out, text) of the text nodes read as one line

    def flush() -> None:
        for (index, _), masked in zip(line, _mask_line([t for _, t in line]), strict=True):
            out[index] = html_lib.escape(masked, quote=False)
        line.clear()

    for kind, value, attrs in tokenizer.tokens:
        if kind == "text":
            line.append((len(out), value))
            out.append("")
            continue
        if value not in INLINE_TAGS:
            flush()
        out.append(_tag(kind, value, attrs))
    flush()
    return "".join(out)


def mask_markdown(source: str) -> str:
    """Mask Markdown source so that the mask renders as literal asterisks, not emphasis.

    The source is only what an editor typed; what is published is its rendering, masked again
    by ``mask_html`` (which catches what Markdown joins, such as ``138**1234**5678``)."""
    return mask_personal_data(source, MARKDOWN_MASK)


# ------------------------------------------------------------------ natural persons

# Two-character surnames (复姓) still in use; any other name's surname is its first character.
COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "令狐", "钟离", "澹台", "端木", "闻人", "南宫", "西门", "独孤",
    "百里", "呼延", "万俟", "申屠", "太史", "公冶", "濮阳", "淳于", "单于", "赫连", "拓跋",
})
_ALREADY_MASKED = re.compile(r"^(\S{1,2}?)某+$")


def natural_person_name(name: str) -> str:
    """A natural person's name as published: the surname and 某 (``张三`` → ``张某``)."""
    name = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))
    name = re.sub(r"[（(].*$", "", name) or name  # 张三（个体经营者）: the note goes too
    if not name:
        return ""
    already = _ALREADY_MASKED.match(name)
    if already:
        return already.group(1) + NATURAL_PERSON_MARK
    if not ("\u3400" <= name[0] <= "\u9fff"):
        return name[0].upper() + NATURAL_PERSON_MARK  # a Latin name: its initial
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else name[0]
    return surname + NATURAL_PERSON_MARK


# The end of the first county-level (or coarser) unit of an address: 县, 旗, 区, 市 (a county-
# level city, or a prefecture-level one, which is coarser still).
_COUNTY_END = re.compile(r"^.*?(?:自治县|自治旗|县|旗|区|市)")


def county_level_address(address: str, county: str = "") -> str:
    """A natural person's address as published: nothing finer than the county.

    Cut after ``county`` (the record's county) where the address names it, else after the first
    county-level unit; an address without one gives just ``county``."""
    address = (address or "").strip()
    if not address:
        return ""
    if county and county in address:
        return address[: address.index(county) + len(county)]
    match = _COUNTY_END.match(address)
    if match:
        return match.group(0)
    return county
