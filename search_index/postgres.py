# SQL is assembled from constants and numbered placeholders only; every value is a bound
# parameter (terms, filters, tsquery text), so S608 does not apply here.
# ruff: noqa: S608
"""The search index as a table of the application's PostgreSQL database (issue 9 §5).

One row per published item: its normalised text (``body``), the original text for snippets, and
a ``tsvector`` of exactly the terms the Whoosh index has (Han bigrams, a lone Han character as
itself, letter/digit words and their trigrams, from ``analyzer``), stored as lexemes with
``array_to_tsvector`` so that PostgreSQL's own parser and locale never change them.  A search
runs the same plan as Whoosh (``planner``): the plan's conditions become one ``tsquery`` that
the GIN index answers (a bigram, a word, a trigram as a lexeme; a run that must start an index
term as a prefix ``'x':*``), and an exact ``strpos`` of every term on ``body`` confirms each
candidate, so the hits are exactly those of the definition (recall and precision 1.0).  Ranking
is BM25 on the exact substring counts plus a title bonus, as in Whoosh.

Nothing is kept on local disk: any number of processes on any number of hosts search the same
table and see a publication as soon as its update commits.

Writes never block readers: an update upserts rows (a removal leaves a tombstone row, so that a
rebuild running meanwhile cannot bring the item back); a rebuild upserts every document in
batches, skipping rows an update wrote after the rebuild began, then deletes every row older
than its start (items no longer published, old tombstones).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from search_index import planner
from search_index.analyzer import han_grams, normalize, word_trigrams, words
from search_index.index import K1, TITLE_BOOST, B, _check_query
from search_index.snippets import highlight, snippet
from search_index.types import (
    KINDS,
    Document,
    Hit,
    IndexBusy,
    SearchQuery,
    SearchResults,
    SearchUnavailable,
)

TABLE = "search_documents"
# The same statements as migration 0007s (run here too, so a database migrated before the
# setting was switched, or the tests' own database, gets the table on first write).
SCHEMA = (
    f"""
    CREATE TABLE IF NOT EXISTS {TABLE} (
        kind text NOT NULL,
        item_id bigint NOT NULL,
        title text NOT NULL,
        original text NOT NULL,
        body text NOT NULL,
        title_chars integer NOT NULL,
        length integer NOT NULL,
        tokens tsvector NOT NULL,
        event_date date,
        county text NOT NULL,
        sector text NOT NULL,
        withdrawn boolean NOT NULL,
        deleted boolean NOT NULL,
        written_at timestamptz NOT NULL,
        PRIMARY KEY (kind, item_id)
    )
    """,
    f"CREATE INDEX IF NOT EXISTS {TABLE}_tokens ON {TABLE} USING gin (tokens)",
    # Uncompressed: every candidate's text is searched (strpos, and a count), and a compressed
    # value would be decompressed for each of them (measured: twice as slow).
    f"ALTER TABLE {TABLE} ALTER COLUMN body SET STORAGE EXTERNAL",
)
# PostgreSQL refuses lexemes of 2 KB or more.  A longer letter/digit run is still found: its
# trigrams are lexemes, and the planner never needs a whole word longer than a query.
MAX_LEXEME_BYTES = 2000
# PostgreSQL text cannot hold U+0000: documents and queries both map it to U+FFFD (one character
# for one, so offsets are kept).
NUL, NUL_STANDIN = "\x00", "\ufffd"
BATCH = 500  # documents per rebuild transaction
STATS_SECONDS = 60.0  # how long a process reuses the average document length (for BM25)
REBUILD_LOCK_KEY = 0x5345_4152_4348  # pg_advisory_lock key: one rebuild at a time
LOCK_POLL = 0.1


def _clean(text: str) -> str:
    # Lone surrogates cannot be encoded; "?" keeps the length (as the Whoosh side file does).
    return text.encode("utf-8", "replace").decode("utf-8").replace(NUL, NUL_STANDIN)


def document_row(document: Document) -> dict[str, Any]:
    """The table row of a document (without the write bookkeeping)."""
    original = _clean(document.text)
    body = normalize(original)
    title = normalize(_clean(document.title))
    tokens = {*han_grams(body), *words(body), *word_trigrams(body)}
    return {
        "kind": document.kind,
        "item_id": document.id,
        "title": _clean(document.title),
        "original": original,
        "body": body,
        "title_chars": len(title) if body.startswith(title) else 0,
        "length": len(body),
        "tokens": sorted(t for t in tokens if len(t.encode("utf-8")) < MAX_LEXEME_BYTES),
        "event_date": document.date,
        "county": document.county,
        "sector": document.sector,
        "withdrawn": document.withdrawn,
    }


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery(plan: planner.Plan) -> str:
    """The plan's conditions as one tsquery (empty: nothing narrows, every row is a candidate).

    Every condition is one every hit necessarily has (``planner``), so AND-ing them loses no hit.
    Index terms whose place in the lexicon is not a prefix (a run that must end or sit inside an
    index term) give no condition here: the other conditions narrow, ``strpos`` decides.
    """
    parts: list[str] = []
    for term in plan.terms:
        parts.extend(_lexeme(g) for g in term.grams)
        parts.extend(_lexeme(t) for t in term.trigrams)
        for pattern in term.patterns:
            if len(pattern.fragment.encode("utf-8")) >= MAX_LEXEME_BYTES:
                continue
            if pattern.mode == "exact":
                parts.append(_lexeme(pattern.fragment))
            elif pattern.mode == "prefix":
                parts.append(_lexeme(pattern.fragment) + ":*")
    return " & ".join(dict.fromkeys(parts))


_UPSERT = f"""
    INSERT INTO {TABLE} AS s (kind, item_id, title, original, body, title_chars, length, tokens,
                              event_date, county, sector, withdrawn, deleted, written_at)
    VALUES (:kind, :item_id, :title, :original, :body, :title_chars, :length,
            array_to_tsvector(CAST(:tokens AS text[])), :event_date, :county, :sector,
            :withdrawn, false, clock_timestamp())
    ON CONFLICT (kind, item_id) DO UPDATE SET
        title = EXCLUDED.title, original = EXCLUDED.original, body = EXCLUDED.body,
        title_chars = EXCLUDED.title_chars, length = EXCLUDED.length, tokens = EXCLUDED.tokens,
        event_date = EXCLUDED.event_date, county = EXCLUDED.county, sector = EXCLUDED.sector,
        withdrawn = EXCLUDED.withdrawn, deleted = false, written_at = EXCLUDED.written_at
"""
_TOMBSTONE = f"""
    INSERT INTO {TABLE} AS s (kind, item_id, title, original, body, title_chars, length, tokens,
                              event_date, county, sector, withdrawn, deleted, written_at)
    VALUES (:kind, :item_id, '', '', '', 0, 0, ''::tsvector, NULL, '', '', false, true,
            clock_timestamp())
    ON CONFLICT (kind, item_id) DO UPDATE SET
        title = '', original = '', body = '', title_chars = 0, length = 0, tokens = ''::tsvector,
        event_date = NULL, county = '', sector = '', withdrawn = false, deleted = true,
        written_at = EXCLUDED.written_at
"""


class PostgresIndex:
    """The search index in the table ``search_documents`` of the database at ``url``."""

    def __init__(self, url: str, *, rebuild_timeout: float = 120.0) -> None:
        self.url = url
        self.rebuild_timeout = rebuild_timeout
        self.opened = 0
        self._engine: sa.Engine | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._schema_ready = False
        self._stats: tuple[float, float] | None = None  # (when, average length)

    # -- connections --------------------------------------------------------------------------

    def _connect(self) -> sa.Engine:
        with self._lock:
            pid = os.getpid()
            if self._engine is not None and self._pid != pid:
                # A forked worker must not use the connections of its parent.
                self._engine.dispose(close=False)
                self._engine = None
            if self._engine is None:
                self._engine = sa.create_engine(self.url, pool_pre_ping=True)
                self._pid = pid
                self.opened += 1
            return self._engine

    def close(self) -> None:
        """Close this process's connections (the next call opens new ones)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = None
            self._stats = None

    def _ensure_schema(self, conn: sa.Connection) -> None:
        if not self._schema_ready:
            for statement in SCHEMA:
                conn.execute(sa.text(statement))
            self._schema_ready = True

    def _table_exists(self, conn: sa.Connection) -> bool:
        if not self._schema_ready:
            self._schema_ready = conn.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None
        return self._schema_ready

    # -- writing ------------------------------------------------------------------------------

    def update(self, documents: Iterable[Document], deleted: Iterable[str] = ()) -> None:
        """Add or replace ``documents`` and remove the keys in ``deleted``, in one transaction."""
        latest = {d.key: d for d in documents}
        gone = [key for key in dict.fromkeys(deleted) if key not in latest]
        if not latest and not gone:
            return
        try:
            with self._connect().begin() as conn:
                self._ensure_schema(conn)
                if gone:
                    conn.execute(sa.text(_TOMBSTONE), [_key(k) for k in gone])
                if latest:
                    conn.execute(sa.text(_UPSERT), [document_row(d) for d in latest.values()])
        except DBAPIError as exc:
            raise SearchUnavailable(str(exc.orig)) from exc

    def rebuild(self, documents: Iterable[Document]) -> int:
        """Replace the table's contents with ``documents``; returns how many.

        Never blocks searches or updates: rows are upserted in batches, each its own
        transaction, except those an update wrote after the rebuild began (they are at least
        as new); then every row older than the rebuild's start goes.
        """
        engine = self._connect()
        with engine.connect() as lock_conn:
            self._take_rebuild_lock(lock_conn)
            try:
                with engine.begin() as conn:
                    self._ensure_schema(conn)
                    started = conn.scalar(sa.text("SELECT clock_timestamp()"))
                upsert = sa.text(_UPSERT + " WHERE s.written_at < :started")
                seen: set[str] = set()
                batch: list[dict[str, Any]] = []
                for document in documents:
                    if document.key in seen:
                        continue
                    seen.add(document.key)
                    batch.append(document_row(document) | {"started": started})
                    if len(batch) >= BATCH:
                        with engine.begin() as conn:
                            conn.execute(upsert, batch)
                        batch = []
                with engine.begin() as conn:
                    if batch:
                        conn.execute(upsert, batch)
                    conn.execute(sa.text(f"DELETE FROM {TABLE} WHERE written_at < :started"),
                                 {"started": started})
            finally:
                lock_conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"),
                                  {"key": REBUILD_LOCK_KEY})
                lock_conn.commit()
        # A rebuild rewrites every row: reclaim the old versions and refresh the planner's
        # statistics now rather than whenever autovacuum comes by.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f"VACUUM (ANALYZE) {TABLE}"))
        self._stats = None
        return len(seen)

    def _take_rebuild_lock(self, conn: sa.Connection) -> None:
        deadline = time.monotonic() + self.rebuild_timeout
        while not conn.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"),
                              {"key": REBUILD_LOCK_KEY}):
            if time.monotonic() >= deadline:
                raise IndexBusy("another process is rebuilding the search index")
            time.sleep(LOCK_POLL)
        conn.commit()  # the session lock outlives the transaction

    # -- searching ----------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResults:
        """Find the documents containing every term of ``query.q``; raises ``QueryInvalid``."""
        _check_query(query)
        plan = _plan(query.q)
        offset = (query.page - 1) * query.per_page
        empty = SearchResults(total=0, page=query.page, per_page=query.per_page)
        with self._reading() as conn:
            if conn is None:
                return empty
            sql, params = self._statement(conn, plan, query)
            page_sql = f"""
                SELECT h.kind, h.item_id, h.total, h.score, h.event_date, d.title, d.original,
                       d.body, d.title_chars, d.withdrawn
                FROM ({sql} LIMIT :limit OFFSET :offset) h
                JOIN {TABLE} d ON d.kind = h.kind AND d.item_id = h.item_id
                ORDER BY h.n
            """
            rows = conn.execute(sa.text(page_sql),
                                params | {"limit": query.per_page, "offset": offset}).all()
            if rows:
                total = rows[0].total
            elif offset:  # beyond the last page: the count still says how many there are
                total = conn.scalar(sa.text(f"SELECT count(*) FROM ({sql}) c"), params) or 0
            else:
                total = 0
        terms = planner.highlight_terms(query.q.replace(NUL, NUL_STANDIN))
        hits = [
            Hit(kind=row.kind, id=row.item_id, title=row.title, date=row.event_date,
                snippet_html=snippet(row.original, row.body, terms, row.title_chars),
                title_html=highlight(row.title, normalize(row.title), terms),
                withdrawn=row.withdrawn, score=float(row.score))
            for row in rows
        ]
        return SearchResults(total=total, hits=hits, page=query.page, per_page=query.per_page)

    def matching(self, query: SearchQuery) -> list[tuple[str, int]]:
        """(kind, id) of every hit of ``query`` in rank order (``page``/``per_page`` ignored)."""
        _check_query(query)
        plan = _plan(query.q)
        with self._reading() as conn:
            if conn is None:
                return []
            sql, params = self._statement(conn, plan, query)
            return [(row.kind, row.item_id) for row in conn.execute(sa.text(sql), params)]

    def _reading(self) -> Any:
        return _Reading(self)

    def _avgdl(self, conn: sa.Connection) -> float:
        now = time.monotonic()
        if self._stats is None or now - self._stats[0] > STATS_SECONDS:
            average = conn.scalar(sa.text(f"SELECT avg(length) FROM {TABLE} WHERE NOT deleted"))
            self._stats = (now, max(1.0, float(average or 1.0)))
        return self._stats[1]

    def _statement(self, conn: sa.Connection, plan: planner.Plan,
                   query: SearchQuery) -> tuple[str, dict[str, Any]]:
        """Every hit ranked, as SQL: (kind, item_id, event_date, score, total, n) in order."""
        params: dict[str, Any] = {
            "norm": K1 * (1.0 - B),
            "slope": K1 * B / self._avgdl(conn),
            "bonus": TITLE_BOOST,
        }
        where = ["NOT d.deleted"]
        narrowing = tsquery(plan)
        if narrowing:
            where.append("d.tokens @@ CAST(:tsq AS tsquery)")
            params["tsq"] = narrowing
            # The planner does not know that testing a row's tsvector means reading (and
            # decompressing) it: for a term in a quarter of the rows it chose a sequential scan
            # that tests them all, 2.5 times slower than the GIN index (measured at 20,000
            # items).  For this read's transaction only.
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        if query.kinds:
            where.append("d.kind = ANY(:kinds)")
            params["kinds"] = list(query.kinds)
        if query.county:
            where.append("d.county = :county")
            params["county"] = query.county
        if query.sector:
            where.append("d.sector = :sector")
            params["sector"] = query.sector
        if query.year:
            where.append("d.event_date BETWEEN :first_day AND :last_day")
            params["first_day"] = date(query.year, 1, 1)
            params["last_day"] = date(query.year, 12, 31)
        positions: list[str] = []
        counts: list[str] = []
        scores: list[str] = []
        for i, term in enumerate(plan.terms):
            params[f"t{i}"] = term.text
            params[f"n{i}"] = len(term.text)
            params[f"b{i}"] = len(term.text.encode("utf-8"))
            if term.is_bigram:
                # One Han bigram: its lexeme matched (the tsquery) exactly when the text contains
                # it, so there is nothing to confirm; only whether the title has it.
                positions.append(f"strpos(left(d.body, d.title_chars), :t{i}) AS p{i}")
                in_title = f"x.p{i} > 0"
            else:
                positions.append(f"strpos(d.body, :t{i}) AS p{i}")
                where.append(f"x.p{i} > 0")
                in_title = f"x.p{i} - 1 + :n{i} <= d.title_chars"
            # The exact count of the term (as str.count: without overlaps), in bytes.
            counts.append(f"(octet_length(d.body) - octet_length(replace(d.body, :t{i}, '')))"
                          f"::float8 / :b{i} AS tf{i}")
            # BM25 on the exact count, and the bonus when the first match lies in the title.
            # The idf factor is left out: every term of a hit is in every hit, so it would
            # scale all scores alike.
            scores.append(f"{K1 + 1.0} * y.tf{i} / (y.tf{i} + :norm + :slope * d.length) + "
                          f"CASE WHEN {in_title} THEN :bonus ELSE 0 END")
        if query.sort == "date":
            order = "event_date DESC NULLS LAST, score DESC, kind, item_id"
        else:
            order = "score DESC, event_date DESC NULLS LAST, kind, item_id"
        # The LATERAL subqueries (kept apart by OFFSET 0) evaluate each strpos and each count
        # once per row, and the counts only for rows that contain every term.
        sql = f"""
            SELECT kind, item_id, event_date, score, count(*) OVER () AS total,
                   row_number() OVER (ORDER BY {order}) AS n
            FROM (
                SELECT d.kind, d.item_id, d.event_date, {" + ".join(scores)} AS score
                FROM {TABLE} d
                CROSS JOIN LATERAL (SELECT {", ".join(positions)} OFFSET 0) x
                CROSS JOIN LATERAL (SELECT {", ".join(counts)} OFFSET 0) y
                WHERE {" AND ".join(where)}
            ) scored
            ORDER BY {order}
        """
        return sql, params

    # -- the rest of the protocol -------------------------------------------------------------

    def generation(self) -> int:
        """Microseconds since the epoch of the latest write (-1: no index yet)."""
        with self._reading() as conn:
            if conn is None:
                return -1
            value = conn.scalar(sa.text(
                f"SELECT floor(extract(epoch FROM max(written_at)) * 1000000)::bigint FROM {TABLE}"))
            return -1 if value is None else int(value)

    def warm(self, queries: Iterable[str] = ("矿山", "矿", "12号", "ma")) -> int:
        """Open the connection pool and read the table's statistics; returns ``generation()``."""
        for q in queries:
            self.search(SearchQuery(q=q))
        return self.generation()


class _Reading:
    """A connection for reading (None when the table does not exist yet); database errors
    become ``SearchUnavailable``."""

    def __init__(self, index: PostgresIndex) -> None:
        self.index = index
        self.conn: sa.Connection | None = None

    def __enter__(self) -> sa.Connection | None:
        try:
            self.conn = self.index._connect().connect()
            if not self.index._table_exists(self.conn):
                return None
        except DBAPIError as exc:
            self._close()
            raise SearchUnavailable(str(exc.orig)) from exc
        return self.conn

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        self._close()
        if isinstance(exc, DBAPIError):
            raise SearchUnavailable(str(exc.orig)) from exc
        return False

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _plan(q: str) -> planner.Plan:
    return planner.plan(q.replace(NUL, NUL_STANDIN))


def _key(key: str) -> dict[str, Any]:
    kind, _, item_id = key.partition(":")
    if kind not in KINDS or not item_id.isdigit():
        raise ValueError(f"not a document key: {key!r}")
    return {"kind": kind, "item_id": int(item_id)}


