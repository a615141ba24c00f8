"""Per-page CPU of this checkout against another (bench/cpu_pages.py in each, alternating).

    python bench/cpu_compare.py --base /path/to/other/checkout [--runs 3] [--uncached]
        [--rounds 5] [--requests 150] / /decisions/1 /credit /report

Runs bench/cpu_pages.py (this checkout's script, this interpreter) in the other checkout and in
this one, ``--runs`` times each, alternating, so that both see the same machine load; prints
each page's median over the runs and the ratio this/base.  For the language layer (issue 16
§4) the base is a checkout of 497e66d, the last commit before it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(checkout: Path, args: argparse.Namespace, paths: list[str]) -> dict[str, float]:
    command = [sys.executable, str(ROOT / "bench" / "cpu_pages.py"), "--rounds", str(args.rounds),
               "--requests", str(args.requests), *(["--uncached"] if args.uncached else []),
               *paths]
    output = subprocess.run(command, cwd=checkout, check=True, capture_output=True,
                            text=True).stdout.strip().splitlines()[-1]
    return {path: float(value.removesuffix("us"))
            for path, value in (item.rsplit("=", 1) for item in output.split()[1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["/", "/decisions/1", "/credit", "/report"])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--uncached", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=150)
    args = parser.parse_args()
    base: dict[str, list[float]] = {path: [] for path in args.paths}
    this: dict[str, list[float]] = {path: [] for path in args.paths}
    for _ in range(args.runs):
        for checkout, into in ((args.base, base), (ROOT, this)):
            for path, value in run(checkout, args, args.paths).items():
                into[path].append(value)
    print(f"{'uncached' if args.uncached else 'cached'}, µs CPU per request, medians of "
          f"{args.runs} alternating runs (each a median of {args.rounds}×{args.requests})")
    print(f"{'page':<24}{'base':>9}{'this':>9}{'this/base':>11}")
    for path in args.paths:
        b, t = statistics.median(base[path]), statistics.median(this[path])
        print(f"{path:<24}{b:>9.0f}{t:>9.0f}{t / b:>11.2f}")


if __name__ == "__main__":
    main()
