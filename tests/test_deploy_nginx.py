"""docs/deploy.md's nginx block: its privacy rules read from the text, ``nginx -t`` on it, the
rules seen in a running nginx, and a tiny run of bench/hosts.py (two hosts behind it)."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail, worker_redis_url
from tests.gunicorn_server import free_port, gunicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import nginx_conf  # noqa: E402

# ---------------------------------------------------------------- reading the block


def parse(text: str) -> list:
    """nginx's syntax as nested ``(name, args, children or None)``: enough for a config
    without ``if`` blocks or Lua."""
    tokens = [token for token in re.findall(r"#[^\n]*|'[^']*'|\"[^\"]*\"|[{};]|[^\s{};'\"]+",
                                            text) if not token.startswith("#")]
    position = 0

    def block() -> list:
        nonlocal position
        out: list = []
        words: list[str] = []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token == ";":
                out.append((words[0], words[1:], None))
                words = []
            elif token == "{":
                out.append((words[0], words[1:], block()))
                words = []
            elif token == "}":
                return out
            else:
                words.append(token)
        assert not words, f"unterminated directive {words}"
        return out

    return block()


def directives(tree: list, name: str) -> list:
    return [d for d in tree if d[0] == name]


def walk(tree: list):
    for directive in tree:
        yield directive
        if directive[2] is not None:
            yield from walk(directive[2])


@pytest.fixture(scope="module")
def tree() -> list:
    return parse(nginx_conf.documented_block())


@pytest.fixture(scope="module")
def server(tree) -> list:
    servers = [s for s in directives(tree, "server")
               if any(d[0] == "listen" and "ssl" in d[1] for d in s[2])]
    assert len(servers) == 1
    return servers[0][2]


# The report pages in every language (/report, /en/report, /lo/report, /my/report).
REPORT_LOCATION = ("~", "^/((en|lo|my)/)?report")


def location(server: list, *args: str) -> list:
    found = [d[2] for d in directives(server, "location") if tuple(d[1]) == args]
    assert len(found) == 1, f"location {args} is not in docs/deploy.md's nginx block"
    return found[0]


def test_no_log_format_names_the_client(tree):
    formats = directives(tree, "log_format")
    assert formats
    for _name, args, _ in formats:
        text = " ".join(args)
        for variable in ("$remote_addr", "$binary_remote_addr", "$http_x_forwarded_for",
                         "$proxy_add_x_forwarded_for", "$realip_remote_addr", "$http_user_agent",
                         "$http_referer", "$http_cookie", "$remote_user", "$request_body"):
            assert variable not in text, f"log_format {args[0]} logs {variable}"


def test_every_access_log_uses_a_format_without_the_address(tree):
    names = {args[0] for _n, args, _c in directives(tree, "log_format")}
    for name, args, _children in walk(tree):
        if name == "access_log" and args != ["off"]:
            assert len(args) >= 2 and args[1] in names, f"access_log {args}: default format"


def test_error_lines_which_carry_the_address_are_kept_for_crit_only(server):
    (error_log,) = directives(server, "error_log")
    assert error_log[1][-1] in ("crit", "alert", "emerg")


def test_report_pages_static_files_and_the_icon_are_not_logged(server):
    for where in (REPORT_LOCATION, ("/static/",), ("=", "/favicon.ico")):
        assert ("access_log", ["off"], None) in location(server, *where), where


def test_only_the_public_location_caches_and_only_what_the_app_marks(tree, server):
    caching = [name for name, _args, _c in walk(tree) if name == "proxy_cache"]
    assert caching == ["proxy_cache"]  # once, in "location /"
    assert directives(location(server, "/"), "proxy_cache")
    for where in (REPORT_LOCATION, ("/staff",), ("/static/",)):
        assert not [d for d in walk(location(server, *where)) if d[0].startswith("proxy_cache")]
    names = {name for name, _args, _c in walk(tree)}
    # A default lifetime would keep answers the app did not mark (a staff member's page, a form);
    # ignoring headers would keep what the app said not to (Cache-Control, Set-Cookie).
    assert "proxy_cache_valid" not in names and "proxy_ignore_headers" not in names
    assert "proxy_hide_header" not in names  # nginx then passes Set-Cookie and never caches it
    public = location(server, "/")
    for name in ("proxy_cache_bypass", "proxy_no_cache"):
        (directive,) = directives(public, name)
        assert directive[1] == ["$portal_has_cookie"]
    (cookie_map,) = directives(tree, "map")
    assert cookie_map[1] == ["$http_cookie", "$portal_has_cookie"]
    assert sorted(cookie_map[2]) == [('""', ["0"], None), ("default", ["1"], None)]


def test_the_client_address_forwarded_is_nginx_own_view_and_posts_are_never_retried(server):
    headers = {args[0]: args[1] for _n, args, _c in directives(server, "proxy_set_header")}
    assert headers["X-Forwarded-For"] == "$remote_addr"  # a client cannot plant an address
    for _name, args, _children in walk(server):
        assert "non_idempotent" not in args
    (retry,) = directives(server, "proxy_next_upstream")
    assert set(retry[1]) <= {"error", "timeout", "http_502", "http_504"}
    # No location sets its own headers (it would drop every header set above).
    for _name, _args, children in directives(server, "location"):
        assert not directives(children, "proxy_set_header")


def test_nginx_compresses_nothing_itself(tree, server):
    """Debian's nginx.conf says ``gzip on``: the block turns it off for the whole server, so a
    report or staff page (a CSRF token beside reflected input: BREACH) is never compressed;
    public pages come compressed from the app (portal/page_cache.py)."""
    assert ("gzip", ["off"], None) in server
    assert [args for name, args, _c in walk(tree) if name == "gzip"] == [["off"]]
    assert not [name for name, _a, _c in walk(tree) if name.startswith("gzip_")]


def test_render_replaces_only_addresses_ports_and_paths(tmp_path):
    layout = nginx_conf.Layout(tmp_path)
    block = nginx_conf.documented_block()
    rendered = nginx_conf.render(block, layout, upstreams=("127.0.0.1:1", "127.0.0.1:2"),
                                 https_port=3, http_port=4)
    assert "10.0.0.1" not in rendered and "/var/" not in rendered and "/etc/ssl" not in rendered
    changed = [line for line in rendered.splitlines() if line not in block.splitlines()]
    assert len(changed) == 9, changed  # 2 upstreams, 2 listens, 2 logs, cache, certificate, key
    (tmp_path / "other.md").write_text("# A page without an nginx block\n")
    with pytest.raises(ValueError, match="exactly one"):
        nginx_conf.documented_block(tmp_path / "other.md")
    with pytest.raises(ValueError, match="listen 443"):
        nginx_conf.render(block.replace("listen 443 ssl http2;", "listen 8443;"), layout,
                          upstreams=("127.0.0.1:1", "127.0.0.1:2"), https_port=3, http_port=4)


def _need_nginx() -> None:
    if not nginx_conf.NGINX:
        skip_or_fail("nginx is not installed (apt-get install -y nginx; .ci/run installs it)")


def test_nginx_accepts_the_documented_block(tmp_path):
    _need_nginx()
    layout = nginx_conf.Layout(tmp_path / "nginx")
    nginx_conf.prepare(layout, upstreams=("127.0.0.1:9", "127.0.0.1:10"),
                       https_port=free_port(), http_port=free_port())
    result = nginx_conf.test_config(layout)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


# ---------------------------------------------------------------- a running nginx


def _unchecked_tls() -> ssl.SSLContext:
    """TLS to the throw-away certificate of the test's nginx."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@contextmanager
def _nginx_in_front(app: str, tmp_path: Path) -> Iterator[tuple[str, nginx_conf.Layout]]:
    """The documented block running in front of ``app`` (as both upstreams): its base URL."""
    layout = nginx_conf.Layout(tmp_path / "nginx")
    port = free_port()
    upstream = app.removeprefix("http://")
    nginx_conf.prepare(layout, upstreams=(upstream, upstream), https_port=port,
                       http_port=free_port())
    proxy = nginx_conf.Nginx(layout, port)
    try:
        yield f"https://127.0.0.1:{port}", layout
    finally:
        proxy.stop()


def _fetch(base: str, path: str, cookie: str = "") -> tuple[int, dict[str, str]]:
    context = _unchecked_tls()
    request = urllib.request.Request(base + path, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:  # noqa: S310
            response.read()
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_a_running_nginx_caches_public_pages_and_nothing_of_reports_or_staff(tmp_path):
    _need_nginx()
    with gunicorn(tmp_path / "app", PORTAL_TRUSTED_PROXIES="1",
                  PORTAL_ACCESS_LOG=str(tmp_path / "gunicorn.log")) as app:
        with _nginx_in_front(app, tmp_path) as (base, layout):
            assert _fetch(base, "/decisions")[1]["X-Cache"] == "MISS"
            status, headers = _fetch(base, "/decisions")
            assert status == 200 and headers["X-Cache"] == "HIT" and "Set-Cookie" not in headers
            assert _fetch(base, "/decisions", cookie="session=x")[1]["X-Cache"] == "BYPASS"
            for _ in range(2):
                status, headers = _fetch(base, "/report")
                assert status == 200 and "X-Cache" not in headers
                assert headers["Cache-Control"] == "no-store"
            for _ in range(2):
                assert _fetch(base, "/staff/login")[0] == 200
            _fetch(base, "/static/style.css")
    lines = layout.access_log.read_text().splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines if "/decisions " in line] == [
        "MISS", "HIT", "BYPASS"]
    staff = [line for line in lines if "/staff/login" in line]
    assert len(staff) == 2 and all(line.endswith(" -") for line in staff)  # no cache involved
    assert not [line for line in lines if "/report" in line or "/static/" in line]
    assert not re.search(r"\d+\.\d+\.\d+\.\d+", layout.access_log.read_text())
    assert "/report" not in (tmp_path / "gunicorn.log").read_text()


def _fetch_body(base: str, path: str, encoding: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(base + path, headers={"Accept-Encoding": encoding})
    with urllib.request.urlopen(request, timeout=30, context=_unchecked_tls()) as response:  # noqa: S310
        return response.status, dict(response.headers), response.read()


def test_nginx_passes_the_apps_gzip_copy_keeps_each_encoding_apart_and_compresses_no_report(
        tmp_path):
    """The main config says ``gzip on`` as Debian's does; the documented block turns it off, so
    a report page (a CSRF token beside what the visitor typed) is never compressed, and public
    pages come compressed from the app, each encoding kept apart in the cache (Vary)."""
    _need_nginx()
    import gzip

    assert "gzip on;" in nginx_conf.main_config("", nginx_conf.Layout(tmp_path))
    with gunicorn(tmp_path / "app", PORTAL_TRUSTED_PROXIES="1") as app:
        with _nginx_in_front(app, tmp_path) as (base, _layout):
            browser = "gzip, deflate, br"
            _status, first, packed = _fetch_body(base, "/decisions", browser)
            _status, again, packed_again = _fetch_body(base, "/decisions", browser)
            assert (first["X-Cache"], again["X-Cache"]) == ("MISS", "HIT")
            assert first["Content-Encoding"] == again["Content-Encoding"] == "gzip"
            assert packed_again == packed and again["ETag"].endswith('-gz"')
            # A client that does not accept gzip never gets the cached gzip copy.
            _status, plain_headers, plain = _fetch_body(base, "/decisions", "identity")
            assert "Content-Encoding" not in plain_headers
            assert plain_headers["X-Cache"] == "MISS" and gzip.decompress(packed) == plain
            assert _fetch_body(base, "/decisions", "identity")[1]["X-Cache"] == "HIT"
            for path in ("/report", "/lo/report", "/staff/login"):
                status, headers, body = _fetch_body(base, path, browser)
                assert status == 200 and "Content-Encoding" not in headers, path
                assert b'name="csrf_token"' in body, path


# ---------------------------------------------------------------- bench/hosts.py, tiny


def _postgres_and_redis() -> tuple[str, str]:
    url = os.environ.get("PORTAL_TEST_POSTGRES_URL") or os.environ.get(
        "PORTAL_TEST_DATABASE_URL", "")
    redis = os.environ.get("PORTAL_TEST_REDIS_URL", "")
    if not url.startswith("postgresql") or not redis:
        skip_or_fail("bench/hosts.py needs PostgreSQL and Redis (PORTAL_TEST_POSTGRES_URL or "
                     "PORTAL_TEST_DATABASE_URL, and PORTAL_TEST_REDIS_URL)")
    return url, redis


@pytest.mark.bench
@pytest.mark.postgres
def test_bench_hosts_runs_at_a_tiny_size():
    """Two hosts, nginx, a host killed, a 3-second surge: every functional verdict holds (the
    latency goals are the benchmark's to report, not a test's)."""
    _need_nginx()
    url, _ = _postgres_and_redis()
    # This worker's own Redis database: with the raw URL, the test shared the first worker's
    # database, which that worker's redis_url fixture empties mid-run.
    redis = worker_redis_url()
    import sqlalchemy as sa

    database = f"{sa.make_url(url).database}_hosts_smoke"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    result = subprocess.run(
        [sys.executable, "hosts.py", "--size", "40", "--clients", "4", "--reporters", "2",
         "--seconds", "2", "--compare-seconds", "1", "--kill-seconds", "2", "--tail", "5",
         "--think", "0.3", "--workers", "1", "--supervision", "3", "--database", database + (f"_{worker}" if worker else ""),
         "--redis", redis, "--keep-redis", "--host-ports", str(free_port()), str(free_port()),
         "--nginx-ports", str(free_port()), str(free_port())],
        cwd=ROOT / "bench", capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    verdicts = {goal: mark for mark, goal in re.findall(r"^  (PASS|MISS)  (.+)$", output, re.M)}
    timing = {goal for goal in verdicts if "p95" in goal}
    assert len(verdicts) >= 10, output
    missed = [goal for goal, mark in verdicts.items() if mark == "MISS" and goal not in timing]
    assert not missed, output
