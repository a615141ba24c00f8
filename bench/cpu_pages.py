"""CPU per request of pages, in one process (no server, no client threads).

    cd <checkout> && python <this checkout>/bench/cpu_pages.py / /decisions/1 /credit /report

Run it in each checkout (it imports the portal from the current directory) to compare two
versions; alternate the runs on a shared machine.  Medians of 5 rounds of 150 requests, µs.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.getcwd())

from portal import create_app, database  # noqa: E402
from portal.extensions import db  # noqa: E402


def main() -> None:
    folder = tempfile.mkdtemp(prefix="bench-cpu-")
    app = create_app({"env": "test", "database_url": f"sqlite:///{folder}/t.db",
                      "index_dir": f"{folder}/idx", "ratelimit_credit": "1000000 per minute"})
    with app.app_context():
        database.upgrade()
        from tests import factories

        for _ in range(30):
            factories.decision()
        db.session.commit()
    client = app.test_client()
    paths = sys.argv[1:] or ["/"]
    for path in paths:
        client.get(path)
    results = {}
    for path in paths:
        rounds = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(150):
                response = client.get(path)
            rounds.append((time.process_time() - started) / 150 * 1e6)
            assert response.status_code == 200, (path, response.status_code)
        results[path] = statistics.median(rounds)
    print(" ".join(f"{path}={value:.0f}us" for path, value in results.items()))


if __name__ == "__main__":
    main()
