"""Snippets: a window of the original text around the first match, escaped, matches in <mark>."""

from __future__ import annotations

from html import escape

WIDTH = 110  # characters shown
LEAD = 30  # characters of context before the first match


def _occurrences(normalised: str, terms: tuple[str, ...], start: int, end: int) -> list[list[int]]:
    """Merged [from, to) ranges of every term occurrence overlapping [start, end)."""
    ranges: list[list[int]] = []
    for term in terms:
        pos = normalised.find(term, max(0, start - len(term) + 1), end + len(term))
        while pos != -1 and pos < end:
            ranges.append([max(pos, start), min(pos + len(term), end)])
            pos = normalised.find(term, pos + 1, end + len(term))
    ranges.sort()
    merged: list[list[int]] = []
    for r in ranges:
        if merged and r[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], r[1])
        else:
            merged.append(r)
    return merged


def snippet(original: str, normalised: str, terms: tuple[str, ...], body_start: int = 0) -> str:
    """HTML: escaped text with ``<mark>`` around matches; prefers a match after the title.

    ``original`` and ``normalised`` have the same length (see ``analyzer.normalize``).
    ``terms`` are normalised; ``body_start`` is where the text after the title begins.
    """
    found = [p for t in terms if (p := normalised.find(t, body_start)) != -1]
    if found:
        floor = body_start
        # The window around a first match that shows the most of the terms (earliest on a tie).
        def shown(p: int) -> int:
            a = max(floor, p - LEAD)
            return sum(1 for t in terms if normalised.find(t, a, a + WIDTH) != -1)

        first = max(sorted(found), key=shown)
    else:  # only in the title (shown anyway): show the start of the body, or the title
        found = [p for t in terms if (p := normalised.find(t)) != -1]
        first = body_start if body_start < len(normalised) else min(found, default=0)
        floor = 0 if first < body_start else body_start
    start = max(floor, first - LEAD)
    end = min(len(normalised), start + WIDTH)
    start = max(floor, min(start, end - WIDTH))
    parts: list[str] = ["…"] if start > floor else []
    cursor = start
    for a, b in _occurrences(normalised, terms, start, end):
        parts.append(escape(original[cursor:a]))
        parts.append(f"<mark>{escape(original[a:b])}</mark>")
        cursor = b
    parts.append(escape(original[cursor:end]))
    if end < len(normalised):
        parts.append("…")
    return " ".join("".join(parts).split("\n")).strip()
