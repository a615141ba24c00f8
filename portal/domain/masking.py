"""Mask personal data of natural persons before publication (行政处罚法 Art. 48).

What counts as a resident ID number is checked, not guessed from the shape: an 18-character
number must carry a real birth date and the GB 11643-1999 check character (ISO 7064 MOD 11-2),
so a numeric 统一社会信用代码 such as ``125328004301012341`` is left alone.  A mobile number is
eleven digits starting 13–19 that are not part of a longer number (``19900000000.00元`` is an
amount).  Full-width digits (``１３８…``) and numbers written in groups with spaces or hyphens are
caught too.  Matching runs on a copy with full-width forms folded to ASCII (one character for one,
so positions agree) and replacements are made in the original text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

MASK = "*"
# In Markdown an asterisk is emphasis: the source an editor typed is masked with escaped ones so
# that it renders as the literal mask.
MARKDOWN_MASK = "\\*"
# Digits kept at the start of a masked ID number (the province and prefecture of issue).
ID_KEPT_DIGITS = 4
EARLIEST_BIRTH_YEAR = 1900

_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_SEP = r"[ \u00a0-]?"  # one optional space or hyphen between groups of digits
# Not glued to letters, digits or a decimal part on either side: a longer code or an amount.
_BEFORE = r"(?<![0-9A-Za-z])(?<!\d\.)"
_AFTER = r"(?![0-9A-Za-z])(?!\.\d)"
_ID18 = re.compile(_BEFORE + r"\d(?:" + _SEP + r"\d){16}" + _SEP + r"[0-9Xx]" + _AFTER)
_ID15 = re.compile(_BEFORE + r"\d(?:" + _SEP + r"\d){14}" + _AFTER)
_MOBILE = re.compile(
    _BEFORE + r"(?:\+?86[- ]?)?(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})" + _AFTER
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
    """True if ``number`` (digits only, 15 or 18 long) is a plausible resident ID number."""
    today = today or date.today()
    number = number.upper()
    if len(number) == 18 and number[:17].isdigit():
        return (_birth_date_ok(int(number[6:10]), int(number[10:12]), int(number[12:14]), today)
                and id_check_character(number[:17]) == number[17])
    if len(number) == 15 and number.isdigit():
        # Legacy numbers (before 1999) carry a two-digit year of the 1900s and no check digit.
        return _birth_date_ok(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]), today)
    return False


def _digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text)


def _substitute(
    text: str, folded: str, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str | None]
) -> tuple[str, str]:
    """Replace matches of ``pattern`` in ``folded`` at the same places in ``text``; ``replace``
    returns None to keep a match as it is.  Both strings are returned, still aligned."""
    out, out_folded, cursor = [], [], 0
    for match in pattern.finditer(folded):
        new = replace(match)
        if new is None:
            continue
        out.append(text[cursor : match.start()])
        out_folded.append(folded[cursor : match.start()])
        out.append(new)
        out_folded.append(new)
        cursor = match.end()
    out.append(text[cursor:])
    out_folded.append(folded[cursor:])
    return "".join(out), "".join(out_folded)


def mask_personal_data(text: str, mask: str = MASK) -> str:
    """Replace resident ID numbers and mobile numbers in ``text`` with masked forms.

    ``mask`` is the character written for each hidden one (``MARKDOWN_MASK`` for Markdown).
    """
    if not text:
        return text
    folded = text.translate(_FULL_WIDTH)
    today = date.today()

    def masked_id(match: re.Match[str]) -> str | None:
        number = _digits(match.group(0))
        if not is_resident_id(number, today):
            return None
        return number[:ID_KEPT_DIGITS] + mask * (len(number) - ID_KEPT_DIGITS)

    text, folded = _substitute(text, folded, _ID18, masked_id)
    text, folded = _substitute(text, folded, _ID15, masked_id)
    text, folded = _substitute(
        text, folded, _MOBILE, lambda m: f"{m.group(1)}{mask * 4}{m.group(2)}"
    )
    return text


_TAG = re.compile(r"(<[^>]*>)")


def mask_html(html: str) -> str:
    """Mask the text of (sanitised) HTML, never its markup: tags and attributes stay as they are.

    A number split by a tag (``138<b>1234</b>5678``) is not recognised; editors' reports are
    masked in their source before rendering (see ``mask_markdown``), which catches that case.
    """
    if not html:
        return html
    parts = _TAG.split(html)
    return "".join(part if i % 2 else mask_personal_data(part) for i, part in enumerate(parts))


def mask_markdown(source: str) -> str:
    """Mask Markdown source so that the mask renders as literal asterisks, not emphasis."""
    return mask_personal_data(source, MARKDOWN_MASK)
