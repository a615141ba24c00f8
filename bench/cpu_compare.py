"""Per-page CPU of this checkout against another, in lockstep (bench/cpu_pages.py --serve).

    python bench/cpu_compare.py --base /path/to/other/checkout [--this CHECKOUT] [--uncached]
        [--batches 15] [--requests 40] / /decisions/1 /credit /report

Starts bench/cpu_pages.py (this checkout's script, this interpreter) in --serve mode in the
other checkout and in this one, each with its own app and data, then asks them in turn for
batches of ``--requests`` requests of each page, ``--batches`` times, alternating which goes
first.  On a machine shared with other work the load changes from second to second; batches a
fraction of a second long, one right after the other, see about the same load, so the ratio of
each pair is steadier than the ratio of two separate runs.  Prints per page the medians of
the batches (µs of CPU per request) and the median of the per-pair ratios this/base.  For the
language layer (issue 16 §4) the base is a checkout of 497e66d, the last commit before it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(checkout: Path, uncached: bool, paths: list[str]) -> subprocess.Popen[str]:
    command = [sys.executable, str(ROOT / "bench" / "cpu_pages.py"), "--serve", "--rounds", "1",
               "--requests", "1", *(["--uncached"] if uncached else []), *paths]
    return subprocess.Popen(command, cwd=checkout, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def ask(proc: subprocess.Popen[str], path: str, requests: int) -> float:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{requests} {path}\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the bench process for {path} ended (see its error above)")
    return float(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["/", "/decisions/1", "/credit", "/report"])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--this", type=Path, default=ROOT,
                        help="the checkout measured against the base (default: this one)")
    parser.add_argument("--uncached", action="store_true")
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    base = start(args.base.resolve(), args.uncached, args.paths)
    this = start(args.this.resolve(), args.uncached, args.paths)
    print(f"{'uncached' if args.uncached else 'cached'} pages, µs CPU per request; {args.batches} "
          f"pairs of batches of {args.requests} requests, alternating")
    print(f"{'page':<24}{'base':>9}{'this':>9}{'this/base':>11}", flush=True)
    try:
        for path in args.paths:
            ask(base, path, args.requests)  # warm: templates compiled, caches filled
            ask(this, path, args.requests)
            pairs = []
            for batch in range(args.batches):
                first, second = (base, this) if batch % 2 == 0 else (this, base)
                a = ask(first, path, args.requests)
                b = ask(second, path, args.requests)
                pairs.append((a, b) if first is base else (b, a))
            b = statistics.median(p[0] for p in pairs)
            t = statistics.median(p[1] for p in pairs)
            ratio = statistics.median(p[1] / p[0] for p in pairs)
            print(f"{path:<24}{b:>9.0f}{t:>9.0f}{ratio:>11.2f}", flush=True)
    finally:
        for proc in (base, this):
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
