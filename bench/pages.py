"""Page throughput beside a bare Flask app, same server, same run, alternating windows.

    python bench/pages.py [--size 20000] [--reports N] [--supervision N] [--seconds 5]
                          [--rounds 3] [--clients 8] [--workers 2] [--root DIR]
                          [--accept-encoding gzip|identity]

Loads the demo data set (N items) into a temporary SQLite database with its search index, then
serves the portal and a bare Flask "ok" app (bench/bare_app.py) each under gunicorn with
gunicorn.conf.py and 2 workers on loopback.  A threaded client with keep-alive connections
requests each page in turn for a window of --seconds, round after round, alternating with the
bare endpoint, so both see the same machine load.  Prints requests per second (median of the
rounds), latency p50/p95, the ratio to the bare endpoint, the bytes of each answer's body and
any non-2xx/304 answer; and where the time goes, per request: the CPU of the server's processes
(its workers, and the master with the workers it reaped) and of this client (all its threads),
in µs, medians of the rounds.  CPU per request holds on a busy machine where the rates swing.

Every request says ``Accept-Encoding: gzip`` by default, as every browser does (the bare
endpoint gets the same header; its "ok" is not compressed): the portal then sends the gzip copy
of each public page (portal/page_cache.py).  The client does not decompress (a browser's work).
``--accept-encoding identity`` measures the pages sent plain, as before issue 18.
BENCH_PORT (and the port after it) serves the portal (and the bare app) on fixed ports.

``--reports`` and ``--supervision`` are passed to ``flask demo`` (default: the demo's own
numbers); the smoke run in tests/test_bench.py loads few, since each 督办 step is a commit and
an index write, and no page measured here shows a report.
``--root`` measures another checkout of the portal (e.g. main, for a before/after comparison)
with this script and this interpreter: compare the "vs bare" ratios of the two runs.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.gunicorn_server import free_port  # noqa: E402


def serve(app: str, env: dict[str, str], workers: int,
          port: int | None = None) -> tuple[subprocess.Popen, str]:
    port = port or free_port()
    env = env | {"PORTAL_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers),
                 "PORTAL_ACCESS_LOG": os.devnull}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", app],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"127.0.0.1:{port}"
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection(base, timeout=5)
            conn.request("GET", "/")
            conn.getresponse().read()
            break
        except OSError:
            time.sleep(0.1)
    return proc, base


def server_cpu(proc: subprocess.Popen) -> float:
    """Seconds of CPU used so far by a gunicorn master, its workers, and the workers it has
    reaped (a worker replaced after max_requests counts in the master's children's time)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def stat(pid: int | str, children: bool) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # utime, stime, cutime, cstime are fields 14-17 (1-based); after the ")": 11-14.
        used = int(fields[11]) + int(fields[12])
        if children:
            used += int(fields[13]) + int(fields[14])
        return used / ticks

    try:
        workers = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    except OSError:
        workers = []
    return stat(proc.pid, True) + sum(stat(pid, False) for pid in workers)


def window(host: str, path: str, seconds: float, clients: int, headers: dict[str, str],
           server: subprocess.Popen | None = None
           ) -> tuple[float, list[float], int, int, float, float]:
    """Requests per second over the window, per-request latencies, bad answers, the bytes of
    the last answer's body, and µs of CPU per request of the server and of this client."""
    server_before = server_cpu(server) if server else 0.0
    client_before = time.process_time()
    stop = time.perf_counter() + seconds
    latencies: list[float] = []
    bad = [0]
    size = [0]
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection(host, timeout=30)
        mine, errors = [], 0
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                size[0] = len(response.read())
                if response.status not in (200, 304):
                    errors += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection(host, timeout=30)
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(host, timeout=30)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            bad[0] += errors

    threads = [threading.Thread(target=client) for _ in range(clients)]
    begun = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - begun
    count = max(1, len(latencies))
    server_us = (server_cpu(server) - server_before) / count * 1e6 if server else 0.0
    client_us = (time.process_time() - client_before) / count * 1e6
    return len(latencies) / elapsed, latencies, bad[0], size[0], server_us, client_us


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    global ROOT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--reports", type=int, default=None,
                        help="demo reports to load (default: flask demo's own)")
    parser.add_argument("--supervision", type=int, default=None,
                        help="demo 督办事项 to load (default: flask demo's own)")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout to serve (default: this one)")
    parser.add_argument("--accept-encoding", default="gzip",
                        help="the Accept-Encoding every request sends (default: gzip, as "
                             "browsers do; 'identity' for pages sent plain)")
    args = parser.parse_args()
    ROOT = args.root.resolve()

    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    env = os.environ | {"PORTAL_ENV": "test", "PORTAL_DATABASE_URL": f"sqlite:///{folder / 'p.db'}",
                        "PORTAL_INDEX_DIR": str(folder / "index"),
                        "PORTAL_RATELIMIT_SEARCH": "1000000 per minute",
                        "PORTAL_RATELIMIT_CREDIT": "1000000 per minute"}
    flask = [sys.executable, "-m", "flask", "--app", "portal"]
    started = time.perf_counter()
    subprocess.run([*flask, "init-db"], env=env, cwd=ROOT, check=True, capture_output=True)
    counts = [arg for name in ("reports", "supervision") if getattr(args, name) is not None
              for arg in (f"--{name}", str(getattr(args, name)))]
    subprocess.run([*flask, "demo", "--size", str(args.size), *counts], env=env, cwd=ROOT,
                   check=True, capture_output=True)
    print(f"demo data: {args.size} items (and the demo 督办事项 and reports) loaded and indexed in "
          f"{time.perf_counter() - started:.0f} s")

    fixed = int(os.environ.get("BENCH_PORT") or 0)
    portal, portal_host = serve("wsgi:app", env, args.workers, fixed or None)
    bare, bare_host = serve("bench.bare_app:app", env, args.workers, fixed + 1 if fixed else None)
    headers = {"Accept-Encoding": args.accept_encoding}
    try:
        conn = http.client.HTTPConnection(portal_host, timeout=30)
        conn.request("GET", "/api/v1/decisions?per_page=1")
        response = conn.getresponse()
        body = response.read().decode()
        import json
        import re

        detail_id = None
        if response.status == 200:
            detail_id = json.loads(body)["results"][0]["id"]
        else:  # before the open-data API: take an id from the list page
            conn.request("GET", "/decisions")
            match = re.search(r'href="/decisions/(\d+)"', conn.getresponse().read().decode())
            detail_id = match.group(1) if match else 1
        targets = [("bare Flask /", bare_host, "/"),
                   ("/", portal_host, "/"),
                   ("/decisions", portal_host, "/decisions"),
                   (f"/decisions/{detail_id}", portal_host, f"/decisions/{detail_id}"),
                   ("/search?q=矿山", portal_host, "/search?q=" + urllib.parse.quote("矿山"))]
        targets.append(("/credit", portal_host, "/credit"))
        servers = {bare_host: bare, portal_host: portal}
        # The fifth kind (督办事项, issue 15): its list with the county map, an item with its
        # timeline, where the checkout has them.
        conn.request("GET", "/api/v1/supervision?per_page=1")
        response = conn.getresponse()
        body = response.read().decode()
        if response.status == 200 and json.loads(body)["results"]:
            supervision_id = json.loads(body)["results"][0]["id"]
            targets += [("/supervision", portal_host, "/supervision"),
                        (f"/supervision/{supervision_id}", portal_host,
                         f"/supervision/{supervision_id}")]
        # The pages in another language (issue 16), where the checkout serves them.
        conn.request("GET", "/lo/")
        response = conn.getresponse()
        response.read()
        if response.status == 200:
            targets += [("/lo/", portal_host, "/lo/"), ("/lo/credit", portal_host, "/lo/credit")]
        results: dict[str, list[tuple[float, list[float], int]]] = {t[0]: [] for t in targets}
        for _ in range(args.rounds):
            for label, host, path in targets:
                results[label].append(window(host, path, args.seconds, args.clients, headers,
                                             servers[host]))
    finally:
        for proc in (portal, bare):
            proc.terminate()
            proc.wait(timeout=30)

    bare_rps = statistics.median(r[0] for r in results["bare Flask /"])
    print(f"\n{args.workers} gunicorn workers each, {args.clients} client threads, "
          f"{args.rounds} rounds of {args.seconds:g} s, alternating; medians of the rounds")
    print(f"every request (the bare endpoint's too) sent Accept-Encoding: {args.accept_encoding}"
          f"{' (as browsers do)' if 'gzip' in args.accept_encoding else ''}; bytes: the body "
          f"as sent, not decompressed; load average {os.getloadavg()[0]:.1f}")
    print(f"{'page':<22}{'req/s':>9}{'vs bare':>10}{'p50 ms':>9}{'p95 ms':>9}{'bytes':>8}"
          f"{'bad':>6}{'server µs':>11}{'client µs':>11}")
    for label, rounds in results.items():
        rps = statistics.median(r[0] for r in rounds)
        latencies = [x for r in rounds for x in r[1]]
        bad = sum(r[2] for r in rounds)
        print(f"{label:<22}{rps:>9.0f}{rps / bare_rps:>10.2f}"
              f"{percentile(latencies, 0.5):>9.1f}{percentile(latencies, 0.95):>9.1f}"
              f"{rounds[-1][3]:>8}{bad:>6}{statistics.median(r[4] for r in rounds):>11.0f}"
              f"{statistics.median(r[5] for r in rounds):>11.0f}")


if __name__ == "__main__":
    main()
