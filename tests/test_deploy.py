"""The production server configuration (gunicorn.conf.py) as it really runs."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from tests.gunicorn_server import get, gunicorn, gunicorn_process


def test_gunicorn_logs_no_client_address_and_nothing_of_the_report_pages(tmp_path):
    log = tmp_path / "access.log"
    with gunicorn(tmp_path, PORTAL_ACCESS_LOG=str(log)) as base:
        assert get(base + "/") == 200
        get(base + "/report")
        get(base + "/report/followup")
        get(base + "/decisions?page=2")
    text = log.read_text()
    assert '"GET / HTTP/1.1" 200' in text and "/decisions?page=2" in text
    assert "/report" not in text
    assert "127.0.0.1" not in text
    assert "Python-urllib" not in text  # no user agent either


def _open_files(pid: int) -> set[str]:
    folder = Path(f"/proc/{pid}/fd")
    names = set()
    for fd in os.listdir(folder):
        try:
            names.add(os.readlink(folder / fd))
        except OSError:  # closed meanwhile
            pass
    return names


def test_workers_share_no_database_connection_with_the_master(tmp_path):
    """In production the preloaded app reads the database before gunicorn forks (the data key
    check); a connection kept from that read was one socket shared by every worker."""
    settings = {"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
                "PORTAL_DATA_KEY": secrets.token_urlsafe(32)}
    with gunicorn_process(tmp_path, workers=2, **settings) as (base, master):
        assert get(base + "/decisions") == 200
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        for _ in range(50):  # every worker has served a page and opened its own connection
            if len(children) == 2 and all(str(tmp_path / "portal.db") in _open_files(int(pid))
                                          for pid in children):
                break
            get(base + "/decisions")
            time.sleep(0.05)
        assert str(tmp_path / "portal.db") not in _open_files(master.pid)


def _gunicorn_settings(**environ: str) -> dict:
    import runpy

    saved = dict(os.environ)
    try:
        for name in ("PORTAL_THREADS", "PORTAL_RECEIPT_SLOTS"):
            os.environ.pop(name, None)
        os.environ.update(environ)
        settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
        return {"threads": settings["threads"], "slots": int(os.environ["PORTAL_RECEIPT_SLOTS"])}
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_padded_answers_take_at_most_half_of_a_workers_threads():
    default = _gunicorn_settings()
    assert default["threads"] >= 4 and 1 <= default["slots"] <= default["threads"] // 2
    more = _gunicorn_settings(PORTAL_THREADS="8")
    assert more == {"threads": 8, "slots": 4}
    assert _gunicorn_settings(PORTAL_THREADS="1")["slots"] == 1


def test_a_flood_of_codes_is_told_busy_and_other_pages_are_served(tmp_path):
    """One worker as configured: 12 codes at once take the padded slots and the rest are told
    "busy"; /robots.txt is answered meanwhile."""
    import threading
    import urllib.error
    import urllib.request
    from http.cookiejar import CookieJar

    from tests.reports.conftest import csrf_from

    with gunicorn(tmp_path, workers=1, PORTAL_RATELIMIT_FOLLOWUP="1000 per day") as base:
        statuses: list[int] = []

        def send() -> None:
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
            page = opener.open(base + "/report/followup", timeout=30).read().decode()
            body = urllib.parse.urlencode({"csrf_token": csrf_from(page),
                                           "code": "X" * 28}).encode()
            ready.wait()
            try:
                statuses.append(opener.open(base + "/report/followup", body, timeout=30).status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)

        ready = threading.Event()
        senders = [threading.Thread(target=send) for _ in range(12)]
        for thread in senders:
            thread.start()
        time.sleep(1)  # every sender has its form
        ready.set()
        robots = get(base + "/robots.txt")
        for thread in senders:
            thread.join()
    assert robots == 200
    assert len(statuses) == 12 and set(statuses) <= {400, 503}, statuses
    assert statuses.count(503) >= 1, statuses


def test_a_worker_hands_the_gil_on_quickly():
    """A worker's quick pages wait for the GIL at most ~1 ms behind a thread busy with a costly
    answer (Python's default is 5 ms): set in each worker before its first request."""
    import runpy
    import sys
    from types import SimpleNamespace

    settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    saved = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        worker = SimpleNamespace(wsgi=SimpleNamespace(extensions={}), pid=0, log=None)
        settings["post_worker_init"](worker)
        assert sys.getswitchinterval() <= 0.001 + 1e-9
    finally:
        sys.setswitchinterval(saved)


def test_a_request_refused_in_front_of_the_app_does_not_count_towards_recycling():
    import runpy
    from types import SimpleNamespace

    from portal.refusals import REFUSED_EARLY

    settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    worker = SimpleNamespace(nr=10)
    settings["post_request"](worker, None, {REFUSED_EARLY: True}, None)
    assert worker.nr == 9
    settings["post_request"](worker, None, {}, None)  # any other request counts (gunicorn's +1)
    assert worker.nr == 9


_ARENA_PROBE = """
import ctypes, ctypes.util, runpy, sys, threading
if sys.argv[1] == "configured":
    runpy.run_path(sys.argv[2])
def work():
    kept = [bytearray(1000) for _ in range(2000)]  # > 512 bytes: from malloc, not pymalloc
    barrier.wait()
barrier = threading.Barrier(8)
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fopen.restype = ctypes.c_void_p
out = libc.fopen(sys.argv[3].encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(out))
libc.fclose(ctypes.c_void_p(out))
"""


def test_worker_threads_share_at_most_two_malloc_arenas(tmp_path):
    """glibc gives each new thread an arena (up to 8 per core) whose freed memory no other
    thread reuses; gunicorn.conf.py caps them at two before the workers fork."""
    import subprocess
    import sys

    import pytest

    if sys.platform != "linux" or os.confstr("CS_GNU_LIBC_VERSION") is None:
        pytest.skip("glibc only")
    conf = str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py")

    def arenas(mode: str) -> int:
        info = tmp_path / f"{mode}.xml"
        subprocess.run([sys.executable, "-c", _ARENA_PROBE, mode, conf, str(info)], check=True,
                       cwd=Path(conf).parent)
        return info.read_text().count("<heap nr=")

    assert arenas("plain") > 2  # the probe does make threads take arenas of their own
    assert arenas("configured") <= 2
