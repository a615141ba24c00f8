"""西双版纳州安全生产信息公开与举报平台: the Flask application factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, jsonify, request
from flask.ctx import RequestContext
from flask.globals import _cv_request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.clients import EARLY_CONTEXT, PUBLIC_HOST
from portal.config import ROOT, Settings
from portal.daily_limits import STORAGE_PREFIX
from portal.memory_limits import SweptMemoryStorage  # noqa: F401 - registers portal+memory://
from portal.translation import ENVIRON_KEY, TranslatingEnvironment

# url_for's answers kept per app (``PortalFlask.url_for``): at most this many, then forgotten.
URL_CACHE_SIZE = 4096
# Hooks and views known to be plain functions (``PortalFlask.ensure_sync``): the app's own, a
# bounded set; past this many (never, unless something makes functions per request) forgotten.
SYNC_FUNCTIONS_KEPT = 1024
# The only values a kept link may be built from: public, a bounded set (a kind, an item's id).
_URL_CACHE_VALUES = frozenset({"kind", "item_id"})
# … and the pages of an enterprise's credit record, by its public credit code (an item's page
# links them).
_URL_CACHE_CODE = frozenset({"credit.check", "credit.feed"})
_URL_OPTIONS = frozenset({"_anchor", "_method", "_scheme", "_external"})


class PortalFlask(Flask):
    """Flask, whose links from a page in another language to a page that exists in Chinese
    alone lead to the root (``portal.i18n``), and whose Jinja environment translates the
    templates' constant strings once per language (``portal.translation``)."""

    jinja_environment = TranslatingEnvironment
    # One compiled copy of a translated template per language: room for all of them.
    jinja_options = {"cache_size": 1000}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[tuple[Any, ...], str] = {}
        self._sync_functions: set[Callable[..., Any]] = set()

    def url_for(self, endpoint: str, /, **values: Any) -> str:  # type: ignore[override]
        """Links in a request that depend on nothing but the endpoint, a kind and an id (the
        navigation, the footer, an item's page; about thirty a page) are built once per
        language and host and kept: the key holds everything of the request that the built
        link depends on (the URL adapter's script name, which holds the language prefix, its
        host, subdomain and scheme, and whether the link is absolute).  Anything else (query
        values, an anchor, a method or scheme, a relative endpoint, static files, whose URL
        follows the file's content) is built each time."""
        ctx = _cv_request.get(None)
        if ctx is None or endpoint == "static" or endpoint[:1] == "." or ctx.url_adapter is None:
            return self._build_url(endpoint, values)
        external = False
        plain = values
        if values:
            if not _URL_OPTIONS.isdisjoint(values):  # flask.url_for passes all four, as None
                if values.get("_anchor") is not None or values.get("_method") is not None \
                        or values.get("_scheme") is not None:
                    return self._build_url(endpoint, values)
                external = bool(values.get("_external"))
                plain = {k: v for k, v in values.items() if k not in _URL_OPTIONS}
            if plain and not ((plain.keys() <= _URL_CACHE_VALUES
                               or (endpoint in _URL_CACHE_CODE and plain.keys() == {"code"}))
                              and all(type(v) in (int, str) for v in plain.values())):
                return self._build_url(endpoint, values)
        adapter = ctx.url_adapter
        key = (adapter.script_name, adapter.server_name, adapter.subdomain, adapter.url_scheme,
               ctx.request.environ.get(ENVIRON_KEY), external, endpoint, *plain.items())
        url = self._urls.get(key)
        if url is None:
            url = self._build_url(endpoint, values)
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()
            self._urls[key] = url
        return url

    def request_context(self, environ: dict[str, Any]) -> RequestContext:
        """The request's context: the one the layer in front of the app made to check the
        request's rate limits, where it made one (``portal.refusals``: the request read and
        matched once, not twice), with no session yet (opened when the context is pushed)."""
        ctx = environ.pop(EARLY_CONTEXT, None)
        if ctx is None or ctx.app is not self:
            return super().request_context(environ)
        ctx._session = None
        return ctx

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask asks this of every hook and view on every request (a dozen per page, each an
        ``inspect`` of the function); the functions found plain are remembered."""
        try:
            if func in self._sync_functions:
                return func
        except TypeError:  # not hashable
            return super().ensure_sync(func)
        found = super().ensure_sync(func)
        if found is func:
            if len(self._sync_functions) >= SYNC_FUNCTIONS_KEPT:
                self._sync_functions.clear()
            self._sync_functions.add(func)
        return found

    def _build_url(self, endpoint: str, values: dict[str, Any]) -> str:
        from portal.i18n import url_for_in_root

        return url_for_in_root(super().url_for(endpoint, **values), endpoint)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides settings (tests); nothing is read at import time."""
    settings = Settings.from_env(config)
    app = PortalFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_keys[0],
        SECRET_KEY_FALLBACKS=list(settings.secret_keys[1:]),
        TESTING=settings.env == "test",
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        # A Redis URI goes to the storage that expires the report pages' counters exactly at
        # midnight (portal.daily_limits.MidnightRedisStorage); memory:// to the one that does
        # not start a thread every 10 ms (portal.memory_limits.SweptMemoryStorage).
        RATELIMIT_STORAGE_URI=(STORAGE_PREFIX + settings.ratelimit_storage_uri
                               if settings.ratelimit_storage_uri.startswith(
                                   ("redis://", "rediss://", "memory://"))
                               else settings.ratelimit_storage_uri),
        RATELIMIT_HEADERS_ENABLED=False,
        # With Redis down, count in each process's memory instead of failing every request
        # (Flask-Limiter logs the switch once, and switches back when Redis answers again).
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_KEY_PREFIX="portal",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.is_production,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_idle_minutes),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, so forms do not expire
        # Flask-WTF's extra HTTPS check wants a Referer from this host, but every page sends
        # Referrer-Policy: no-referrer, so over HTTPS it would refuse every honest form.  The
        # token (bound to the session) and the SameSite=Strict cookie are what protect.
        WTF_CSRF_SSL_STRICT=False,
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    if settings.ratelimit_storage_uri.startswith(("redis://", "rediss://")):
        # Fail fast to the fallback rather than hold a request while Redis is unreachable.
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": 0.5,
                                                   "socket_timeout": 0.5}
    app.session_interface = _SessionInterface()
    app.request_class = _Request
    _refuse_over_limit_early(app)  # inside ProxyFix (below): it needs the client's address
    _configure_host(app, settings)
    app.config.update(settings.extra)
    from portal import i18n

    i18n.init_app(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    _init_extensions(app, settings)
    from portal import routing

    routing.register(app)  # before the blueprints: their routes use ``<id:…>``
    _register_blueprints(app)
    _register_error_pages(app)
    _register_security_headers(app)

    from portal import cli, published_words, static_files, templating

    cli.register(app)
    templating.register(app)
    published_words.init_app(app)
    static_files.register(app)
    if settings.is_production:
        _refuse_a_wrong_data_key(app)
    return app


class _Request(Request):
    """Flask's request, minus form fields that have no name.

    A multipart part whose name Werkzeug cannot read (a line break in it) is kept under the
    key ``None``, and Flask-WTF's token lookup calls ``key.endswith`` on every key: any POST
    with such a part and a prefixed token field (``erase-csrf_token``) answered 500.  Such a
    part is nothing any form of this site sends, so it is dropped for every reader at once."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        for name in ("form", "files"):
            fields = self.__dict__.get(name)
            if fields is not None and None in fields:
                self.__dict__[name] = self.parameter_storage_class(
                    (key, value) for key, value in fields.items(multi=True) if key is not None)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, minus building its signer for a request that sent no
    session cookie (most visitors): Flask builds one on every request, and on a cached page
    that was a measurable share (bench/pages.py).  Saving is unchanged: a session written
    during the request is signed and sent as before."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def _refuse_a_wrong_data_key(app: Flask) -> None:
    """Start only if the configured data keys open what is stored (one value per column)."""
    from portal.config import SettingsError
    from portal.config_check import unreadable_encrypted_column
    from portal.extensions import db

    with app.app_context():
        column = unreadable_encrypted_column()
        # gunicorn preloads the app and forks its workers after this: a pooled connection
        # left open here would be one socket shared by every worker, their queries and
        # answers interleaved (bench/faults.py saw 500s from it).  Nothing that runs before
        # the fork may keep a connection.
        db.session.remove()
        db.engine.dispose()
    if column:
        raise SettingsError(
            f"PORTAL_DATA_KEY does not decrypt the stored {column}: a key still in use is "
            "missing (keep old keys after the new one until rotate-data-key has run)"
        )


def _refuse_over_limit_early(app: Flask) -> None:
    """A client over a rate limit is answered before the app reads its cookie or body
    (portal.refusals).  A refused upload is read and thrown away after the answer, up to the
    largest request the report pages take."""
    from portal.refusals import EarlyRefusals
    from portal.reports import REQUEST_MAX_BYTES

    refusals = EarlyRefusals(app, app.wsgi_app, drain_limit=REQUEST_MAX_BYTES)
    app.wsgi_app = refusals  # type: ignore[method-assign]
    app.extensions["early_refusals"] = refusals  # other layers (languages) wrap it later


def _configure_host(app: Flask, settings: Settings) -> None:
    """Believe exactly ``trusted_proxies`` proxy hops; pin the public host to ``base_url``."""
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    if settings.base_url:
        parts = urlsplit(settings.base_url)
        # url_for(..., _external=True) builds from these, never from the request's Host …
        app.config.update(SERVER_NAME=parts.netloc, PREFERRED_URL_SCHEME=parts.scheme)
        public_host = parts.hostname
        app.extensions[PUBLIC_HOST] = public_host  # portal.refusals counts no other host's

        @app.before_request
        def refuse_other_hosts() -> None:
            # … and a request for another host gets the 400 page.  (Werkzeug's TRUSTED_HOSTS
            # refuses before a request context exists, so the error page itself would fail.)
            if urlsplit("//" + request.host).hostname != public_host:
                abort(400)


def _close_sessions_safely(app: Flask) -> None:
    """End each request's database session without letting a dead connection lose the answer.

    Flask-SQLAlchemy's own teardown rolls back on the connection; if the database dropped it
    meanwhile (a restart), that raises after the page was made, and gunicorn answers a bare
    500 instead (bench/faults.py).  This runs first (teardowns run in reverse order), so the
    pool invalidates the connection and the page goes out."""
    from sqlalchemy.exc import SQLAlchemyError

    from portal.extensions import db

    @app.teardown_appcontext
    def remove_session(exc: BaseException | None) -> None:
        try:
            db.session.remove()
        except SQLAlchemyError as error:
            db.session.registry.clear()
            app.logger.warning("database session closed on a dead connection: %s",
                               type(getattr(error, "orig", error)).__name__)


def _init_extensions(app: Flask, settings: Settings) -> None:
    from portal.crypto import EXTENSION_KEY, Keyring
    from portal.domain.workdays import WorkingCalendar
    from portal.extensions import csrf, db, limiter, login_manager
    from search_index.backend import open_backend

    db.init_app(app)
    _close_sessions_safely(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    app.extensions[EXTENSION_KEY] = Keyring.from_setting(settings.data_key)
    app.extensions["working_calendar"] = WorkingCalendar.from_file(settings.workday_calendar_file)
    from portal.receipts import AnswerSlots

    # One per process: created before gunicorn forks, each worker has its own copy, unheld.
    app.extensions["receipt_slots"] = AnswerSlots(settings.receipt_slots)
    # Staff sign-in: one password hash at a time per process (portal.staff.views.auth).
    app.extensions["password_slots"] = AnswerSlots(1)
    app.extensions["search_index"] = open_backend(
        settings.search_backend, directory=settings.index_dir, database_url=settings.database_url
    )

    from portal import page_cache, search_sync

    search_sync.register(app)
    page_cache.register(app)


def _register_blueprints(app: Flask) -> None:
    from portal.disclosures import bp as disclosures_bp
    from portal.staff import bp as staff_bp
    from portal.statistics import bp as statistics_bp

    app.register_blueprint(disclosures_bp)
    app.register_blueprint(staff_bp)
    from portal.credit import bp as credit_bp

    app.register_blueprint(credit_bp)
    from portal.credit.repair import bp as repair_bp

    app.register_blueprint(repair_bp)
    from portal.credit.objection import bp as objection_bp

    app.register_blueprint(objection_bp)
    from portal.reports import bp as reports_bp

    app.register_blueprint(reports_bp)
    app.register_blueprint(statistics_bp)


# What a 503 for an unreachable database asks clients to wait (a PostgreSQL restart takes a few
# seconds).
DATABASE_RETRY_AFTER_SECONDS = 10


def _register_error_pages(app: Flask) -> None:
    from portal.refusals import ErrorPages

    pages = ErrorPages()  # each page rendered once (a flood of refusals renders nothing)

    def page(code: int, title: Any, message: Any):
        def handler(error: Exception):
            # Keep what the exception says besides its body: Allow on a 405 (RFC 9110),
            # Retry-After on a 429.
            headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"] \
                if isinstance(error, HTTPException) else []
            if request.path.startswith("/api/"):  # an API answers in JSON, errors included
                return jsonify(error=f"{title}：{message}"), code, headers  # Chinese: no prefix
            return pages.render(code, title, message), code, headers

        return handler

    from flask_wtf.csrf import CSRFError

    from portal.translation import lazy_gettext as _l

    app.register_error_handler(400, page(400, _l("请求有误"), _l("请求无法处理，请检查输入后重试。")))
    app.register_error_handler(403, page(403, _l("无权访问"), _l("您没有访问此页面的权限。")))
    app.register_error_handler(404, page(404, _l("页面不存在"), _l("您访问的页面不存在或地址有误。")))
    app.register_error_handler(405, page(405, _l("请求方式不支持"), _l("此页面不支持该请求方式。")))
    app.register_error_handler(413, page(413, _l("内容过大"), _l("提交的内容超过大小限制。")))
    app.register_error_handler(429, page(429, _l("请求过于频繁"), _l("请稍后再试。")))
    # The 500 page reveals nothing about the error.
    app.register_error_handler(500, page(500, _l("服务器错误"), _l("服务暂时出现问题，请稍后再试。")))
    # A form sent after its page's session ended (or without its token): said plainly, in the
    # reader's language; nothing was done.  (The back office has its own, portal.staff.)
    app.register_error_handler(CSRFError, page(400, _l("页面已过期"), _l(
        "这个表单已经过期，您提交的内容没有保存。请返回上一页，刷新页面后重新填写提交。")))

    # The database unreachable or refusing (restarting, failing over, locked): a passing fault,
    # so 503 with Retry-After, and the visitor is told that what they sent was not done
    # (bench/faults.py restarts PostgreSQL mid-burst).  Logged by the driver's message only:
    # the statement's parameters could hold what a visitor typed.
    from sqlalchemy.exc import OperationalError

    unavailable = page(503, _l("服务暂时不可用"),
                       _l("数据库暂时无法访问，请稍后再试；刚才提交的内容没有保存，需要重新提交。"))

    def database_unavailable(error: OperationalError):
        app.logger.error("database unavailable: %s: %s", type(error.orig).__name__, error.orig)
        body, code, _ = unavailable(error)
        return body, code, {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}

    app.register_error_handler(OperationalError, database_unavailable)


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        wanted = (*SECURITY_HEADERS, HSTS) if app.config["SESSION_COOKIE_SECURE"] \
            else SECURITY_HEADERS
        # Each header unless the view set its own.  One pass over the response's headers,
        # where a setdefault per header searched them once each (a cached page is cheap
        # enough that this showed: bench/pages.py).
        present = {key.lower() for key in response.headers.keys()}
        response.headers.extend([(key, value) for key, value in wanted
                                 if key.lower() not in present])
        return response
