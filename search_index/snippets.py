"""Snippets: a window of the original text around the first match, escaped, matches in <mark>."""

from __future__ import annotations

from html import escape

WIDTH = 110  # characters shown


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


# A window should not begin inside a word or a code: its start moves forward to just after the
# nearest break (space, line end, punctuation) at most this many characters ahead.
SNAP = 16
_BREAKS = frozenset(" \n\t，。；：、,.;:（）()《》〔〕【】[]“”\"'")


def _is_word(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _snap(text: str, start: int, floor: int, limit: int) -> int:
    """``start`` moved forward past a partial word to the next break, if one is near."""
    if start <= floor or text[start - 1] in _BREAKS:
        return start
    for pos in range(start, min(limit, start + SNAP)):
        if text[pos] in _BREAKS:
            return pos + 1
    # No break near: at least do not cut a Latin or digit run (a credit code, a 文号's number).
    pos = start
    while pos < limit and _is_word(text[pos]) and _is_word(text[pos - 1]):
        pos += 1
    return pos


def highlight(original: str, normalised: str, terms: tuple[str, ...]) -> str:
    """HTML: the whole of ``original`` escaped, with ``<mark>`` around every match."""
    return _marked(original, normalised, terms, 0, len(normalised))


def _marked(original: str, normalised: str, terms: tuple[str, ...], start: int, end: int) -> str:
    parts: list[str] = []
    cursor = start
    for a, b in _occurrences(normalised, terms, start, end):
        parts.append(escape(original[cursor:a]))
        parts.append(f"<mark>{escape(original[a:b])}</mark>")
        cursor = b
    parts.append(escape(original[cursor:end]))
    return "".join(parts)


def snippet(original: str, normalised: str, terms: tuple[str, ...], body_start: int = 0) -> str:
    """HTML: escaped text with ``<mark>`` around matches, centred on the first match.

    The first match after the title is preferred (the title is shown above the snippet); a match
    only in the title centres the window there.  ``original`` and ``normalised`` have the same
    length (see ``analyzer.normalize``); ``terms`` are normalised; ``body_start`` is where the text
    after the title begins.
    """
    found = [(p, len(t)) for t in terms if (p := normalised.find(t, body_start)) != -1]
    floor = body_start
    if not found:
        found = [(p, len(t)) for t in terms if (p := normalised.find(t)) != -1]
        floor = 0
    if found:
        # Centre the window on the first match, then show as many of the terms as it can.
        def centred(match: tuple[int, int]) -> int:
            p, length = match
            return max(floor, p - (WIDTH - length) // 2)

        def shown(match: tuple[int, int]) -> int:
            a = centred(match)
            return sum(1 for t in terms if normalised.find(t, a, a + WIDTH) != -1)

        first = max(sorted(found), key=shown)
        start = centred(first)
        end = min(len(normalised), start + WIDTH)
        start = max(floor, min(start, end - WIDTH))
        start = min(_snap(original, start, floor, end), first[0])
    else:  # nothing to centre on (the caller's terms did not match): the start of the body
        start = body_start if body_start < len(normalised) else 0
        floor = start
        end = min(len(normalised), start + WIDTH)
    parts: list[str] = ["…"] if start > floor else []
    parts.append(_marked(original, normalised, terms, start, end))
    if end < len(normalised):
        parts.append("…")
    return " ".join("".join(parts).split("\n")).strip()
