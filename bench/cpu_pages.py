"""CPU per request of pages, in one process (no server, no client threads).

    cd <checkout> && python <this checkout>/bench/cpu_pages.py [--uncached] [--rounds 5]
        [--requests 150] [--profile FILE] / /decisions/1 /credit /report

Run it in each checkout (it imports the portal from the current directory) to compare two
versions; alternate the runs on a shared machine.  Medians of --rounds rounds of --requests
requests, µs.  ``--uncached`` renders every public page each time (the page cache's lookup
always misses, its generation read still runs): the cost of making a page, which the cached
figure hides.  ``--profile FILE`` writes a cProfile of the measured requests of the first path;
``--serve`` measures batches asked for on stdin (``bench/cpu_compare.py``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.getcwd())

from portal import create_app, database  # noqa: E402
from portal.extensions import db  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["/"])
    parser.add_argument("--uncached", action="store_true",
                        help="render public pages on every request (page cache always misses)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--profile", help="write a cProfile of the first path's requests here")
    parser.add_argument("--serve", action="store_true",
                        help="measure batches asked on stdin (bench/cpu_compare.py)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-cpu-")
    app = create_app({"env": "test", "database_url": f"sqlite:///{folder}/t.db",
                      "index_dir": f"{folder}/idx", "ratelimit_credit": "1000000 per minute",
                      "ratelimit_search": "1000000 per minute"})
    if args.uncached:
        from portal import page_cache

        page_cache.PageCache.get = lambda self, key: None  # type: ignore[method-assign]
    with app.app_context():
        database.upgrade()
        from tests import factories

        for _ in range(30):
            factories.decision()
        db.session.commit()
    # No cookie jar: each request is a first visit (a session cookie from a form page would
    # make every public page after it render for that visitor alone, uncached).
    client = app.test_client(use_cookies=False)
    for path in args.paths:
        for _ in range(3):
            client.get(path)
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            client.get(args.paths[0])
        profiler.disable()
        profiler.dump_stats(args.profile)
    if args.serve:
        # One line in: "<requests> <path>"; one line out: µs of CPU per request.
        for line in sys.stdin:
            count, path = line.split(" ", 1)
            path = path.rstrip("\n")
            started = time.process_time()
            for _ in range(int(count)):
                response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            print(f"{(time.process_time() - started) / int(count) * 1e6:.1f}", flush=True)
        return
    results = {}
    for path in args.paths:
        rounds = []
        for _ in range(args.rounds):
            started = time.process_time()
            for _ in range(args.requests):
                response = client.get(path)
            rounds.append((time.process_time() - started) / args.requests * 1e6)
            assert response.status_code == 200, (path, response.status_code)
        results[path] = statistics.median(rounds)
    print(" ".join(f"{path}={value:.0f}us" for path, value in results.items()))


if __name__ == "__main__":
    main()
