"""Photo decoding (issue 13 §2): what one upload costs a worker, in a fresh process per case.

    python bench/photos.py [--side 7745]

For each case a child process cleans the same file five times (as one POST of 5 photos does)
with ``portal.images.clean`` and prints the wall time and the growth of its peak RSS: a JPEG of
7,745 × 7,745 (just under the 60 MP cap; decoded at a reduced scale), an MPO of the same size,
and a PNG of 5,000 × 5,000 (decoded whole: formats without reduced-scale decoding stop at
25 MP).  The files are made first, by a child of their own, and the measuring children only
read them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

CHILD = r"""
import resource, sys, time
from portal import images
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
for _ in range(5):
    clean = images.clean(data)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{sys.argv[2]:<24} {len(data) / 1e6:6.2f} MB  5 × clean {elapsed:6.2f} s  "
      f"peak RSS +{peak - before:4.0f} MB  stored {clean.width}×{clean.height} "
      f"({len(clean.data) // 1024} KB, thumbnail {len(clean.thumbnail) // 1024} KB)")
"""


def _picture(side: int) -> Image.Image:
    image = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(0, side, 97):
        draw.line([(i, 0), (side - i, side)], fill=(200, 40, 40), width=3)
    return image


def make_files(folder: str, side: int) -> None:
    big = _picture(side)
    big.save(Path(folder, "big.jpg"), quality=60)
    big.save(Path(folder, "big.mpo"), format="MPO", quality=60, save_all=True,
             append_images=[Image.new("RGB", (640, 480))])
    del big
    png = side * 5000 // 7745
    _picture(png).save(Path(folder, "big.png"))


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=7745,
                        help="side of the JPEG and MPO in pixels (the PNG: side × 5000 / 7745)")
    args = parser.parse_args()
    side, png = args.side, args.side * 5000 // 7745
    with tempfile.TemporaryDirectory(prefix="bench-photos-") as folder:
        # Made in a child of its own: a process started later would inherit this one's peak RSS.
        subprocess.run([sys.executable, __file__, "--make", folder, str(side)], check=True)
        for name, label in (("big.jpg", f"JPEG {side}×{side}"), ("big.mpo", f"MPO {side}×{side}"),
                            ("big.png", f"PNG {png}×{png}")):
            subprocess.run([sys.executable, "-c", CHILD, str(Path(folder, name)), label],
                           check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--make"]:
        make_files(sys.argv[2], int(sys.argv[3]))
    else:
        main()
