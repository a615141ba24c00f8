"""Faults (issue 8 §10): a worker killed mid-burst, the indexer killed mid-write, PostgreSQL
restarted mid-burst.  Prints what happened and a verdict per fault.

    python bench/faults.py [--faults worker,indexer,postgres] [--databases sqlite,postgresql]
                           [--reports 300] [--items 3000] [--seconds 30] [--workers 4]
                           [--clients 20] [--pauses 1] [--supervision N]

(a) worker: gunicorn with 4 workers takes a burst of report submissions (20 clients, each report
    with a photo); a third of the way in, one worker gets SIGKILL.  Afterwards every receipt
    a client received must open its report at /report/followup, no report may lack its
    "received" event or its photo, no photo may belong to nothing, and a client whose request
    died must have got an error, never a receipt for a report that is not there.  On each
    database in --databases.
(b) indexer: the demo data set (--items, SQLite) under gunicorn; 8 clients search without
    pause while ``flask --app portal reindex`` runs and gets SIGKILL halfway (timed from an
    undisturbed reindex just before).  Search must answer throughout (no 5xx), with the same
    counts as before; an item edited after the kill must be found; a new ``reindex`` must
    finish and leave the same counts.
(c) postgres: on PostgreSQL, 10 clients submit reports and 10 read pages while the shared
    server is restarted once (``pg_ctlcluster … restart``).  Errors are counted by kind and
    time; afterwards receipts and stored reports must agree, every receipt must open its
    report, and requests must succeed again without restarting the app (pool_pre_ping).

Everything runs on loopback; files live in a temporary folder; PostgreSQL databases
(``portal_bench_faults``, ``portal_bench_faults_pg``) are dropped afterwards, and the server is
checked to be up at the end.

``--workers``, ``--clients`` (the worker fault's reporters), ``--pauses`` (a factor on the
fixed waits: for a respawned worker, before and after the kill, after a rebuild) and
``--supervision`` (demo 督办事项 in the indexer fault's data, default the demo's) are for the
smoke run in tests/test_bench.py, which only proves the script runs through; measure with the
defaults.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack, suppress
from pathlib import Path

from harness import (
    FLASK,
    PYTHON,
    RATE_LIMIT_NOTE,
    ROOT,
    Client,
    Failed,
    Receipt,
    Server,
    bench_env,
    count_5xx,
    flask,
    jpeg,
    page_title,
    postgres_database,
    stored,
    submit_report,
)
from reports import check_followups

WORKERS = 4  # gunicorn workers (--workers)
CLIENTS = 20  # the worker fault's reporters (--clients)
PAUSES = 1.0  # factor on the fixed waits (--pauses)
QUERIES = ["矿山", "安全生产", "罚款", "景洪", "勐海县", "危险化学品", "应急", "隐患", "事故", "号",
           "消防", "建筑施工", "非煤矿山", "勐腊", "有限公司"]


def pause(seconds: float) -> None:
    time.sleep(seconds * PAUSES)


def status_line(counter: Counter) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0])))


# ---------------------------------------------------------------- (a) a worker killed


def worker_kill(label: str, database_url: str, folder: Path, reports: int) -> bool:
    env = bench_env(folder, database_url)
    flask(env, "init-db")
    server = Server("wsgi:app", env, WORKERS, folder / f"gunicorn-worker-{label}.log")
    photo = jpeg()
    receipts: list[Receipt] = []
    failures: Counter = Counter()
    statuses: list[int] = []
    lock = threading.Lock()
    left = [reports]
    killed: list[int] = []

    def reporter() -> None:
        client = Client(server.host)
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            try:
                receipt = submit_report(client, photo)
            except Failed as exc:
                with lock:
                    failures[(exc.step, exc.status)] += 1
                statuses.extend(client.statuses)
                client = Client(server.host)
                continue
            with lock:
                receipts.append(receipt)
        with lock:
            statuses.extend(client.statuses)

    def killer() -> None:
        while len(receipts) < reports // 3:
            time.sleep(0.05)
        victim = server.workers()[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    try:
        before = len(stored(database_url).report_ids)
        threads = [threading.Thread(target=reporter) for _ in range(CLIENTS)]
        threads.append(threading.Thread(target=killer))
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
        pause(2)  # for the master to start a worker in place of the killed one
        workers_after = len(server.workers())
        opened = check_followups(server.host, receipts)
    finally:
        server.stop()
    rows = stored(database_url)
    burst_ids = {i for i in rows.report_ids if i > before}
    got = {r.report_id for r in receipts}
    died = sum(v for (step, status), v in failures.items() if status == 0)
    died_on_send = sum(v for (step, status), v in failures.items() if step == "send")
    no_event = sum(1 for i in burst_ids if rows.received_events.get(i) != 1)
    no_photo = sum(1 for i in burst_ids if rows.photos.get(i) != 1)
    print(f"\n(a) worker killed — {label}: {reports} submissions with a photo, {CLIENTS} clients, "
          f"{WORKERS} workers; SIGKILL to worker {killed} after {reports // 3} receipts; "
          f"{seconds:.0f} s; workers afterwards {workers_after}")
    print(f"  receipts {len(receipts)}; journeys that failed {sum(failures.values())} "
          f"({status_line(failures) or 'none'}; status 0 = connection dropped, {died}); "
          f"5xx {count_5xx(statuses)}")
    print(f"  stored {len(burst_ids)}: with a receipt {len(got & burst_ids)}, stored without a "
          f"receipt {len(burst_ids - got)} (the 提交 request died after its commit: "
          f"{died_on_send} journeys failed at 提交); receipt without a report "
          f"{len(got - burst_ids)}; without 'received' event {no_event}; without its photo "
          f"{no_photo}; orphan photos {rows.orphan_photos}; unsent drafts left {rows.drafts} "
          f"(purge-reports clears them within a day); SQLite integrity {rows.integrity}")
    print(f"  follow-up of every receipt: opened {opened.get(200, 0)} of {len(receipts)} "
          f"{ {k: v for k, v in opened.items() if k != 200} or ''}")
    ok = (count_5xx(statuses) == 0 and not (got - burst_ids) and no_event == 0 and no_photo == 0 and rows.orphan_photos == 0
          and opened.get(200, 0) == len(receipts) and len(burst_ids - got) <= died_on_send
          and workers_after == WORKERS and rows.integrity in ("ok", "n/a"))
    print(f"  verdict: {'PASS' if ok else 'FAIL'} — nothing lost, nothing half-stored, every "
          "receipt works; clients of the killed worker got a dropped connection, no receipt"
          if ok else "  verdict: FAIL")
    return ok


# ---------------------------------------------------------------- (b) the indexer killed


def search_counts(host: str, queries: list[str]) -> dict[str, int]:
    import json

    client = Client(host)
    counts = {}
    for q in queries:
        answer = client.get("/api/v1/search?per_page=1&q=" + urllib.parse.quote(q))
        counts[q] = json.loads(answer.text)["count"] if answer.status == 200 else -answer.status
    return counts


def index_files(folder: Path) -> list[str]:
    """Every file under the index folder, as paths relative to it (the generation layout keeps
    Whoosh's files and the side file in ``gen-NNNNNN/``, beside ``CURRENT``)."""
    if not folder.exists():
        return []
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def side_file_bytes(folder: Path, files: Iterable[str]) -> int:
    """The size of the largest side file (``text-NNNNNN.dat``) among ``files``; 0 if none."""
    sizes = [0]
    for name in files:
        if Path(name).name.startswith("text-"):
            with suppress(OSError):  # a killed or finished rebuild may have removed it
                sizes.append((folder / name).stat().st_size)
    return max(sizes)


def tops(files: Iterable[str]) -> list[str]:
    """The top-level entries of relative paths (a generation directory once, not each file)."""
    return sorted({Path(f).parts[0] for f in files})


def indexer_kill(folder: Path, items: int, supervision: int | None = None) -> bool:
    database_url = f"sqlite:///{folder / 'index-fault.db'}"
    env = bench_env(folder, database_url, PORTAL_INDEX_DIR=str(folder / "index-fault"))
    index_dir = folder / "index-fault"
    started = time.perf_counter()
    flask(env, "init-db")
    flask(env, "demo", "--size", str(items), "--reports", "0",
          *([] if supervision is None else ["--supervision", str(supervision)]))
    print(f"\n(b) indexer killed — demo data {items} items loaded in "
          f"{time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    flask(env, "reindex")
    full = time.perf_counter() - started
    server = Server("wsgi:app", env, WORKERS, folder / "gunicorn-index.log")
    stop = threading.Event()
    statuses: Counter = Counter()
    timeline: list[tuple[float, int]] = []
    lock = threading.Lock()
    origin = time.perf_counter()

    def searcher() -> None:
        client = Client(server.host)
        rng = random.Random()
        while not stop.is_set():
            path = "/search?q=" + urllib.parse.quote(rng.choice(QUERIES))
            try:
                status = client.get(path).status
            except OSError:
                status = 0
            with lock:
                statuses[status] += 1
                timeline.append((time.perf_counter() - origin, status))

    try:
        baseline = search_counts(server.host, QUERIES)
        threads = [threading.Thread(target=searcher) for _ in range(8)]
        for t in threads:
            t.start()
        pause(3)
        files_before = set(index_files(index_dir))
        spawned = time.perf_counter() - origin
        proc = subprocess.Popen([*FLASK, "reindex"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Mid-write: once the rebuild's new side file holds half the texts of the live one.
        live_size = side_file_bytes(index_dir, files_before)
        if not live_size:
            raise RuntimeError(f"no side file (text-*) in {index_dir}: {files_before}")
        new_size = 0
        while proc.poll() is None and new_size < live_size / 2:
            time.sleep(0.01)
            new_size = side_file_bytes(index_dir, set(index_files(index_dir)) - files_before)
        written = time.perf_counter() - origin
        writing = sorted(set(index_files(index_dir)) - files_before)
        kill_at = time.perf_counter() - origin
        finished_first = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        pause(5)
        after_kill = search_counts(server.host, QUERIES)
        left_behind = sorted(set(index_files(index_dir)) - files_before)
        # An edit after the kill must reach the index (the side file the killed run left must
        # not swallow it).
        token = "benchmarkmark" + str(random.randint(1000, 9999))
        subprocess.run([PYTHON, "-c", _EDIT_ONE.replace("TOKEN", token)], env=env, cwd=ROOT,
                       check=True, capture_output=True)
        edited_found = search_counts(server.host, [token])[token]
        started = time.perf_counter()
        rebuilt = flask(env, "reindex").stdout.strip()
        rebuild_seconds = time.perf_counter() - started
        pause(2)
        after_rebuild = search_counts(server.host, QUERIES)
        edited_after_rebuild = search_counts(server.host, [token])[token]
        files_after = index_files(index_dir)
        pause(2)
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.stop()
    during = Counter(s for t, s in timeline if spawned <= t <= kill_at + 5 * PAUSES)
    print(f"  undisturbed reindex {full:.1f} s; a second one SIGKILLed "
          f"{written - spawned:.1f} s after its start, its new side file "
          f"{new_size / 1e6:.1f} MB of the live one's {live_size / 1e6:.1f} MB; files it had "
          f"written: {', '.join(tops(writing)) or 'none'}"
          + (" — IT HAD FINISHED BEFORE THE KILL" if finished_first else ""))
    print(f"  searches (8 clients, whole run): {sum(statuses.values())}, statuses "
          f"{status_line(statuses)}; during the reindex and {5 * PAUSES:g} s after the kill: "
          f"{status_line(during)}")
    print(f"  counts of {len(QUERIES)} queries: before {sum(baseline.values())}, after the kill "
          f"{sum(after_kill.values())} (same for every query: {after_kill == baseline}), after "
          f"a new reindex {sum(after_rebuild.values())} (same: {after_rebuild == baseline})")
    print(f"  left behind by the killed run: {tops(left_behind) or 'nothing'}; after the new "
          f"reindex, new: {tops(f for f in files_after if f not in files_before) or 'nothing'}, "
          f"gone: {tops(f for f in files_before if f not in files_after) or 'nothing'}")
    print(f"  an edit after the kill found by search: {edited_found == 1} (count {edited_found}); "
          f"after the new reindex: {edited_after_rebuild == 1}; new reindex: {rebuilt!r} in "
          f"{rebuild_seconds:.1f} s")
    ok = (not finished_first and count_5xx(list(statuses.elements())) == 0
          and statuses.get(0, 0) == 0 and after_kill == baseline and after_rebuild == baseline and edited_found == 1
          and edited_after_rebuild == 1)
    print("  verdict:", "PASS — search answered throughout; the killed rebuild never became "
          "visible (the live index stayed whole), later edits were indexed, and a new reindex "
          "rebuilt it" if ok else "FAIL")
    return ok


_EDIT_ONE = """
from sqlalchemy import select
from portal import create_app
from portal.extensions import db
from portal.models import Decision
with create_app().app_context():
    item = db.session.scalars(select(Decision).where(Decision.published_at.is_not(None))
                              .order_by(Decision.id).limit(1)).one()
    item.facts = item.facts + " TOKEN"
    db.session.commit()
"""


# ---------------------------------------------------------------- (c) PostgreSQL restarted


def postgres_cluster() -> str:
    return sorted(os.listdir("/etc/postgresql"))[-1]


def postgres_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0


def postgres_restart(database_url: str, folder: Path, seconds: float) -> bool:
    env = bench_env(folder, database_url)
    flask(env, "init-db")
    server = Server("wsgi:app", env, WORKERS, folder / "gunicorn-postgres.log")
    stop = threading.Event()
    origin = time.perf_counter()
    events: list[tuple[float, str, int]] = []  # (time, what, status)
    receipts: list[Receipt] = []
    failed_sends: Counter = Counter()
    error_pages: Counter = Counter()
    lock = threading.Lock()
    restart: dict[str, float] = {}

    def note(what: str, status: int, title: str = "") -> None:
        with lock:
            events.append((time.perf_counter() - origin, what, status))
            if status >= 500:
                error_pages[(status, title)] += 1

    def reporter() -> None:
        client = Client(server.host, timeout=30)
        while not stop.is_set():
            seen = len(client.statuses)
            try:
                receipt = submit_report(client)
            except Failed as exc:
                with lock:
                    failed_sends[(exc.step, exc.status)] += 1
                note("report", exc.status, exc.detail)
                client = Client(server.host, timeout=30)
                time.sleep(0.2)
                continue
            with lock:
                receipts.append(receipt)
            for status in client.statuses[seen:]:
                note("report", status)

    def reader() -> None:
        client = Client(server.host, timeout=30)
        paths = ["/decisions", "/report", "/powers?page=1", "/blacklist", "/accidents",
                 "/search?q=" + urllib.parse.quote("矿山")]
        rng = random.Random()
        while not stop.is_set():
            try:
                answer = client.get(rng.choice(paths))
                note("page", answer.status, page_title(answer.text))
            except OSError:
                note("page", 0)
                time.sleep(0.2)

    def restarter() -> None:
        time.sleep(seconds / 3)
        restart["start"] = time.perf_counter() - origin
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", postgres_cluster(), "main",
                        "restart"], check=True, capture_output=True)
        restart["end"] = time.perf_counter() - origin
        for _ in range(600):
            if postgres_ready():
                break
            time.sleep(0.1)
        restart["ready"] = time.perf_counter() - origin

    threads = ([threading.Thread(target=reporter) for _ in range(10)]
               + [threading.Thread(target=reader) for _ in range(10)])
    restart_thread = threading.Thread(target=restarter)
    try:
        for t in threads:
            t.start()
        restart_thread.start()
        time.sleep(seconds)
        restart_thread.join()
        stop.set()
        for t in threads:
            t.join()
        opened = check_followups(server.host, receipts)
        # Still the same gunicorn master and workers: the app recovered by itself.
        workers = server.workers()
    finally:
        stop.set()
        server.stop()
        if not postgres_ready():
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", postgres_cluster(),
                            "main", "start"], check=False)
    rows = stored(database_url)
    got = {r.report_id for r in receipts}
    bad = [(t, what, s) for t, what, s in events if s >= 500 or s == 0]
    first_bad = min((t for t, _, _ in bad), default=None)
    last_bad = max((t for t, _, _ in bad), default=None)
    after = [s for t, _, s in events if last_bad is not None and t > last_bad]
    tail = [s for t, _, s in events if t > restart.get("ready", 0) + 5]
    print(f"\n(c) PostgreSQL restarted — {seconds:.0f} s of traffic (10 reporters, 10 readers), "
          f"{WORKERS} workers; restart command from {restart['start']:.1f} s to "
          f"{restart['end']:.1f} s, accepting connections at {restart['ready']:.1f} s")
    print(f"  requests {len(events)}; 5xx or dropped {len(bad)}"
          + (f", from {first_bad:.1f} s to {last_bad:.1f} s" if bad else "")
          + f": {status_line(Counter((w, s) for _, w, s in bad)) or 'none'}")
    print(f"  error pages: {status_line(error_pages) or 'none'}; failed report journeys: "
          f"{status_line(failed_sends) or 'none'}")
    print(f"  after the last error: {len(after)} requests, all answered: "
          f"{all(s and s < 500 for s in after)}; from 5 s after the restart: {len(tail)} requests, "
          f"5xx {count_5xx(tail)}; same gunicorn workers: {len(workers)} alive, none restarted")
    print(f"  receipts {len(receipts)}, stored {len(rows.report_ids)}; receipt without a report "
          f"{len(got - rows.report_ids)}, stored without a receipt {len(rows.report_ids - got)}; "
          f"without 'received' event "
          f"{sum(1 for i in rows.report_ids if rows.received_events.get(i) != 1)}; follow-up "
          f"opened {opened.get(200, 0)} of {len(receipts)}")
    within_outage = not bad or (first_bad >= restart["start"] - 0.5
                                and last_bad <= restart["ready"] + 5)
    ok = (within_outage and not (got - rows.report_ids) and opened.get(200, 0) == len(receipts)
          and count_5xx(tail) == 0 and len(tail) > 0
          and all(s in (0, 500, 503) or s < 500 for _, _, s in bad)
          and len(rows.report_ids - got) <= failed_sends.get(("send", 0), 0))
    print("  verdict:", "PASS — errors only while the server was down, no corruption, recovered "
          "without a restart" if ok else "FAIL")
    return ok


def main() -> None:
    global WORKERS, CLIENTS, PAUSES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", default="worker,indexer,postgres")
    parser.add_argument("--databases", default="sqlite,postgresql", help="for the worker fault")
    parser.add_argument("--reports", type=int, default=300, help="for the worker fault")
    parser.add_argument("--items", type=int, default=3000, help="for the indexer fault")
    parser.add_argument("--seconds", type=float, default=30, help="for the PostgreSQL fault")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=CLIENTS,
                        help="reporters in the worker fault")
    parser.add_argument("--pauses", type=float, default=PAUSES,
                        help="factor on the fixed waits (1: as designed)")
    parser.add_argument("--supervision", type=int, default=None,
                        help="demo 督办事项 for the indexer fault (default: flask demo's own)")
    args = parser.parse_args()
    WORKERS, CLIENTS, PAUSES = args.workers, args.clients, args.pauses
    faults = args.faults.split(",")
    print(RATE_LIMIT_NOTE)
    folder = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    verdicts: dict[str, bool] = {}
    try:
        if "worker" in faults:
            for label in args.databases.split(","):
                with ExitStack() as stack:
                    if label == "sqlite":
                        url = f"sqlite:///{folder / 'worker.db'}"
                    else:
                        url = stack.enter_context(postgres_database("portal_bench_faults"))
                    verdicts[f"worker killed ({label})"] = worker_kill(label, url, folder,
                                                                       args.reports)
        if "indexer" in faults:
            verdicts["indexer killed"] = indexer_kill(folder, args.items, args.supervision)
        if "postgres" in faults:
            with postgres_database("portal_bench_faults_pg") as url:
                verdicts["PostgreSQL restarted"] = postgres_restart(url, folder, args.seconds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"\nPostgreSQL accepting connections at the end: {postgres_ready()}")
    print("\n" + "\n".join(f"{name}: {'PASS' if ok else 'FAIL'}" for name, ok in verdicts.items()))


if __name__ == "__main__":
    main()
