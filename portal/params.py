"""Values read from query strings: one parser per kind of value, shared by every page, API and
feed that takes it, so hostile input is handled once (a message or a 400, never a 500)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from wtforms import SelectField
from wtforms.validators import Optional

# Years a search or filter can name (the search form's old rule: 19xx to 21xx).
MIN_YEAR, MAX_YEAR = 1900, 2199
_FOUR_DIGITS = re.compile(r"[0-9]{4}")
# XML 1.0 cannot carry these (the Atom feeds are XML), and in a search term they are never
# meant: control characters, surrogates and the two non-characters U+FFFE and U+FFFF.
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def parse_year(raw: Any) -> int | None:
    """A year parameter: ``None`` when blank, else the year; ``ValueError`` when not a year.

    Read leniently where it costs nothing: surrounding spaces of any kind (including the
    ideographic space of a Chinese keyboard) and full-width digits (NFKC).  Anything else
    that is not four digits from ``MIN_YEAR`` to ``MAX_YEAR`` is refused."""
    if raw is None or isinstance(raw, int):
        return raw
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if not text:
        return None
    if not _FOUR_DIGITS.fullmatch(text) or not MIN_YEAR <= int(text) <= MAX_YEAR:
        raise ValueError("年份应为四位数字")
    return int(text)


class YearField(SelectField):
    """``year=`` on every page that takes one: parsed by ``parse_year`` (``data`` is an int or
    None; a value that is not a year is a field error).  With ``validate_choice`` the year must
    also be one of ``choices`` (the years with data); the search page renders a text box
    instead of the select and checks only the form of the year."""

    def __init__(self, label: str = "年份", *, validate_choice: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(label, validators=[Optional()], coerce=parse_year,
                         validate_choice=validate_choice, **kwargs)

    @property
    def text(self) -> str:
        """For a text box: the year, or the visitor's own input when it is not one (kept, so
        the error summary's message can be acted on)."""
        if self.raw_data and self.process_errors:
            return str(self.raw_data[0])
        return "" if self.data is None else str(self.data)


def search_text(value: Any) -> Any:
    """A WTForms filter for free search text: each control character becomes a space.

    A search term never means one, the Atom feed cannot carry one (``/feeds/search.atom``
    failed on ``q=x%1Fy``), and a space keeps the words on either side apart."""
    return _NOT_TEXT.sub(" ", value) if isinstance(value, str) else value
