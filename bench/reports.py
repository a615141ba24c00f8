"""Report burst (issue 6 §12): 1,000 anonymous reports from 20 concurrent clients, as reporters
send them, to gunicorn with 4 workers, on SQLite and then on PostgreSQL.

    python bench/reports.py [--reports 1000] [--clients 20] [--workers 4] [--databases sqlite,postgresql]

Each client keeps its own cookies and keep-alive connection and goes through the whole journey:
GET /report, POST the form, GET /report/check, POST 提交 (/report/send), read the receipt.
Before the burst, one submission at a time on the idle server (after one warm-up).  After it,
every receipt code is POSTed to /report/followup (in parallel: each answer takes ≥ 0.5 s by
design) and must open its own report; the database must hold exactly the reports that got a
receipt, each with its "received" event.  Prints reports/s, p50/p95 of the journey and of the
提交 POST, the 5xx count and the idle times.  PostgreSQL: a database ``portal_bench_reports`` on
127.0.0.1:5432, dropped afterwards; everything else lives in a temporary folder.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from harness import (
    RATE_LIMIT_NOTE,
    Client,
    Failed,
    Receipt,
    Server,
    bench_env,
    count_5xx,
    flask,
    followup_opens,
    jpeg,
    percentile,
    postgres_database,
    stored,
    submit_report,
)

IDLE_RUNS = 5
FOLLOWUP_CLIENTS = 32


def argon2_ms() -> float:
    """One Argon2id digest of a receipt code in this process (median of 5), in ms."""
    from portal import receipts

    secret = "bench-secret-" * 4
    code = receipts.new_code(secret)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        receipts.digest(code, secret)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def idle(host: str, photo: bytes | None, runs: int) -> tuple[float, float]:
    """Median (journey, 提交 POST) of ``runs`` submissions one after another, in ms."""
    client = Client(host)
    submit_report(client, photo)  # warm-up: the first request of a worker pays for its start
    receipts = [submit_report(Client(host), photo) for _ in range(runs)]
    return (statistics.median(r.total for r in receipts) * 1000,
            statistics.median(r.send for r in receipts) * 1000)


def burst(host: str, total: int, clients: int) -> tuple[list[Receipt], Counter, list[int], float]:
    """``total`` submissions by ``clients`` threads: receipts, failures by step and status,
    every status seen, and the wall time."""
    receipts: list[Receipt] = []
    failures: Counter = Counter()
    statuses: list[int] = []
    lock = threading.Lock()
    left = [total]

    def reporter() -> None:
        client = Client(host)
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            try:
                receipt = submit_report(client, None)
            except Failed as exc:
                with lock:
                    failures[(exc.step, exc.status)] += 1
                client = Client(host)  # a new visitor: a half-done journey is not resumed
                continue
            with lock:
                receipts.append(receipt)
        with lock:
            statuses.extend(client.statuses)

    threads = [threading.Thread(target=reporter) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return receipts, failures, statuses, time.perf_counter() - started


def check_followups(host: str, receipts: list[Receipt]) -> Counter:
    """POST every code to /report/followup; a Counter of the outcomes (200 = opened its own
    report, -1 = a page of another report, other = that status)."""
    local = threading.local()

    def one(receipt: Receipt) -> int:
        if not hasattr(local, "client"):
            local.client = Client(host)
        try:
            return followup_opens(local.client, receipt)
        except (OSError, Failed):
            return 0

    with ThreadPoolExecutor(FOLLOWUP_CLIENTS) as pool:
        return Counter(pool.map(one, receipts))


def run(label: str, database_url: str, folder: Path, args: argparse.Namespace) -> None:
    env = bench_env(folder, database_url)
    flask(env, "init-db")
    server = Server("wsgi:app", env, args.workers, folder / f"gunicorn-{label}.log")
    try:
        idle_total, idle_send = idle(server.host, None, IDLE_RUNS)
        idle_photo_total, idle_photo_send = idle(server.host, jpeg(), 3)
        before = len(stored(database_url).report_ids)
        receipts, failures, statuses, seconds = burst(server.host, args.reports, args.clients)
        started = time.perf_counter()
        opened = check_followups(server.host, receipts)
        followup_seconds = time.perf_counter() - started
    finally:
        server.stop()
    rows = stored(database_url)
    burst_ids = {i for i in rows.report_ids if i > before}
    got = {r.report_id for r in receipts}
    print(f"\n== {label}: {args.reports} reports, {args.clients} clients, "
          f"gunicorn {args.workers} workers × 2 threads ==")
    print(f"idle, one at a time (median of {IDLE_RUNS}): journey {idle_total:.0f} ms, "
          f"提交 POST {idle_send:.0f} ms; with a 1024×768 photo (median of 3): journey "
          f"{idle_photo_total:.0f} ms, 提交 {idle_photo_send:.0f} ms")
    print(f"burst: {len(receipts)} receipts in {seconds:.1f} s = {len(receipts) / seconds:.1f} "
          f"reports/s; journey p50 {percentile([r.total for r in receipts], 0.5):.0f} / p95 "
          f"{percentile([r.total for r in receipts], 0.95):.0f} ms; 提交 POST p50 "
          f"{percentile([r.send for r in receipts], 0.5):.0f} / p95 "
          f"{percentile([r.send for r in receipts], 0.95):.0f} ms")
    print(f"requests {len(statuses)}, 5xx {count_5xx(statuses)}, failed journeys "
          f"{sum(failures.values())} {dict(failures) or ''}")
    print(f"stored by the burst {len(burst_ids)}; with a receipt and stored {len(got & burst_ids)}; "
          f"receipt but not stored {len(got - burst_ids)}; stored without a receipt "
          f"{len(burst_ids - got)}; without their 'received' event "
          f"{sum(1 for i in burst_ids if rows.received_events.get(i) != 1)}; drafts left "
          f"{rows.drafts}; SQLite integrity {rows.integrity}")
    print(f"follow-up of all {len(receipts)} codes ({FOLLOWUP_CLIENTS} clients, "
          f"{followup_seconds:.0f} s): opened its report {opened.get(200, 0)}, other "
          f"{ {k: v for k, v in opened.items() if k != 200} or 0}")
    ok = (len(receipts) == args.reports and got == burst_ids and opened.get(200, 0) == len(receipts)
          and count_5xx(statuses) == 0 and not failures)
    print("verdict:", "PASS" if ok else "FAIL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    print(RATE_LIMIT_NOTE)
    print(f"Argon2id (t=2, m=19 MiB, p=1) of one receipt code in this process: "
          f"{argon2_ms():.0f} ms")
    folder = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    try:
        for label in args.databases.split(","):
            with ExitStack() as stack:
                if label == "sqlite":
                    url = f"sqlite:///{folder / 'reports.db'}"
                else:
                    url = stack.enter_context(postgres_database("portal_bench_reports"))
                run(label, url, folder, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
