"""Checks on rendered public pages: accessibility basics and the CSP's no-inline rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_HEADING = re.compile(r"^h([1-6])$")
_NO_LABEL_NEEDED = {"hidden", "submit", "button", "reset", "image"}


@dataclass
class PageStructure:
    headings: list[tuple[int, str]] = field(default_factory=list)
    label_for: set[str] = field(default_factory=set)
    controls: list[dict[str, str]] = field(default_factory=list)
    table_headers: list[dict[str, str]] = field(default_factory=list)
    inline_styles: int = 0
    scripts: int = 0
    event_handlers: int = 0
    lang: str | None = None


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = PageStructure()
        self._heading: list[str] | None = None
        self._level = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "style" in a:
            self.page.inline_styles += 1
        if any(k.startswith("on") for k in a):
            self.page.event_handlers += 1
        if tag == "script":
            self.page.scripts += 1
        if tag == "html":
            self.page.lang = a.get("lang")
        if tag == "label" and a.get("for"):
            self.page.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type", "") not in _NO_LABEL_NEEDED:
            self.page.controls.append(a)
        if tag == "th":
            self.page.table_headers.append(a)
        m = _HEADING.match(tag)
        if m:
            self._level = int(m.group(1))
            self._heading = []

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)

    def handle_endtag(self, tag: str) -> None:
        if _HEADING.match(tag) and self._heading is not None:
            self.page.headings.append((self._level, " ".join("".join(self._heading).split())))
            self._heading = None


def structure(html: str) -> PageStructure:
    parser = _Parser()
    parser.feed(html)
    return parser.page


def assert_accessible_page(html: str) -> PageStructure:
    """lang, one h1 first, no skipped heading level, a label per control, scoped table headers,
    and nothing the CSP would block (inline styles, scripts, event handlers)."""
    page = structure(html)
    assert page.lang == "zh-CN"
    assert page.inline_styles == 0, "inline style attributes are blocked by the CSP"
    assert page.scripts == 0 and page.event_handlers == 0
    levels = [level for level, _ in page.headings]
    assert levels and levels[0] == 1 and levels.count(1) == 1, page.headings
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"heading level skipped: {page.headings}"
    for control in page.controls:
        assert control.get("aria-label") or control.get("id") in page.label_for, control
    for th in page.table_headers:
        assert th.get("scope") in ("col", "row"), th
    return page
