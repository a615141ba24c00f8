"""Keeps the search index in step with the database: after each commit, and on ``reindex``.

The index is derived data: ``reindex_all`` rebuilds it from the database at any time.

After each commit that touched a disclosure (created, edited, published, withdrawn, unpublished,
deleted) the index gets one update with the items' current state, written by one writer:

* ``after_flush`` collects the keys of the disclosures each flush wrote or deleted;
* ``before_commit`` flushes what is left and reads each collected item's state at that moment
  (a published item becomes its ``Document``; a draft or a deleted item a removal), so changes
  undone by a rolled-back savepoint are not indexed;
* ``after_commit`` applies them to the index (the database commit has happened: an index
  failure is logged, never raised; ``reindex`` repairs it);
* a rollback of the whole transaction drops them.

Inside ``suspended()`` (bulk loads) nothing is applied; call ``reindex_all`` afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from portal import fieldspec
from portal.extensions import db
from portal.models import (
    DISCLOSURE_MODELS,
    DisclosureMixin,
)
from search_index import Document, IndexBusy, SearchUnavailable
from search_index.backend import SearchBackend

_KEYS = "search_sync_keys"  # session.info: {(kind, id)} touched since the transaction began
_CHANGES = "search_sync_changes"  # session.info: (documents, deleted keys) ready for the index
SUSPENDED = "search_sync_suspended"  # app.extensions flag


def search_index() -> SearchBackend:
    """The app's search backend (Whoosh or PostgreSQL: ``PORTAL_SEARCH_BACKEND``)."""
    return current_app.extensions["search_index"]


# Searchable fields the index also keeps apart (filters); they go at the end of the text.
_FACETS = ("county", "sector", "department")


def _body(item: DisclosureMixin) -> list[str]:
    """The item's searchable fields, as the field spec lists them (the title comes first)."""
    if item.KIND not in fieldspec.SPECS:
        raise TypeError(f"not a disclosure: {item!r}")
    return [fieldspec.search_text(item, f) for f in fieldspec.SPECS[item.KIND].searchable
            if f.name not in _FACETS]


def document_for(item: DisclosureMixin) -> Document:
    """The index's view of a published item (drafts are never indexed)."""
    county = getattr(item, "county", "")
    sector = getattr(item, "sector", "")
    department = item.department.name if item.department else ""
    parts = [item.title, *_body(item), county, sector, department]
    return Document(
        kind=item.KIND,
        id=item.id,
        title=item.title,
        text="\n".join(p for p in parts if p),
        date=item.event_date,
        county=county,
        sector=sector,
        department=department,
        withdrawn=item.is_withdrawn,
        published_at=item.published_at,
    )


def published_documents(batch_size: int = 2000) -> Iterator[Document]:
    """Every published item of every kind, read in batches.

    Reads through a session of its own, so the caller's session and objects are untouched.
    """
    with Session(db.engine) as session:
        for model in DISCLOSURE_MODELS.values():
            last_id = 0
            while True:
                # Keyset batches: expunging between batches keeps memory flat, which would
                # break a single streamed result (its identity map would be gone).
                batch = session.scalars(
                    select(model)
                    .where(model.published_at.is_not(None), model.id > last_id)
                    .order_by(model.id)
                    .limit(batch_size)
                ).all()
                if not batch:
                    break
                for item in batch:
                    yield document_for(item)
                last_id = batch[-1].id
                session.expunge_all()


def reindex_all() -> int:
    """Rebuild the whole index from the database; returns the number of documents.

    Readers keep seeing the previous index until the new one is swapped in; publications made
    meanwhile are indexed at once and carried into the new index (``SearchIndex.rebuild``).
    """
    return search_index().rebuild(published_documents())


# Pages a worker renders once before its first visitor: their templates compile and whatever they
# cache is filled (issue 9 §4).  The search index is warmed directly, not through the rate limit.
WARM_PATHS = ("/", "/decisions", "/powers", "/accidents", "/blacklist")


def warm_up(app: Flask) -> str:
    """Open the search index, fill what searches cache and render the main pages once, so that
    no visitor pays for it; called in each gunicorn worker before it takes traffic.  Returns a
    line for the log.  Never raises: a worker that cannot warm up still serves."""
    started = time.perf_counter()
    with app.app_context():
        try:
            generation = search_index().warm()
            searched = f"search index generation {generation}"
        except (SearchUnavailable, IndexBusy, OSError) as exc:
            searched = f"search index not warmed ({exc})"
    settings = app.config["SETTINGS"]
    client = app.test_client()
    for path in WARM_PATHS:
        try:
            client.get(path, base_url=settings.base_url or "http://localhost")
        except Exception:  # a page that fails now fails for the visitor too, and is logged then
            app.logger.exception("warm-up request %s failed", path)
    elapsed = (time.perf_counter() - started) * 1000
    return f"warm: {searched}, {len(WARM_PATHS)} pages rendered in {elapsed:.0f} ms"


def render_before_fork(app: Flask) -> str:
    """In gunicorn's master, before the workers are forked: render the main pages once, for
    every worker to start with what that leaves behind (the mappers configured, the templates
    compiled, the statements compiled, the pages kept for this data generation); then close
    every connection it opened, so that no worker inherits one.

    A worker is recycled every ``max_requests`` (gunicorn.conf.py), and each new one did all of
    that again in its warm-up (``warm_up``): about 0.7 s of CPU per 5,000 requests, more than a
    tenth of what a public page costs the server (bench/pages.py, issue 18 §1).  Returns a line
    for the log; never raises."""
    from sqlalchemy.orm import configure_mappers

    from portal.extensions import db

    started = time.perf_counter()
    settings = app.config["SETTINGS"]
    rendered = 0
    try:
        configure_mappers()
        client = app.test_client(use_cookies=False)
        for path in WARM_PATHS:
            if client.get(path, base_url=settings.base_url or "http://localhost"
                          ).status_code == 200:
                rendered += 1
    except Exception as exc:  # noqa: BLE001 - each worker renders what it needs itself
        return f"pages not rendered before the fork ({type(exc).__name__}: {exc})"
    finally:
        # Nothing that ran here may leave a connection for the workers to share (an SQLite
        # file's or a PostgreSQL socket, read and written by two processes at once).
        app.extensions["page_cache"].reader.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["search_index"].close()
    elapsed = (time.perf_counter() - started) * 1000
    return f"{rendered} pages rendered before the fork in {elapsed:.0f} ms"


def prefill_before_fork(app: Flask) -> str:
    """In gunicorn's master, before the workers are forked: decode the broadest posting lists
    once, for every worker to share (the Whoosh backend; PostgreSQL keeps its own).  The master
    then closes the index files, which each worker opens for itself.  Returns a line for the
    log; never raises."""
    index = app.extensions["search_index"]
    prefill = getattr(index, "prefill", None)
    if prefill is None:
        return "search prefill: not needed by this backend"
    started = time.perf_counter()
    try:
        held = prefill()
    except (SearchUnavailable, IndexBusy, OSError) as exc:
        return f"search prefill skipped ({exc})"
    finally:
        index.close()
    elapsed = (time.perf_counter() - started) * 1000
    return f"search prefill: {held / 2**20:.0f} MB of posting lists in {elapsed:.0f} ms"


def searcher_opens(app: Flask) -> int:
    """How many times this process has opened the search index (1 after a warm start)."""
    return app.extensions["search_index"].opened


@contextmanager
def suspended() -> Iterator[None]:
    """Skip the after-commit updates inside (bulk loads); call ``reindex_all`` afterwards."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.extensions[SUSPENDED] = True
    try:
        yield
    finally:
        app.extensions[SUSPENDED] = False


# -- session events ---------------------------------------------------------------------------


def _after_flush(session: Session, flush_context: Any) -> None:
    keys: set[tuple[str, int]] = session.info.setdefault(_KEYS, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        # The primary key is set once the INSERT ran (the identity map is updated only later).
        if isinstance(obj, DisclosureMixin) and obj.id is not None:
            keys.add((obj.KIND, obj.id))


def _before_commit(session: Session) -> None:
    # Savepoints fire the commit events too: only the outermost commit reaches the index.
    if session.in_nested_transaction() or _is_suspended():
        return
    session.flush()  # the commit would flush next: flush now so that its keys are collected
    keys: set[tuple[str, int]] = session.info.pop(_KEYS, set())
    if not keys:
        return
    documents: list[Document] = []
    deleted: list[str] = []
    for kind, item_id in sorted(keys):
        item = session.get(DISCLOSURE_MODELS[kind], item_id)
        if item is not None and item.published_at is not None:
            documents.append(document_for(item))
        else:  # deleted, or (back to) a draft: drafts are never in the index
            deleted.append(f"{kind}:{item_id}")
    session.info[_CHANGES] = (documents, deleted)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_KEYS, None)
    changes = session.info.pop(_CHANGES, None)
    if changes is None or not has_app_context() or _is_suspended():
        return
    documents, deleted = changes
    try:
        search_index().update(documents, deleted)
    except Exception:  # the commit stands; the index is repaired by `reindex`
        current_app.logger.exception(
            "search index update failed for %d item(s); run `flask --app portal reindex`",
            len(documents) + len(deleted),
        )


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back savepoint keeps the keys: before_commit reads the items' state again.
    if not previous_transaction.nested:
        session.info.pop(_KEYS, None)
        session.info.pop(_CHANGES, None)


def _is_suspended() -> bool:
    return has_app_context() and bool(current_app.extensions.get(SUSPENDED))


_EVENTS = (
    ("after_flush", _after_flush),
    ("before_commit", _before_commit),
    ("after_commit", _after_commit),
    ("after_soft_rollback", _after_soft_rollback),
)


def register(app: Flask) -> None:
    """Hook the index updates to the sessions of ``db`` (once per process; apps share ``db``)."""
    app.extensions.setdefault(SUSPENDED, False)
    for name, listener in _EVENTS:
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
