"""The county map: 西双版纳's three county-level divisions shaded by a count.

``templates/statistics/_county_map.html`` draws it (macro ``county_map``); this module joins the
caller's figures to the outlines in ``portal.county_shapes`` (generated from real boundary data by
``scripts/county_map.py``) and turns counts into shade steps.  Any page can use it: it knows
nothing of what is counted.

Shades: 0 (the lightest) for a count of 0, always.  The counts above 0 that the drawn counties
have are split into at most ``SHADE_STEPS`` classes of (nearly) equal width over the range from
the smallest to the largest of them — not from 0 — so that close counts (12, 10, 11) are told
apart instead of all falling in the darkest shade, as they did with ``ceil(4 · n / largest)``.
With fewer distinct values than classes, each value is a class of its own.  The classes' shades
are spread over 1–``SHADE_STEPS`` (lightest to darkest, the largest count always the darkest),
and the legend says each class's actual bounds, so the map never claims a step the counts do not
have.  A map with one count above 0 (or all equal) draws it in the darkest shade.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from portal.county_shapes import SHAPES

SHADE_STEPS = 4
MAPPED_COUNTIES: tuple[str, ...] = tuple(c["name"] for c in SHAPES["counties"])


@dataclass(frozen=True)
class LegendEntry:
    step: int
    low: int
    high: int

    @property
    def text(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}–{self.high}"


@dataclass(frozen=True)
class Classes:
    """The shade classes of a set of counts: 0 alone (step 0), then the classes over the range
    of the counts above 0, each with its bounds (whole numbers) and its shade step."""

    entries: tuple[LegendEntry, ...]

    @property
    def low(self) -> int:
        """The smallest count above 0 (0 when there is none)."""
        return self.entries[1].low if len(self.entries) > 1 else 0

    @property
    def high(self) -> int:
        return self.entries[-1].high

    def step(self, count: int) -> int:
        """The shade step of ``count``: 0 for 0 (or less); a count outside the range of the
        counts the classes were made from takes the nearest class."""
        if count <= 0 or len(self.entries) == 1:
            return 0
        for entry in self.entries[1:]:
            if count <= entry.high:
                return entry.step
        return self.entries[-1].step


def classes(counts: Iterable[int]) -> Classes:
    """Shade classes for ``counts`` (see the module doc): equal-width integer classes from the
    smallest to the largest count above 0, at most ``SHADE_STEPS`` of them."""
    above = [int(c) for c in counts if int(c) > 0]
    entries = [LegendEntry(0, 0, 0)]
    if not above:
        return Classes(tuple(entries))
    low, high = min(above), max(above)
    values = high - low + 1  # whole counts in the range
    k = min(SHADE_STEPS, values)
    for i in range(k):
        first = low + i * values // k
        last = low + (i + 1) * values // k - 1
        # Spread the classes' shades over 1..SHADE_STEPS, the top class the darkest: three
        # classes are shades 1, 3, 4, two are 1 and 4 (as far apart as the palette allows).
        step = SHADE_STEPS if k == 1 else 1 + math.ceil(i * (SHADE_STEPS - 1) / (k - 1))
        entries.append(LegendEntry(step, first, last))
    return Classes(tuple(entries))


def shade_step(count: int, counts: Iterable[int]) -> int:
    """The shade step (0–``SHADE_STEPS``) of ``count`` among ``counts`` (the map's counts)."""
    return classes(counts).step(count)


def legend(counts: Iterable[int]) -> list[LegendEntry]:
    """The legend for ``counts``: 0, then each class with the counts it covers."""
    return list(classes(counts).entries)


@dataclass(frozen=True)
class CountyFigure:
    name: str
    count: int
    href: str | None
    step: int
    path: str = ""  # SVG path data; empty for a row not drawn on the map
    label_x: float = 0.0
    label_y: float = 0.0


@dataclass(frozen=True)
class CountyMap:
    view_box: str
    width: int
    height: int
    counties: list[CountyFigure]  # the three drawn counties, in the map's order
    others: list[CountyFigure]  # rows for other units (e.g. a 管委会): in the table only
    legend: list[LegendEntry]
    low: int  # the smallest and the largest count above 0 on the map (0 when none)
    high: int
    scale_bar_length: float
    scale_bar_km: int
    source: str

    @property
    def rows(self) -> list[CountyFigure]:
        """The table's rows: the drawn counties, then the others."""
        return [*self.counties, *self.others]

    @property
    def total(self) -> int:
        return sum(row.count for row in self.rows)


def county_map_layout(rows: Iterable[tuple[str, int, str | None]]) -> CountyMap:
    """The map of ``rows`` — ``(county name, count, link to the filtered list or None)``.

    A county of the map missing from ``rows`` is drawn with 0 and no link; a row whose name is
    not one of the map's counties goes to ``others`` (shown in the table, not on the map).
    Shades are classes of the range of the drawn counties' counts (see the module doc).
    """
    given: dict[str, tuple[int, str | None]] = {}
    for name, count, href in rows:
        given[name] = (int(count), href)
    shades = classes(given.get(name, (0, None))[0] for name in MAPPED_COUNTIES)
    counties = []
    for shape in SHAPES["counties"]:
        count, href = given.get(shape["name"], (0, None))
        x, y = shape["label"]
        counties.append(CountyFigure(shape["name"], count, href, shades.step(count),
                                     shape["path"], x, y))
    others = [CountyFigure(name, count, href, 0) for name, (count, href) in given.items()
              if name not in MAPPED_COUNTIES]
    _x, _y, width, height = SHAPES["view_box"]
    return CountyMap(
        view_box=" ".join(str(v) for v in SHAPES["view_box"]),
        width=width,
        height=height,
        counties=counties,
        others=others,
        legend=list(shades.entries),
        low=shades.low,
        high=shades.high,
        scale_bar_length=SHAPES["scale_bar"]["length"],
        scale_bar_km=SHAPES["scale_bar"]["km"],
        source=SHAPES["attribution"],
    )
