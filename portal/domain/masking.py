"""Mask personal data of natural persons before publication (行政处罚法 Art. 48)."""

from __future__ import annotations

import re

# Resident ID numbers (18 digits, the last may be X; legacy 15 digits), only when the birth-date
# part is plausible and the run is not part of a longer code such as a 统一社会信用代码 or 文号.
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{6}(\d{2})(\d{2})\d{3}[0-9Xx](?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{4}(\d{2})(\d{2})\d{3}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?![0-9A-Za-z])")


def _plausible_birth(month: str, day: str) -> bool:
    return 1 <= int(month) <= 12 and 1 <= int(day) <= 31


def _mask_id(length: int):
    def replace(m: re.Match[str]) -> str:
        if not _plausible_birth(m.group(2), m.group(3)):
            return m.group(0)
        return m.group(1) + "*" * (length - 4)

    return replace


def mask_personal_data(text: str) -> str:
    """Replace ID-card numbers and mobile numbers in ``text`` with masked forms."""
    if not text:
        return text
    text = _ID18.sub(_mask_id(18), text)
    text = _ID15.sub(_mask_id(15), text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
