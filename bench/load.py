"""Load (issue 9 §7): 50 concurrent clients for 60 s against 4 gunicorn workers on PostgreSQL with
the demo data, a mix of list, detail, search and report pages, beside a bare Flask endpoint
served the same way in the same run.

    python bench/load.py [--size 20000] [--clients 50] [--seconds 60] [--bare-seconds 15]
                         [--reports N] [--supervision N]

Loads ``flask --app portal demo --size N`` (``--reports`` and ``--supervision`` are passed to it;
default: the demo's own, 200 reports) into a new database ``portal_bench_load`` on
127.0.0.1:5432 (dropped afterwards; the search index in a temporary folder), serves the portal
and bench/bare_app.py each under gunicorn with gunicorn.conf.py and 4 workers, then runs: the
bare endpoint for --bare-seconds, the portal mix for --seconds, the bare endpoint again.  Each
client keeps a keep-alive connection and its cookies and picks, request after request:

    list 30 %      /decisions, /powers, /accidents, /blacklist, a random page of the first 50,
                   a third of them filtered by county
    detail 30 %    /<kind>/<id> of a random published item
    search 20 %    /search?q= one of 20 queries, a quarter of them on page 2
    home 5 %       /
    report 13 %    GET /report or GET /report/followup (half each)
    submit 2 %     a whole report journey: form, POST, check page, 提交, receipt

Prints req/s and p50/p95/p99 per kind (a submission counts as one journey), every non-2xx/3xx
answer, and the bare endpoint's figures of both windows.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

from harness import (
    RATE_LIMIT_NOTE,
    Client,
    Failed,
    Server,
    bench_env,
    flask,
    percentile,
    postgres_database,
    submit_report,
)

WORKERS = 4
KINDS = ["decisions", "powers", "accidents", "blacklist"]
COUNTIES = ["景洪市", "勐海县", "勐腊县"]
QUERIES = ["矿山", "安全生产", "罚款", "景洪", "勐海县", "危险化学品", "应急", "隐患", "事故", "号",
           "消防", "建筑施工", "非煤矿山", "勐腊", "有限公司", "西应急罚", "粉尘", "有限空间", "烟花爆竹",
           "责令改正"]
MIX = [("list", 30), ("detail", 30), ("search", 20), ("home", 5), ("report", 13), ("submit", 2)]


def item_ids(host: str, per_kind: int = 100) -> dict[str, list[int]]:
    """Ids of published items of each kind, from the open-data API."""
    client = Client(host)
    ids = {}
    for kind in KINDS:
        answer = client.get(f"/api/v1/{kind}?per_page={per_kind}")
        ids[kind] = [r["id"] for r in json.loads(answer.text)["results"]]
    return ids


def window(host: str, clients: int, seconds: float, pick) -> tuple[dict, dict, float]:
    """``clients`` threads for ``seconds``, each calling ``pick(client, rng)`` → (kind, seconds,
    statuses) in a loop.  Returns latencies by kind, statuses by kind, and the wall time."""
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter] = defaultdict(Counter)
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def run() -> None:
        client = Client(host, timeout=60)
        rng = random.Random()
        mine: dict[str, list[float]] = defaultdict(list)
        seen: dict[str, Counter] = defaultdict(Counter)
        while time.perf_counter() < stop:
            kind, took, got = pick(client, rng)
            mine[kind].append(took)
            seen[kind].update(got)
        with lock:
            for kind, values in mine.items():
                latencies[kind].extend(values)
            for kind, counter in seen.items():
                statuses[kind].update(counter)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses, time.perf_counter() - started


def timed_get(client: Client, kind: str, path: str) -> tuple[str, float, list[int]]:
    started = time.perf_counter()
    try:
        status = client.get(path).status
    except OSError:
        status = 0
    return kind, time.perf_counter() - started, [status]


def portal_pick(ids: dict[str, list[int]]):
    kinds, weights = zip(*MIX, strict=True)

    def pick(client: Client, rng: random.Random) -> tuple[str, float, list[int]]:
        kind = rng.choices(kinds, weights)[0]
        if kind == "list":
            query = {"page": rng.randint(1, 50)}
            if rng.random() < 1 / 3:
                query["county"] = rng.choice(COUNTIES)
            return timed_get(client, kind, f"/{rng.choice(KINDS)}?{urllib.parse.urlencode(query)}")
        if kind == "detail":
            item_kind = rng.choice(KINDS)
            return timed_get(client, kind, f"/{item_kind}/{rng.choice(ids[item_kind])}")
        if kind == "search":
            page = "&page=2" if rng.random() < 0.25 else ""
            return timed_get(client, kind, "/search?q=" + urllib.parse.quote(rng.choice(QUERIES))
                             + page)
        if kind == "home":
            return timed_get(client, kind, "/")
        if kind == "report":
            return timed_get(client, kind, rng.choice(["/report", "/report/followup"]))
        seen = len(client.statuses)
        started = time.perf_counter()
        try:
            submit_report(client)
        except Failed:
            pass
        return kind, time.perf_counter() - started, client.statuses[seen:] or [0]

    return pick


def bare_pick(client: Client, rng: random.Random) -> tuple[str, float, list[int]]:
    return timed_get(client, "bare", "/")


def row(label: str, values: list[float], seconds: float, statuses: Counter) -> str:
    bad = {s: n for s, n in statuses.items() if not 200 <= s < 400}
    return (f"{label:<10}{len(values) / seconds:>9.1f}{percentile(values, 0.5):>9.0f}"
            f"{percentile(values, 0.95):>9.0f}{percentile(values, 0.99):>9.0f}"
            f"{sum(1 for s in statuses.elements() if s >= 500):>6}  {bad or ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--bare-seconds", type=float, default=15)
    parser.add_argument("--reports", type=int, default=None,
                        help="demo reports to load (default: flask demo's own, 200)")
    parser.add_argument("--supervision", type=int, default=None,
                        help="demo 督办事项 to load (default: flask demo's own)")
    args = parser.parse_args()
    print(RATE_LIMIT_NOTE)
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    portal = bare = None
    try:
        with postgres_database("portal_bench_load") as url:
            env = bench_env(folder, url)
            started = time.perf_counter()
            flask(env, "init-db")
            counts = [arg for name in ("reports", "supervision") if getattr(args, name) is not None
                      for arg in (f"--{name}", str(getattr(args, name)))]
            flask(env, "demo", "--size", str(args.size), *counts)
            reports = 200 if args.reports is None else args.reports
            print(f"demo data: {args.size} items (and {reports} demo reports) on PostgreSQL, loaded "
                  f"and indexed in {time.perf_counter() - started:.0f} s")
            portal = Server("wsgi:app", env, WORKERS, folder / "gunicorn-portal.log")
            bare = Server("bench.bare_app:app", env, WORKERS, folder / "gunicorn-bare.log")
            ids = item_ids(portal.host)
            # Every worker opens the index and warms its caches before the measured window.
            window(portal.host, args.clients, 5, portal_pick(ids))
            bare1 = window(bare.host, args.clients, args.bare_seconds, bare_pick)
            mixed = window(portal.host, args.clients, args.seconds, portal_pick(ids))
            bare2 = window(bare.host, args.clients, args.bare_seconds, bare_pick)
            portal.stop()
            bare.stop()
    finally:
        for server in (portal, bare):
            if server is not None:
                server.stop()
        shutil.rmtree(folder, ignore_errors=True)

    latencies, statuses, seconds = mixed
    total = sum(len(v) for v in latencies.values())
    requests = sum(sum(c.values()) for c in statuses.values())
    print(f"\n{args.clients} clients, {WORKERS} gunicorn workers × 2 threads each server, "
          f"PostgreSQL; portal mix {seconds:.0f} s between two bare windows of "
          f"{args.bare_seconds:.0f} s")
    print(f"{'kind':<10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'5xx':>6}  other non-2xx/3xx")
    for kind, _ in MIX:
        print(row(kind, latencies.get(kind, []), seconds, statuses.get(kind, Counter())))
    everything = [x for v in latencies.values() for x in v]
    all_statuses = sum(statuses.values(), Counter())
    print(row("all", everything, seconds, all_statuses)
          + f"  ({total} picks, {requests} HTTP requests = {requests / seconds:.1f} req/s)")
    bare_rates = []
    for label, (lat, stat, secs) in (("bare 1", bare1), ("bare 2", bare2)):
        print(row(label, lat["bare"], secs, stat["bare"]))
        bare_rates.append(len(lat["bare"]) / secs)
    bare_rate = statistics.median(bare_rates)
    print(f"portal mix {requests / seconds:.1f} req/s = 1/{bare_rate / (requests / seconds):.1f} "
          f"of the bare endpoint ({bare_rate:.0f} req/s, median of both windows); 5xx in the mix: "
          f"{sum(1 for s in all_statuses.elements() if s >= 500)}")


if __name__ == "__main__":
    main()
