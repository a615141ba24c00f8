"""The page cache's one query per request, the data generation read, three ways, in one process.

    python bench/generation.py [--reads 20000] [--threads 1 8] [--database-url URL]

Every cached public page costs one read of the data generation (``portal/page_cache.py``), so
its cost is a floor under every cached page.  Measured here without HTTP, on a temporary SQLite
file (or ``--database-url``, e.g. a scratch PostgreSQL database), per read:
- ``checkout``: a pool checkout per read (``with engine.connect()``): the pool's ping, and on
  PostgreSQL a BEGIN and a ROLLBACK;
- ``per thread``: a connection each thread keeps in autocommit mode (the design before issue 14
  §2, which exhausted the pool on the threaded dev server);
- ``borrowed``: ``GenerationReader``, a few autocommit connections shared by all threads, taken
  for the read and given back (the design since).
Prints microseconds per read (median of 3 runs) for each way and thread count.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run(threads: int, reads: int, read_once) -> float:
    """Microseconds per read with ``threads`` threads sharing ``reads`` reads."""
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(reads // threads):
            read_once()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    started = time.perf_counter()
    for w in workers:
        w.join()
    return (time.perf_counter() - started) / (reads // threads * threads) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=20000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    from portal import create_app, database
    from portal.extensions import db
    from portal.page_cache import _GENERATION, GenerationReader

    folder = Path(tempfile.mkdtemp(prefix="bench-generation-"))
    url = args.database_url or f"sqlite:///{folder / 'g.db'}"
    app = create_app({"env": "test", "database_url": url, "index_dir": str(folder / "index")})
    with app.app_context():
        database.upgrade()
        engine = db.engine
        kept = threading.local()
        opened = []  # the per-thread connections, closed after each run (their threads end)
        reader = GenerationReader()

        def checkout() -> None:
            with engine.connect() as connection:
                connection.execute(_GENERATION).first()

        def per_thread() -> None:
            connection = getattr(kept, "connection", None)
            if connection is None:
                connection = kept.connection = engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT")
                opened.append(connection)
            connection.execute(_GENERATION).first()

        def close_per_thread() -> None:
            nonlocal kept
            for connection in opened:
                connection.close()
            opened.clear()
            kept = threading.local()

        def borrowed() -> None:
            reader.read(engine)

        print(f"{engine.dialect.name}, {args.reads} reads, microseconds per read "
              "(median of 3 runs)")
        print(f"{'way':<12}" + "".join(f"{f'{t} thread(s)':>14}" for t in args.threads))
        for name, read_once in (("checkout", checkout), ("per thread", per_thread),
                                ("borrowed", borrowed)):
            cells = []
            for threads in args.threads:
                timings = []
                for _ in range(3):
                    read_once()  # warm: open the connection(s)
                    timings.append(run(threads, args.reads, read_once))
                    close_per_thread()
                cells.append(statistics.median(timings))
            print(f"{name:<12}" + "".join(f"{c:>14.1f}" for c in cells))
        reader.close()
        engine.dispose()


if __name__ == "__main__":
    main()
