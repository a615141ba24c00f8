"""What a reader of a page sees or follows, for tests that look for personal data on it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Attributes whose values a reader follows or is shown (links, tooltips, meta descriptions).
SHOWN_ATTRIBUTES = ("href", "title", "content")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts += [f" {v} " for k, v in attrs if k in SHOWN_ATTRIBUTES and v]


def seen(html: str) -> str:
    """The page's text with character references decoded, plus the shown attributes' values,
    with all whitespace removed (a number spread over spaces or elements reads as one)."""
    reader = _Reader()
    reader.feed(html)
    return re.sub(r"\s+", "", "".join(reader.parts))
