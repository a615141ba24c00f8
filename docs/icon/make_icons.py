"""Draw the site's icon (static/favicon.svg and static/favicon.ico): the header's emblem, a
gold-ringed dark red disc with 安 in gold, its strokes drawn here by hand (no font, no
third-party asset).  Run from the repository root: ``python docs/icon/make_icons.py``."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

RED, GOLD = "#7a0f12", "#d9a520"
SIZE = 64
# 安 on a 64-unit grid, each stroke a polyline: 宀 (dot, left hook, roof) over 女.
STROKES = [
    [(32, 10), (33.5, 16)],
    [(17, 19), (16, 26)],
    [(16, 20), (48, 20), (46, 26)],
    [(30, 25), (22, 41), (45, 51)],
    [(39, 27), (34, 41), (19, 53)],
    [(14, 37), (50, 37)],
]
STROKE = 4.2
RING = 4


def svg() -> str:
    lines = "".join(
        f'<polyline points="{" ".join(f"{x:g},{y:g}" for x, y in stroke)}"/>' for stroke in STROKES
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}">'
        f'<circle cx="32" cy="32" r="{32 - RING / 2}" fill="{RED}" stroke="{GOLD}" '
        f'stroke-width="{RING}"/>'
        f'<g fill="none" stroke="{GOLD}" stroke-width="{STROKE}" stroke-linecap="round" '
        f'stroke-linejoin="round">{lines}</g></svg>\n'
    )


def bitmap(size: int) -> Image.Image:
    scale = 16  # drawn large, then reduced: smooth edges without anti-aliased drawing
    big = Image.new("RGBA", (size * scale, size * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    unit = size * scale / SIZE
    draw.ellipse([0, 0, size * scale - 1, size * scale - 1], fill=GOLD)
    inset = RING * unit
    draw.ellipse([inset, inset, size * scale - 1 - inset, size * scale - 1 - inset], fill=RED)
    width = round(STROKE * unit)
    for stroke in STROKES:
        points = [(x * unit, y * unit) for x, y in stroke]
        draw.line(points, fill=GOLD, width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=GOLD)
    return big.resize((size, size), Image.LANCZOS)


def main() -> None:
    static = Path(__file__).resolve().parent.parent.parent / "static"
    (static / "favicon.svg").write_text(svg())
    bitmap(48).save(static / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
