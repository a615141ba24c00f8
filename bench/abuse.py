"""Abuse (issue 13 §2): while one client hammers one costly action after another, how fast is
`GET /` for everyone else, and how big do the workers grow?

    python bench/abuse.py [--seconds 20] [--quiet-seconds 10] [--attackers 4] [--size 300]
                          [--attacks codes,reports,replies,draft-photo,sign-ins] [--runs 2]
                          [--redis redis://127.0.0.1:6379/N] [--unlimited] [--supervision N]

Serves the portal with gunicorn and gunicorn.conf.py (2 workers, `PORTAL_ENV=production`) on a
SQLite database in a temporary folder with the demo data set (`demo --size N`, its 督办事项:
`--supervision`, default the demo's own).  A prober GETs `/`
without pause over one keep-alive connection, for each attack on a fresh server (so each
attack's memory is its own): first alone for --quiet-seconds (the quiet value), then for
--seconds while the attack runs:

    codes        POST /report/followup with wrong receipt codes
    reports      POST /report with 5 JPEGs of 7,745 × 7,745 (about 1 MB each, under the 60 MP cap)
    replies      POST /report/followup/reply adding the same 5 photos to one report
    draft-photo  GET /report/draft-photo/<id> of a draft holding one such photo
    sign-ins     POST /staff/login with a wrong password

The attacker of each attack is one client (an address of its own on loopback: 127.0.0.2, …) on
--attackers keep-alive connections, sending without pause; the rate limits are those of the
settings (the attacker meets them, as one client would), unless --unlimited raises them to
stand for many clients.  The limiter counts in each worker's memory (the default setting), so
one client gets each limit once per worker; with --redis it counts in that Redis database, as
deployed: one limit for all workers (the database is emptied before each attack: give the
benchmark a database of its own).  Every 0.2 s the
resident size of each worker is read from /proc/<pid>/status (VmRSS; its peak VmHWM too).

Each attacker connection builds its request body once (``prepare``) and sends the same bytes
again, so the attacker's own CPU on the shared cores is the HTTP round trip and no more.

Prints, per run and phase: the prober's p50/p95 of `GET /` and their ratio to the quiet values,
the attacker's answers by status, each worker's largest RSS, how many workers gunicorn started
during the phase besides the first two (``max_requests`` recycling), and this script's own CPU
time per wall second while attacking (prober and attacker together: what it takes from the
server).  Then, over the --runs runs (each attack on a fresh server each time), per attack: the
attacker's requests sent, refused (429, 503 "busy", or the connection dropped unanswered) and
accepted (the costly step done: a code checked, a password hashed, photos decoded, a thumbnail
served), the quiet and attacked p50/p95 of `GET /` and the p95 ratio (medians), the largest
worker RSS of any run; and the issue's goal (median p95 ratio within 5 × quiet, no worker above
400 MB in any run) for each attack.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import statistics
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import (
    RATE_LIMIT_NOTE,
    RATE_LIMITS,
    REPORT_FIELDS,
    Client,
    Failed,
    Server,
    bench_env,
    csrf_from,
    flask,
    multipart,
    percentile,
    submit_report,
)

WORKERS = 2
BIG_SIDE = 7745  # 60 MP cap: 7,745² = 59,985,025 pixels
PHOTOS_PER_POST = 5
GOAL_RATIO = 5.0
GOAL_RSS_MB = 400
# In this order: the report attacks share the report form's daily budget of one client.
ATTACKS = ["codes", "draft-photo", "replies", "reports", "sign-ins"]


def big_jpeg() -> bytes:
    """A 7,745 × 7,745 JPEG of about 1 MB: large in pixels, small on the wire."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (BIG_SIDE, BIG_SIDE), (90, 120, 60))
    draw = ImageDraw.Draw(image)
    for i in range(0, BIG_SIDE, 661):  # some edges, so it is not one flat block
        draw.line([(i, 0), (BIG_SIDE - i, BIG_SIDE)], fill=(200, 180, 40), width=3)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=40)
    return out.getvalue()


# ---------------------------------------------------------------- memory of the workers


@dataclass
class MemoryWatch:
    """Samples each worker's resident size from /proc every 0.2 s; ``peaks`` per phase (pid →
    MB): the largest of its VmRSS samples and of its VmHWM (the kernel's own peak of the
    process, so a peak between two samples is not missed)."""

    server: Server
    phase: str
    peaks: dict[str, dict[int, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _status_mb(pid: int, name: str) -> float | None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(name + ":"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def _run(self) -> None:
        while not self.stopping.is_set():
            for pid in self.server.workers():
                sizes = [mb for mb in (self._status_mb(pid, "VmRSS"),
                                       self._status_mb(pid, "VmHWM")) if mb is not None]
                if sizes:
                    phase = self.peaks.setdefault(self.phase, {})
                    phase[pid] = max(phase.get(pid, 0.0), *sizes)
            time.sleep(0.2)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()


# ---------------------------------------------------------------- the prober


def probe(host: str, seconds: float) -> list[float]:
    """GET / without pause for ``seconds``; the latencies of the 200 answers."""
    client = Client(host, timeout=120)
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            answer = client.get("/")
        except OSError:
            continue
        if answer.status == 200:
            latencies.append(answer.seconds)
    return latencies


# ---------------------------------------------------------------- the attacks


class Attack:
    """One attacker connection's loop: ``prepare`` once, then ``once`` until stopped (one
    instance per connection: each has its own session and CSRF token)."""

    def __init__(self, host: str, photos: list[bytes]) -> None:
        self.host = host
        self.photos = photos

    def prepare(self, client: Client) -> None:
        pass

    def once(self, client: Client) -> int:
        raise NotImplementedError


def form_body(fields: dict[str, str]) -> tuple[bytes, str]:
    return urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"


class WrongCodes(Attack):
    def prepare(self, client: Client) -> None:
        token = csrf_from(client.get("/report/followup").text)
        self.body = form_body({"csrf_token": token, "code": "7KQ2-XM9D-0000-0000-0000-0000-0000"})

    def once(self, client: Client) -> int:
        return client.request("POST", "/report/followup", *self.body).status


class BigReports(Attack):
    def prepare(self, client: Client) -> None:
        token = csrf_from(client.get("/report").text)
        files = [("photos", f"p{i}.jpg", photo) for i, photo in enumerate(self.photos)]
        self.body = multipart({"csrf_token": token, **REPORT_FIELDS}, files)

    def once(self, client: Client) -> int:
        return client.request("POST", "/report", *self.body).status


class PhotoReplies(Attack):
    receipt_code = ""

    def prepare(self, client: Client) -> None:
        token = csrf_from(client.get("/report/followup").text)
        files = [("reply-photos", f"p{i}.jpg", photo) for i, photo in enumerate(self.photos)]
        self.body = multipart({"reply-csrf_token": token, "reply-code": self.receipt_code,
                               "reply-body": "补充照片（基准测试）"}, files)

    def once(self, client: Client) -> int:
        return client.request("POST", "/report/followup/reply", *self.body).status


class DraftPhoto(Attack):
    def prepare(self, client: Client) -> None:
        form = client.get("/report")
        for _ in range(40):  # the connections save their drafts at once: one decode at a time
            answer = client.post("/report", {"csrf_token": csrf_from(form.text),
                                             **REPORT_FIELDS},
                                 [("photos", "p.jpg", self.photos[0])])
            if answer.status != 503:
                break
            time.sleep(0.5)
        if answer.status != 303:
            raise Failed("draft", answer.status, "the draft with a photo was not saved")
        check = client.get("/report/check")
        found = re.search(r"/report/draft-photo/(\d+)", check.text)
        if not found:
            raise Failed("draft", check.status, "no draft photo on the check page")
        self.path = found.group(0)

    def once(self, client: Client) -> int:
        return client.get(self.path).status


class WrongSignIns(Attack):
    def prepare(self, client: Client) -> None:
        token = csrf_from(client.get("/staff/login").text)
        self.body = form_body({"csrf_token": token, "username": "demo-admin",
                               "password": "not-the-password-1", "code": "000000", "next": ""})

    def once(self, client: Client) -> int:
        return client.request("POST", "/staff/login", *self.body).status


def run_attack(make: Callable[[], Attack], source: str, connections: int,
               stop: threading.Event, statuses: Counter) -> list[threading.Thread]:
    lock = threading.Lock()

    def loop() -> None:
        attack = make()
        client = Client(attack.host, timeout=120, source=source)
        try:
            attack.prepare(client)
        except (Failed, OSError) as exc:
            with lock:
                statuses[f"prepare failed: {exc}"] += 1  # type: ignore[index]
            return
        while not stop.is_set():
            try:
                status = attack.once(client)
            except OSError:
                status = 0
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    return threads


# ---------------------------------------------------------------- the run


@dataclass
class Phase:
    name: str
    p50: float
    p95: float
    probes: int
    statuses: Counter
    peak_mb: dict[int, float]
    bench_cpu: float = 0.0  # this script's own CPU time (prober + attacker) per wall second
    started_workers: int = 0  # workers gunicorn started during the phase (recycling)

    @property
    def sent(self) -> int:
        return sum(n for status, n in self.statuses.items() if isinstance(status, int))

    @property
    def refused(self) -> int:
        return sum(n for status, n in self.statuses.items() if status in REFUSED)

    @property
    def peak(self) -> float:
        return max(self.peak_mb.values(), default=float("nan"))


# Statuses of a refused attack request: over the limit, busy, or the connection dropped.
REFUSED = {0, 413, 429, 503}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--quiet-seconds", type=float, default=10)
    parser.add_argument("--attackers", type=int, default=4, help="connections of the attacker")
    parser.add_argument("--size", type=int, default=300, help="demo data set size")
    parser.add_argument("--attacks", default=",".join(ATTACKS))
    parser.add_argument("--runs", type=int, default=2,
                        help="runs of every attack (each on a fresh server); medians over them")
    parser.add_argument("--redis", default="",
                        help="the limiter's storage (a database this script may empty)")
    parser.add_argument("--supervision", type=int, default=None,
                        help="demo 督办事项 to load (default: flask demo's own)")
    parser.add_argument("--unlimited", action="store_true",
                        help="raise the rate limits (the attacker stands for many clients)")
    args = parser.parse_args()
    attacks = [a for a in args.attacks.split(",") if a]
    unknown = set(attacks) - set(ATTACKS)
    if unknown:
        parser.error(f"unknown attacks: {', '.join(sorted(unknown))}")

    folder = Path(tempfile.mkdtemp(prefix="portal-bench-abuse-"))
    try:
        env = bench_env(folder, f"sqlite:///{folder / 'portal.db'}")
        if not args.unlimited:  # the limits of the settings, as deployed
            for name in RATE_LIMITS:
                env.pop(name, None)
        print(RATE_LIMIT_NOTE if args.unlimited else
              "rate limits: the settings' defaults (one client, loopback, meets them)")
        if args.redis:
            env["PORTAL_RATELIMIT_STORAGE_URI"] = args.redis
        print(f"limiter storage: {args.redis or 'memory (each worker counts alone)'}")
        flask(env, "init-db")
        flask(env, "demo", "--size", str(args.size), "--reports", "5",
              *([] if args.supervision is None else ["--supervision", str(args.supervision)]))
        flask(env, "demo-staff")
        started = time.monotonic()
        photo = big_jpeg()
        print(f"big JPEG {BIG_SIDE}×{BIG_SIDE}: {len(photo) / 1e6:.2f} MB, made in "
              f"{time.monotonic() - started:.1f} s; {PHOTOS_PER_POST} per POST")
        photos = [photo] * PHOTOS_PER_POST
        runs: list[list[Phase]] = []
        for run in range(1, args.runs + 1):
            phases: list[Phase] = []
            for number, name in enumerate(attacks, start=2):
                phases.extend(run_phase(name, number, env, folder, photos, args))
            print(f"\nrun {run} of {args.runs}", flush=True)
            report(phases, args)
            runs.append(phases)
        summary(runs, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_phase(name: str, number: int, env: dict[str, str], folder: Path, photos: list[bytes],
              args: argparse.Namespace) -> list[Phase]:
    """A fresh server (so each attack's memory is its own), its quiet window, then the attack;
    the quiet and the attacked phase."""
    if args.redis:  # each attack's client starts with its whole budget
        import redis

        redis.Redis.from_url(args.redis).flushdb()
    server = Server("wsgi:app", env, WORKERS, folder / "gunicorn.log")
    watch = MemoryWatch(server, phase="quiet")
    try:
        probe(server.host, 2)  # warm the prober's connection and the page cache
        quiet = probe(server.host, args.quiet_seconds)
        before = Phase(f"quiet/{name}", percentile(quiet, 0.5), percentile(quiet, 0.95),
                       len(quiet), Counter(), dict(watch.peaks.get("quiet", {})))
        # Each attack from an address of its own (127.0.0.2, …): one client, with its own
        # budget under the rate limits; the prober stays on 127.0.0.1.
        source = f"127.0.0.{number}"
        kind = {"codes": WrongCodes, "reports": BigReports, "replies": PhotoReplies,
                "draft-photo": DraftPhoto, "sign-ins": WrongSignIns}[name]
        receipt = submit_report(Client(server.host, source=source)) \
            if name == "replies" else None

        def make() -> Attack:
            attack = kind(server.host, photos)
            if receipt is not None:
                attack.receipt_code = receipt.code  # type: ignore[attr-defined]
            return attack

        watch.phase = name
        stop = threading.Event()
        statuses: Counter = Counter()
        threads = run_attack(make, source, args.attackers, stop, statuses)
        time.sleep(1)  # the attack under way before measuring
        cpu_start, wall_start = time.process_time(), time.monotonic()
        latencies = probe(server.host, args.seconds)
        bench_cpu = (time.process_time() - cpu_start) / (time.monotonic() - wall_start)
        stop.set()
        deadline = time.monotonic() + 180  # a stalled server must not stall the run
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        attacked = Phase(name, percentile(latencies, 0.5), percentile(latencies, 0.95),
                         len(latencies), statuses, dict(watch.peaks.get(name, {})), bench_cpu,
                         max(0, len(watch.peaks.get(name, {}).keys() | before.peak_mb.keys())
                             - WORKERS))
    finally:
        watch.stop()
        server.stop()
    return [before, attacked]


def report(phases: list[Phase], args: argparse.Namespace) -> None:
    print(f"\n{WORKERS} gunicorn workers (gunicorn.conf.py), a fresh server per attack; attacker: "
          f"one client on {args.attackers} connections, {args.seconds:g} s per attack, after "
          f"{args.quiet_seconds:g} s quiet\n")
    print(f"{'phase':<18} {'GET / n':>8} {'p50 ms':>8} {'p95 ms':>8} {'p50 ×':>6} {'p95 ×':>6} "
          f"{'max RSS MB':>11} {'restarts':>8} {'bench CPU':>9}  attacker's answers")
    verdicts = []
    for quiet, phase in zip(phases[::2], phases[1::2], strict=True):
        for row in (quiet, phase):
            peak = max(row.peak_mb.values(), default=float("nan"))
            answers = ", ".join(f"{k}: {v}" for k, v in sorted(row.statuses.items(), key=str))
            print(f"{row.name:<18} {row.probes:>8} {row.p50:>8.1f} {row.p95:>8.1f} "
                  f"{row.p50 / quiet.p50:>6.1f} {row.p95 / quiet.p95:>6.1f} {peak:>11.0f} "
                  f"{row.started_workers:>8} {row.bench_cpu:>9.0%}  "
                  f"{answers or '—'}")
        ratio = phase.p95 / quiet.p95
        peak = max(phase.peak_mb.values(), default=0.0)
        verdict = "PASS" if ratio <= GOAL_RATIO and peak <= GOAL_RSS_MB else "FAIL"
        verdicts.append(f"  {phase.name:<12} p95 × {ratio:.1f}, max RSS {peak:.0f} MB: {verdict}")
    print(f"\ngoal: GET / p95 ≤ {GOAL_RATIO:g} × quiet and no worker above {GOAL_RSS_MB} MB")
    print("\n".join(verdicts), flush=True)


def summary(runs: list[list[Phase]], args: argparse.Namespace) -> None:
    """Per attack over all runs: the attacker's requests, the medians of `GET /` quiet and
    attacked, the largest worker; the goal on the median ratio and the largest worker."""
    median = statistics.median
    print(f"\nover {len(runs)} run(s), medians (each run's p95 ratio in brackets); requests "
          f"are the attacker's from its start to its end ({args.seconds:g} s and 1 s before)\n")
    print(f"{'attack':<12} {'sent':>6} {'refused':>8} {'accepted':>8} {'quiet p50/p95 ms':>17} "
          f"{'attacked p50/p95 ms':>20} {'p95 ×':>6}  {'runs':<14} {'max RSS MB':>10}")
    verdicts = []
    names = [phase.name for phase in runs[0][1::2]]
    for index, name in enumerate(names):
        pairs = [(phases[2 * index], phases[2 * index + 1]) for phases in runs]
        ratios = [attacked.p95 / quiet.p95 for quiet, attacked in pairs]
        peak = max(attacked.peak for _, attacked in pairs)
        quiet_p50 = median(q.p50 for q, _ in pairs)
        quiet_p95 = median(q.p95 for q, _ in pairs)
        attacked_p50 = median(a.p50 for _, a in pairs)
        attacked_p95 = median(a.p95 for _, a in pairs)
        each = ", ".join(f"{r:.1f}" for r in ratios)
        print(f"{name:<12} {median(a.sent for _, a in pairs):>6.0f} "
              f"{median(a.refused for _, a in pairs):>8.0f} "
              f"{median(a.sent - a.refused for _, a in pairs):>8.0f} "
              f"{f'{quiet_p50:.1f} / {quiet_p95:.1f}':>17} "
              f"{f'{attacked_p50:.1f} / {attacked_p95:.1f}':>20} {median(ratios):>6.1f}  "
              f"{f'({each})':<14} {peak:>10.0f}")
        verdict = "PASS" if median(ratios) <= GOAL_RATIO and peak <= GOAL_RSS_MB else "FAIL"
        verdicts.append(f"  {name:<12} p95 × {median(ratios):.1f} (median), largest worker "
                        f"{peak:.0f} MB: {verdict}")
    print(f"\ngoal: GET / p95 ≤ {GOAL_RATIO:g} × quiet and no worker above {GOAL_RSS_MB} MB")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
