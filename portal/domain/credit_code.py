"""统一社会信用代码 (GB 32100-2015): normalisation, check character, clear errors."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from portal.translation import lazy_gettext as _l

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18
# Letters people type for a digit the standard left out of its alphabet.
LOOKALIKES = {"I": "1", "O": "0", "Z": "2", "S": "5", "V": "U"}


class CreditCodeInvalid(ValueError):
    """The code is not a valid 统一社会信用代码; ``str()`` is a message for the user."""


class CheckCharacterMismatch(CreditCodeInvalid):
    """Well formed, but the 18th character does not match the first 17 (校验码不符)."""

    def __init__(self, message: Any, *, code: str, expected: str) -> None:
        super().__init__(message)
        self.code = code
        self.expected = expected


@dataclass(frozen=True)
class CreditCode:
    value: str

    @property
    def area_code(self) -> str:
        return self.value[2:8]

    def __str__(self) -> str:
        return self.value


def normalize(raw: str) -> str:
    """Trim, fold full-width to half-width (NFKC), drop inner spaces and hyphens, upper-case."""
    text = unicodedata.normalize("NFKC", raw or "")
    return "".join(ch for ch in text if not ch.isspace() and ch not in "-—").upper()


def check_character(first17: str) -> str:
    total = sum(VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def parse(raw: str) -> CreditCode:
    """Return the normalised code or raise ``CreditCodeInvalid`` naming what is wrong."""
    code = normalize(raw)
    if not code:
        raise CreditCodeInvalid(_l("请输入统一社会信用代码。"))
    if len(code) != LENGTH:
        raise CreditCodeInvalid(_l("统一社会信用代码应为 18 位，您输入了 %(n)s 位。", n=len(code)))
    for pos, ch in enumerate(code, start=1):
        if ch not in VALUE:
            if ch in LOOKALIKES:
                raise CreditCodeInvalid(_l(
                    "第 %(pos)s 位“%(ch)s”不是统一社会信用代码可用的字符（是否应为“%(like)s”？）。"
                    "代码只含数字和除 I、O、Z、S、V 以外的大写字母。",
                    pos=pos, ch=ch, like=LOOKALIKES[ch]))
            raise CreditCodeInvalid(_l(
                "第 %(pos)s 位“%(ch)s”不是统一社会信用代码可用的字符。"
                "代码只含数字和除 I、O、Z、S、V 以外的大写字母。", pos=pos, ch=ch))
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CheckCharacterMismatch(
            _l("校验位不符：按前 17 位计算，第 18 位应为“%(expected)s”，您输入的是“%(got)s”。"
               "请核对是否有一位输错或两位颠倒。", expected=expected, got=code[17]),
            code=code,
            expected=expected,
        )
    return CreditCode(code)


def is_valid(raw: str) -> bool:
    try:
        parse(raw)
    except CreditCodeInvalid:
        return False
    return True


def complete(first17: str) -> str:
    """Append the check character (used by the demo data generator)."""
    first17 = normalize(first17)
    if len(first17) != 17 or any(ch not in VALUE for ch in first17):
        raise CreditCodeInvalid("需要 17 位有效字符来计算校验位。")
    return first17 + check_character(first17)


def one_typo_away(raw: str) -> list[str]:
    """Valid codes that differ from ``raw`` by one typo: one character changed, two neighbours
    swapped, or a letter outside the alphabet read as the digit or letter it looks like.

    ``raw`` is normalised first; it must have 18 characters (else there is nothing to mend).
    Each position admits exactly one replacement that satisfies the check, so there are at
    most 17 + 1 substitutions plus 17 swaps: cheap enough to look every one up.
    """
    code = normalize(raw)
    if len(code) != LENGTH:
        return []
    code = "".join(LOOKALIKES.get(ch, ch) for ch in code)
    if any(ch not in VALUE for ch in code):
        return []
    found: list[str] = []

    def add(candidate: str) -> None:
        if candidate != code and candidate not in found and is_valid(candidate):
            found.append(candidate)

    if is_valid(code):  # the only typos were look-alike letters
        found.append(code)
    for pos in range(LENGTH):
        for ch in ALPHABET:
            if ch != code[pos]:
                add(code[:pos] + ch + code[pos + 1:])
    for pos in range(LENGTH - 1):
        add(code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:])
    return found
