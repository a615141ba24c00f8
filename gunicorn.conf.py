"""gunicorn settings for production: ``gunicorn wsgi:app`` picks this file up by itself.

Workers from the CPU count; the app is loaded once before forking (``preload_app``), so a wrong
setting stops the master at start and every worker shares the loaded code; the access log keeps
no client address and no user agent, and leaves the anonymous report pages out altogether (their
timing alone, beside a proxy's log, could point at a reporter: DESIGN.md §3).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys

from gunicorn.glogging import Logger

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Threads per worker.  At most half of them may be padding an answer to a receipt code (0.5 s
# each, portal.receipts.AnswerSlots), and one more waiting in line for a slot: the app reads
# that bound from PORTAL_RECEIPT_SLOTS, set here from the thread count unless given, so a flood
# of codes leaves the rest to serve every other page.
threads = max(2, int(os.environ.get("PORTAL_THREADS", "4")))
os.environ.setdefault("PORTAL_RECEIPT_SLOTS", str(threads // 2))
# How long a worker thread may hold the GIL while another waits for it (Python's default 5 ms).
# A worker's threads share one interpreter: while one runs Python for a costly answer (a form
# parsed, a page rendered), a cheap page that is ready to go waits up to the interval, each time
# it needs the GIL back.  A shorter interval keeps the quick pages quick while a client floods a
# worker with costly requests (bench/abuse.py, issue 13 §2), at the price of more switching.
GIL_SWITCH_INTERVAL = 0.001
preload_app = True


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (``M_ARENA_MAX``) for this process and the workers it forks.

    glibc gives each thread that meets contention an arena of its own (up to 8 per core), and
    memory freed in one arena is not reused by another: after a worker's threads have each
    parsed a large upload and decoded photos, the worker kept ~450 MB where a few arenas hold
    the same work in much less (bench/abuse.py, issue 13 §2).  Same as MALLOC_ARENA_MAX=2 in
    the environment, which is read too early to set from here.  ``False`` off glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-8, arenas))  # -8: M_ARENA_MAX (malloc.h)
    except (OSError, AttributeError):
        return False


# Before gunicorn forks (and before any worker thread exists), so every worker inherits it.
limit_malloc_arenas()
timeout = 60
graceful_timeout = 30
# Recycle workers now and then, staggered, so slow leaks never pile up.
max_requests = 5000
max_requests_jitter = 500
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("PORTAL_ACCESS_LOG", "-")
errorlog = "-"
# %(t)s time, %(r)s request line, %(s)s status, %(b)s bytes, %(M)s duration in ms:
# no %(h)s (address), no %(a)s (user agent), no %(f)s (referrer).
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(M)sms'

# The report pages, and the files every page fetches (stylesheets, the icon): a line for those
# right after a report page would date the visit all the same (portal/static_files.py).
# The report pages in every language count (/lo/report …: portal.i18n), whether the path is read
# before or after the language middleware moved the prefix.
PRIVATE_PATH_PREFIXES = ("/report", "/en/report", "/lo/report", "/my/report", "/static/",
                         "/favicon.ico")


class PrivateRouteLogger(Logger):
    """gunicorn's logger, minus the access-log lines of the anonymous report pages and of
    static files and the icon."""

    def access(self, resp, req, environ, request_time):  # noqa: ANN001 - gunicorn's signature
        if environ.get("PATH_INFO", "").startswith(PRIVATE_PATH_PREFIXES):
            return
        super().access(resp, req, environ, request_time)


logger_class = PrivateRouteLogger


def when_ready(server) -> None:  # noqa: ANN001 - gunicorn's signature
    """In the master, once the app is loaded and before any worker is forked: decode the
    broadest posting lists of the search index, which the workers then share (issue 9 §4), and
    render the main pages once, so that each recycled worker starts warm (issue 18 §1)."""
    from portal.search_sync import prefill_before_fork, render_before_fork

    if not server.cfg.preload_app:
        return  # the app is loaded in each worker instead
    app = server.app.wsgi()
    if "search_index" in getattr(app, "extensions", {}):
        server.log.info(prefill_before_fork(app))
        server.log.info(render_before_fork(app))


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's signature
    """Before a worker takes its first request: open the search index, fill what it caches and
    render the main pages once (issue 9 §4), so no visitor pays ~1 s for it.

    With ``preload_app`` the app was built in the master, but files must be opened per process
    (a forked child must not share file positions), so it is done here, in each worker."""
    from portal.search_sync import warm_up

    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    if "search_index" not in getattr(worker.wsgi, "extensions", {}):
        return  # not the portal (bench/bare_app.py is served with these settings too)
    worker.log.info("worker %s %s", worker.pid, warm_up(worker.wsgi))
    worker.log.info("worker %s %s", worker.pid, freeze_what_lives())


def pre_fork(server, worker) -> None:  # noqa: ANN001 - gunicorn's signature
    """In the master, before each worker is forked: what the master built (the app, the
    rendered pages, the decoded postings) lives as long as the workers; see
    ``freeze_what_lives``."""
    gc.freeze()


def freeze_what_lives() -> str:
    """Leave the objects alive now out of every later garbage collection (``gc.freeze``): the
    app, its caches and what the warm-up built, which live as long as the process.

    A full collection walked them all, ~150,000 objects: 110-126 ms (in one process with the
    demo's app warmed, load ~3) during which the worker answered nothing, at a moment no one
    chooses (every request allocates).  Frozen, it walks only what requests left behind (0.7 ms
    after 400 requests).  Frozen in the master before the fork, they are also not written to by
    the collector, so the workers keep sharing their pages.  What is frozen is still freed when
    nothing refers to it; only a cycle among such objects dropped later (a searcher replaced by
    a rebuild) waits for the worker's recycling (``max_requests``).  Returns a line for the
    log."""
    gc.collect()
    gc.freeze()
    return f"froze {gc.get_freeze_count()} long-lived objects"


def post_request(worker, req, environ, resp) -> None:  # noqa: ANN001 - gunicorn's signature
    """A request refused in front of the app (``portal.refusals``: a client over its rate limit)
    does not bring the worker's recycling (``max_requests``) nearer: it leaves nothing behind
    that could leak, and a client sending a thousand a second would otherwise have each worker
    restarted every few seconds, each new worker warming up for about a second of CPU
    (bench/abuse.py, issue 13 §2)."""
    if environ.get("portal.refused_early"):
        worker.nr -= 1


def worker_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's signature
    """Log how often the worker opened the search index: once, at warm-up, unless a rebuild
    swapped generations meanwhile."""
    from portal.search_sync import searcher_opens

    if getattr(worker.wsgi, "extensions", None) is not None:  # the app loaded
        server.log.info("worker %s opened the search index %d time(s)", worker.pid,
                        searcher_opens(worker.wsgi))
