"""Refusals that cost next to nothing (issue 13 §2): a client over a rate limit is answered in
front of the app, and error pages are rendered once.

A refused request used to be a whole Flask request: the session opened and saved, the CSRF
token checked (the form parsed for it), Flask-Limiter's checks, the error page rendered by Jinja,
every after-request hook.  About 1.2 ms of CPU for a wrong receipt code over its limit, 1.7 ms for
a sign-in (bench/abuse.py's attacker got 300–500 of them a second on the same two cores as
everyone else's pages).

``EarlyRefusals`` sits between the WSGI server (after ``ProxyFix``, so it sees the client's
address) and Flask.  For a request on a route with a rate limit whose key function needs only the
client's address, the settings and the date (marked with ``portal.clients.key_before_the_app``), it pushes a
request context with an empty session (no cookie is read, none is set), asks the limiter's own
storage whether that limit is used up (counting the request there where it may, below), and if
it is, answers with the app's 429 at once.  The body is not read before the
answer, so a refused upload is not parsed; it is read and thrown away *after* the answer (up to
the request size cap), so the browser gets the page instead of a reset connection (gunicorn
closes a keep-alive connection with more than 64 KB unread, and a client still sending gets a
reset).

That drain is bounded per client: reading a refused 6 MB upload to its end costs the worker a
thread and the copy of every byte, and a client sending such uploads without pause made
`GET /` ten times slower for everyone (bench/abuse.py, issue 13 §2).  A body of up to
``SMALL_BODY`` is always read (gunicorn would read it too); a larger one is read for a client's
first ``DRAINS_PER_CLIENT`` refusals of a ``DRAIN_WINDOW_SECONDS`` window in this process, so a
person over a limit sees the page (which says to try later: nothing was kept).  Past that the
answer says ``Connection: close`` and the body is left unread: the server closes the connection,
and a client still sending is cut off.  Clients are told apart by the limit's own key (a daily
digest of the address, never the address itself).

The 429 itself is made by the app (its error handler and after-request hooks) the first time a
route refuses, and then sent as it is: the page and headers of a refusal depend on the route
alone.  Error pages (``ErrorPages``) are kept once rendered, per status, message and the first segment
of the path (the only part of the request the base template shows: which section of the
navigation is current), unless a flashed message is waiting, which the page would show.

Where every limit of a route's view is keyed before the app (search, the credit pages, the open
data, the report pages; not the sign-in, whose second limit is keyed by the account typed in
the form), the request is counted here (``hit``) and marked, and the view's decorator counts
nothing again (``portal.extensions.PortalLimiter``): one call to the limiter's storage per
request instead of a ``test`` here and a ``hit`` in the view, and none of Flask-Limiter's
resolving of the view's limits, which cost a cached page about as much as serving it (issue 18
§1).  The limits, the order they are counted in and the refusal are the same.  Elsewhere (the
sign-in; the storage fallen back to memory, whose recovery Flask-Limiter looks for in the
view's check; a storage error) the limits are only tested here (``test``, counting nothing) and
the view's decorator counts as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, current_app, render_template, request, session
from flask.ctx import RequestContext
from flask.globals import _cv_app, _cv_request
from flask_limiter.util import get_qualified_name
from werkzeug.exceptions import TooManyRequests
from werkzeug.wsgi import ClosingIterator

from portal.clients import BEFORE_THE_APP, EARLY_CONTEXT, PUBLIC_HOST
from portal.extensions import COUNTED_EARLY, limiter
from portal.i18n import TRANSLATED_ENDPOINTS
from portal.translation import ENVIRON_KEY

if TYPE_CHECKING:
    from flask_limiter._limits import RuntimeLimit  # what decorated_limits returns

# Rendered error pages kept per app: statuses × messages × path sections; past this, a page is
# rendered each time (a path's first segment is the visitor's choice, so the keys are bounded).
ERROR_PAGES_KEPT = 256
DRAIN_CHUNK = 1024 * 1024
# A refused body this small is always read and dropped: as cheap as the answer itself, and
# gunicorn reads that much of an unread body anyway before it keeps a connection.
SMALL_BODY = 64 * 1024
# Larger refused bodies read (so that the browser shows the page) per client and window, per
# process; past that the connection is closed instead.  A person refused with photos tries again
# once or twice; a flood keeps sending.
DRAINS_PER_CLIENT = 3
DRAIN_WINDOW_SECONDS = 60
# The longest a drain may take (a phone on a slow uplink sends 6 MB in well under this).
DRAIN_SECONDS = 20
# Clients remembered per process for the drain allowance (past this the window starts afresh
# for all: the allowance bounds a cost, it is not a limit anyone relies on).
DRAIN_CLIENTS_KEPT = 4096
# Set in the WSGI environ of a request refused here (read by gunicorn.conf.py's post_request).
REFUSED_EARLY = "portal.refused_early"
# A refusal as sent: status line, headers, body.
_Answer = tuple[str, tuple[tuple[str, str], ...], bytes]


class ErrorPages:
    """The site's error pages, each rendered once per (status, title, message, address)."""

    def __init__(self) -> None:
        self._pages: dict[tuple[Any, ...], str] = {}

    def render(self, code: int, title: Any, message: Any) -> str:
        if session.get("_flashes"):  # the page shows (and so takes) the waiting messages
            return self._render(code, title, message)
        # The page depends on the request through its language (the prefix), its path (the
        # navigation marks the section; the language switcher links this path) and its query
        # (kept in the switcher's links): a page is reused only for the very same address.
        key = (code, str(title), str(message), request.script_root, request.path,
               request.query_string)
        page = self._pages.get(key)
        if page is None:
            page = self._render(code, title, message)
            if len(self._pages) < ERROR_PAGES_KEPT:
                self._pages[key] = page
        return page

    @staticmethod
    def _render(code: int, title: str, message: str) -> str:
        return render_template("errors/error.html", code=code, title=title, message=message)


class EarlyRefusals:
    """WSGI middleware: a request over a rate limit of its route gets the app's 429 before the
    app reads its cookie or body (see the module's docstring).  ``drain_limit``: the most of a
    refused request's body read (and thrown away) after the answer; a longer one is left to the
    server, which closes the connection."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]],
                 drain_limit: int) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.drain_limit = drain_limit
        self._paths: dict[str, tuple[tuple[str, str], ...]] | None = None
        # Per endpoint (a bounded set: the app's routes).
        self._answers: dict[tuple[str, str], _Answer] = {}
        self._endpoint_limits: dict[str, list[RuntimeLimit]] = {}
        # Per endpoint: the view's qualified name and how many limits its decorators check, or
        # None where this layer may not count for it (see ``_counts_here``).
        self._views: dict[str, tuple[str, int] | None] = {}
        # Per client key (the limit's own, a digest): large bodies drained in the window.
        self._drains: dict[str, int] = {}
        self._drain_window = 0.0
        self._drain_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        paths = self._paths
        if paths is None:
            paths = self._paths = self._limited_paths()
        path = environ.get("PATH_INFO", "")
        if any(path.startswith(head) and path.endswith(tail)
               for head, tail in paths.get(environ.get("REQUEST_METHOD", ""), ())):
            refused = self._refusal(environ)
            if refused is not None:
                environ[REFUSED_EARLY] = True  # gunicorn.conf.py: not counted for recycling
                (status, headers, body), client = refused
                if not self._may_drain(environ, client):
                    _close_connection(start_response)
                    start_response(status, list(headers))
                    return [body]
                start_response(status, list(headers))
                return ClosingIterator([body], lambda: self._drain(environ, start_response))
        return self.wsgi_app(environ, start_response)

    # ------------------------------------------------------------ which requests to look at

    def _limited_paths(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """Per method, the fixed beginning and end of the path of every route that has a limit
        keyed before the app (``/<kind>.csv``: "/" and ".csv"), a quick filter: most requests,
        ``GET /`` first, are never looked at."""
        found: dict[str, set[tuple[str, str]]] = {}
        with self.app.app_context():
            for rule in self.app.url_map.iter_rules():
                view = self.app.view_functions.get(rule.endpoint)
                if view is None:
                    continue
                for lim in limiter.limit_manager.decorated_limits(get_qualified_name(view)):
                    if not getattr(lim.key_func, BEFORE_THE_APP, False):
                        continue
                    methods = {m.upper() for m in lim.methods} if lim.methods else rule.methods
                    for method in methods or ():
                        found.setdefault(method, set()).add(
                            (rule.rule.split("<", 1)[0], rule.rule.rsplit(">", 1)[-1]
                             if "<" in rule.rule else rule.rule))
        return {method: tuple(sorted(paths)) for method, paths in found.items()}

    # ------------------------------------------------------------ the decision and the answer

    def _refusal(self, environ: dict[str, Any]) -> tuple[_Answer, str] | None:
        """The app's 429 for this route and the key of the client (the used-up limit's) if
        the client has used up one of its limits; else None.

        The check runs with a request context whose session is the null session (no cookie is
        read, and nothing can be saved) and an app context, both made current but not pushed:
        it reads the request, the app's config and the limiter's storage, nothing else, so
        neither context's teardown (the database session's, the limiter's) has anything to
        do, and pushing and popping them was about a third of the check's cost (on every
        ``GET /credit``, bench/cpu_compare.py).  The 429 page, made once per route, is made
        after them, in contexts of its own (``_answer``).  A request let through takes its
        request context on to the app (``portal.PortalFlask.request_context``, which opens its
        session when it pushes it): the request is parsed and matched once, not twice."""
        app = self.app
        context = RequestContext(app, environ, session=app.session_interface.make_null_session(app))
        app_token = _cv_app.set(app.app_context())
        request_token = _cv_request.set(context)
        try:
            if context.url_adapter is not None:  # as push() does
                context.match_request()
            endpoint = request.endpoint or ""
            if request.routing_exception is not None:
                return None
            limits = self._limits(endpoint)
            view = self._views.get(endpoint)
            # Counted here only if these are all the view's limits, if the request is sure to
            # reach the view, and not on the fallback storage (whose end only the view's own
            # check looks for).
            if view is not None and len(limits) == view[1] and _reaches_view(app, endpoint) \
                    and not limiter._storage_dead:  # noqa: SLF001
                client = _hit(limits, endpoint, environ, view[0])
            else:
                client = _over_limit(limits, endpoint)
        finally:
            _cv_request.reset(request_token)
            _cv_app.reset(app_token)
        if client is None:
            environ[EARLY_CONTEXT] = context  # the app's own (portal.PortalFlask.request_context)
            return None
        # One answer per route and language (the prefix, in SCRIPT_NAME).
        key = (endpoint, environ.get("SCRIPT_NAME", ""))
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = self._answer(environ)
        return answer, client

    def _answer(self, environ: dict[str, Any]) -> _Answer:
        """The app's own 429 for this route (error handler, after-request hooks: the security
        headers, the report pages' no-store), made once and then sent as it is.  Made without
        the query string: the page's language links would otherwise carry the first refused
        visitor's query (a search, a credit code) to every later one."""
        app = self.app
        without_query = dict(environ, QUERY_STRING="")
        context = RequestContext(app, without_query,
                                 session=app.session_interface.make_null_session(app))
        context.push()
        try:
            response = app.finalize_request(app.handle_http_exception(TooManyRequests()))
            return (response.status, tuple(response.get_wsgi_headers(without_query).items()),
                    response.get_data())
        finally:
            context.pop()

    def _limits(self, endpoint: str) -> list[RuntimeLimit]:
        """The limits of ``endpoint`` keyed before the app, parsed once: the settings they come
        from do not change while the app runs (``limits`` parses "5 per minute;20 per hour"
        in about as long as the rest of a refusal takes)."""
        found = self._endpoint_limits.get(endpoint)
        if found is None:
            view = current_app.view_functions.get(endpoint)
            name = get_qualified_name(view) if view is not None else ""
            every = limiter.limit_manager.decorated_limits(name) if name else []
            # In the order Flask-Limiter's check counts them (``_hit`` counts as it does).
            found = sorted((lim for lim in every if getattr(lim.key_func, BEFORE_THE_APP, False)),
                           key=lambda lim: lim.limit)
            self._views[endpoint] = (name, len(every)) if _counts_here(every, found) else None
            self._endpoint_limits[endpoint] = found
        return found

    def _may_drain(self, environ: dict[str, Any], client: str) -> bool:
        """Whether the body of this refused request is to be read after the answer (see the
        module's docstring): small ones always, larger ones up to ``drain_limit`` for a
        client's first ``DRAINS_PER_CLIENT`` in the window."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        if length <= SMALL_BODY:
            return True
        if length > self.drain_limit:
            return False
        now = time.monotonic()
        with self._drain_lock:
            if now - self._drain_window >= DRAIN_WINDOW_SECONDS \
                    or len(self._drains) >= DRAIN_CLIENTS_KEPT:
                self._drains.clear()
                self._drain_window = now
            drained = self._drains.get(client, 0)
            if drained >= DRAINS_PER_CLIENT:
                return False
            self._drains[client] = drained + 1
        return True

    def _drain(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> None:
        """Read what is left of a refused request's body and throw it away, so the connection
        stays usable and the client, still sending, is not reset before it reads the answer.

        For at most ``DRAIN_SECONDS``: a client trickling its body must not hold the thread
        (the socket's read timeout is set for the rest of the time, where the server gives
        its socket).  Past that, or on any error, the server is told to close the connection."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return
        if length <= 0 or length > self.drain_limit:
            return  # nothing to read, or more than any accepted request: the server closes
        stream = environ["wsgi.input"]
        sock = environ.get("gunicorn.socket")
        timeout = sock.gettimeout() if sock is not None else None
        deadline = time.monotonic() + DRAIN_SECONDS
        left = length
        try:
            while left > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("drain")
                if sock is not None:
                    sock.settimeout(remaining)
                chunk = stream.read(min(DRAIN_CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
        except (OSError, ValueError):  # TimeoutError is an OSError; ValueError: a closed file
            _close_connection(start_response)
        finally:
            if sock is not None:
                try:
                    sock.settimeout(timeout)
                except OSError:
                    pass


def _close_connection(start_response: Callable[..., Any]) -> None:
    """Have the server close the connection after this answer (and say so: ``Connection:
    close``) instead of reading the body left on it.

    WSGI lets an application set no hop-by-hop header (gunicorn drops a ``Connection`` header
    it is given), so this asks gunicorn's response object, whose method ``start_response`` is,
    to close.  Under another server nothing is done: it deals with the unread body as it
    always does (gunicorn itself would read 64 KB of it and then close)."""
    force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
    if callable(force_close):
        force_close()


def _counts_here(every: list[RuntimeLimit], before_the_app: list[RuntimeLimit]) -> bool:
    """Whether a view whose decorators check the limits ``every`` may be counted here in their
    stead: each of them keyed before the app, none counted only after the answer
    (``deduct_when``) or carrying limits of its own (``meta_limits``), and no limit of the
    limiter's besides the views' own (application, default, blueprint and meta limits, request
    filters: the view's check would weigh those too)."""
    manager = limiter.limit_manager
    return (bool(every) and len(before_the_app) == len(every)
            and not any(lim.deduct_when or lim.meta_limits for lim in every)
            and not (manager.application_limits or manager.default_limits
                     or manager._blueprint_limits  # noqa: SLF001
                     or limiter._meta_limits or limiter._request_filters))  # noqa: SLF001


# The methods counted in front of the app: no form, so no token check or size cap of the app's
# refuses them before the view (a POST refused there is not counted: a reporter whose page
# expired keeps the day's submissions).  OPTIONS is answered by Flask without the view.
COUNTED_METHODS = frozenset({"GET", "HEAD"})


def _reaches_view(app: Flask, endpoint: str) -> bool:
    """Whether this request goes to its view (whose decorator would count it) unless the view
    or a limit refuses it: a GET or HEAD, not an untranslated page under a language prefix
    (``portal.i18n`` answers 404), not for another host than the site's (400,
    ``portal._configure_host``)."""
    if request.method not in COUNTED_METHODS:
        return False
    if request.environ.get(ENVIRON_KEY) and endpoint not in TRANSLATED_ENDPOINTS:
        return False
    public_host = app.extensions.get(PUBLIC_HOST)
    return public_host is None or urlsplit("//" + request.host).hostname == public_host


def _first_used_up(limits: list[RuntimeLimit], endpoint: str,
                   ask: Callable[..., bool]) -> str | None:
    """The client's key of the first of ``limits`` (keyed before the app, in the order given)
    for which ``ask`` (the storage's ``hit`` or ``test``) says used up; None if none is.
    What the storage raises is raised."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    for lim in limits:
        if lim.is_exempt or lim.method_exempt:
            continue
        args = [lim.key_func(), lim.scope_for(endpoint, request.method)]
        if not all(args):
            continue
        if not ask(lim.limit, *([prefix] if prefix else []), *args, cost=lim.deduction_amount):
            return str(args[0])
    return None


def _hit(limits: list[RuntimeLimit], endpoint: str, environ: dict[str, Any],
         view: str) -> str | None:
    """Count this request against each of ``limits`` (every limit of its view) as the view's
    decorator would: in the same order, stopping at the first used up.  The client's key of
    that limit if one is (the request is refused); else None, and the request is marked as
    counted so that the view's decorator does not count it again.  None without the mark if
    the storage cannot be asked: the view's own check then counts, falls back and logs, as it
    always did."""
    try:
        # sorted as Flask-Limiter's check sorts them (``_limits``)
        used_up = _first_used_up(limits, endpoint, limiter.limiter.hit)
    except Exception:  # noqa: BLE001 - storage down: the view's own check decides and logs
        return None
    if used_up is None:
        environ[COUNTED_EARLY] = view
    return used_up


def _over_limit(limits: list[RuntimeLimit], endpoint: str) -> str | None:
    """The client's key of the first of ``limits`` (keyed before the app) that is used up for
    this client, tested in the limiter's storage, not counted; None if none is.  None too if
    the storage cannot be asked (the view's own check then falls back and logs, as it always
    did)."""
    try:
        return _first_used_up(limits, endpoint, limiter.limiter.test)
    except Exception:  # noqa: BLE001 - storage down: the view's own check decides and logs
        return None
    return None
