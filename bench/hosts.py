"""Two hosts behind nginx, and a surge (issue 18 §2, §3).

    python bench/hosts.py [--size 20000] [--clients 200] [--reporters 20] [--seconds 60]
                          [--think 1.0] [--compare-seconds 60] [--kill-seconds 20] [--workers 2]
                          [--supervision N]

Loads ``flask --app portal demo --size N`` into a new PostgreSQL database ``portal_hosts_bench``
(dropped afterwards), with ``PORTAL_SEARCH_BACKEND=postgres`` and ``reindex``, and starts:
- two app hosts, A and B: two gunicorn instances (gunicorn.conf.py, ``--workers`` each) on ports
  5660 and 5661, each with its own folder (index folder, access log, error log), both on that
  database and on Redis db 6 for the rate limits (``PORTAL_RATELIMIT_STORAGE_URI``), with
  ``PORTAL_TRUSTED_PROXIES=1`` and the default rate limits (not raised: every simulated visitor
  comes from an address of its own in 127.0.0.0/8, every report journey from a new one);
- Debian's nginx, as a child process with its own prefix in a temporary folder, running the one
  ``nginx`` block of docs/deploy.md with only addresses, ports and paths replaced
  (bench/nginx_conf.py): TLS on 8060 (a throw-away certificate), the redirect server on 8061.

Then, in order:
1. propagation: an editor signs in on host A (password + TOTP), creates and publishes a decision,
   then withdraws it; each time, the time until host B's item page and host B's search show it
   (polled every 20 ms), and until nginx (with its micro-cache) does;
2. shared limits: one visitor (one address) asks nginx for ``/credit?name=`` until refused: the
   number of answers before the first 429 must be the configured limit, with both hosts having
   answered (counted from their access logs);
3. a host killed: ``--clients``/4 readers and ``--reporters``/2 reporters for --kill-seconds; a
   third of the way in, host B's whole process group gets SIGKILL; readers' 5xx, report
   journeys that failed, and afterwards whether every receipt opens its report; host B is then
   started again;
4. the surge: ``--clients`` readers (keep-alive, think time exponential with mean --think s)
   draw URLs from a Zipf distribution (s=1) over: the home page, the most recent accident's page,
   /blacklist, /credit?name= of 3 listed enterprises, 5 searches, then the long tail of --tail
   item pages; meanwhile ``--reporters`` reporters submit reports through the real form (GET
   /report, POST with its CSRF token, the check page, 提交, the receipt), one new address per
   journey.  Halfway, the accident is withdrawn on host A, and the time until nginx, host A and
   host B show it is measured.  The same surge then runs --compare-seconds with the cache
   bypassed (every reader sends a cookie: docs/deploy.md's rule), for the ratio;
5. every receipt of steps 3 and 4 is posted to /report/followup through nginx and must open its
   report; the access logs of nginx and of both gunicorns must hold no client address, no line
   for /report… and none for /static/.

Prints every figure, the load generator's own CPU use, and a verdict per goal.  Every process
started here (nginx, both gunicorns) is stopped, in ``finally``, by its process group.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from bisect import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import nginx_conf
from harness import (
    PYTHON,
    RATE_LIMITS,
    ROOT,
    Client,
    Failed,
    Receipt,
    Server,
    bench_env,
    csrf_from,
    flask,
    percentile,
    postgres_database,
    stored,
    submit_report,
)

DATABASE = "portal_hosts_bench"
REDIS_URL = "redis://127.0.0.1:6379/6"
HOST_PORTS = (5660, 5661)
NGINX_PORTS = (8060, 8061)  # TLS, plain (the redirect)
QUERIES = ["事故", "矿山", "危险化学品", "景洪", "有限公司"]
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE
SHARED_CACHE_LIFETIME = 10  # s: portal/page_cache.py, docs/deploy.md
_ADDRESSES = itertools.count(1)
_ADDRESS_LOCK = threading.Lock()


def new_address() -> str:
    """A loopback address no other simulated visitor has used (127.1.0.1, 127.1.0.2, …)."""
    with _ADDRESS_LOCK:
        n = next(_ADDRESSES)
    return f"127.{1 + n // (254 * 256)}.{n // 254 % 256}.{1 + n % 254}"


# ---------------------------------------------------------------- processes


class Host(Server):
    """One app host: gunicorn with gunicorn.conf.py on a fixed port, in its own process group
    and folder (index folder, access log, error log)."""

    def __init__(self, name: str, env: dict[str, str], workers: int, folder: Path,
                 port: int) -> None:
        self.name = name
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.host = f"127.0.0.1:{port}"
        self.log = folder / "gunicorn.log"
        self.access_log = folder / "access.log"
        env = env | {"PORTAL_BIND": self.host, "WEB_CONCURRENCY": str(workers),
                     "PORTAL_ENV": "production", "PORTAL_INDEX_DIR": str(folder / "index"),
                     "PORTAL_ACCESS_LOG": str(self.access_log)}
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                env=env, cwd=ROOT, stdout=out, stderr=out, start_new_session=True)
        try:
            self.wait_ready(workers, timeout=120)
        except BaseException:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once: the machine died."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self) -> None:
        super().stop()
        self.kill()  # any worker left behind


class TlsClient(Client):
    """harness.Client over TLS to nginx (the throw-away certificate is not checked), keeping
    every request's time."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.step_seconds: list[float] = []

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPSConnection(
            self.host, timeout=self.timeout, context=TLS,
            source_address=(self.source, 0) if self.source else None)

    def request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - Client.request's
        answer = super().request(*args, **kwargs)
        self.step_seconds.append(answer.seconds)
        return answer


# ---------------------------------------------------------------- the async reader


class Connection:
    """One keep-alive HTTP/1.1 connection over TLS, from one source address."""

    def __init__(self, port: int, source: str) -> None:
        self.port = port
        self.source = source
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=TLS, local_addr=(self.source, 0),
            server_hostname="aqsc.xsbn.gov.cn")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def get(self, path: str, cookie: str = "") -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            await self._open()
        extra = f"Cookie: {cookie}\r\n" if cookie else ""
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                          f"User-Agent: portal-bench\r\n{extra}\r\n".encode())
        try:
            line = await self.reader.readline()
            if not line:
                raise ConnectionError("closed")
            status = int(line.split()[1])
            headers: dict[str, str] = {}
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                headers[name] = (headers[name] + ", " if name in headers else "") + value.strip()
            if "content-length" in headers:
                body = await self.reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                parts = []
                while True:
                    size = int((await self.reader.readline()).split(b";")[0], 16)
                    if size == 0:
                        await self.reader.readline()
                        break
                    parts.append(await self.reader.readexactly(size))
                    await self.reader.readline()
                body = b"".join(parts)
            else:
                body = await self.reader.read()
                self.close()
        except BaseException:
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body


@dataclass
class Tally:
    """What the readers saw: latencies by class and by cache status, statuses, cookies set."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    by_cache: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    bad: Counter = field(default_factory=Counter)  # (class, status) of every 5xx / 0
    cookies_set: Counter = field(default_factory=Counter)
    requests: int = 0
    # (seconds since the window opened, latency) of every page answered
    timeline: list[tuple[float, float]] = field(default_factory=list)

    def all_pages(self) -> list[float]:
        return [s for values in self.latencies.values() for s in values]


class Mix:
    """The news day's URLs, ranked, drawn with probability ∝ 1/rank (Zipf, s=1)."""

    def __init__(self, urls: list[tuple[str, str]], s: float = 1.0) -> None:
        self.urls = urls
        self.cumulative = list(itertools.accumulate(1 / (rank ** s)
                                                    for rank in range(1, len(urls) + 1)))

    def pick(self, rng: random.Random) -> tuple[str, str]:
        return self.urls[bisect(self.cumulative, rng.random() * self.cumulative[-1])]

    def shares(self) -> dict[str, float]:
        weights: Counter = Counter()
        previous = 0.0
        for (kind, _url), total in zip(self.urls, self.cumulative, strict=True):
            weights[kind] += total - previous
            previous = total
        return {kind: weight / self.cumulative[-1] for kind, weight in weights.items()}


async def readers(port: int, mix: Mix, clients: int, seconds: float, think: float,
                  cookie: str = "", first: int = 0) -> Tally:
    tally = Tally()
    opened = time.perf_counter()
    stop_at = opened + seconds

    async def reader(number: int) -> None:
        rng = random.Random(number)
        connection = Connection(port, new_address())
        if think:
            await asyncio.sleep(rng.uniform(0, think))
        while time.perf_counter() < stop_at:
            kind, path = mix.pick(rng)
            started = time.perf_counter()
            try:
                status, headers, _body = await connection.get(path, cookie)
            except (OSError, ConnectionError, ValueError, IndexError,
                    asyncio.IncompleteReadError):
                status, headers = 0, {}
            elapsed = time.perf_counter() - started
            tally.requests += 1
            tally.statuses[status] += 1
            if status == 0 or status >= 500:
                tally.bad[(kind, status)] += 1
            else:
                tally.latencies[kind].append(elapsed)
                tally.timeline.append((started - opened, elapsed))
                tally.by_cache[headers.get("x-cache", "-")].append(elapsed)
            if "set-cookie" in headers:
                tally.cookies_set[kind] += 1
            if think:
                await asyncio.sleep(rng.expovariate(1 / think))
        connection.close()

    await asyncio.gather(*(reader(n) for n in range(first, first + clients)))
    return tally


# ---------------------------------------------------------------- reporters


@dataclass
class ReportTally:
    receipts: list[Receipt] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)  # (step, status)
    step_seconds: list[float] = field(default_factory=list)  # every request of every journey
    send_seconds: list[float] = field(default_factory=list)  # the 提交 POST
    statuses: Counter = field(default_factory=Counter)


def reporters(port: int, count: int, seconds: float, think: float) -> tuple[list, ReportTally]:
    """``count`` threads, each submitting reports until ``seconds`` have passed, a new address
    (a new visitor) per journey, a think time before each journey."""
    tally = ReportTally()
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def run(number: int) -> None:
        rng = random.Random(1000 + number)
        while True:
            if think:
                time.sleep(rng.expovariate(1 / think))
            if time.perf_counter() >= stop_at:
                break
            client = TlsClient(f"127.0.0.1:{port}", timeout=60, source=new_address())
            started = len(client.statuses)
            try:
                receipt = submit_report(client)
            except Failed as exc:
                with lock:
                    tally.failures[(exc.step, exc.status)] += 1
            else:
                with lock:
                    tally.receipts.append(receipt)
                    tally.send_seconds.append(receipt.send)
            finally:
                client.conn.close()
            with lock:
                tally.statuses.update(client.statuses[started:])
                tally.step_seconds.extend(client.step_seconds)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    return threads, tally


def followups(port: int, receipts: list[Receipt], threads: int = 8
              ) -> tuple[Counter, Counter, list[str]]:
    """Post every receipt's code to /report/followup through nginx, from a new address each;
    count 200 (its own report shown), -1 (another page), and other statuses.  A "busy" 503
    (every padded slot taken) is asked again after a pause, as its page asks (up to 20 times).
    Also returns what each 503 was (the busy page, the "unavailable" page, anything else) and,
    for every receipt that did not open its report, its number, attempts and last answer."""
    results: Counter = Counter()
    unavailable: Counter = Counter()
    misses: list[str] = []
    lock = threading.Lock()
    queue = list(receipts)

    def run() -> None:
        while True:
            with lock:
                if not queue:
                    return
                receipt = queue.pop()
            seen: list[str] = []
            for _attempt in range(20):
                client = TlsClient(f"127.0.0.1:{port}", timeout=60, source=new_address())
                try:
                    token = csrf_from(client.get("/report/followup").text)
                    answer = client.post("/report/followup",
                                         {"csrf_token": token, "code": receipt.code})
                finally:
                    client.conn.close()
                if answer.status != 503:
                    break
                seen.append("busy" if "系统繁忙" in answer.text else
                            "unavailable" if "服务暂时不可用" in answer.text else "other")
                time.sleep(0.5)
            outcome = answer.status
            if outcome == 200 and receipt.number not in answer.text:
                outcome = -1
            with lock:
                results[outcome] += 1
                unavailable.update(seen)
                if outcome != 200:
                    misses.append(f"{receipt.number} (report {receipt.report_id}): "
                                  f"{len(seen) + 1} attempts, 503s {Counter(seen)}, last {outcome}")

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results, unavailable, misses


# ---------------------------------------------------------------- staff on host A


class Editor:
    """An editor signed in on one host (directly, not through nginx)."""

    def __init__(self, host: str, username: str, password: str, totp_secret: str,
                 department: str) -> None:
        import pyotp

        self.department = department
        self.client = Client(host)
        token = csrf_from(self.client.get("/staff/login").text)
        answer = self.client.post("/staff/login", {
            "csrf_token": token, "username": username, "password": password,
            "code": pyotp.TOTP(totp_secret).now(), "next": ""})
        if answer.status not in (302, 303):
            raise RuntimeError(f"sign-in refused: {answer.status}")

    def create_decision(self, document_no: str, party: str) -> int:
        from portal.models import local_today
        from tests.factories import credit_code

        self.client.conn.close()
        token = csrf_from(self.client.get("/staff/decisions/new").text)
        answer = self.client.post("/staff/decisions/new", {
            "csrf_token": token, "document_no": document_no, "decision_type": "行政处罚",
            "party_name": party, "uscc": credit_code(random.randrange(10**6, 10**7)), "party_address": "", "county": "勐腊县",
            "sector": "非煤矿山", "facts": "经查，该公司未按规定对重大事故隐患进行排查治理。（基准测试）",
            "legal_basis": "《中华人民共和国安全生产法》第一百零二条", "penalty": "罚款人民币三万元",
            "fine_yuan": "30000", "compliance": "", "remedy": "",
            "decision_date": (local_today() - timedelta(days=2)).isoformat(),
            "department_name": self.department})
        location = answer.headers.get("Location", "")
        match = re.search(r"/staff/decisions/(\d+)$", location)
        if answer.status not in (302, 303) or not match:
            raise RuntimeError(f"draft not saved: {answer.status} {location}")
        return int(match.group(1))

    def _post(self, path: str, fields: dict[str, str], form_page: str) -> None:
        self.client.conn.close()  # gunicorn closes an idle keep-alive connection after 2 s
        token = csrf_from(self.client.get(form_page).text)
        answer = self.client.post(path, {"csrf_token": token, **fields})
        if answer.status not in (200, 302, 303):
            raise RuntimeError(f"{path}: {answer.status}")

    def publish(self, kind: str, item_id: int) -> None:
        self._post(f"/staff/{kind}/{item_id}/publish", {}, f"/staff/{kind}/{item_id}")

    def withdraw(self, kind: str, item_id: int, reason: str) -> None:
        self._post(f"/staff/{kind}/{item_id}/withdraw", {"reason": reason},
                   f"/staff/{kind}/{item_id}/withdraw")


def wait_until(check, timeout: float = 30.0, every: float = 0.02) -> float:
    """Seconds until ``check()`` is true (polled every ``every`` s); inf if it never was."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if check():
            return time.perf_counter() - started
        time.sleep(every)
    return float("inf")


def page_has(client: Client, path: str, text: str) -> bool:
    try:
        answer = client.get(path)
    except (OSError, http.client.HTTPException):
        return False
    return answer.status == 200 and text in answer.text


# ---------------------------------------------------------------- the benchmark


def ms(seconds: float) -> str:
    return "never" if seconds == float("inf") else f"{seconds * 1000:.0f} ms"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_snapshot(hosts: dict[str, Host]) -> tuple[dict[str, float], float]:
    """CPU seconds used so far by each part of the run (both app hosts' process groups, nginx,
    PostgreSQL, Redis, this script) and by the whole machine (busy time in /proc/stat), so that
    the CPU of other work on the machine during a window is what is left over."""
    groups = {host.proc.pid: "app hosts" for host in hosts.values()}
    used: dict[str, float] = defaultdict(float)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                line = stat.read()
        except OSError:
            continue  # gone meanwhile
        name = line[line.index("(") + 1:line.rindex(")")]
        fields = line[line.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
        if int(entry.name) == os.getpid():
            used["load generator"] += seconds  # its children (hosts, nginx) count as theirs
            continue
        # + cutime + cstime: a worker gone meanwhile (gunicorn's max_requests, a closed
        # PostgreSQL connection) leaves its CPU with the parent that waited for it.
        seconds += (int(fields[13]) + int(fields[14])) / _TICK
        if int(fields[2]) in groups:  # the process group
            part = groups[int(fields[2])]
        elif name.startswith("nginx"):
            part = "nginx"
        elif name.startswith("postgres"):
            part = "postgres"
        elif name.startswith("redis"):
            part = "redis"
        else:
            continue
        used[part] += seconds
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / _TICK  # all but idle and iowait
    return used, busy


def cpu_cores(before: tuple[dict[str, float], float], after: tuple[dict[str, float], float],
              seconds: float) -> str:
    """The cores each part used on average between two snapshots, and what other work used."""
    parts = {part: (after[0].get(part, 0.0) - before[0].get(part, 0.0)) / seconds
             for part in ("app hosts", "nginx", "postgres", "redis", "load generator")}
    busy = (after[1] - before[1]) / seconds
    others = max(0.0, busy - sum(parts.values()))
    shown = ", ".join(f"{part} {cores:.2f}" for part, cores in parts.items())
    return (f"cores used: {shown}; other work on the machine {others:.2f}; all {busy:.2f} of "
            f"{os.cpu_count()}")


def machine_busy() -> str:
    """The 1-minute load average against the cores: how shared the machine was."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def build_mix(client: TlsClient, tail: int) -> tuple[Mix, int]:
    """The ranked URLs, and the accident's id."""

    def ids(kind: str, wanted: int) -> list[dict]:
        rows: list[dict] = []
        page = 1
        while len(rows) < wanted:
            answer = client.get(f"/api/v1/{kind}?per_page=100&page={page}")
            if answer.status != 200:
                break
            got = json.loads(answer.text)["results"]
            if not got:
                break
            rows.extend(got)
            page += 1
        return rows[:wanted]

    accidents = ids("accidents", tail // 4 + 1)
    blacklist = ids("blacklist", tail // 4 + 3)
    accident = accidents[0]["id"]
    names = [row.get("enterprise_name", "") for row in blacklist[:3]]
    urls = [("home", "/"), ("accident", f"/accidents/{accident}"), ("blacklist", "/blacklist")]
    urls += [("credit", "/credit?name=" + urllib.parse.quote(name)) for name in names if name]
    urls += [("search", "/search?q=" + urllib.parse.quote(q)) for q in QUERIES]
    tail_rows = ([("decisions", r["id"]) for r in ids("decisions", tail // 4)]
                 + [("powers", r["id"]) for r in ids("powers", tail // 4)]
                 + [("accidents", r["id"]) for r in accidents[1:]]
                 + [("blacklist", r["id"]) for r in blacklist[3:]])
    random.Random(7).shuffle(tail_rows)
    urls += [("item", f"/{kind}/{item_id}") for kind, item_id in tail_rows[:tail]]
    return Mix(urls), accident


def print_surge(label: str, tally: Tally, reports: ReportTally, seconds: float,
                cpu: float, window: float) -> dict[str, float]:
    pages = tally.all_pages()
    figures = {"p50": percentile(pages, 0.5), "p95": percentile(pages, 0.95),
               "p99": percentile(pages, 0.99), "rate": tally.requests / seconds}
    fivexx = sum(v for s, v in tally.statuses.items() if s >= 500 or s == 0)
    print(f"\n  {label}: {tally.requests} page requests in {seconds:.0f} s "
          f"({figures['rate']:.0f}/s); p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms, "
          f"p99 {figures['p99']:.1f} ms; 5xx or no answer {fivexx}; statuses "
          f"{dict(sorted(tally.statuses.items()))}")
    half = window / 2
    halves = [[latency for at, latency in tally.timeline if (at < half) == first]
              for first in (True, False)]
    print(f"    first half p50 {percentile(halves[0], 0.5):.1f} ms, p95 "
          f"{percentile(halves[0], 0.95):.1f} ms; second half p50 {percentile(halves[1], 0.5):.1f}"
          f" ms, p95 {percentile(halves[1], 0.95):.1f} ms")
    steps = [[latency for at, latency in tally.timeline if step <= at < step + 5]
             for step in range(0, int(window), 5)]
    print("    p95 per 5 s: " + " ".join(f"{percentile(v, 0.95):.0f}" if v else "-" for v in steps)
          + " ms")
    for kind, values in sorted(tally.latencies.items()):
        print(f"    {kind:<10} n={len(values):>6}  p50 {percentile(values, 0.5):7.1f}  "
              f"p95 {percentile(values, 0.95):7.1f}  max {max(values) * 1000:7.1f} ms")
    for status, values in sorted(tally.by_cache.items()):
        print(f"    X-Cache {status:<11} n={len(values):>6}  p50 {percentile(values, 0.5):7.1f}  "
              f"p95 {percentile(values, 0.95):7.1f} ms")
    if tally.bad:
        print(f"    5xx / no answer by class: {dict(tally.bad)}")
    if tally.cookies_set:
        print(f"    responses with Set-Cookie: {dict(tally.cookies_set)}")
    print(f"    reports: {len(reports.receipts)} receipts, failed journeys "
          f"{dict(reports.failures) or 0}; 提交 p50 {percentile(reports.send_seconds, 0.5):.0f} ms, "
          f"p95 {percentile(reports.send_seconds, 0.95):.0f} ms; every report request p95 "
          f"{percentile(reports.step_seconds, 0.95):.0f} ms; statuses "
          f"{dict(sorted(reports.statuses.items()))}")
    print(f"    load generator: {cpu:.1f} CPU s in {seconds:.0f} s = {cpu / seconds:.0%} of one "
          f"core; {machine_busy()}")
    figures["fivexx"] = fivexx + sum(v for s, v in reports.statuses.items() if s >= 500 or s == 0)
    figures["report_p95"] = percentile(reports.send_seconds, 0.95)
    figures["cpu"] = cpu / seconds
    return figures


def run_surge(port: int, mix: Mix, args, *, clients: int, reporter_count: int, seconds: float,
              hosts: dict[str, Host], cookie: str = "", probes: int = 0,
              during=None) -> tuple[Tally, Tally, ReportTally, float, float]:
    """Readers and reporters at once for ``seconds``; ``during()`` runs in a thread meanwhile.
    ``probes`` more readers send a cookie (the app path, bypassing nginx's cache) in the same
    window, so the two paths are measured under the same load.  Prints the cores each part of
    the run used meanwhile."""
    cpu = cpu_seconds()
    snapshot = cpu_snapshot(hosts)
    started = time.perf_counter()
    threads, reports = reporters(port, reporter_count, seconds, args.think)
    side = threading.Thread(target=during) if during else None
    if side:
        side.start()

    async def both() -> tuple[Tally, Tally]:
        return await asyncio.gather(
            readers(port, mix, clients, seconds, args.think, cookie),
            readers(port, mix, probes, seconds, args.think, "bench=probe", first=clients))

    tally, probe = asyncio.run(both())
    for thread in threads:
        thread.join()
    if side:
        side.join()
    elapsed = time.perf_counter() - started
    print(f"\n  {cpu_cores(snapshot, cpu_snapshot(hosts), elapsed)}", end="")
    return tally, probe, reports, elapsed, cpu_seconds() - cpu


def count_lines(path: Path, needle: str) -> int:
    try:
        return sum(1 for line in path.read_text(errors="replace").splitlines() if needle in line)
    except FileNotFoundError:
        return 0


_ADDRESS = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")


def log_findings(paths: dict[str, Path]) -> dict[str, dict[str, int]]:
    """For each log: its lines, and those with an IPv4 address, of /report…, of /static/."""
    found = {}
    for name, path in paths.items():
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        found[name] = {
            "lines": len(lines),
            "address": sum(1 for line in lines if _ADDRESS.search(line)),
            "report": sum(1 for line in lines if " /report" in line),
            "static": sum(1 for line in lines if " /static/" in line or " /favicon" in line),
        }
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--reporters", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--compare-seconds", type=float, default=60)
    parser.add_argument("--kill-seconds", type=float, default=20)
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean think time between a visitor's requests, s (0: none)")
    parser.add_argument("--tail", type=int, default=1000, help="item pages in the long tail")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per host")
    parser.add_argument("--supervision", type=int, default=None,
                        help="demo 督办事项 to load (default: flask demo's own)")
    parser.add_argument("--database", default=DATABASE, help="PostgreSQL database to create")
    parser.add_argument("--redis", default=REDIS_URL, help="Redis for the limits (FLUSHDB)")
    parser.add_argument("--keep-redis", action="store_true",
                        help="no FLUSHDB (a Redis database other tests use at the same time)")
    parser.add_argument("--host-ports", type=int, nargs=2, default=HOST_PORTS)
    parser.add_argument("--nginx-ports", type=int, nargs=2, default=NGINX_PORTS,
                        help="TLS, plain")
    args = parser.parse_args()
    if not nginx_conf.NGINX:
        print("nginx is not installed (apt-get install -y nginx)")
        return 2

    folder = Path(tempfile.mkdtemp(prefix="portal-hosts-"))
    layout = nginx_conf.Layout(folder / "nginx")
    hosts: dict[str, Host] = {}
    proxy: nginx_conf.Nginx | None = None
    verdicts: dict[str, bool] = {}
    try:
        with postgres_database(args.database) as database_url:
            import redis

            if not args.keep_redis:
                redis.Redis.from_url(args.redis).flushdb()
            env = {k: v for k, v in bench_env(folder, database_url).items()
                   if k not in RATE_LIMITS}
            env |= {"PORTAL_SEARCH_BACKEND": "postgres", "PORTAL_RATELIMIT_STORAGE_URI": args.redis,
                    "PORTAL_TRUSTED_PROXIES": "1"}
            started = time.perf_counter()
            flask(env, "init-db")
            flask(env, "demo", "--size", str(args.size), "--reports", "0",
                  *([] if args.supervision is None else ["--supervision", str(args.supervision)]))
            flask(env, "reindex")
            print(f"demo data: {args.size} items on PostgreSQL, search backend postgres, loaded "
                  f"and indexed in {time.perf_counter() - started:.0f} s; rate limits as "
                  "configured by default (every visitor its own address)")

            for name, port in zip("AB", args.host_ports, strict=True):
                hosts[name] = Host(name, env, args.workers, folder / f"host-{name}", port)
            nginx_conf.prepare(layout, upstreams=tuple(h.host for h in hosts.values()),
                               https_port=args.nginx_ports[0], http_port=args.nginx_ports[1])
            proxy = nginx_conf.Nginx(layout, args.nginx_ports[0])
            print(f"hosts A {hosts['A'].host} and B {hosts['B'].host} ({args.workers} workers "
                  f"each, gunicorn.conf.py), nginx {nginx_conf.NGINX} on :{args.nginx_ports[0]} (TLS) "
                  f"with docs/deploy.md's block ({layout.conf})")
            nginx_port = args.nginx_ports[0]
            nginx_host = f"127.0.0.1:{nginx_port}"

            # ---- 1. propagation
            print("\n1. A publication and a withdrawal on host A, seen on host B and through nginx")
            # The editor works for the department of the accident withdrawn in the surge (the
            # newest, as build_mix picks it): only its own department's staff change a record.
            newest = json.loads(Client(hosts["A"].host).get("/api/v1/accidents?per_page=1").text)
            department = newest["results"][0]["department"]
            password = secrets.token_urlsafe(16)
            created = subprocess.run([PYTHON, "-m", "flask", "--app", "portal", "create-staff",
                                      "bench.editor", "--role", "editor", "--department",
                                      department, "--password-stdin"],
                                     input=password + "\n", env=env, cwd=ROOT, check=True,
                                     capture_output=True, text=True).stdout
            totp = re.search(r"TOTP 密钥：(\S+)", created).group(1)
            editor = Editor(hosts["A"].host, "bench.editor", password, totp, department)
            party = "勐腊县两主机测试矿业有限公司"
            item = editor.create_decision(f"西应急罚〔2026〕{random.randrange(10000, 99999)}号",
                                          party)
            page = f"/decisions/{item}"
            search = "/search?q=" + urllib.parse.quote("两主机测试矿业")
            on_b, on_nginx = Client(hosts["B"].host), TlsClient(nginx_host, source=new_address())
            editor.publish("decisions", item)
            shown = {"B page": wait_until(lambda: page_has(on_b, page, party)),
                     "B search": wait_until(lambda: page_has(on_b, search, f'href="{page}"')),
                     "nginx page": wait_until(lambda: page_has(on_nginx, page, party))}
            print("  published: " + ", ".join(f"{k} {ms(v)}" for k, v in shown.items()))
            # Through nginx, the page is now cached: a withdrawal shows after its lifetime.
            reason = "该决定已被复议机关撤销（两主机测试）"
            editor.withdraw("decisions", item, reason)
            withdrawn = {
                "B page": wait_until(lambda: page_has(on_b, page, reason)),
                "B search": wait_until(lambda: page_has(on_b, search, "search-hit-withdrawn")),
                "nginx page": wait_until(lambda: page_has(on_nginx, page, reason), every=0.1)}
            print("  withdrawn: " + ", ".join(f"{k} {ms(v)}" for k, v in withdrawn.items()))
            verdicts["publication and withdrawal on B within 1 s"] = max(
                shown["B page"], shown["B search"], withdrawn["B page"],
                withdrawn["B search"]) <= 1.0
            verdicts[f"withdrawal through nginx within {SHARED_CACHE_LIFETIME} s"] = \
                withdrawn["nginx page"] <= SHARED_CACHE_LIFETIME

            # ---- 2. shared limits
            print("\n2. One visitor's limit, whichever host answers")
            # A name per request: each is a page nginx has not kept, so each reaches a host
            # (an answer from nginx's cache costs the app nothing and is not counted).
            limited = f"/credit?name={urllib.parse.quote('两主机限流测试')}"
            before = {n: count_lines(h.access_log, limited) for n, h in hosts.items()}
            visitor = TlsClient(nginx_host, source=new_address())
            answered = 0
            for number in range(200):
                if visitor.get(f"{limited}{number}").status == 429:
                    break
                answered += 1
            per_host = {n: count_lines(h.access_log, limited) - before[n]
                        for n, h in hosts.items()}
            expected = int(env.get("PORTAL_RATELIMIT_CREDIT", "30 per minute").split()[0])
            print(f"  /credit?name=… (a new name each time) from one address through nginx: "
                  f"{answered} answers before the "
                  f"first 429 (limit {expected} per minute); answered by A {per_host['A']}, "
                  f"B {per_host['B']} (their access logs, 429 included)")
            verdicts["limits shared across hosts"] = answered == expected and min(
                per_host.values()) > 0

            mix, accident = build_mix(TlsClient(nginx_host, source=new_address()), args.tail)
            shares = ", ".join(f"{k} {v:.0%}" for k, v in mix.shares().items())
            print(f"\nThe Zipf mix over {len(mix.urls)} URLs (s=1): {shares}")

            # ---- 3. a host killed
            print(f"\n3. Host B killed (SIGKILL to its process group) a third into "
                  f"{args.kill_seconds:.0f} s of {args.clients // 4} readers and "
                  f"{args.reporters // 2} reporters")
            before_ids = stored(database_url).report_ids
            killed_at: list[float] = []

            def kill_b() -> None:
                time.sleep(args.kill_seconds / 3)
                hosts["B"].kill()
                killed_at.append(time.perf_counter())

            tally, _probe, kill_reports, elapsed, cpu = run_surge(
                nginx_port, mix, args, clients=args.clients // 4,
                reporter_count=args.reporters // 2, seconds=args.kill_seconds, hosts=hosts,
                during=kill_b)
            print_surge("with host B dead from a third in", tally, kill_reports, elapsed, cpu,
                        args.kill_seconds)
            rows = stored(database_url)
            new_ids = rows.report_ids - before_ids
            got = {r.report_id for r in kill_reports.receipts}
            print(f"  stored {len(new_ids)} reports: with a receipt {len(got & new_ids)}, without "
                  f"{len(new_ids - got)} (their 提交 died with the host); receipts without a "
                  f"report {len(got - new_ids)}")
            gets_failed = sum(v for (kind, s), v in tally.bad.items())
            verdicts["a host killed: GETs kept answering (no 5xx)"] = gets_failed == 0
            verdicts["a host killed: no receipt without its report"] = not (got - new_ids)
            hosts["B"].stop()
            hosts["B"] = Host("B", env, args.workers, folder / "host-B", args.host_ports[1])
            time.sleep(1)

            # ---- 4. the surge, cached, then with the cache bypassed
            print(f"\n4. The surge through nginx: {args.clients} readers (think time mean "
                  f"{args.think} s) and {args.reporters} reporters for {args.seconds:.0f} s; the "
                  f"accident's page (/accidents/{accident}) withdrawn on host A halfway")
            visible: dict[str, float] = {}

            def withdraw_halfway() -> None:
                time.sleep(args.seconds / 2)
                reason = "事故调查报告依法更正后重新公开（基准测试撤回）"
                path = f"/accidents/{accident}"
                clients = {"nginx": TlsClient(nginx_host, source=new_address()),
                           "A": Client(hosts["A"].host), "B": Client(hosts["B"].host)}
                editor.withdraw("accidents", accident, reason)
                started = time.perf_counter()
                pending = set(clients)
                while pending and time.perf_counter() - started < 30:
                    for name in list(pending):
                        if page_has(clients[name], path, reason):
                            visible[name] = time.perf_counter() - started
                            pending.discard(name)
                    time.sleep(0.05)
                for name in pending:
                    visible[name] = float("inf")

            probes = max(1, args.clients // 10)
            tally, probe, surge_reports, elapsed, cpu = run_surge(
                nginx_port, mix, args, clients=args.clients, reporter_count=args.reporters,
                seconds=args.seconds, hosts=hosts, probes=probes, during=withdraw_halfway)
            cached = print_surge("cached (docs/deploy.md as written)", tally, surge_reports,
                                 elapsed, cpu, args.seconds)
            app_path = probe.all_pages()
            print(f"  the app path in the same window ({probes} more readers sending a cookie, "
                  f"which bypasses the cache): {probe.requests} requests, p50 "
                  f"{percentile(app_path, 0.5):.1f} ms, p95 {percentile(app_path, 0.95):.1f} ms, "
                  f"5xx {sum(v for s, v in probe.statuses.items() if s >= 500 or s == 0)}; "
                  f"app path / cached: p50 {percentile(app_path, 0.5) / cached['p50']:.1f}×, "
                  f"p95 {percentile(app_path, 0.95) / cached['p95']:.1f}×")
            print("  the withdrawal seen: " + ", ".join(f"{k} {ms(v)}" for k, v in
                                                       sorted(visible.items())))
            receipts = kill_reports.receipts + surge_reports.receipts
            if args.compare_seconds:
                tally_b, _probe, compare_reports, elapsed_b, cpu_b = run_surge(
                    nginx_port, mix, args, clients=args.clients, reporter_count=args.reporters,
                    seconds=args.compare_seconds, hosts=hosts, cookie="bench=bypass")
                bypass = print_surge("cache bypassed (every reader sends a cookie)", tally_b,
                                     compare_reports, elapsed_b, cpu_b, args.compare_seconds)
                receipts += compare_reports.receipts
                print(f"  ratio bypassed / cached: p50 {bypass['p50'] / cached['p50']:.1f}×, p95 "
                      f"{bypass['p95'] / cached['p95']:.1f}×, p99 "
                      f"{bypass['p99'] / cached['p99']:.1f}×, rate "
                      f"{bypass['rate'] / cached['rate']:.2f}×")
            verdicts["surge: pages p95 ≤ 100 ms"] = cached["p95"] <= 100
            verdicts["surge: 0 5xx"] = cached["fivexx"] == 0
            verdicts["surge: 提交 p95 ≤ 1 s"] = cached["report_p95"] <= 1000
            verdicts[f"surge: withdrawal everywhere within {SHARED_CACHE_LIFETIME} s"] = bool(
                visible) and max(visible.values()) <= SHARED_CACHE_LIFETIME

            # ---- 5. receipts and logs
            opened, answers_503, misses = followups(nginx_port, receipts)
            print(f"\n5. Every receipt ({len(receipts)}) posted to /report/followup through "
                  f"nginx: {dict(opened)} (200 = its own report); 503s asked again: "
                  f"{dict(answers_503) or 0}")
            killed_window = {r.number for r in kill_reports.receipts}
            for miss in misses:
                phase = "host-kill window" if miss.split()[0] in killed_window else "surge"
                print(f"     not opened ({phase}): {miss}")
            verdicts["every receipt opens its report"] = opened.get(200, 0) == len(receipts)
    finally:
        if proxy is not None:
            proxy.stop()
        for host in hosts.values():
            host.stop()
    logs = log_findings({"nginx access": layout.access_log,
                         "nginx errors (crit)": layout.logs / "portal-error.log",
                         **{f"gunicorn {n} access": h.access_log for n, h in hosts.items()}})
    print("\n   access logs (lines; with a client address; of /report…; of /static/):")
    for name, found in logs.items():
        print(f"     {name:<24} {found}")
    verdicts["logs: no address, no /report, no /static"] = all(
        f["address"] == 0 and f["report"] == 0 and f["static"] == 0 for f in logs.values())
    shutil.rmtree(folder, ignore_errors=True)

    print("\nVerdicts:")
    for goal, ok in verdicts.items():
        print(f"  {'PASS' if ok else 'MISS'}  {goal}")
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
