"""Public pages served from a per-worker cache keyed by the data generation.

What a public page shows changes only when a disclosure changes (a new generation, see
``DataGeneration``) or the date changes (deadlines, listing status), so a rendered page is kept
per (generation, Beijing date, URL) and the cost of most requests is one one-row query.  Each
response carries an ``ETag`` and ``Last-Modified`` with ``SHARED_CACHE_CONTROL``: a browser asks
again each time (``max-age=0``) and gets a bodiless 304 while nothing changed; a shared cache in
front of the hosts (nginx's micro-cache, docs/deploy.md) may answer a page for ``SHARED_MAX_AGE``
seconds, and ``STALE_WHILE_REVALIDATE`` more while it fetches a fresh copy, so that a surge of
the same pages reaches the app about once per URL every few seconds.  So no cache anywhere shows
a withdrawn item longer than ``SHARED_CACHE_LIFETIME`` seconds after it was withdrawn (the hosts
themselves at once: every worker reads the generation on each request).

Each kept page also keeps a gzip copy, compressed once when it is kept, for the clients that
accept it (every browser): a list page of 18 KB leaves as about 3.3 KB, at no cost per request.
The two are two representations of one URL: each has its own strong ETag (the gzip one ends in
``-gz``), both say ``Vary: Accept-Encoding``, and a 304 answers the ETag of the representation
this request would get.  No kept page carries a secret (a page with a CSRF token is this
visitor's alone, see below, and is never kept), so a compressed page that reflects what a visitor
typed (a search) gives an attacker who measures its length nothing to guess (BREACH); the report
pages and the back office, which do carry tokens, are never served from here, and nginx is told
not to compress anything itself (docs/deploy.md).

Requests that carry a session with something in it (a signed-in member of staff, a flash
message waiting) are served uncached: pages must never leak one visitor's state to another.

A page answered once is answered again in front of Flask (``KeptAnswers``, a WSGI layer just
behind the one that counts rate limits): for a plain GET without a cookie whose key
(``page_key``, the one place it is made) and whose ``Accept-Language``, ``Accept-Encoding`` and
``If-None-Match`` are those of an answer the app gave from a kept page, the very status, headers
and body the app sent are sent again, after the generation read and nothing of Flask's request
(context, hooks, session, Flask-Login, Babel): about half a cached page's cost (issue 18 §1,
bench/pages.py).  Anything else, and anything that fails there, goes to the app.

These pages have no rate limit (a cache hit costs about what a 304 does), so they skip the
limiter's check before each request, which looks for application-wide and default limits: none
is set, yet the looking cost about a tenth of a cached page (bench/pages.py).  Search, the API
and every form keep their limits, which their views check.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Callable
from contextlib import suppress
from dataclasses import fields
from datetime import UTC, datetime
from functools import cache, partial, wraps
from threading import Lock
from typing import Any

from flask import Flask, Response, current_app, make_response, request, session
from flask.globals import _cv_app, _cv_request
from flask_limiter.util import get_qualified_name
from sqlalchemy import Connection, Engine, Row, event, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool
from werkzeug.http import http_date, parse_accept_header, quote_etag

from portal.config import ROOT, Settings
from portal.extensions import COUNTED_EARLY, db, limiter
from portal.i18n import ENVIRON_KEY, OFFER_MARK, offer_html, offered_language
from portal.models import DataGeneration, DisclosureMixin, local_today, utcnow

CACHE_ENTRIES = 512
# What a shared cache (nginx's micro-cache) may do with a public page: keep it SHARED_MAX_AGE
# seconds, then serve it STALE_WHILE_REVALIDATE more while one request fetches a fresh copy.
# Their sum is the longest a withdrawn item can still be shown by any cache (docs/deploy.md).
# The stale window is what keeps a surge off the app: an item page of the long tail asked for
# every 10–20 s was refetched by a waiting visitor each time with 5 s + 5 s (a quarter of a
# news day's requests waited for the app, bench/hosts.py), and is now served at once while
# nginx refetches it behind the scenes.
SHARED_MAX_AGE = 10
STALE_WHILE_REVALIDATE = 20
SHARED_CACHE_LIFETIME = SHARED_MAX_AGE + STALE_WHILE_REVALIDATE
SHARED_CACHE_CONTROL = (f"public, max-age=0, s-maxage={SHARED_MAX_AGE}, "
                        f"stale-while-revalidate={STALE_WHILE_REVALIDATE}")
_EXTENSION = "page_cache"
_BUMPED = "page_cache_bumped"  # session.info flag: this transaction already bumped
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)

# Kept pages of these types get a gzip copy (images and PDFs are compressed already).
COMPRESSIBLE = frozenset({"text/html", "text/plain", "text/csv", "application/json",
                          "application/xml", "application/atom+xml", "image/svg+xml"})
# Below this a gzip copy saves less than the header costs.
COMPRESS_MIN_BYTES = 512
# zlib's default level: level 9 made the list page 0.1 % smaller for twice the time.
COMPRESS_LEVEL = 6
# A hidden CSRF field: a page with one is never compressed (BREACH), should one ever be kept.
_CSRF_FIELD = b'name="csrf_token"'
# Accept-Encoding headers seen, and whether each accepts gzip (parsed once per distinct header).
_GZIP_ACCEPTED: dict[str, bool] = {}
ENCODINGS_KEPT = 256


_GENERATION = select(DataGeneration.number, DataGeneration.changed_at).where(
    DataGeneration.id == 1
)


# Connections kept open between reads of the generation, per worker process (not per thread).
KEPT_CONNECTIONS = 2


class GenerationReader:
    """Reads the data generation on a few connections shared by all of a worker's threads.

    A connection is borrowed for the one-row read and given back at once, so a thread holds
    none between requests: an idle keep-alive connection (which holds a server thread) holds no
    database connection, and no number of threads or open connections can exhaust the pool.
    (A connection kept per thread did: the dev server starts a thread per client connection,
    and each thread's connection stayed checked out after the thread ended, until the garbage
    collector found it; the 16th client in between waited 30 s for the pool and got a 500.)  At most ``keep`` stay open between reads; a read that finds none
    idle opens one and, if ``keep`` are already idle when it is done, closes it again.

    Why keep any: checked out of the pool for each read, the read cost more than itself (the
    pool's ping; on PostgreSQL also a BEGIN and a ROLLBACK, each a round trip).  A kept
    connection is in autocommit mode: it holds no transaction and sees each commit at once.
    Taking one from the idle list is a list pop under a lock."""

    def __init__(self, keep: int = KEPT_CONNECTIONS) -> None:
        self.keep = keep
        self._idle: list[tuple[Connection, Pool]] = []
        self._lock = Lock()

    def read(self, engine: Engine) -> Row[Any] | None:
        """The generation row, or None before the first change.  A connection the server
        dropped (a restart) fails the read: it and the other idle ones are discarded and the
        read tried once more on a new one.  One from a disposed pool (a restored backup) is
        never used again."""
        for attempt in (1, 2):
            connection = self._borrow(engine)
            try:
                row = _read_on_driver(connection)
                if row is _FAILED:  # the driver's error, raised again the way SQLAlchemy does
                    row = connection.execute(_GENERATION).first()
            except DBAPIError as error:
                _close(connection)
                if attempt == 2 or not error.connection_invalidated:
                    raise
                self.close()  # the others were most likely dropped with it
                continue
            except BaseException:
                _close(connection)
                raise
            self._give_back(connection, engine.pool)
            return row
        raise AssertionError("unreachable")  # pragma: no cover

    def _borrow(self, engine: Engine) -> Connection:
        stale = []
        try:
            with self._lock:
                while self._idle:
                    connection, pool = self._idle.pop()
                    if pool is engine.pool:
                        return connection
                    stale.append(connection)
        finally:
            for connection in stale:
                _close(connection)
        return engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _give_back(self, connection: Connection, pool: Pool) -> None:
        with self._lock:
            if len(self._idle) < self.keep:
                self._idle.append((connection, pool))
                return
        _close(connection)

    @property
    def idle(self) -> int:
        """How many connections are kept open between reads now."""
        return len(self._idle)

    def close(self) -> None:
        """Close every kept connection (they go back to the pool)."""
        with self._lock:
            kept, self._idle = self._idle, []
        for connection, _pool in kept:
            _close(connection)


# Per dialect: the generation's query as the driver's SQL (its one value written in: a constant),
# and the converters of its two columns (``changed_at`` is a ``UTCDateTime``).
_ON_DRIVER: dict[Any, tuple[str, tuple[Any, ...]]] = {}
_FAILED = object()


def _read_on_driver(connection: Connection) -> tuple[Any, ...] | None | object:
    """The generation row read on the driver's own cursor: what ``connection.execute`` does,
    without SQLAlchemy's statement and result machinery around it, which cost more than the
    query itself and was the largest share of a public page answered in front of the app
    (``KeptAnswers``).  ``_FAILED`` if the driver raised: the caller then asks SQLAlchemy,
    which raises its own error (and notices a dropped connection) as before."""
    dialect = connection.dialect
    prepared = _ON_DRIVER.get(dialect)
    if prepared is None:
        columns = DataGeneration.__table__.c
        sql = str(_GENERATION.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        prepared = _ON_DRIVER[dialect] = (sql, tuple(
            column.type._cached_result_processor(dialect, None)  # noqa: SLF001
            for column in (columns.number, columns.changed_at)))
    sql, converters = prepared
    try:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            row = cursor.fetchone()
        finally:
            cursor.close()
    except Exception:  # noqa: BLE001 - see above
        return _FAILED
    if row is None:
        return None
    return tuple(value if convert is None else convert(value)
                 for convert, value in zip(converters, row, strict=True))


def _close(connection: Connection) -> None:
    with suppress(SQLAlchemyError):
        connection.close()


# What makes a page besides the data and the request: the code that renders it.
_RELEASE_FILES = (("portal", ("*.py", "*.mo")), ("search_index", ("*.py",)),
                  ("templates", ("*",)), ("static", ("*",)))
# Settings that differ between the hosts of one site and change no page.
_HOST_LOCAL_SETTINGS = frozenset({"index_dir"})


@cache
def _code_digest() -> bytes:
    """SHA-256 over the files that render a page, read once per process (a deploy restarts
    the processes)."""
    digest = hashlib.sha256()
    for folder, patterns in _RELEASE_FILES:
        paths = {path for pattern in patterns for path in (ROOT / folder).rglob(pattern)
                 if path.is_file() and "__pycache__" not in path.parts}
        for path in sorted(paths):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.digest()


def release_build(settings: Settings) -> str:
    """Names this release of the code with these settings, for the page cache's keys and ETags.

    The same on every host that runs the same code with the same settings, so that a page's
    ETag from one host is answered by another with a 304 (a shared cache in front revalidates
    an expired page at the cost of a generation read, not a render, whichever host it asks);
    different after a deploy or a change of settings, so that no page made by other code or
    other settings is taken for this one's.  Keyed by the secret key: the settings hashed hold
    secrets, and the digest (in every ETag) must say nothing about them."""
    shown = [(f.name, getattr(settings, f.name)) for f in fields(settings)
             if f.name not in _HOST_LOCAL_SETTINGS]
    mac = hmac.new(settings.secret_keys[0].encode(), _code_digest(), "sha256")
    mac.update(repr(shown).encode())
    return mac.hexdigest()[:20]


class PageCache:
    """A small LRU of rendered pages for one worker (threads share it)."""

    def __init__(self, build: str, size: int = CACHE_ENTRIES) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[Any, ...], KeptPage] = OrderedDict()
        self._lock = Lock()
        # Pages rendered by another release (code or settings) must not be taken for this one's.
        self.build = build
        self.reader = GenerationReader()
        # Per endpoint: how the layer in front may serve its pages (``front_route``).
        self._front_routes: dict[str, tuple[Any, str | None] | None] = {}

    def front_route(self, also_keyed_by: Callable[[], Any] | None
                    ) -> tuple[Any, str | None] | None:
        """How ``KeptAnswers`` may serve this request's page again: (what else the page is
        keyed by, the view's name if its limits must have been counted in front of the app
        first, see ``portal.refusals``), or None where it may not (a key that needs the app).
        Asked in the view's request, worked out once per endpoint."""
        endpoint = request.endpoint or ""
        try:
            return self._front_routes[endpoint]
        except KeyError:
            pass
        route = None
        if also_keyed_by is None or getattr(also_keyed_by, KEYED_IN_FRONT, False):
            view = current_app.view_functions[endpoint]
            name = get_qualified_name(view)
            limited = bool(limiter.limit_manager.decorated_limits(name))
            route = (also_keyed_by, name if limited else None)
        self._front_routes[endpoint] = route
        return route

    def generation(self, engine: Engine | None = None) -> tuple[int, datetime]:
        """The data generation and when it last changed (one indexed one-row read).

        Read through Core, not the ORM session (a cached page then costs no session at all),
        on a connection borrowed from ``GenerationReader`` for the read alone.  What reads it
        before gunicorn forks (``portal.search_sync.render_before_fork``) closes the kept
        connections and disposes of the pool after, so no worker inherits another's
        connection."""
        row = self.reader.read(engine if engine is not None else db.engine)
        return (row[0], row[1]) if row else (0, _NEVER)

    def get(self, key: tuple[Any, ...]) -> KeptPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple[Any, ...], page: KeptPage) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


def _host(environ: dict[str, Any]) -> str:
    """The request's host as the client sent it (or the server's name and port): a raw part
    of the key, never rebuilt or decoded (two spellings of one host are two keys)."""
    return environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"


def _where(environ: dict[str, Any]) -> tuple[Any, ...]:
    """The request's address as the server gave it (scheme, Host, SCRIPT_NAME, PATH_INFO,
    QUERY_STRING) and its language prefix (``portal.i18n``)."""
    return (environ.get("wsgi.url_scheme"), _host(environ), environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
            environ.get(ENVIRON_KEY))


def page_key(cache: PageCache, generation: int, environ: dict[str, Any],
             also: Any) -> tuple[Any, ...]:
    """The key a public page is kept under: this release, the data generation, the Beijing
    date, the request's address (``_where``) and what else the page follows (``also``).  The
    one place this is decided, for the view (``public_page``) and the layer in front of the app
    (``KeptAnswers``) alike."""
    return (cache.build, generation, local_today().isoformat(), *_where(environ), also)


# The request headers a kept page's answer is chosen by (``public_page``: the language offer,
# the gzip copy, a 304).  An answer is served again in front of the app only to a request with
# the same key and the very same values of these.
ANSWER_HEADERS = ("HTTP_ACCEPT_LANGUAGE", "HTTP_ACCEPT_ENCODING", "HTTP_IF_NONE_MATCH")


def answer_key(key: tuple[Any, ...], environ: dict[str, Any]) -> tuple[Any, ...]:
    return (key, *(environ.get(name) for name in ANSWER_HEADERS))


# What else a page may be keyed by and still be served in front of the app: a function marked
# with this attribute needs no request and no database session, only ``current_app``.
KEYED_IN_FRONT = "page_cache_keyed_in_front"


def keyed_in_front(function: Callable[[], Any]) -> Callable[[], Any]:
    """Marks an ``also_keyed_by`` function that ``KeptAnswers`` may call with only the app
    context (no request, no database session)."""
    setattr(function, KEYED_IN_FRONT, True)
    return function


def public_page(view: Callable[..., Any] | None = None, *,
                also_keyed_by: Callable[[], Any] | None = None) -> Any:
    """Serve ``view`` from the page cache, with ETag/Last-Modified and 304 answers.

    ``also_keyed_by``: what else the page follows besides the data (the search page follows
    the search index, which is updated just after the commit that bumps the generation)."""
    if view is None:
        return lambda view: public_page(view, also_keyed_by=also_keyed_by)

    @wraps(view)
    def cached(*args: Any, **kwargs: Any) -> Any:
        if session:  # staff signed in, a flash waiting: render for this visitor alone
            return _personal(make_response(view(*args, **kwargs)))
        cache: PageCache = current_app.extensions[_EXTENSION]
        generation, changed_at = cache.generation()
        # The host is part of the key: without PORTAL_BASE_URL (the demo) absolute links are
        # built from the request's Host, and a page made for one Host must not be served to
        # a request for another (a forged Host would otherwise plant its links for everyone).
        # The language is in the key through the script root (``/en`` …, see portal.i18n):
        # ``full_path`` is the path after the language prefix.
        # The key is made of the request's raw parts (scheme, Host, SCRIPT_NAME, PATH_INFO,
        # QUERY_STRING as the server gave them): the URL is not rebuilt and decoded for it (a
        # tenth of a cached page), and two requests with the same raw parts are the same page.
        current = _cv_request.get().request
        environ = current.environ
        key = page_key(cache, generation, environ, also_keyed_by() if also_keyed_by else None)
        front = _FrontNote(cache, environ, key, also_keyed_by)
        # A Chinese page offers another language to a browser that asks for it first
        # (portal.i18n): the cached body is the same, the offer is put in as it leaves, and the
        # ETag and Vary follow the offer.  Pages under a language prefix do not vary by it.
        prefixed = ENVIRON_KEY in environ
        offer = None if prefixed else offered_language()
        etag = hashlib.sha256(repr((key, offer)).encode()).hexdigest()[:32]
        # The gzip copy is another representation, with its own strong ETag.  A 304 needs the
        # ETag of the one this request would get: the gzip copy for a client that accepts it
        # (every page big enough has one), else the plain page.
        gzip_ok = _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING"))
        gzip_etag = etag + "-gz"
        # Written out rather than through the response's properties (set_etag, vary.add, …),
        # which parse and rebuild each header: a measurable share of a cached page.
        validators = [("Last-Modified", http_date(changed_at)),
                      ("Cache-Control", SHARED_CACHE_CONTROL),
                      ("Vary", _VARY_PREFIXED if prefixed else _VARY)]
        page = None
        if "HTTP_IF_NONE_MATCH" in environ:
            held = current.if_none_match
            if gzip_ok and gzip_etag in held:
                return front.told(b"", Response(status=304, headers=[
                    ("ETag", quote_etag(gzip_etag)), *validators]))
            if etag in held:
                # Plain: right unless this client accepts gzip and the page has a gzip copy
                # (known once the page is; a worker that does not hold it renders it).
                page = cache.get(key) if gzip_ok else None
                if not gzip_ok or (page is not None and page.compressed(
                        _offer_for(page, offer, prefixed)) is None):
                    return front.told(b"", Response(status=304, headers=[
                        ("ETag", quote_etag(etag)), *validators]))
        if page is None:
            page = cache.get(key)
        if page is None:
            rendered = make_response(view(*args, **kwargs))
            if session:  # the page put something in the session: this visitor's alone
                return _personal(rendered)
            if rendered.status_code != 200:
                return rendered  # errors: not kept (and no header lets a shared cache keep them)
            page = KeptPage(rendered.get_data(), rendered.status_code, rendered.mimetype)
            cache.put(key, page)
        offer = _offer_for(page, offer, prefixed)
        compressed = page.compressed(offer) if gzip_ok else None
        if compressed is not None:
            body = compressed
            response = Response(body, status=page.status, mimetype=page.mimetype,
                                headers=[("ETag", quote_etag(gzip_etag)),
                                         ("Content-Encoding", "gzip"), *validators])
        else:
            body = page.body_with(offer)
            response = Response(body, status=page.status, mimetype=page.mimetype,
                                headers=[("ETag", quote_etag(etag)), *validators])
        response.offer_done = True  # type: ignore[attr-defined]
        return front.told(body, response)

    cached.is_public_page = True  # type: ignore[attr-defined]
    return cached


class _FrontNote:
    """What ``public_page`` tells the layer in front of the app about an answer it gives from
    a kept page (not one made for one visitor, not an error): put in the request's environ,
    read by ``KeptAnswers`` once the app has finished the answer."""

    __slots__ = ("cache", "environ", "key", "also_keyed_by")

    def __init__(self, cache: PageCache, environ: dict[str, Any], key: tuple[Any, ...],
                 also_keyed_by: Callable[[], Any] | None) -> None:
        self.cache = cache
        self.environ = environ
        self.key = key
        self.also_keyed_by = also_keyed_by

    def told(self, body: bytes, response: Response) -> Response:
        route = self.cache.front_route(self.also_keyed_by)
        if route is not None:
            self.environ[FRONT_NOTE] = (answer_key(self.key, self.environ), route, body)
        return response


# In the environ of a request answered from a kept page: (answer key, route, body).
FRONT_NOTE = "portal.page_cache.answer"
# Answers kept by ``KeptAnswers`` per worker; past this many they are forgotten all at once
# (a page of another generation or day is never asked for again).  Their bodies are mostly the
# kept pages' own bytes (the gzip copies), not copies of them.
KEPT_ANSWERS = 1024
# ... and past this many bytes of bodies, counted as if none were shared: a plain page with a
# language offer is a copy of its own, and one visitor varying the raw Accept-Language could
# otherwise make a worker hold 1024 copies of the largest page.
KEPT_ANSWER_BYTES = 16 * 1024 * 1024


class KeptAnswers:
    """WSGI layer just in front of Flask (inside ``portal.refusals.EarlyRefusals``): a plain
    GET of a public page already answered is answered again here, with the very status,
    headers and body the app sent, without Flask's request context, hooks, session,
    Flask-Login or Babel: the generation read and a few dictionary lookups (issue 18 §1).

    What an answer is served again for is what the app itself answered it for: the key the
    view keeps the page under (``page_key``: same release, data generation, date, address and
    index generation) and the same request headers it was chosen by (``ANSWER_HEADERS``).  It
    is learned from the app only: ``public_page`` says in the environ that its answer came from
    a kept page (``_FrontNote``), and it is kept here if the app sent it as a 200 or 304
    without a cookie.  So a page for one visitor (a session), an error, a redirect, a page under
    a prefix that answers 404, the report pages and the back office (no ``public_page``) are
    never kept here.  A request with any cookie (its session might matter), any method but GET,
    or a page whose limits were not counted in front of the app (``portal.refusals``: they are
    counted there once, and here nothing counts them) goes to the app as before; so does
    anything that fails here."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Any]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.enabled = True
        self.hits = 0  # answers given here (for the tests)
        self._engine: Engine | None = None
        # The request's address (``_where``) → route (``PageCache.front_route``).
        self._routes: dict[tuple[Any, ...], tuple[Any, str | None]] = {}
        # Answer key → (status, headers, body).
        self._answers: dict[tuple[Any, ...], tuple[str, list[tuple[str, str]], bytes]] = {}
        self._answer_bytes = 0  # of the bodies in _answers (KEPT_ANSWER_BYTES)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_COOKIE") \
                or not self.enabled:
            return self.wsgi_app(environ, start_response)
        where = _where(environ)
        route = self._routes.get(where)
        if route is not None and (route[1] is None or environ.get(COUNTED_EARLY) == route[1]):
            try:
                answer = self._answers.get(answer_key(self._key(environ, route[0]), environ))
            except Exception:  # noqa: BLE001 - the app answers, and reports what failed
                answer = None
            if answer is not None:
                self.hits += 1
                start_response(answer[0], list(answer[1]))
                return [answer[2]]
        return self._through_the_app(environ, start_response, where)

    def _key(self, environ: dict[str, Any], also_keyed_by: Callable[[], Any] | None
             ) -> tuple[Any, ...]:
        app = self.app
        cache: PageCache = app.extensions[_EXTENSION]
        engine = self._engine
        if engine is None:
            with app.app_context():
                engine = self._engine = db.engine
        generation, _changed_at = cache.generation(engine)
        also = None
        if also_keyed_by is not None:
            token = _cv_app.set(app.app_context())
            try:
                also = also_keyed_by()
            finally:
                _cv_app.reset(token)
        return page_key(cache, generation, environ, also)

    def _through_the_app(self, environ: dict[str, Any], start_response: Callable[..., Any],
                         where: tuple[Any, ...]) -> Any:
        sent: list[tuple[str, list[tuple[str, str]], Any]] = []

        def watched(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            sent.append((status, headers, exc_info))
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, watched)
        note = environ.pop(FRONT_NOTE, None)
        if note is not None and len(sent) == 1:
            status, headers, exc_info = sent[0]
            key, route, body = note
            if exc_info is None and status[:4] in ("200 ", "304 ") \
                    and not any(name.lower() == "set-cookie" for name, _ in headers) \
                    and _length_matches(headers, body, status):
                if len(self._answers) >= KEPT_ANSWERS \
                        or self._answer_bytes + len(body) > KEPT_ANSWER_BYTES:
                    self._answers.clear()
                    self._answer_bytes = 0
                if len(self._routes) >= KEPT_ANSWERS:
                    self._routes.clear()
                self._answers[key] = (status, list(headers), body)
                self._answer_bytes += len(body)
                self._routes[where] = route
        return result


def _length_matches(headers: list[tuple[str, str]], body: bytes, status: str) -> bool:
    """Whether the body the view said it sent is the one the app sent (by its length)."""
    lengths = [value for name, value in headers if name.lower() == "content-length"]
    if status.startswith("304"):
        return not body and (not lengths or lengths == ["0"])
    return lengths == [str(len(body))]


class KeptPage:
    """A rendered page as kept: its body without the language offer's mark (what most visitors
    get), and, for a Chinese HTML page with the mark, the body before and after it (where an
    offer goes, ``portal.i18n.put_offer``), so that no request searches the body for it; and
    its gzip copies, the plain one made now, one per language offered made when first asked."""

    __slots__ = ("body", "status", "mimetype", "around_offer", "_compressed")

    def __init__(self, body: bytes, status: int, mimetype: str) -> None:
        self.status = status
        self.mimetype = mimetype
        self.around_offer: tuple[bytes, bytes] | None = None
        if mimetype == "text/html" and OFFER_MARK in body:
            before, after = body.split(OFFER_MARK, 1)
            self.around_offer = (before, after)
            body = before + after
        self.body = body
        # Offer (None: no offer) → gzip copy, or None where none is sent.
        self._compressed: dict[str | None, bytes | None] = {}
        self._compressed[None] = self._compress(body)

    def body_with(self, offer: str | None) -> bytes:
        """The body, with the offer of ``offer`` (a language code) where the page has room."""
        if offer is None or self.around_offer is None:
            return self.body
        return self.around_offer[0] + offer_html(offer) + self.around_offer[1]

    def compressed(self, offer: str | None) -> bytes | None:
        """The gzip copy of ``body_with(offer)``, or None if the page is not sent compressed.
        Two threads asking first for the same offer both compress it, and one copy stays
        (identical bytes): cheaper than a lock on every request."""
        try:
            return self._compressed[offer]
        except KeyError:
            pass
        made = self._compress(self.body_with(offer))
        self._compressed[offer] = made
        return made

    def _compress(self, body: bytes) -> bytes | None:
        if self.mimetype not in COMPRESSIBLE or len(body) < COMPRESS_MIN_BYTES \
                or _CSRF_FIELD in body:
            return None
        # mtime=0: the same page compresses to the same bytes in every worker (one strong ETag).
        made = gzip.compress(body, COMPRESS_LEVEL, mtime=0)
        return made if len(made) < len(body) else None


def _offer_for(page: KeptPage, offer: str | None, prefixed: bool) -> str | None:
    """The offer the page gets: none where it has no room for one, or under a prefix."""
    return None if prefixed or page.around_offer is None else offer


_VARY = "Cookie, Accept-Language, Accept-Encoding"
_VARY_PREFIXED = "Cookie, Accept-Encoding"


def _accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header accepts gzip (``gzip``, ``x-gzip`` or ``*`` with a
    quality above 0); worked out once per distinct header, as browsers send the same one."""
    if not header:
        return False
    try:
        return _GZIP_ACCEPTED[header]
    except KeyError:
        pass
    accept = parse_accept_header(header)
    gzip_named = any(value.lower() in ("gzip", "x-gzip") for value, _q in accept)
    found = any(q > 0 for value, q in accept
                if value.lower() in ("gzip", "x-gzip") or (value == "*" and not gzip_named))
    if len(_GZIP_ACCEPTED) >= ENCODINGS_KEPT:
        _GZIP_ACCEPTED.clear()
    _GZIP_ACCEPTED[header] = found
    return found


def _personal(response: Response) -> Response:
    """A public page rendered for one visitor (a session with something in it): no shared cache
    may keep it, whatever it is configured to keep."""
    response.headers.setdefault("Cache-Control", "private, no-cache")
    return response


def _bump_on_disclosure_change(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get(_BUMPED):
        return
    touched = (*session.new, *session.dirty, *session.deleted)
    # Besides disclosures, a row may say it shows on public pages (a 信用修复 application's
    # state shows on its blacklist entry's page).
    if not any(isinstance(obj, DisclosureMixin) or getattr(obj, "shows_on_public_pages", False)
               for obj in touched):
        return
    session.info[_BUMPED] = True
    result = session.execute(
        update(DataGeneration).where(DataGeneration.id == 1)
        .values(number=DataGeneration.number + 1, changed_at=utcnow())
    )
    if result.rowcount == 0:
        session.add(DataGeneration(id=1, number=1, changed_at=utcnow()))


def _forget_bump(session: Session, *args: Any) -> None:
    session.info.pop(_BUMPED, None)


_EVENTS = (("before_flush", _bump_on_disclosure_change), ("after_commit", _forget_bump),
           ("after_rollback", _forget_bump))


def _check_limits_but_on_public_pages(app: Flask) -> None:
    """Put a guard in front of the limiter's before-request check: public pages skip it (see the
    module's docstring).  Its in-view checks (search, the API, forms) are untouched."""
    hooks = app.before_request_funcs[None]
    position = hooks.index(limiter._check_request_limit)  # a ValueError if Flask-Limiter changed

    def check_limits() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if not getattr(view, "is_public_page", False):
            limiter._check_request_limit()

    hooks[position] = check_limits


_LIMITER_CONTEXT = "_limiter_request_context"  # Flask-Limiter's per-request state (on the context)


def _limiter_hooks_only_where_it_ran(app: Flask) -> None:
    """Flask-Limiter's after-request hook (conditional deductions, rate-limit headers) and its
    teardown (resetting its per-request state) each make that state first when it is missing,
    then find nothing in it.  Where no limit was looked at in the request (public pages skip
    the check, ``_check_limits_but_on_public_pages``) there is nothing for them to do: they are
    skipped, which on a cached page saved about as much as the check did."""
    after = app.after_request_funcs[None]
    position = next(i for i, hook in enumerate(after)  # a StopIteration if Flask-Limiter changed
                    if isinstance(hook, partial) and hook.args and hook.args[0] is limiter)
    inject_headers = after[position]

    def limiter_after_request(response: Response) -> Response:
        if not hasattr(_cv_request.get(), _LIMITER_CONTEXT):
            return response
        return inject_headers(response)

    after[position] = limiter_after_request
    teardowns = app.teardown_request_funcs[None]
    position = teardowns.index(limiter._Limiter__release_context)  # type: ignore[attr-defined]
    release = teardowns[position]

    def limiter_teardown(exc: BaseException | None = None) -> None:
        ctx = _cv_request.get(None)
        if ctx is None or hasattr(ctx, _LIMITER_CONTEXT):
            release(exc)

    teardowns[position] = limiter_teardown


def register(app: Flask) -> None:
    app.extensions[_EXTENSION] = PageCache(release_build(app.config["SETTINGS"]))
    # Just in front of Flask, behind the layer that counts the limits (portal.refusals).
    refusals = app.extensions["early_refusals"]
    front = KeptAnswers(app, refusals.wsgi_app)
    refusals.wsgi_app = front
    app.extensions["kept_answers"] = front
    _check_limits_but_on_public_pages(app)
    _limiter_hooks_only_where_it_ran(app)
    for name, listener in _EVENTS:
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
