"""What the report, fault and load benchmarks share: a gunicorn server on loopback, a browser-like
HTTP client (keep-alive, cookies, CSRF, multipart), the citizen's report journey, databases.

Everything runs on 127.0.0.1; every file goes under a temporary folder; every PostgreSQL
database made here is dropped again by ``postgres_database``.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.gunicorn_server import free_port  # noqa: E402

PYTHON = sys.executable
FLASK = [PYTHON, "-m", "flask", "--app", "portal"]
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

# From loopback every client has the same address, so the limiter sees one client: the limits
# are raised for the benchmarks (each script prints that it did).
# The report pages count per day only (portal/daily_limits.py).
UNLIMITED = "1000000 per minute"
RATE_LIMITS = {name: UNLIMITED for name in (
    "PORTAL_RATELIMIT_SEARCH", "PORTAL_RATELIMIT_API", "PORTAL_RATELIMIT_CREDIT",
    "PORTAL_RATELIMIT_CERTIFICATE", "PORTAL_RATELIMIT_LOGIN")} | {name: "1000000 per day" for name in (
    "PORTAL_RATELIMIT_REPORT", "PORTAL_RATELIMIT_FOLLOWUP")}
RATE_LIMIT_NOTE = ("rate limits raised to 1000000 per minute (PORTAL_RATELIMIT_SEARCH, _API, "
                   "_CREDIT, _CERTIFICATE, _LOGIN) and per day (_REPORT, _FOLLOWUP): from "
                   "loopback every client is one address")

REPORT_FIELDS = {
    "kind": "hazard",
    "enterprise_name": "景洪市基准测试矿业有限公司",
    "uscc": "",
    "county": "景洪市",
    "place": "嘎洒镇某村后山采区",
    "description": "采区边坡有明显裂缝，雨后仍安排工人在坡下作业。（基准测试数据）",
    "seen_since": "2026年10月起",
}
_CSRF = re.compile(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"'
                   r'|name="csrf_token" value="([^"]+)"')
_NUMBER = re.compile(r"JB(\d{4})-(\d{6})")


# ---------------------------------------------------------------- environment and servers


def bench_env(folder: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of every process of one benchmark: one secret and data key for the
    server and the command-line tools, raised rate limits, files under ``folder``.  The
    command-line tools run as ``test`` (``demo`` loads there); ``Server`` as ``production``."""
    return os.environ | {
        "PORTAL_ENV": "test",
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_INDEX_DIR": str(folder / "index"),
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
        "PORTAL_DATA_KEY": secrets.token_urlsafe(32),
        "PORTAL_ACCESS_LOG": os.devnull,
    } | RATE_LIMITS | extra


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*FLASK, *args], env=env, cwd=ROOT, check=True, capture_output=True,
                          text=True)


class Server:
    """gunicorn with gunicorn.conf.py on a free loopback port, as deployed (``PORTAL_ENV=
    production``: errors get the site's own error page, where the test setting would let them
    through to gunicorn); its error log in ``log``."""

    def __init__(self, app: str, env: dict[str, str], workers: int, log: Path) -> None:
        # BENCH_PORT: a fixed port (machines where each user has its own range), else any free one.
        port = int(os.environ.get("BENCH_PORT") or free_port())
        self.host = f"127.0.0.1:{port}"
        self.log = log
        env = env | {"PORTAL_BIND": self.host, "WEB_CONCURRENCY": str(workers),
                     "PORTAL_ENV": "production"}
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", app],
                                         env=env, cwd=ROOT, stdout=out, stderr=out)
        self.wait_ready(workers)

    def wait_ready(self, workers: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            try:
                conn = http.client.HTTPConnection(self.host, timeout=5)
                conn.request("GET", "/robots.txt")
                conn.getresponse().read()
                conn.close()
                if len(self.workers()) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer in {timeout} s; see {self.log}")

    def workers(self) -> list[int]:
        """The process ids of the master's workers (its children)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def database_name(name: str) -> str:
    """``name`` behind ``PORTAL_BENCH_DATABASE_PREFIX`` (the smoke tests give each run its own
    databases, so that runs in parallel never drop each other's)."""
    return os.environ.get("PORTAL_BENCH_DATABASE_PREFIX", "") + name


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A new, empty database on the local PostgreSQL server (dropped afterwards); yields its
    SQLAlchemy URL.  The name gets ``PORTAL_BENCH_DATABASE_PREFIX`` in front."""
    import psycopg

    name = database_name(name)

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        for _ in range(30):  # the server may be restarting (faults.py)
            try:
                with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.OperationalError:
                time.sleep(1)


# ---------------------------------------------------------------- the client


class Failed(Exception):
    """A request of a journey got an unexpected answer or none; ``status`` is 0 for none."""

    def __init__(self, step: str, status: int, detail: str = "") -> None:
        super().__init__(f"{step}: {status or 'no answer'} {detail}".strip())
        self.step = step
        self.status = status
        self.detail = detail


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str
    seconds: float


@dataclass
class Client:
    """One visitor: a keep-alive connection and a cookie jar, as a browser keeps them."""

    host: str
    timeout: float = 60
    cookies: dict[str, str] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)  # every answer's status, 0 for none
    # A loopback address to send from (127.0.0.2, …): another client for the rate limiter.
    source: str = ""

    def __post_init__(self) -> None:
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, timeout=self.timeout,
                                          source_address=(self.source, 0) if self.source else None)

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str | None = None) -> Answer:
        headers = {"User-Agent": "portal-bench"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = self._connect()
            self.statuses.append(0)
            raise
        seconds = time.perf_counter() - started
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if (response.getheader("Connection") or "").lower() == "close":
            self.conn.close()
            self.conn = self._connect()
        self.statuses.append(response.status)
        return Answer(response.status, dict(response.getheaders()), text, seconds)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, fields: dict[str, str],
             files: list[tuple[str, str, bytes]] = ()) -> Answer:
        if files:
            body, content_type = multipart(fields, files)
        else:
            body = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        return self.request("POST", path, body, content_type)


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "bench" + secrets.token_hex(12)
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                  f"{value}\r\n".encode())
    for name, filename, data in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                  f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                  .encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def page_title(html: str) -> str:
    """An HTML page's title (the site's suffix left off), or the start of a page without one."""
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    title = match.group(1).strip() if match else html[:60]
    return title.split(" · ")[0]


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    if not match:
        raise Failed("csrf", 200, "no token on the page")
    return match.group(1) or match.group(2)


def jpeg(size: tuple[int, int] = (1024, 768)) -> bytes:
    """A photo as a phone would send it (noise, so it does not compress to nothing)."""
    from PIL import Image

    out = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(out, format="JPEG", quality=85)
    return out.getvalue()


# ---------------------------------------------------------------- the report journey


@dataclass
class Receipt:
    number: str
    report_id: int
    code: str
    total: float  # the whole journey, seconds
    send: float  # the final 提交 POST


def submit_report(client: Client, photo: bytes | None = None) -> Receipt:
    """GET the form, POST it, GET the check page, POST 提交, read the receipt: as a reporter
    does.  Raises ``Failed`` naming the step that did not answer as expected."""
    started = time.perf_counter()

    def step(name: str, expected: int, call) -> Answer:
        try:
            answer = call()
        except (OSError, http.client.HTTPException) as exc:
            raise Failed(name, 0, type(exc).__name__) from exc
        if answer.status != expected:
            raise Failed(name, answer.status, page_title(answer.text))
        return answer

    form = step("form", 200, lambda: client.get("/report"))
    fields = {"csrf_token": csrf_from(form.text), **REPORT_FIELDS}
    files = [("photos", "photo.jpg", photo)] if photo else []
    step("post", 303, lambda: client.post("/report", fields, files))
    check = step("check", 200, lambda: client.get("/report/check"))
    token = csrf_from(check.text)
    sent = step("send", 200, lambda: client.post("/report/send", {"csrf_token": token}))
    return Receipt(*read_receipt(sent.text), total=time.perf_counter() - started,
                   send=sent.seconds)


def read_receipt(page: str) -> tuple[str, int, str]:
    """(number, report id, receipt code) from a receipt page."""
    number = _NUMBER.search(page)
    shown = re.search(r'id="receipt-code">(.*?)</p>', page, re.S)
    if not number or not shown:
        raise Failed("receipt", 200, "no number or code on the receipt page")
    return number.group(0), int(number.group(2)), re.sub(r"<[^>]+>|\s", "", shown.group(1))


def followup_opens(client: Client, receipt: Receipt) -> int:
    """POST the code to /report/followup; the status, or -1 if the page is not that report's."""
    token = csrf_from(client.get("/report/followup").text)
    answer = client.post("/report/followup", {"csrf_token": token, "code": receipt.code})
    if answer.status == 200 and receipt.number not in answer.text:
        return -1
    return answer.status


# ---------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """The q-quantile in milliseconds (nearest rank); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def count_5xx(statuses: list[int]) -> int:
    return sum(1 for s in statuses if s >= 500)


# ---------------------------------------------------------------- what the database holds


@dataclass
class Stored:
    """The report tables as the database holds them after a run."""

    report_ids: set[int]
    received_events: dict[int, int]  # report id → its "received" events
    photos: dict[int, int]  # report id → its photos
    orphan_photos: int  # neither a report's nor a draft's, or a vanished draft's
    drafts: int  # unsent drafts (cleared by purge-reports within a day)
    integrity: str  # SQLite's integrity_check, or "n/a"


def stored(database_url: str) -> Stored:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            ids = set(conn.scalars(text("SELECT id FROM reports")))
            events = dict(conn.execute(text(
                "SELECT report_id, count(*) FROM report_events WHERE kind = 'received' "
                "GROUP BY report_id")).all())
            photos = dict(conn.execute(text(
                "SELECT report_id, count(*) FROM report_photos WHERE report_id IS NOT NULL "
                "GROUP BY report_id")).all())
            orphans = conn.scalar(text(
                "SELECT count(*) FROM report_photos WHERE report_id IS NULL AND (draft_id IS NULL "
                "OR draft_id NOT IN (SELECT id FROM report_drafts))"))
            drafts = conn.scalar(text("SELECT count(*) FROM report_drafts"))
            integrity = "n/a"
            if database_url.startswith("sqlite"):
                integrity = conn.scalar(text("PRAGMA integrity_check"))
    finally:
        engine.dispose()
    return Stored(ids, events, photos, orphans, drafts, integrity)
