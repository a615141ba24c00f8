"""Timing figures the test suite asserts as behaviour only (a loaded CI machine made wall-clock
asserts fail by chance): the receipt code's Argon2id hash, the follow-up's answer time for each
kind of code, and how long a search index update takes while a rebuild is under way.

    python bench/timings.py [--runs 20] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_timings]

In-process (Flask's test client, a temporary SQLite database and Whoosh index); with
``--postgres``, the update timing is also taken on that database's search table (the database
must exist).  Prints p50 / max in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import receipts  # noqa: E402
from search_index import Document  # noqa: E402


def ms(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples) * 1000:7.1f} ms   max {max(samples) * 1000:7.1f} ms"


def timed(action: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def argon2(runs: int) -> None:
    secret = "bench-secret"
    code = receipts.grouped(receipts.new_code(secret))
    print(f"Argon2id digest (t={receipts.ARGON2_TIME_COST}, m={receipts.ARGON2_MEMORY_KIB} KiB)")
    print("  one hash                 ", ms(timed(lambda: receipts.digest(code, secret), runs)))
    print("  candidate, accepted code ",
          ms(timed(lambda: receipts.candidate_digests(code, [secret]), runs)))
    print("  candidate, refused code  ",
          ms(timed(lambda: receipts.candidate_digests("X" * 28, [secret]), runs)))


def followup(runs: int) -> None:
    from portal.code_pages import FOLLOWUP_MIN_SECONDS
    from tests.conftest import make_app
    from tests.reports.conftest import csrf_from, submit_report

    folder = Path(tempfile.mkdtemp(prefix="bench-timings-"))
    # The report pages count per day only (portal/daily_limits.py; a shorter window is refused).
    limits = {name: "1000000 per day" for name in ("ratelimit_report", "ratelimit_followup")}
    app = make_app(folder, **limits)
    client = app.test_client()
    _number, code = submit_report(client)
    with app.app_context():
        unknown = receipts.grouped(receipts.new_code(app.config["SECRET_KEY"]))
    print(f"Follow-up answer (minimum {FOLLOWUP_MIN_SECONDS} s), {runs} POSTs per kind of code")
    for label, typed in (("right code", code), ("valid, unknown", unknown),
                         ("bad check part", "X" * 28)):
        token = csrf_from(client.get("/report/followup").get_data(as_text=True))

        def post(token: str = token, typed: str = typed) -> object:
            return client.post("/report/followup", data={"csrf_token": token, "code": typed})

        print(f"  {label:<25}", ms(timed(post, runs)))


def _doc(n: int, text: str) -> Document:
    title = f"决定{n}"
    return Document(kind="decisions", id=n, title=title, text=f"{title}\n{text}",
                    date=date(2026, 3, 1))


def _paused_rebuild(index, documents: list[Document]) -> tuple[threading.Thread, threading.Event]:
    paused, resume = threading.Event(), threading.Event()

    def slow() -> Iterator[Document]:
        for n, document in enumerate(documents):
            if n == len(documents) // 2:
                paused.set()
                resume.wait(60)
            yield document

    thread = threading.Thread(target=lambda: index.rebuild(slow()))
    thread.start()
    paused.wait(60)
    return thread, resume


def updates_during_rebuild(label: str, make_index: Callable[[], object], runs: int) -> None:
    index, other = make_index(), make_index()
    index.rebuild([_doc(n, "矿山") for n in range(1, 200)])
    thread, resume = _paused_rebuild(index, [_doc(n, "矿山") for n in range(1, 2000)])
    numbers = iter(range(10_000, 20_000))
    try:
        samples = timed(lambda: other.update([_doc(next(numbers), "矿山 新发布")]), runs)
    finally:
        resume.set()
        thread.join()
    print(f"  {label:<25}", ms(samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgres", help="a PostgreSQL URL for the postgres search backend")
    args = parser.parse_args()
    argon2(args.runs)
    followup(max(3, args.runs // 4))
    print("Search index update while a rebuild is paused half-way")
    from search_index import SearchIndex

    folder = Path(tempfile.mkdtemp(prefix="bench-timings-index-"))
    updates_during_rebuild("Whoosh", lambda: SearchIndex(str(folder / "index")), args.runs)
    if args.postgres:
        from search_index.postgres import PostgresIndex

        updates_during_rebuild("PostgreSQL", lambda: PostgresIndex(args.postgres), args.runs)


if __name__ == "__main__":
    main()
