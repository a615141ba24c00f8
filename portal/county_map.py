"""The county map: 西双版纳's three county-level divisions shaded by a count.

``templates/statistics/_county_map.html`` draws it (macro ``county_map``); this module joins the
caller's figures to the outlines in ``portal.county_shapes`` (generated from real boundary data by
``scripts/county_map.py``) and turns counts into shade steps.  Any page can use it: it knows
nothing of what is counted.

Shades: 0 for a count of 0, else 1–``SHADE_STEPS`` by the count's share of the largest count
(step ``ceil(SHADE_STEPS * count / largest)``), so the county with the most is always the
darkest and a county with any item is never drawn like one with none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from portal.county_shapes import SHAPES

SHADE_STEPS = 4
MAPPED_COUNTIES: tuple[str, ...] = tuple(c["name"] for c in SHAPES["counties"])


def shade_step(count: int, largest: int) -> int:
    """The shade step (0–``SHADE_STEPS``) of ``count`` when the largest count is ``largest``."""
    if count <= 0 or largest <= 0:
        return 0
    return max(1, min(SHADE_STEPS, math.ceil(SHADE_STEPS * count / largest)))


@dataclass(frozen=True)
class LegendEntry:
    step: int
    low: int
    high: int

    @property
    def text(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}–{self.high}"


def legend(largest: int) -> list[LegendEntry]:
    """The counts each step covers (whole numbers), leaving out steps no count can fall in."""
    entries = [LegendEntry(0, 0, 0)]
    low = 1
    for step in range(1, SHADE_STEPS + 1):
        high = largest * step // SHADE_STEPS  # the largest whole count with this step
        if high >= low:
            entries.append(LegendEntry(step, low, high))
            low = high + 1
    return entries


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
    Shades are relative to the largest count among the drawn counties.
    """
    given: dict[str, tuple[int, str | None]] = {}
    for name, count, href in rows:
        given[name] = (int(count), href)
    largest = max((given.get(name, (0, None))[0] for name in MAPPED_COUNTIES), default=0)
    counties = []
    for shape in SHAPES["counties"]:
        count, href = given.get(shape["name"], (0, None))
        x, y = shape["label"]
        counties.append(CountyFigure(shape["name"], count, href, shade_step(count, largest),
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
        legend=legend(largest),
        scale_bar_length=SHAPES["scale_bar"]["length"],
        scale_bar_km=SHAPES["scale_bar"]["km"],
        source=SHAPES["attribution"],
    )
