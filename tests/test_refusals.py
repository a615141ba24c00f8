"""A refused request costs the server next to nothing (issue 13 §2, portal/refusals.py): a client
over its limit is answered in front of the app, before its cookie, token or body is read (a flood
of large uploads is not parsed to be refused, a sign-in not hashed), the rest of its body read
and dropped after the answer; error pages are rendered once."""

from __future__ import annotations

import io

import pytest

from portal.refusals import REFUSED_EARLY
from tests.conftest import make_app
from tests.reports.conftest import csrf_from

PHOTO_BYTES = b"\xff\xd8" + b"x" * 2_000_000  # what it is does not matter: it must not be read


class CountingInput(io.BytesIO):
    """``wsgi.input`` that counts the bytes the app reads from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def read1(self, size: int = -1) -> bytes:
        chunk = super().read1(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        chunk = super().readline(size)
        self.read_bytes += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:  # noqa: ANN001 - any writable buffer
        count = super().readinto(buffer)
        self.read_bytes += count
        return count


def _multipart(token: str) -> tuple[bytes, str]:
    boundary = "refusal-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
             f"{token}\r\n".encode(),
             f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="p.jpg"'
             f"\r\nContent-Type: image/jpeg\r\n\r\n".encode() + PHOTO_BYTES + b"\r\n",
             f"--{boundary}--\r\n".encode()]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _call(app, environ) -> tuple[str, dict[str, str], bytes, int]:
    """Run the app on ``environ`` as a WSGI server does; (status, headers, body, bytes of the
    request body read when the answer started)."""
    started: dict = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=status, headers=dict(headers),
                       read=environ["wsgi.input"].read_bytes)

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return started["status"], started["headers"], body, started["read"]


def _environ(client, path: str, body: bytes, content_type: str) -> dict:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(path=path, method="POST", input_stream=CountingInput(body),
                             content_type=content_type, content_length=len(body),
                             environ_base={"REMOTE_ADDR": "203.0.113.50"})
    environ = builder.get_environ()
    cookie = client.get_cookie("session")
    environ["HTTP_COOKIE"] = f"session={cookie.value}"
    return environ


@pytest.mark.usefixtures("test_database")
def test_a_post_over_the_limit_is_answered_before_its_body_is_read_then_drained(tmp_path):
    app = make_app(tmp_path, ratelimit_report="1 per day")
    try:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.50"
        token = csrf_from(client.get("/report").get_data(as_text=True))
        body, content_type = _multipart(token)
        status, _, _, read = _call(app, _environ(client, "/report", body, content_type))
        assert status != "429 TOO MANY REQUESTS"
        assert read == len(body)  # within the limit: read and handled
        environ = _environ(client, "/report", body, content_type)
        status, headers, page, read = _call(app, environ)
        assert status == "429 TOO MANY REQUESTS"
        assert read == 0  # answered before a byte of the upload was read …
        # … and the rest read and thrown away after the answer, so the connection stays
        # usable and a browser still sending is not reset before it reads the page.
        assert environ["wsgi.input"].read_bytes == len(body)
        assert "请求过于频繁" in page.decode()
        assert environ[REFUSED_EARLY]  # gunicorn.conf.py leaves it out of max_requests
        # No session cookie read or set, nothing that varies with it; the report pages' headers.
        assert "Set-Cookie" not in headers  # the session was not touched
        assert headers["Cache-Control"] == "no-store"
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    finally:
        app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_a_body_larger_than_any_accepted_request_is_not_drained(tmp_path):
    from portal.reports import REQUEST_MAX_BYTES

    app = make_app(tmp_path, ratelimit_report="1 per day")
    try:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.50"
        token = csrf_from(client.get("/report").get_data(as_text=True))
        body, content_type = _multipart(token)
        _call(app, _environ(client, "/report", body, content_type))
        environ = _environ(client, "/report", body, content_type)
        environ["CONTENT_LENGTH"] = str(REQUEST_MAX_BYTES + 1)  # what the client claims
        status, _, _, _ = _call(app, environ)
        assert status == "429 TOO MANY REQUESTS"
        assert environ["wsgi.input"].read_bytes == 0  # left to the server, which closes
    finally:
        app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_the_early_refusal_is_the_page_the_app_gives(tmp_path):
    """The refusal made in front of the app is the app's own 429, page and headers, as the
    view's limit gives it when the early check does not see the limit used up."""
    from portal.extensions import limiter

    app = make_app(tmp_path, ratelimit_followup="1 per day")
    try:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.50"
        token = csrf_from(client.get("/report/followup").get_data(as_text=True))
        fields = {"csrf_token": token, "code": "7KQ2-XM9D-0000-0000-0000-0000-0000"}
        assert client.post("/report/followup", data=fields).status_code == 400
        early = client.post("/report/followup", data=fields)
        app.extensions["early_refusals"]._endpoint_limits["reports.followup"] = []  # the early check sees nothing
        limiter.reset()  # … and the view's check counts afresh: 1 of 1, then over
        client.post("/report/followup", data=fields)
        late = client.post("/report/followup", data=fields)
        assert early.status_code == late.status_code == 429
        assert early.get_data() == late.get_data()
        same = {"Content-Type", "Cache-Control", "Pragma", "Content-Security-Policy",
                "Referrer-Policy", "X-Frame-Options", "X-Content-Type-Options"}
        assert {k: early.headers.get(k) for k in same} == {k: late.headers.get(k) for k in same}
        assert "Set-Cookie" not in early.headers
    finally:
        app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_a_sign_in_over_the_limit_is_refused_before_its_token_and_password_are_checked(
        tmp_path, monkeypatch):
    from portal.staff import accounts

    app = make_app(tmp_path, ratelimit_login="1 per minute")
    try:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.51"
        token = csrf_from(client.get("/staff/login").get_data(as_text=True))
        fields = {"csrf_token": token, "username": "someone", "password": "wrong-password-1",
                  "code": "000000"}
        assert client.post("/staff/login", data=fields).status_code == 400

        def no_hash(**kwargs):
            raise AssertionError("a password was checked for a client over its limit")

        monkeypatch.setattr(accounts, "authenticate", no_hash)
        assert client.post("/staff/login", data=fields).status_code == 429
        # No token at all: the limit answers first (the form is not read).
        assert client.post("/staff/login", data={"username": "x"}).status_code == 429
        # Another client is not affected.
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = "203.0.113.52"
        assert other.post("/staff/login", data={"username": "x"}).status_code != 429
    finally:
        app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_error_pages_are_rendered_once_per_address(tmp_path, monkeypatch):
    """A flood of refusals renders no template; the page still marks the current section."""
    import flask

    app = make_app(tmp_path)
    try:
        client = app.test_client()
        first = client.get("/report/no-such-page")
        renders = []
        monkeypatch.setattr("portal.refusals.render_template",
                            lambda *a, **k: renders.append(a) or flask.render_template(*a, **k))
        again = [client.get("/report/no-such-page") for _ in range(3)]
        other = client.get("/powers/no/such")
        assert renders == [("errors/error.html",)]  # /powers once; /report from before
        assert all(a.get_data() == first.get_data() for a in again)
        assert 'href="/report" aria-current="page"' in first.get_data(as_text=True)
        assert 'href="/powers" aria-current="page"' in other.get_data(as_text=True)
        assert 'aria-current' not in client.get("/no-such").get_data(as_text=True).split(
            "site-nav")[1].split("</nav>")[0]
    finally:
        app.extensions["search_index"].close()


def test_under_gunicorn_a_refused_upload_gets_its_page_and_the_connection_stays_open(tmp_path):
    """gunicorn closes a keep-alive connection with more than 64 KB of body unread, and a
    client still sending its photos is then reset before it reads the answer: the refusal must
    reach the browser, and the connection serve the next request."""
    import http.client
    from urllib.parse import urlsplit

    from tests.gunicorn_server import gunicorn

    with gunicorn(tmp_path, workers=1, PORTAL_RATELIMIT_REPORT="1 per day") as base:
        connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=60)
        connection.request("GET", "/report")
        form = connection.getresponse()
        cookie = next(c.split(";", 1)[0] for c in form.msg.get_all("Set-Cookie")
                      if c.startswith("session="))
        token = csrf_from(form.read().decode())
        body, content_type = _multipart(token)
        headers = {"Cookie": cookie, "Content-Type": content_type}
        statuses = []
        for _ in range(2):
            connection.request("POST", "/report", body=body, headers=headers)
            answer = connection.getresponse()
            page = answer.read().decode()
            statuses.append(answer.status)
        assert statuses[0] != 429 and statuses[1] == 429, (statuses, page[page.find("<main"):][:600])
        assert "请求过于频繁" in page
        connection.request("GET", "/robots.txt")  # the same connection, still usable
        assert connection.getresponse().status == 200
        connection.close()


@pytest.mark.usefixtures("test_database")
def test_pages_without_a_limit_are_not_looked_at(tmp_path, monkeypatch):
    """The home page and every page without a limit keyed before the app pass straight through
    (``/<kind>.csv`` has one: its fixed end keeps ``/`` out of the filter)."""
    from portal.refusals import EarlyRefusals

    app = make_app(tmp_path)
    try:
        looked_at = []
        original = EarlyRefusals._refusal
        monkeypatch.setattr(EarlyRefusals, "_refusal",
                            lambda self, environ: looked_at.append(environ["PATH_INFO"])
                            or original(self, environ))
        client = app.test_client()
        for path in ("/", "/powers", "/robots.txt", "/stats", "/report/followup"):
            client.get(path)
        client.get("/decisions.csv")
        client.get("/search?q=x")
        assert looked_at == ["/decisions.csv", "/search"]
    finally:
        app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_a_refusal_made_once_carries_nobody_s_query_and_keeps_its_language(tmp_path):
    """The 429 answered in front of the app is made once per route and language: it must not
    carry the query of the visitor it was first made for (the language switcher links this
    page with its query) to every later one, nor answer a Lao page in Chinese."""
    app = make_app(tmp_path, ratelimit_credit="1 per day")
    try:
        client = app.test_client()
        environ = {"REMOTE_ADDR": "203.0.113.60"}
        client.get("/credit?name=FIRSTSECRET", environ_base=environ)
        first = client.get("/credit?name=FIRSTSECRET", environ_base=environ)
        second = client.get("/credit?name=SECONDVISIT", environ_base=environ)
        lao = client.get("/lo/credit?name=SECONDVISIT", environ_base=environ)
        assert first.status_code == second.status_code == lao.status_code == 429
        assert "FIRSTSECRET" not in second.get_data(as_text=True)
        assert "SECONDVISIT" not in second.get_data(as_text=True)
        assert '<html lang="zh-CN"' in second.get_data(as_text=True)
        assert '<html lang="lo"' in lao.get_data(as_text=True)
    finally:
        app.extensions["search_index"].close()


class ServerResponse:
    """What gunicorn's ``start_response`` is a method of: records ``force_close``."""

    def __init__(self) -> None:
        self.closed = False
        self.started: dict = {}

    def force_close(self) -> None:
        self.closed = True

    def start_response(self, status, headers, exc_info=None):
        self.started.update(status=status, headers=dict(headers))


@pytest.mark.usefixtures("test_database")
def test_a_client_flooding_large_refused_uploads_is_cut_off_after_a_few(tmp_path):
    """A refused upload is read to its end (so the browser shows the page) for a client's first
    few refusals; past that the connection is closed unread: draining a flood of 6 MB uploads
    made every page ten times slower (bench/abuse.py).  Small bodies are always read, and
    another client keeps its own allowance."""
    from portal import refusals

    app = make_app(tmp_path, ratelimit_report="1 per day")
    try:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.50"
        token = csrf_from(client.get("/report").get_data(as_text=True))
        body, content_type = _multipart(token)
        _call(app, _environ(client, "/report", body, content_type))  # within the limit

        def refuse(environ) -> tuple[ServerResponse, dict, bytes]:
            server = ServerResponse()
            result = app(environ, server.start_response)
            try:
                page = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            assert server.started["status"] == "429 TOO MANY REQUESTS"
            assert "请求过于频繁" in page.decode()
            return server, environ, page

        for _ in range(refusals.DRAINS_PER_CLIENT):
            server, environ, _ = refuse(_environ(client, "/report", body, content_type))
            assert environ["wsgi.input"].read_bytes == len(body) and not server.closed
        server, environ, page = refuse(_environ(client, "/report", body, content_type))
        assert environ["wsgi.input"].read_bytes == 0  # not a byte of it read …
        assert server.closed  # … and the server told to close the connection
        # A small refused body is still read (the connection kept): the form without photos.
        small, small_type = _multipart(token)
        small = small.replace(PHOTO_BYTES, b"\xff\xd8")
        server, environ, _ = refuse(_environ(client, "/report", small, small_type))
        assert environ["wsgi.input"].read_bytes == len(small) and not server.closed
        # Another client over its limit has its own allowance.
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = "203.0.113.77"
        other_token = csrf_from(other.get("/report").get_data(as_text=True))
        other_body, _ = _multipart(other_token)
        environ = _environ(other, "/report", other_body, content_type)
        environ["REMOTE_ADDR"] = "203.0.113.77"
        _call(app, environ)
        environ = _environ(other, "/report", other_body, content_type)
        environ["REMOTE_ADDR"] = "203.0.113.77"
        server, environ, _ = refuse(environ)
        assert environ["wsgi.input"].read_bytes == len(other_body) and not server.closed
    finally:
        app.extensions["search_index"].close()


def test_under_gunicorn_a_flood_of_refused_uploads_is_answered_and_closed_unread(tmp_path):
    """Past its drain allowance a client's refused upload gets the 429 page at once, with
    ``Connection: close``, and the connection is closed without waiting for the body."""
    import http.client
    import socket
    from urllib.parse import urlsplit

    from portal import refusals
    from tests.gunicorn_server import gunicorn

    with gunicorn(tmp_path, workers=1, PORTAL_RATELIMIT_REPORT="1 per day") as base:
        netloc = urlsplit(base).netloc
        connection = http.client.HTTPConnection(netloc, timeout=60)
        connection.request("GET", "/report")
        form = connection.getresponse()
        cookie = next(c.split(";", 1)[0] for c in form.msg.get_all("Set-Cookie")
                      if c.startswith("session="))
        token = csrf_from(form.read().decode())
        body, content_type = _multipart(token)
        headers = {"Cookie": cookie, "Content-Type": content_type}
        for _ in range(1 + refusals.DRAINS_PER_CLIENT):  # one accepted, then the drained ones
            connection.request("POST", "/report", body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            assert answer.getheader("Connection", "").lower() != "close"
        connection.close()
        # The headers only: a body that never comes.  The answer must not wait for it.
        host, port = netloc.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(f"POST /report HTTP/1.1\r\nHost: {netloc}\r\nCookie: {cookie}\r\n"
                        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
                        .encode())
            received = b""
            while True:
                chunk = raw.recv(65536)  # a timeout here: the server waited for the body
                if not chunk:
                    break  # closed by the server
                received += chunk
        head, _, page = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 429"), head[:200]
        assert b"connection: close" in head.lower()
        assert "请求过于频繁" in page.decode()


@pytest.mark.usefixtures("test_database")
def test_a_drain_that_outlasts_its_time_closes_the_connection(tmp_path, monkeypatch):
    """A client trickling its refused body must not hold the thread: the drain stops at its
    deadline (the server's socket gets a read timeout for the rest of it) and the server is
    told to close the connection."""
    from portal import refusals

    class Socket:
        def __init__(self) -> None:
            self.timeouts: list = []

        def gettimeout(self):
            return None

        def settimeout(self, value) -> None:
            self.timeouts.append(value)

    class Trickle(CountingInput):
        def read(self, size: int | None = -1) -> bytes:
            if self.read_bytes:
                raise TimeoutError("timed out")  # what the socket's timeout gives
            return super().read(1000)

    app = make_app(tmp_path, ratelimit_report="1 per day")
    try:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.50"
        token = csrf_from(client.get("/report").get_data(as_text=True))
        body, content_type = _multipart(token)
        _call(app, _environ(client, "/report", body, content_type))
        environ = _environ(client, "/report", body, content_type)
        environ["wsgi.input"] = Trickle(body)
        environ["gunicorn.socket"] = sock = Socket()
        server = ServerResponse()
        result = app(environ, server.start_response)
        assert b"".join(result) and server.started["status"] == "429 TOO MANY REQUESTS"
        assert not server.closed
        result.close()  # the drain, after the answer
        assert environ["wsgi.input"].read_bytes == 1000
        assert server.closed  # the connection is not kept with half a body on it
        assert 0 < sock.timeouts[0] <= refusals.DRAIN_SECONDS and sock.timeouts[-1] is None
    finally:
        app.extensions["search_index"].close()
