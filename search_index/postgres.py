# SQL is assembled from constants and numbered placeholders only; every value is a bound
# parameter (terms, filters, tsquery text), so S608 does not apply here.
# ruff: noqa: S608
"""The search index as a table of the application's PostgreSQL database (issues 9 §5, 18 §1).

One row per published item: its normalised text (``body``) and title (``heading``), the original
text for snippets, and a ``tsvector`` of exactly the terms the Whoosh index has (Han bigrams, a
lone Han character as itself, letter/digit words and their trigrams, from ``analyzer``) with
their positions, written as tsvector input so that PostgreSQL's own parser and locale never
change them (``positional_tokens``).  Under a RUM index (extension ``rum``) the positions live in
the index: a term that is one Han run or one letter/digit run becomes a phrase over its
consecutive bigrams or trigrams that the index decides by itself; a term of several runs (a
文号, ``2024年``) is narrowed by its conditions (``planner``) and by its runs' terms at their
fixed distances (``chain``), and confirmed by an exact ``strpos`` (on the title kept in the row
when it begins the text, else on ``body``), so the hits are exactly those of the definition
(recall and precision 1.0).  RUM reads the whole posting list of every operand: an operand far
more common than the rarest is left to the text (``_rarest``, from PostgreSQL's statistics).
Without the extension a GIN index answers the same tsquery, checking the phrases on the rows
(correct, slower).  Ranking: the hits whose title has every term (found through the titles'
own index, ``title_terms``), then the rest, newest first in each; a dense query's page comes
from a bounded walk of the newest rows, not from ranking every hit (``PostgresIndex._newest``);
a page sorted from its candidates finds them by their lexemes alone in the GIN index on
``strip(tokens)`` and decides the phrases on the texts it confirms (``PostgresIndex._lexical``).

Exact counts are kept per generation of the index (``search_state``, raised by a trigger in the
transaction of any change; ``search_counts``): a query asked again is not counted again until
the index changes.  A query first asked is counted, where no phrase must be decided by
positions, through a plain GIN index on ``strip(tokens)`` beside RUM, which reads a posting
list several times faster than RUM and which only SQL written for it can use (the count's,
``PostgresIndex._counting``, and a sorted page's, ``PostgresIndex._lexical``).  A query of one term that one lexeme decides (矿山, ``abc``),
without filters, is not counted at all: triggers on the table keep, for every lexeme, how many
rows have it (``search_lexeme_counts``), exact in the transaction of any change, so its count
is one row's read (``PostgresIndex._lexeme_total``); so is that of one term of 3 to 8
characters found in many rows (安全生产, 2024年, a code prefix: ``search_gram_counts``,
``PostgresIndex._gram_total``).  Writers of the table take turns (``WRITERS_TRIGGER``).  Counting through an index alone is not
possible otherwise: PostgreSQL 15.20 visits the heap page of every hit of a bitmap scan even
when the page is all-visible and no column is needed.  Reads run with JIT off (it compiled
each broad query for ~700 ms).

Nothing is kept on local disk: any number of processes on any number of hosts search the same
table and see a publication as soon as its update commits.

Writes never block readers for long: an update upserts rows (a removal leaves a tombstone row);
a rebuild fills a new table, builds its indexes in one pass, then swaps it in with the rows that
updates wrote meanwhile (``rebuild``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from search_index import planner
from search_index.analyzer import TOKEN_RUN, normalize
from search_index.index import _check_query
from search_index.snippets import highlight, snippet
from search_index.strings import (
    LONGEST,
    SHARE,
    SHORTEST,
    StringCounter,
    TextSample,
    frequent_grams,
)
from search_index.types import (
    KINDS,
    Document,
    Hit,
    IndexBusy,
    SearchQuery,
    SearchResults,
    SearchUnavailable,
)

log = logging.getLogger(__name__)

TABLE = "search_documents"
# Rows of ~200 bytes: the texts and terms out of line (TOAST), so that counting 100,000 hits
# visits 10 times fewer heap pages (measured: a broad phrase counted in a third of the time).
NARROW_ROWS = ("SET (toast_tuple_target = 128)",)
# The same statements as migrations 0009 and 0014p (run here too, so a database migrated before
# the setting was switched, or the tests' own database, gets the table on first write).
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
        positional boolean NOT NULL DEFAULT false,
        heading text NOT NULL DEFAULT '',
        PRIMARY KEY (kind, item_id)
    )
    """,
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS positional boolean NOT NULL DEFAULT false",
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS heading text NOT NULL DEFAULT ''",
    # The normalised title stays in the row (never TOAST): ranking tests it on every hit.
    f"ALTER TABLE {TABLE} ALTER COLUMN heading SET STORAGE PLAIN",
    # The title's terms (no positions), under an index of their own: the first tier of
    # relevance is found among the few titles that have the terms, not among all the hits.
    # Out of line: only that index reads them (a row is tested on ``heading``), and in the row
    # they were half its width (269 of ~520 bytes at 100,000 items), so every count and walk
    # visited twice as many pages (a rebuild, ``reindex``, moves the existing rows' out).
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS title_terms tsvector NOT NULL DEFAULT ''",
    f"ALTER TABLE {TABLE} ALTER COLUMN title_terms SET STORAGE EXTERNAL",
    # Uncompressed: a candidate's text searched by strpos would be decompressed for each.
    f"ALTER TABLE {TABLE} ALTER COLUMN body SET STORAGE EXTERNAL",
    f"ALTER TABLE {TABLE} ALTER COLUMN tokens SET STORAGE EXTERNAL",
    *(f"ALTER TABLE {TABLE} {statement}" for statement in NARROW_ROWS),
)
# The index's generation and the count cache (migration 0016g; created here too, like SCHEMA).
# ``search_state`` holds one number that a statement trigger on the table raises in the same
# transaction as any change to it (by this module or by hand): a count kept in
# ``search_counts`` under the generation it was computed at is exact for as long as the
# generation stays.  The number is at least the microseconds since the epoch, so it grows even
# when the tables are made anew.
STATE = "search_state"
COUNTS = "search_counts"
TRIGGER = "search_documents_changed"
BUMP = f"""
    INSERT INTO {STATE} AS s (id, generation)
    VALUES (1, floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
    ON CONFLICT (id) DO UPDATE SET generation = greatest(
        s.generation + 1, floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
"""
PRUNE = f"DELETE FROM {COUNTS} WHERE generation < (SELECT generation FROM {STATE} WHERE id = 1)"
STATE_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {STATE} (id integer PRIMARY KEY CHECK (id = 1), "
    "generation bigint NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {COUNTS} (key text NOT NULL, generation bigint NOT NULL, "
    "total bigint NOT NULL, PRIMARY KEY (key, generation))",
    f"""
    CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE latest bigint;
    BEGIN
        {BUMP} RETURNING generation INTO latest;
        DELETE FROM {COUNTS} WHERE generation < latest;
        RETURN NULL;
    END $$
    """,
)


def trigger_statement(table: str = TABLE) -> str:
    """The statement trigger that raises the generation on any change to ``table``."""
    return (f"CREATE OR REPLACE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()")


_HAS_STATE = f"""
    SELECT to_regclass('{STATE}') IS NOT NULL AND to_regclass('{COUNTS}') IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = to_regclass('{TABLE}') AND tgname = '{TRIGGER}')
"""


def ensure_state(conn: sa.Connection) -> None:
    """Create the generation's table, the count cache and the trigger on the live table, when
    any is missing (checked first: two processes replacing one function at once collide)."""
    if conn.scalar(sa.text(_HAS_STATE)):
        return
    for statement in STATE_SCHEMA:
        conn.execute(sa.text(statement))
    if conn.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        conn.execute(sa.text(trigger_statement()))
    conn.execute(sa.text(BUMP))
    conn.execute(sa.text(PRUNE))


# How many rows have each lexeme (migration 0018p; created here too, like STATE_SCHEMA): a
# query of one term that one lexeme decides (a two-character Han word, a three-character
# letter/digit word), without filters, is counted by reading one row, not the rows that have
# it (矿山, 安全 in most of 100,000 items: every one of them visited).  Kept exact by statement
# triggers on the table, in the transaction of any change to it (by this module or by hand),
# and made anew by a rebuild (``PostgresIndex._swap``).  A tombstone has no lexemes.
LEXEME_COUNTS = "search_lexeme_counts"
LEXEME_TRIGGER = "search_lexemes_counted"
COUNTS_LOCK_KEY = 0x5345_4152_434E  # writers of the table, one transaction at a time

# Writers of the table, one transaction at a time (migration 0019t): every write changes rows
# of the counts (and the one row of ``search_state``) that every other write changes too, so
# two transactions of several statements each would lock them in crossing orders.  The lock is
# taken by a BEFORE statement trigger, before the statement locks any row of the table: taken
# after (in the AFTER triggers that count, as before 0019t), a writer waiting for it held the
# rows its statement had just written, and the holder, writing one of them in a later
# statement, waited in turn (a deadlock, which PostgreSQL broke by failing one of them; the
# test ``test_two_writers_of_several_statements_each_neither_deadlock_nor_fail``).
WRITERS_TRIGGER = "search_writers_in_turn"
WRITERS_SCHEMA = (
    f"""
    CREATE OR REPLACE FUNCTION {WRITERS_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({COUNTS_LOCK_KEY});
        RETURN NULL;
    END $$
    """,
)


def writers_trigger(table: str = TABLE) -> str:
    """The BEFORE statement trigger that makes the writers of ``table`` take turns."""
    return (f"CREATE OR REPLACE TRIGGER {WRITERS_TRIGGER} BEFORE INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {WRITERS_TRIGGER}()")


_HAS_WRITERS_TRIGGER = f"""
    SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('{TABLE}')
                   AND tgname = '{WRITERS_TRIGGER}')
"""


def ensure_writers_in_turn(conn: sa.Connection) -> None:
    """Create the writers' trigger on the live table when it is missing."""
    if (conn.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is None
            or conn.scalar(sa.text(_HAS_WRITERS_TRIGGER))):
        return
    for statement in WRITERS_SCHEMA:
        conn.execute(sa.text(statement))
    conn.execute(sa.text(writers_trigger()))


def _count_lexemes(rows: str, delta: str) -> str:
    """SELECT lexeme, change of count from the tokens of ``rows`` (a table or a transition
    table), each row counting ``delta``."""
    return (f"SELECT lexeme, {delta} AS delta FROM {rows} r, "
            "unnest(tsvector_to_array(r.tokens)) AS lexeme")


def add_lexeme_counts(changes: str, counts: str = LEXEME_COUNTS) -> str:
    """The statement adding ``changes`` (rows of lexeme, delta) to ``counts``, in the lexemes'
    order (so that two writers lock its rows in one order)."""
    return (f"INSERT INTO {counts} AS c (lexeme, documents) SELECT lexeme, sum(delta) "
            f"FROM ({changes}) x GROUP BY lexeme HAVING sum(delta) <> 0 ORDER BY lexeme "
            "ON CONFLICT (lexeme) DO UPDATE SET documents = c.documents + EXCLUDED.documents")


def _counting_function(name: str, counts: str, add: Callable[[str], str],
                       count: Callable[[str, str], str], *, only_when_kept: bool = False) -> str:
    """The statement trigger function ``name`` that keeps ``counts`` exact: ``add`` (the
    statement adding changes to it) of ``count`` (the changes of a table of rows) for the
    rows a statement inserted, replaced or deleted; emptied by TRUNCATE.  With
    ``only_when_kept``, an empty ``counts`` (not built yet) is left as it is."""
    skip_when_empty = (f"IF NOT EXISTS (SELECT 1 FROM {counts}) THEN RETURN NULL; END IF;"
                       if only_when_kept else "")
    return f"""
    CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            DELETE FROM {counts};
            RETURN NULL;
        END IF;
        -- One writer of the counts at a time (held already since the statement began:
        -- WRITERS_TRIGGER; taken here too for a table that does not have that trigger yet).
        PERFORM pg_advisory_xact_lock({COUNTS_LOCK_KEY});
        {skip_when_empty}
        IF TG_OP = 'INSERT' THEN
            {add(count("new_rows", "1"))};
        ELSIF TG_OP = 'UPDATE' THEN
            {add(count("new_rows", "1") + " UNION ALL " + count("old_rows", "-1"))};
        ELSE
            {add(count("old_rows", "-1"))};
        END IF;
        RETURN NULL;
    END $$
    """


LEXEME_COUNTS_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {LEXEME_COUNTS} (lexeme text PRIMARY KEY, "
    "documents bigint NOT NULL)",
    _counting_function(LEXEME_TRIGGER, LEXEME_COUNTS, add_lexeme_counts, _count_lexemes),
)


def lexeme_triggers(table: str = TABLE) -> tuple[str, ...]:
    """The statement triggers that keep ``LEXEME_COUNTS`` exact for ``table`` (one per event:
    PostgreSQL gives transition tables only to a trigger of one event)."""
    referencing = {"INSERT": "NEW TABLE AS new_rows",
                   "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                   "DELETE": "OLD TABLE AS old_rows"}
    statements = [
        f"CREATE OR REPLACE TRIGGER {LEXEME_TRIGGER}_{event.lower()} AFTER {event} ON {table} "
        f"REFERENCING {rows} FOR EACH STATEMENT EXECUTE FUNCTION {LEXEME_TRIGGER}()"
        for event, rows in referencing.items()]
    statements.append(f"CREATE OR REPLACE TRIGGER {LEXEME_TRIGGER}_truncate AFTER TRUNCATE "
                      f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {LEXEME_TRIGGER}()")
    return tuple(statements)


def fill_lexeme_counts(table: str = TABLE, counts: str = LEXEME_COUNTS) -> str:
    """The statement counting the lexemes of every row of ``table`` into an empty ``counts``."""
    return (f"INSERT INTO {counts} (lexeme, documents) SELECT word, ndoc "
            f"FROM ts_stat('SELECT tokens FROM {table}')")


_HAS_LEXEME_COUNTS = f"""
    SELECT to_regclass('{LEXEME_COUNTS}') IS NOT NULL
       AND (SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass('{TABLE}')
            AND tgname LIKE '{LEXEME_TRIGGER}%') = 4
"""


def ensure_lexeme_counts(conn: sa.Connection) -> None:
    """Create the lexemes' counts and their triggers on the live table when any is missing,
    counting the rows it has (writers held off meanwhile, so that none is missed)."""
    if conn.scalar(sa.text(_HAS_LEXEME_COUNTS)):
        return
    if conn.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        conn.execute(sa.text(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE"))
    for statement in LEXEME_COUNTS_SCHEMA:
        conn.execute(sa.text(statement))
    conn.execute(sa.text(f"DELETE FROM {LEXEME_COUNTS}"))
    if conn.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        conn.execute(sa.text(fill_lexeme_counts()))
        for statement in lexeme_triggers():
            conn.execute(sa.text(statement))


# How many rows contain each frequent short string (migration 0019t; created here too, empty):
# a query of one term of GRAM_LENGTHS characters (安全生产, 有限公司, 2024年, a code prefix
# 91532822), without filters, whose string is in the table, is counted by reading one row.
# Such terms are no one lexeme: counted on the rows, a broad one visits most of them and
# checks positions (安全生产 in most of 100,000 items: 70–230 ms).  The table holds the strings
# (no white space) found in at least GRAM_SHARE of the rows when the table was last built
# (``reindex``: ``frequent_grams``, from a sample, then counted exactly on every row), with
# exact counts kept by statement triggers in the transaction of any change, like the lexemes'.
# A string that is not in the table is counted on the rows, exactly as before: it was rare
# when the table was built (a count of few rows is cheap); one that grew common since is still
# counted right, only slower, until the next rebuild.  Empty (after the migration, until a
# rebuild), the table changes nothing.  A row's strings are those of ``body`` (a title that
# begins the text is its start: ``document_row``), so a count is that of the hits, a tombstone
# (empty ``body``) having none.
GRAM_COUNTS = "search_gram_counts"
GRAM_TRIGGER = "search_grams_counted"
GRAM_LENGTHS = (SHORTEST, LONGEST)  # the shortest and longest strings counted
GRAM_SHARE = SHARE  # the share of rows a string is in, at least, to be counted (at a rebuild)
GRAMS_BUILD = f"{GRAM_COUNTS}_build"  # the strings' counts of BUILD


def _count_grams(rows: str, delta: str) -> str:
    """SELECT gram, change of count for every string of GRAM_LENGTHS characters (and the
    shorter ones at a text's end) that a row of ``rows`` (a table, a transition table or a
    subquery with ``body``) contains, each row counting ``delta`` once per string; those that
    are not in the counts are left out by ``add_gram_counts``, after the changes that cancel
    out are (a row written again with the same text costs no lookup).  The strings are built
    from the text's characters and the next ones (``lead``): ``substr`` would fetch a slice of
    the text, kept out of line, per call (16 s for a text of 20,000 characters), and count
    characters from the start each time."""
    low, high = GRAM_LENGTHS
    following = ", ".join(f"lead(c, {k}, '') OVER (ORDER BY i) AS c{k}" for k in range(1, high))
    grams = ", ".join("(" + " || ".join(["c", *(f"c{k}" for k in range(1, n))]) + ")"
                      for n in range(low, high + 1))
    return (f"SELECT g.gram, {delta} AS delta FROM {rows} r CROSS JOIN LATERAL "
            f"(SELECT DISTINCT v.gram FROM (SELECT c, {following} FROM "
            "unnest(string_to_array(r.body, NULL)) WITH ORDINALITY AS t(c, i)) x "
            f"CROSS JOIN LATERAL (VALUES {grams}) AS v(gram)) g")


def add_gram_counts(changes: str, counts: str = GRAM_COUNTS) -> str:
    """The statement adding ``changes`` (rows of gram, delta) to the strings of ``counts``
    (never adding a string: the table's strings are chosen by a rebuild)."""
    return (f"UPDATE {counts} c SET documents = c.documents + x.delta FROM (SELECT gram, "
            f"sum(delta) AS delta FROM ({changes}) y GROUP BY gram HAVING sum(delta) <> 0) x "
            "WHERE c.gram = x.gram")


GRAM_COUNTS_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {GRAM_COUNTS} (gram text PRIMARY KEY, documents bigint NOT NULL)",
    _counting_function(GRAM_TRIGGER, GRAM_COUNTS, add_gram_counts, _count_grams,
                       only_when_kept=True),
)


def gram_triggers(table: str = TABLE) -> tuple[str, ...]:
    """The statement triggers that keep ``GRAM_COUNTS`` exact for ``table``."""
    return tuple(s.replace(LEXEME_TRIGGER, GRAM_TRIGGER) for s in lexeme_triggers(table))


_HAS_GRAM_COUNTS = f"""
    SELECT to_regclass('{GRAM_COUNTS}') IS NOT NULL
       AND (SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass('{TABLE}')
            AND tgname LIKE '{GRAM_TRIGGER}%') = 4
"""


def ensure_gram_counts(conn: sa.Connection) -> None:
    """Create the strings' counts and their triggers on the live table when any is missing;
    the table is left empty (a rebuild fills it: ``reindex``)."""
    if conn.scalar(sa.text(_HAS_GRAM_COUNTS)):
        return
    for statement in GRAM_COUNTS_SCHEMA:
        conn.execute(sa.text(statement))
    conn.execute(sa.text(f"DELETE FROM {GRAM_COUNTS}"))  # none is known to be exact
    if conn.scalar(sa.text(f"SELECT to_regclass('{TABLE}')")) is not None:
        for statement in gram_triggers():
            conn.execute(sa.text(statement))


# The terms' index: RUM (extension ``rum``, Debian's postgresql-15-rum) keeps each term's
# positions and weights in the index, so it answers a phrase and returns the best hits in order
# without reading the rows; GIN, without the extension, answers the same queries correctly
# but checks each phrase, and ranks each hit, on the row.
BUILD = f"{TABLE}_build"  # where a rebuild writes, before it takes the table's place
COUNTS_BUILD = f"{LEXEME_COUNTS}_build"  # the lexemes' counts of BUILD
_HAS_RUM_EXTENSION = "SELECT 1 FROM pg_extension WHERE extname = 'rum'"
_HAS_RUM_INDEX = f"""
    SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am a ON a.oid = c.relam
    WHERE i.indrelid = to_regclass('{TABLE}') AND a.amname = 'rum'
"""


# Beside RUM, a plain GIN index on the terms without their positions: RUM reads every posting
# list with its positions, several times slower than GIN reads a list without (应急 in all of
# 100,835 items: 54 ms against 10), which is what an exact count of many hits pays (``PostgresIndex._counting``).  It is on the expression
# ``strip(tokens)``, so that only a query written ``strip(d.tokens) @@ …`` can use it: the
# planner cannot take it for a phrase (it did, with a plain GIN index on ``tokens`` beside
# RUM, and checked the phrase on every candidate's terms: 596 ms for 154 of RUM's).
_HAS_LEXEMES_INDEX = f"SELECT to_regclass('{TABLE}_lexemes') IS NOT NULL"


def create_indexes(conn: sa.Connection, table: str = TABLE) -> bool:
    """The terms' indexes of ``table``: RUM when the extension is installed in the database
    (replacing a GIN index) and GIN on the terms without positions, else GIN alone; and the
    date and title indexes.  Returns whether the terms are under RUM."""
    # Sorting by date walks this index and stops at the page (a broad query's hits are dense).
    conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {table}_date ON {table} "
                         "(event_date DESC NULLS LAST, kind, item_id)"))
    conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {table}_title_terms ON {table} "
                         "USING gin (title_terms)"))
    if conn.scalar(sa.text(_HAS_RUM_EXTENSION)) is not None:
        conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {table}_terms ON {table} "
                             "USING rum (tokens rum_tsvector_ops)"))
        conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {table}_lexemes ON {table} "
                             "USING gin (strip(tokens))"))
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {table}_tokens"))
        return True
    # Without RUM the GIN index on ``tokens`` reads the same lists (GIN keeps no positions).
    conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {table}_tokens ON {table} "
                         "USING gin (tokens)"))
    conn.execute(sa.text(f"DROP INDEX IF EXISTS {table}_lexemes"))
    return False


# PostgreSQL refuses lexemes of 2 KB or more.  A longer letter/digit run is still found: its
# trigrams are lexemes, and the planner never needs a whole word longer than a query.
MAX_LEXEME_BYTES = 2000
# PostgreSQL text cannot hold U+0000: documents and queries both map it to U+FFFD (one character
# for one, so offsets are kept).
NUL, NUL_STANDIN = "\x00", "\ufffd"
BATCH = 500  # documents per rebuild transaction
MAX_POSITION = 16383  # PostgreSQL keeps word positions up to this…
MAX_POSITIONS = 256  # …and at most this many positions per lexeme
# The lexeme of a row whose text is too long for positions (no term of the analyzer has a
# control character, so no text can have it as a term).
LONG = "\x01long"
# RUM decides a phrase from the positions of every one of its terms: a credit code's 16 trigrams,
# half of them in most items, took 400 ms for 10 hits at 20,000 items.  Longer terms are narrowed
# by their terms ANDed (fast) and confirmed on the few texts that have them all.
MAX_PHRASE = 6
# A query with at most this many hits has them all ranked in one pass; with more, each tier's
# page is taken newest first by walking the date index (``PostgresIndex._page``).
FEW_HITS = 2000
# A dense query's page is taken by walking the newest rows, as many as should hold it this
# many times over, and at most MAX_WALK (``PostgresIndex._newest``).
WALK_MARGIN = 4
MAX_WALK = 5000
# …unless the walk would cost more than sorting every hit: a walked row's terms are read and
# tested (13 µs at 100,000 items), a hit found through the index and sorted by date costs a
# fifth of that (死亡: 4,585 hits sorted in 10 ms, where a walk of 1,809 rows took 23 ms to find
# none of them, the word being found in older items).
WALK_COST = 5
REBUILD_LOCK_KEY = 0x5345_4152_4348  # pg_advisory_lock key: one rebuild at a time
LOCK_POLL = 0.1


def _clean(text: str) -> str:
    # Lone surrogates cannot be encoded; "?" keeps the length (as the Whoosh side file does).
    return text.encode("utf-8", "replace").decode("utf-8").replace(NUL, NUL_STANDIN)


def positional_tokens(body: str, title_chars: int = 0) -> tuple[dict[str, list[int]], int, bool]:
    """Every index term of a normalised text with its positions; the last position of a term
    lying wholly in the title (the first ``title_chars`` characters; 0: none); and whether the
    positions are complete.

    The terms are those of the Whoosh index (``analyzer``): Han bigrams (a lone Han character as
    itself), letter/digit words, and the trigrams of words of three or more characters.  The
    positions make a phrase query over consecutive terms decide a term without reading the
    text: the bigrams of one Han run, and the trigrams of one word, sit at consecutive
    positions, and a gap separates one run from the next, so ``'现场' <-> '场检' <-> '检查'``
    matches exactly the texts that contain 现场检查 (a word of three characters is its own
    trigram: one lexeme, one position).  PostgreSQL keeps positions up to 16,383 and 256 per
    lexeme: a text that needs more is marked incomplete.  Positions are 1-based.
    """
    positions: dict[str, list[int]] = {}
    title_end = 0
    at = 1
    for match in TOKEN_RUN.finditer(body):
        run = match.group()
        n = len(run)
        if match.lastgroup == "han":
            if n == 1:
                terms, width, step = [run], 1, 2
            else:
                terms, width, step = [run[i : i + 2] for i in range(n - 1)], 2, n
        elif n >= 3:
            terms, width, step = [run[i : i + 3] for i in range(n - 2)], 3, n - 1
        else:
            terms, width, step = [run], n, 2
        for position, term in enumerate(terms, at):
            found = positions.get(term)
            if found is None:
                positions[term] = [position]
            else:
                found.append(position)
        start = match.start()
        if start < title_chars:  # the terms ending within the title
            inside = min(len(terms), title_chars - start - width + 1)
            if inside > 0:
                title_end = at + inside - 1
        at += step
        if width == 3 and n > 3:  # the whole word, after its trigrams
            positions.setdefault(run, []).append(at)
            if match.end() <= title_chars:
                title_end = at
            at += 2
    complete = at - 1 <= MAX_POSITION and all(len(p) <= MAX_POSITIONS for p in positions.values())
    for term in [t for t in positions if len(t.encode("utf-8")) >= MAX_LEXEME_BYTES]:
        del positions[term]
    return {t: positions[t] for t in sorted(positions)}, title_end, complete


def tsvector_literal(body: str, title_chars: int = 0) -> tuple[str, bool]:
    """The ``tokens`` value of a normalised text as tsvector input, and whether it has
    positions.  Positions in the title are weighted A (ranking puts a title match first).  A
    text too long for PostgreSQL's positions gets its lexemes without positions plus the lexeme
    ``LONG``: a phrase query matches it through ``LONG`` and ``strpos`` confirms (``tsquery``).
    """
    positions, title_end, complete = positional_tokens(body, title_chars)
    if not complete:
        return " ".join(_lexeme(t) for t in [*positions, LONG]), False
    return " ".join(
        _lexeme(t) + ":" + ",".join(f"{p}A" if p <= title_end else str(p) for p in ps)
        for t, ps in positions.items()), True


def document_row(document: Document) -> dict[str, Any]:
    """The table row of a document (without the write bookkeeping)."""
    original = _clean(document.text)
    body = normalize(original)
    title = normalize(_clean(document.title))
    title_chars = len(title) if body.startswith(title) else 0
    tokens, positional = tsvector_literal(body, title_chars)
    return {
        "kind": document.kind,
        "item_id": document.id,
        "title": _clean(document.title),
        "original": original,
        "body": body,
        "title_chars": title_chars,
        "heading": title,
        "title_terms": title_terms(title),
        "length": len(body),
        "tokens": tokens,
        "positional": positional,
        "event_date": document.date,
        "county": document.county,
        "sector": document.sector,
        "withdrawn": document.withdrawn,
    }


def title_terms(heading: str) -> str:
    """The ``title_terms`` value of a normalised title: its index terms, without positions."""
    return " ".join(_lexeme(t) for t in positional_tokens(heading)[0])


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def decisive_lexemes(term: planner.TermPlan) -> tuple[str, ...]:
    """The lexemes of ``decisive_terms`` (empty: the text must confirm the term)."""
    return tuple(t for _, t in decisive_terms(term))


def decisive_terms(term: planner.TermPlan) -> tuple[tuple[int, str], ...]:
    """The index terms, with their offsets, that decide ``term`` without its text (empty: the
    text must confirm it).

    A term that is one Han run of two to seven characters is decided by its bigrams at
    consecutive positions, one that is one letter/digit run of three or more by some of its
    trigrams (wherever the run sits inside a word: trigrams are taken inside words); see
    ``positional_tokens``.  One term of one lexeme (矿山, ``abc``) needs no positions at all.

    A word's trigrams need not all be asked: two at consecutive positions belong to one word of
    four or more characters, and past a word's last trigram the next three positions hold no
    trigram (a gap, the whole word, a gap), so a trigram at most three positions after one of the
    word's is the word's own.  The first two, then every third, then the last cover the term
    and decide it (91532823: 915, 153, 328, 823): fewer posting lists to read, and codes of up
    to 16 characters decided by the index.
    """
    runs = list(TOKEN_RUN.finditer(term.text))
    if len(runs) != 1 or runs[0].group() != term.text:
        return ()
    text = term.text
    if runs[0].lastgroup == "han":
        if not 2 <= len(text) < 2 + MAX_PHRASE:
            return ()
        return tuple((i, text[i : i + 2]) for i in range(len(text) - 1))
    if len(text) < 3:
        return ()
    last = len(text) - 3
    offsets = sorted({0, *range(1, last, 3), last} if last >= 1 else {0})
    if len(offsets) > MAX_PHRASE:
        return ()
    return tuple((i, text[i : i + 3]) for i in offsets)


PREFIX = "\x00*"  # marks a lexeme of a ``chain`` that stands for every lexeme it begins


def _span(run: str, han: bool) -> int:
    """How many positions a text's run takes up to the next run's first term
    (``positional_tokens``)."""
    n = len(run)
    if han:
        return n if n >= 2 else 2
    return n + 1 if n > 3 else 2


def chain(term: planner.TermPlan) -> list[tuple[int, str]]:
    """Index terms every text containing ``term`` has at fixed distances from one another, as
    (offset, lexeme) by offset, for a term of several runs (文号 ``西应急罚〔2024〕134号``,
    ``2024年``, ``有限公司(演示)``); empty when fewer than two are known.

    Where the term has a character of another class beside a run, the text's run ends there
    too (``planner``): a run fixed at its start has its bigrams or trigrams at known offsets
    from it (and, fixed at both ends, its length, so the next run's start); the first run, fixed
    at its end only, has its last bigrams or trigrams at known offsets before the next run.
    What cannot be placed (a lone Han character or a short word open at one end) is left out:
    the chain is a necessary condition (``strpos`` still decides).
    """
    text = term.text
    runs = list(TOKEN_RUN.finditer(text))
    if len(runs) < 2 and not (runs and 0 < runs[0].start() and runs[0].end() < len(text)):
        return []
    found: dict[int, str] = {}
    start: int | None = 0 if runs[0].start() > 0 else None
    for match in runs:
        run, han = match.group(), match.lastgroup == "han"
        n, right = len(run), match.end() < len(text)
        if start is None:  # the first run, open at its start: place its end before the next
            if han and n >= 2:
                found.update((-n + j, run[j : j + 2]) for j in range(n - 1))
            elif not han and n >= 4:
                found.update((-1 - n + j, run[j : j + 3]) for j in range(n - 2))
            start = 0
            continue
        if han:
            if n >= 2:
                found.update((start + j, run[j : j + 2]) for j in range(n - 1))
            else:  # the run itself, or (open at its end) a bigram starting with it
                found[start] = run if right else run + PREFIX
        elif n >= 3:
            found.update((start + j, run[j : j + 3]) for j in range(n - 2))
            if right and n > 3:
                found[start + n - 1] = run
        else:  # the word itself, or (open at its end) a longer word's first trigram
            found[start] = run if right else run + PREFIX
        if not right:
            break
        start += _span(run, han)
    terms = [(at, t) for at, t in sorted(found.items())
             if len(t.encode("utf-8")) < MAX_LEXEME_BYTES]
    if len(terms) > MAX_PHRASE:
        # The most telling: whole words and trigrams (numbers, codes), then bigrams, then
        # prefixes.
        def telling(p: tuple[int, str]) -> tuple[bool, bool, int]:
            lexeme = p[1].removesuffix(PREFIX)
            return (p[1].endswith(PREFIX), TOKEN_RUN.fullmatch(lexeme).lastgroup == "han",
                    -len(lexeme))

        terms = sorted(sorted(terms, key=telling)[:MAX_PHRASE])
    if len([t for t in terms if not t[1].endswith(PREFIX)]) < 1 or len(terms) < 2:
        return []
    return terms


def chain_query(terms: list[tuple[int, str]]) -> str:
    """A ``chain`` as a tsquery phrase (``a <2> b <-> c``)."""
    def operand(lexeme: str) -> str:
        if lexeme.endswith(PREFIX):
            return _lexeme(lexeme.removesuffix(PREFIX)) + ":*"
        return _lexeme(lexeme)

    parts = [operand(terms[0][1])]
    for (before, _), (at, lexeme) in zip(terms, terms[1:], strict=False):
        parts.append(f"{'<->' if at - before == 1 else f'<{at - before}>'} {operand(lexeme)}")
    return " ".join(parts)


# A RUM index reads the whole posting list of every operand of a query: an operand found in
# 8 times more rows than the rarest one costs more to read than the candidates it would rule
# out cost to confirm on their text, so it is left out (``_rarest``).
RARER = 8


def _rarest(lexemes: list[str], frequencies: Frequencies | None) -> list[int]:
    """The indexes of the operands worth reading: those at most ``RARER`` times as frequent
    as the rarest (all without statistics), and a prefix (``…:*`` or ``PREFIX``: it reads the
    lists of every lexeme it begins) only with at most one other operand."""
    exact = [i for i, lexeme in enumerate(lexemes) if not lexeme.endswith((":*", PREFIX))]
    if len(exact) < 2:
        return exact or list(range(len(lexemes)))
    if not frequencies:
        return exact
    share = {i: frequencies.share(lexemes[i]) for i in exact}
    least = min(share.values())
    return [i for i in exact if share[i] <= RARER * least]


class Frequencies:
    """The share of rows having each lexeme, from PostgreSQL's statistics of ``tokens``
    (its 1,000 most common lexemes; any other is rarer than the least of them)."""

    def __init__(self, elements: list[str], shares: list[float]) -> None:
        self.shares = dict(zip(elements, shares, strict=False))
        self.floor = min(shares) if shares else 0.0

    def share(self, lexeme: str) -> float:
        return self.shares.get(lexeme, self.floor)


def term_query(term: planner.TermPlan, frequencies: Frequencies | None = None) -> str:
    """One term's part of the tsquery (empty: nothing narrows it)."""
    return term_plan(term, frequencies)[0]


def _share(lexemes: Iterable[str], frequencies: Frequencies | None) -> float:
    """The share of rows having the rarest of ``lexemes`` (1.0: unknown, or prefixes only)."""
    shares = [frequencies.share(t) for t in lexemes
              if frequencies and not t.endswith((":*", PREFIX))]
    return min(shares, default=1.0)


def term_plan(term: planner.TermPlan,
              frequencies: Frequencies | None = None) -> tuple[str, str, float]:
    """One term's part of the tsquery for the rows with positions (empty: nothing narrows it),
    what its hits among them still need confirmed on the text: "" (nothing: one lexeme),
    "long" (nothing: a phrase), "text" (every candidate); and the share of rows having its
    rarest operand.  Operands much more common than the rarest are left out (``_rarest``):
    what is left still holds for every hit, the text decides.  A row without positions (too
    long a text) is found through the lexeme LONG and confirmed on its text
    (``PostgresIndex._where``)."""
    planned = TermParts.of(term, frequencies)
    return planned.query, planned.confirm, planned.share


@dataclass(frozen=True)
class TermParts:
    """One term's conditions on the index: ``lexemes``, operands that hold without positions
    (a lexeme, a prefix ``…:*``), ANDed, and ``phrase``, a tsquery phrase over positions (the
    term's bigrams or trigrams, or a ``chain``; empty: none); what the hits still need
    confirmed on the text (``confirm``, see ``term_plan``) and the share of rows having the
    rarest operand."""

    lexemes: tuple[str, ...]
    phrase: str
    confirm: str
    share: float

    @property
    def query(self) -> str:
        return " & ".join(dict.fromkeys([*self.lexemes, *([self.phrase] if self.phrase else [])]))

    @classmethod
    def of(cls, term: planner.TermPlan, frequencies: Frequencies | None = None) -> TermParts:
        decisive = decisive_terms(term)
        lexemes = [t for _, t in decisive]
        if len(decisive) == 1:
            return cls((_lexeme(lexemes[0]),), "", "", _share(lexemes, frequencies))
        if decisive:
            kept = _rarest(lexemes, frequencies)
            share = _share([lexemes[i] for i in kept], frequencies)
            if len(kept) == len(decisive):  # the index decides the phrase
                return cls((), chain_query(list(decisive)), "long", share)
            linked = [decisive[i] for i in kept]
            parts = [_lexeme(t) for _, t in linked]
        else:
            conditions = _conditions(term)
            parts = [conditions[i] for i in _rarest(conditions, frequencies)]
            linked = chain(term)
            # A prefix in a chain stays: at its fixed distance it is selective (2024年: a word
            # ending in 024, then a run starting with 年), where alone it is not.
            exact = [(at, t) for at, t in linked if not t.endswith(PREFIX)]
            kept = {exact[i] for i in _rarest([t for _, t in exact], frequencies)}
            linked = [(at, t) for at, t in linked if t.endswith(PREFIX) or (at, t) in kept]
            share = _share([*term.grams, *term.trigrams], frequencies)
        phrase = chain_query(linked) if len(linked) >= 2 else ""
        return cls(tuple(dict.fromkeys(parts)), phrase, "text", share)

    def without_phrase(self, term: planner.TermPlan) -> TermParts:
        """The same term found by lexemes alone (no positions read), confirmed on its text: a
        phrase's bigrams or trigrams ANDed; a chain dropped."""
        if not self.phrase:
            return self
        lexemes = self.lexemes
        if self.confirm == "long":
            lexemes = tuple(dict.fromkeys(_lexeme(t) for t in decisive_lexemes(term)))
        return TermParts(lexemes, "", "text", self.share)


def _conditions(term: planner.TermPlan) -> list[str]:
    """The planner's conditions of a term the index cannot decide, as tsquery operands."""
    parts: list[str] = []
    parts.extend(_lexeme(g) for g in term.grams)
    parts.extend(_lexeme(t) for t in term.trigrams)
    for pattern in term.patterns:
        if len(pattern.fragment.encode("utf-8")) >= MAX_LEXEME_BYTES:
            continue
        if pattern.mode == "exact":
            parts.append(_lexeme(pattern.fragment))
        elif pattern.mode == "prefix":
            parts.append(_lexeme(pattern.fragment) + ":*")
    return parts


def tsquery(plan: planner.Plan, frequencies: Frequencies | None = None) -> str:
    """The plan's conditions as one tsquery (empty: nothing narrows, every row is a candidate).

    A term that ``decisive_lexemes`` decides is a phrase over its bigrams or trigrams: the index
    answers it exactly.  For any other term, every condition is one every hit necessarily has
    (``planner``), so AND-ing them loses no hit; index terms whose place in the lexicon is not a
    prefix (a run that must end or sit inside an index term) give no condition here: the other
    conditions narrow, ``strpos`` decides.
    """
    parts = [part for term in plan.terms if (part := term_query(term, frequencies))]
    return " & ".join(dict.fromkeys(parts))


def title_query(plan: planner.Plan) -> str:
    """The plan's conditions on a title's terms (``title_terms``, no positions) as one tsquery:
    each term's decisive lexemes, or its other conditions, ANDed (empty: nothing narrows)."""
    parts: list[str] = []
    for term in plan.terms:
        decisive = decisive_lexemes(term)
        if decisive:
            parts.extend(_lexeme(t) for t in decisive)
        else:
            parts.extend(_conditions(term))
    return " & ".join(dict.fromkeys(parts))


def _lexemes_where(parts: list[TermParts], texts: list[str], filters: str,
                   params: dict[str, Any], name: str) -> _Where | None:
    """The hits of ``parts`` (none with a phrase) as the GIN index on ``strip(tokens)`` finds
    them, by their lexemes ANDed (bound as ``name``), with what confirms them on their text
    (None: no part has a lexeme)."""
    lexemes = " & ".join(dict.fromkeys(t for p in parts for t in p.lexemes))
    if not lexemes:
        return None
    params[name] = lexemes
    tokens = (f"(strip(d.tokens) @@ CAST(:{name} AS tsquery) "
              "OR d.tokens @@ CAST(:long AS tsquery))")
    return _Where(filters, tokens, _confirm(parts, texts, True))


_DATE_ORDER = "d.event_date DESC NULLS LAST, d.kind, d.item_id"
# What a candidate row carries from the index's finding to its confirmation on its text (the
# text itself only as a reference: it is read when tested).
_CANDIDATE = ("d.kind, d.item_id, d.event_date, d.positional, d.title_chars, d.heading, d.body, "
              "d.tokens, d.deleted, d.county, d.sector")
_UPSERT = f"""
    INSERT INTO {TABLE} AS s (kind, item_id, title, original, body, title_chars, length, tokens,
                              positional, heading, title_terms, event_date, county, sector,
                              withdrawn,
                              deleted, written_at)
    VALUES (:kind, :item_id, :title, :original, :body, :title_chars, :length,
            CAST(:tokens AS tsvector), :positional, :heading, CAST(:title_terms AS tsvector),
            :event_date, :county, :sector,
            :withdrawn, false, clock_timestamp())
    ON CONFLICT (kind, item_id) DO UPDATE SET
        title = EXCLUDED.title, original = EXCLUDED.original, body = EXCLUDED.body,
        title_chars = EXCLUDED.title_chars, length = EXCLUDED.length, tokens = EXCLUDED.tokens,
        positional = EXCLUDED.positional, heading = EXCLUDED.heading,
        title_terms = EXCLUDED.title_terms,
        event_date = EXCLUDED.event_date,
        county = EXCLUDED.county, sector = EXCLUDED.sector,
        withdrawn = EXCLUDED.withdrawn, deleted = false, written_at = EXCLUDED.written_at
"""
_TOMBSTONE = f"""
    INSERT INTO {TABLE} AS s (kind, item_id, title, original, body, title_chars, length, tokens,
                              event_date, county, sector, withdrawn, deleted, written_at)
    VALUES (:kind, :item_id, '', '', '', 0, 0, ''::tsvector, NULL, '', '', false, true,
            clock_timestamp())
    ON CONFLICT (kind, item_id) DO UPDATE SET
        title = '', original = '', body = '', title_chars = 0, length = 0, tokens = ''::tsvector,
        positional = false, heading = '', title_terms = ''::tsvector, event_date = NULL, county = '', sector = '', withdrawn = false, deleted = true,
        written_at = EXCLUDED.written_at
"""


def _confirm(planned: list[TermParts], texts: list[str], narrowing: bool) -> str:
    """What the index's candidates still need confirmed on their text: on a row with positions
    the terms the index did not decide, on one without (found through LONG) every term."""
    if not narrowing:
        return " AND ".join(texts)
    tests = [text for text, p in zip(texts, planned, strict=True) if p.confirm == "text"]
    return (f"CASE WHEN d.positional THEN {' AND '.join(tests) or 'true'} "
            f"ELSE {' AND '.join(texts)} END")


# How the exact count reads a phrase (``PostgresIndex._counting``): "rum", its positions in
# the RUM index; "text", its lexemes from the GIN index and each candidate's text.  Per kind:
# a term the phrase decides ("long") or a chain that only narrows ("text").
COUNT_PHRASES = {"long": "rum", "text": "text"}


def _phrase_counted(parts: TermParts) -> bool:
    return COUNT_PHRASES[parts.confirm] == "rum"


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
        self._rum: bool | None = None  # whether the terms are under a RUM index
        self._lexemes: bool | None = None  # whether the GIN index on strip(tokens) exists
        self._state_ready = False  # the generation's table and trigger exist (writes)
        self._has_state: bool | None = None  # whether they exist (reads; None: not asked)
        self._has_lexeme_counts: bool | None = None  # whether LEXEME_COUNTS is kept (reads)
        self._has_gram_counts: bool | None = None  # whether GRAM_COUNTS is kept (reads)
        # The lexemes' shares and when they were read (``_frequencies``).
        self._shares: tuple[Frequencies | None, float] | None = None
        self._estimate: tuple[int, float] | None = None  # (rows estimated, when) (``_table_rows``)

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
            self._rum = None
            self._lexemes = None
            self._has_state = None
            self._has_lexeme_counts = None
            self._has_gram_counts = None

    def _ensure_schema(self, conn: sa.Connection) -> None:
        if not self._schema_ready:
            for statement in SCHEMA:
                conn.execute(sa.text(statement))
            self._set_rum(create_indexes(conn), created=True)
            self._schema_ready = True
        if not self._state_ready:
            ensure_state(conn)
            ensure_lexeme_counts(conn)
            ensure_gram_counts(conn)
            ensure_writers_in_turn(conn)
            self._state_ready = True

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

        Blocks searches and updates only for the swap at the end: the documents go into a
        new table (``BUILD``) without indexes, which are built in one pass afterwards (rows
        added one by one to a RUM index cost about 30 times more); then, holding off writers
        for a moment, the rows an update wrote since the rebuild began are copied over (they
        are at least as new), and the new table takes the old one's name.
        """
        engine = self._connect()
        with engine.connect() as lock_conn:
            self._take_rebuild_lock(lock_conn)
            try:
                with engine.begin() as conn:
                    self._ensure_schema(conn)
                    conn.execute(sa.text(f"DROP TABLE IF EXISTS {BUILD}"))  # a killed rebuild's
                    conn.execute(sa.text(f"DROP TABLE IF EXISTS {COUNTS_BUILD}"))
                    conn.execute(sa.text(f"DROP TABLE IF EXISTS {GRAMS_BUILD}"))
                    conn.execute(sa.text(
                        f"CREATE TABLE {BUILD} (LIKE {TABLE} INCLUDING ALL EXCLUDING INDEXES)"))
                    for statement in NARROW_ROWS:  # LIKE copies no storage parameters
                        conn.execute(sa.text(f"ALTER TABLE {BUILD} {statement}"))
                    started = conn.scalar(sa.text("SELECT clock_timestamp()"))
                insert = sa.text(_UPSERT.replace(f"INTO {TABLE} AS s", f"INTO {BUILD} AS s")
                                 .split("ON CONFLICT")[0])
                seen: set[str] = set()
                batch: list[dict[str, Any]] = []
                sample = TextSample()  # of the texts, for the frequent strings
                for document in documents:
                    if document.key in seen:
                        continue
                    seen.add(document.key)
                    batch.append(document_row(document))
                    sample.offer(batch[-1]["body"])
                    if len(batch) >= BATCH:
                        with engine.begin() as conn:
                            conn.execute(insert, batch)
                        batch = []
                with engine.begin() as conn:
                    if batch:
                        conn.execute(insert, batch)
                    conn.execute(sa.text(f"ALTER TABLE {BUILD} ADD PRIMARY KEY (kind, item_id)"))
                    rum = create_indexes(conn, BUILD)
                    # The lexemes' counts of the new table (PostgreSQL's own tally, in one
                    # pass); the swap adds what updates wrote meanwhile.
                    conn.execute(sa.text(f"CREATE TABLE {COUNTS_BUILD} "
                                         f"(LIKE {LEXEME_COUNTS} INCLUDING ALL)"))
                    conn.execute(sa.text(fill_lexeme_counts(BUILD, COUNTS_BUILD)))
                    self._fill_gram_counts(conn, sample.texts, len(seen))
                with engine.begin() as conn:
                    self._swap(conn, started)
                self._set_rum(rum, created=True)
            finally:
                lock_conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"),
                                  {"key": REBUILD_LOCK_KEY})
                lock_conn.commit()
        # Fresh statistics for the planner, and a visibility map, now rather than whenever
        # autovacuum comes by.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f"VACUUM (ANALYZE) {TABLE}"))
        return len(seen)

    @staticmethod
    def _fill_gram_counts(conn: sa.Connection, sample: list[str], rows: int) -> None:
        """Count into GRAMS_BUILD every string of GRAM_LENGTHS characters in at least
        GRAM_SHARE of BUILD's ``rows``: the candidates are those in at least half that share
        of ``sample`` (a string that common is in the candidates but for a vanishing chance:
        one in 1% of the rows, 20 expected in a sample of 2,000, is found in fewer than 5 with
        a chance of about 2 in 10⁵), then each is counted on every row (read back in pages)."""
        conn.execute(sa.text(f"CREATE TABLE {GRAMS_BUILD} (LIKE {GRAM_COUNTS} INCLUDING ALL)"))
        least = max(1, int(GRAM_SHARE * rows))
        grams = frequent_grams(sample, max(1, int(GRAM_SHARE * len(sample) / 2)))
        if not grams:
            return

        def bodies() -> Iterable[str]:
            result = conn.execute(sa.text(f"SELECT body FROM {BUILD} WHERE NOT deleted")
                                  .execution_options(yield_per=2000))
            for (body,) in result:
                yield body

        counted = [{"gram": g, "documents": n}
                   for g, n in StringCounter(grams).count(bodies()).items() if n >= least]
        if counted:
            conn.execute(sa.text(f"INSERT INTO {GRAMS_BUILD} (gram, documents) "
                                 "VALUES (:gram, :documents)"), counted)

    @staticmethod
    def _swap(conn: sa.Connection, started: Any) -> None:
        """Give the built table the live one's name, with what updates wrote meanwhile."""
        # Writers wait from here to the commit; readers until the renames.
        conn.execute(sa.text(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE"))
        columns = ("kind, item_id, title, original, body, title_chars, length, tokens, "
                   "positional, heading, title_terms, event_date, county, sector, withdrawn, deleted, "
                   "written_at")
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns.split(", ")[2:])
        # The counts of the lexemes of the rows about to be replaced, less theirs in the built
        # rows they replace.
        meanwhile = f"(SELECT tokens FROM {TABLE} WHERE written_at >= :started)"
        replaced = (f"(SELECT b.tokens FROM {BUILD} b JOIN {TABLE} t USING (kind, item_id) "
                    "WHERE t.written_at >= :started)")
        conn.execute(sa.text(add_lexeme_counts(
            _count_lexemes(meanwhile, "1") + " UNION ALL " + _count_lexemes(replaced, "-1"),
            COUNTS_BUILD)), {"started": started})
        meanwhile, replaced = (rows.replace("tokens", "body") for rows in (meanwhile, replaced))
        conn.execute(sa.text(add_gram_counts(
            _count_grams(meanwhile, "1") + " UNION ALL " + _count_grams(replaced, "-1"),
            GRAMS_BUILD)), {"started": started})
        conn.execute(sa.text(
            f"INSERT INTO {BUILD} ({columns}) SELECT {columns} FROM {TABLE} "
            f"WHERE written_at >= :started ON CONFLICT (kind, item_id) DO UPDATE SET {updates}"),
            {"started": started})
        conn.execute(sa.text(f"DROP TABLE {TABLE}"))
        conn.execute(sa.text(f"ALTER TABLE {BUILD} RENAME TO {TABLE}"))
        for suffix in ("pkey", "terms", "lexemes", "tokens", "date", "title_terms"):
            conn.execute(sa.text(f"ALTER INDEX IF EXISTS {BUILD}_{suffix} "
                                 f"RENAME TO {TABLE}_{suffix}"))
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {LEXEME_COUNTS}"))
        conn.execute(sa.text(f"ALTER TABLE {COUNTS_BUILD} RENAME TO {LEXEME_COUNTS}"))
        conn.execute(sa.text(f"ALTER INDEX {COUNTS_BUILD}_pkey RENAME TO {LEXEME_COUNTS}_pkey"))
        for statement in lexeme_triggers():
            conn.execute(sa.text(statement))
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {GRAM_COUNTS}"))
        conn.execute(sa.text(f"ALTER TABLE {GRAMS_BUILD} RENAME TO {GRAM_COUNTS}"))
        conn.execute(sa.text(f"ALTER INDEX {GRAMS_BUILD}_pkey RENAME TO {GRAM_COUNTS}_pkey"))
        for statement in GRAM_COUNTS_SCHEMA[1:]:  # the function, as this module has it
            conn.execute(sa.text(statement))
        for statement in gram_triggers():
            conn.execute(sa.text(statement))
        for statement in WRITERS_SCHEMA:
            conn.execute(sa.text(statement))
        conn.execute(sa.text(writers_trigger()))
        # The generation rises with the swap (the new table's trigger, for later writes).
        conn.execute(sa.text(trigger_statement()))
        conn.execute(sa.text(BUMP))
        conn.execute(sa.text(PRUNE))

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
        """Find the documents containing every term of ``query.q``; raises ``QueryInvalid``.

        The exact count first (kept per generation in ``search_counts``: a query asked again
        is not counted again), then only the page: hits whose title has every term first, then
        the others, newest first in each.  A query with few hits ranks them all (one pass over
        them); one with many takes each tier's page by walking the date index and testing
        rows until the page is full, so a word found in most items costs a page, not its hits
        (``_page``).  Only the page's rows are read in full (their texts, for snippets).
        """
        _check_query(query)
        plan = _plan(query.q)
        offset = (query.page - 1) * query.per_page
        empty = SearchResults(total=0, page=query.page, per_page=query.per_page)
        with self._reading() as conn:
            if conn is None:
                return empty
            self.has_rum(conn)
            where, params = self._where(conn, plan, query)
            counter = _Counter(self, conn, plan, query)
            total = self._lexeme_total(conn, plan, query)
            if total is None:
                total = self._gram_total(conn, plan, query)
            if total is None:
                total = counter.count("all", where.counted, params)
            keys = self._page(counter, plan, query, where, params, total, offset)
            rows = self._rows(conn, keys)
            counter.store()
        terms = planner.highlight_terms(query.q.replace(NUL, NUL_STANDIN))
        hits = [
            Hit(kind=row.kind, id=row.item_id, title=row.title, date=row.event_date,
                snippet_html=snippet(row.original, row.body, terms, row.title_chars),
                title_html=highlight(row.title, normalize(row.title), terms),
                withdrawn=row.withdrawn, score=float(tier))
            for row, tier in rows
        ]
        return SearchResults(total=total, hits=hits, page=query.page, per_page=query.per_page)

    def _page(self, counter: _Counter, plan: planner.Plan, query: SearchQuery, where: _Where,
              params: dict[str, Any], total: int, offset: int) -> list[tuple[str, int, int]]:
        """(kind, id, tier) of the page's hits in rank order."""
        conn, limit = counter.conn, query.per_page
        if offset >= total:
            return []
        page = {**params, "limit": limit, "offset": offset}
        if query.sort == "date":
            return [(k, i, 0) for k, i in self._newest(conn, where, page, total)]
        title = self._title(plan, page)
        if total <= FEW_HITS:
            # Few hits: rank the candidates the index finds (a sort of narrow rows), then
            # confirm them on their text in that order until the page is full.
            found = where.sorted
            return [tuple(row) for row in conn.execute(sa.text(
                f"SELECT d.kind, d.item_id, d.tier FROM (SELECT {_CANDIDATE}, "
                f"CASE WHEN {title} THEN 1 ELSE 0 END AS tier FROM {TABLE} d "
                f"WHERE {found.found} ORDER BY tier DESC, {_DATE_ORDER} OFFSET 0) d "
                f"WHERE {found.tested} ORDER BY d.tier DESC, {_DATE_ORDER} "
                "LIMIT :limit OFFSET :offset"), page)]
        # Many hits: each tier newest first.  A title that has every term and begins the text
        # (title_chars > 0) makes its row a hit: the title tier is found among the titles
        # (their own index), the text tested only for a title that does not begin it.
        titles = _Where(f"{title} AND {where.filters}",
                        confirm=f"(d.title_chars > 0 OR ({where.found} AND {where.tested}))")
        found = self._title_terms(plan, page)
        first = [(k, i, 1) for k, i in self._newest(conn, titles, page, total, found=found)]
        if len(first) == limit:
            return first
        # The title tier ends before this page does: how many it has, then the rest.
        titled = offset + len(first) if first else counter.count(
            "title", _Where._all(found, str(titles)), page)
        if titled >= total:
            return first
        rest = {**page, "limit": limit - len(first), "offset": max(0, offset - titled)}
        return first + [(k, i, 0) for k, i in self._newest(
            conn, where, rest, total - titled, f"NOT ({title})")]

    def _newest(self, conn: sa.Connection, where: _Where, params: dict[str, Any], hits: int,
                tier: str = "", found: str = "") -> list[tuple[str, int]]:
        """Rows ``offset`` to ``offset + limit`` of the ``hits`` rows of ``where`` (and of
        ``tier``, a test on the row), newest first; ``found``: a condition that holds for all of
        them, for an index to find them by (never tested on a walked row).

        When they are dense, the date index is walked over the newest rows only, as many as
        should hold the page several times over (``WALK_MARGIN``): a bounded cost, whatever
        the planner believes of the terms' spread over time (a year's word is found only in
        that year's items, far down the walk: 8,000 rows for a page at 20,000 items).  If the
        walk does not fill the page, or the hits are sparse (the walk would read more terms
        than sorting them all costs: ``WALK_COST``), the index finds the candidates
        (``_Where.sorted``), they are sorted newest first (narrow rows), and confirmed on
        their text in that order until the page is full.
        """
        tier = f"{tier} AND " if tier else ""
        rows = self._table_rows(conn)
        need = params["offset"] + params["limit"]
        walk = int(need * rows * WALK_MARGIN / max(1, hits)) + 50
        if walk <= MAX_WALK and (not where.tokens or walk * WALK_COST <= hits):
            got = [tuple(r) for r in conn.execute(sa.text(
                f"SELECT d.kind, d.item_id FROM (SELECT * FROM {TABLE} d "
                f"ORDER BY {_DATE_ORDER} LIMIT :walk) d WHERE {tier}{where.found} "
                f"AND {where.tested} "
                f"ORDER BY {_DATE_ORDER} LIMIT :limit OFFSET :offset"),
                {**params, "walk": walk})]
            if len(got) == params["limit"]:
                return got
        where = where.sorted
        conn.execute(sa.text("SET LOCAL enable_indexscan = off"))
        try:
            return [tuple(r) for r in conn.execute(sa.text(
                f"SELECT d.kind, d.item_id FROM (SELECT {_CANDIDATE} FROM {TABLE} d "
                f"WHERE {tier}{found + ' AND ' if found else ''}{where.found} "
                f"ORDER BY {_DATE_ORDER} OFFSET 0) d "
                f"WHERE {where.tested} "
                f"ORDER BY {_DATE_ORDER} LIMIT :limit OFFSET :offset"), params)]
        finally:
            conn.execute(sa.text("SET LOCAL enable_indexscan = on"))

    def _table_rows(self, conn: sa.Connection) -> int:
        """About how many rows the table has (PostgreSQL's estimate, kept by ANALYZE; read
        again after a minute)."""
        now = time.monotonic()
        if self._estimate is None or now - self._estimate[1] > 60:
            self._estimate = (max(1, int(conn.scalar(sa.text(
                f"SELECT reltuples FROM pg_class WHERE oid = to_regclass('{TABLE}')")) or 1)), now)
        return self._estimate[0]

    @staticmethod
    def _rows(conn: sa.Connection, keys: list[tuple[str, int, int]]) -> list[tuple[Any, int]]:
        """The page's rows in full, in the order of ``keys``, each with its tier."""
        if not keys:
            return []
        found = {(row.kind, row.item_id): row for row in conn.execute(sa.text(
            f"SELECT d.kind, d.item_id, d.event_date, d.title, d.original, d.body, "
            f"d.title_chars, d.withdrawn FROM {TABLE} d "
            "WHERE (d.kind, d.item_id) IN (SELECT * FROM unnest(CAST(:kinds AS text[]), "
            "CAST(:ids AS bigint[])))"),
            {"kinds": [k for k, _, _ in keys], "ids": [i for _, i, _ in keys]})}
        return [(found[k, i], tier) for k, i, tier in keys]

    def matching(self, query: SearchQuery) -> list[tuple[str, int]]:
        """(kind, id) of every hit of ``query`` in rank order (``page``/``per_page`` ignored)."""
        _check_query(query)
        plan = _plan(query.q)
        with self._reading() as conn:
            if conn is None:
                return []
            where, params = self._where(conn, plan, query)
            order = _DATE_ORDER
            if query.sort != "date":  # the title tier first
                order = f"CASE WHEN {self._title(plan, params)} THEN 1 ELSE 0 END DESC, {order}"
            sql = f"SELECT d.kind, d.item_id FROM {TABLE} d WHERE {where} ORDER BY {order}"
            return [(row.kind, row.item_id) for row in conn.execute(sa.text(sql), params)]

    @staticmethod
    def _title(plan: planner.Plan, params: dict[str, Any]) -> str:
        """SQL true when a hit's title has every term (exactly, on the normalised title kept in
        the row): the first tier of relevance."""
        tests = []
        for i, term in enumerate(plan.terms):
            params[f"h{i}"] = term.text
            tests.append(f"strpos(d.heading, :h{i}) > 0")
        return " AND ".join(tests)

    @staticmethod
    def _title_terms(plan: planner.Plan, params: dict[str, Any]) -> str:
        """SQL true for every row whose title has every term, that the titles' own index
        answers (empty: none): what finds the title tier among the titles.  Never tested on
        a row (``title_terms`` is out of line: reading it is a TOAST fetch)."""
        if narrowing := title_query(plan):
            params["title_tsq"] = narrowing
            return "d.title_terms @@ CAST(:title_tsq AS tsquery)"
        return ""

    def _reading(self) -> Any:
        return _Reading(self)

    def has_rum(self, conn: sa.Connection) -> bool:
        """Whether the table's terms are under a RUM index (else GIN: correct, slower)."""
        if self._rum is None:
            self._set_rum(conn.scalar(sa.text(_HAS_RUM_INDEX)) is not None)
        return bool(self._rum)

    def _lexemes_index(self, conn: sa.Connection) -> bool:
        """Whether the GIN index on ``strip(tokens)`` exists (created beside RUM; asked once
        per process, and set by this process's own rebuilds)."""
        if self._lexemes is None:
            self._lexemes = bool(conn.scalar(sa.text(_HAS_LEXEMES_INDEX)))
        return self._lexemes

    def _set_rum(self, rum: bool, *, created: bool = False) -> None:
        if created:  # by create_indexes, which makes the GIN index on strip(tokens) with RUM
            self._lexemes = rum
        if not rum and self._rum is not False:
            log.warning("search on PostgreSQL without a RUM index (the extension 'rum' is not "
                        "installed in the database): phrases are checked and hits ranked row "
                        "by row, slower; see check-config")
        self._rum = rum

    def _where(self, conn: sa.Connection, plan: planner.Plan,
               query: SearchQuery) -> tuple[_Where, dict[str, Any]]:
        """The WHERE clause of every hit of ``plan`` under the query's filters, and its
        parameters (``tsq``: the tsquery, when anything narrows)."""
        params: dict[str, Any] = {}
        where = ["NOT d.deleted"]
        tokens = ""
        frequencies = self._frequencies(conn)
        planned = [TermParts.of(term, frequencies) for term in plan.terms]
        # Terms, too, are read only when not much more common than the rarest (``RARER``):
        # the others are confirmed on the candidates' texts.
        least = min(p.share for p in planned)
        planned = [p if p.share <= RARER * least else TermParts((), "", "text", p.share)
                   for p in planned]
        narrowing = " & ".join(dict.fromkeys(p.query for p in planned if p.query))
        if narrowing:
            # The rows with positions by the plan's tsquery, the few without by LONG alone
            # (a phrase never matches them, and reading its lexemes' lists twice, once with
            # positions and once without, cost a third more): their texts decide.
            tokens = "(d.tokens @@ CAST(:tsq AS tsquery) OR d.tokens @@ CAST(:long AS tsquery))"
            params["tsq"] = narrowing
            params["long"] = _lexeme(LONG)
            # The planner does not know that testing a row's tsvector means reading (and
            # decompressing) it: for a term in a quarter of the rows it chose a sequential scan
            # that tests them all, 2.5 times slower than the index (measured at 20,000 items).
            # For this read's transaction only.
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
        texts = []
        for i, term in enumerate(plan.terms):
            params[f"t{i}"] = term.text
            # The title is kept in the row and begins the text (title_chars > 0): a term found
            # there needs no reading of the text (out of line).
            texts.append(f"((d.title_chars > 0 AND strpos(d.heading, :t{i}) > 0) "
                         f"OR strpos(d.body, :t{i}) > 0)")
        filters = " AND ".join(where)
        found = _Where(filters, tokens, _confirm(planned, texts, bool(narrowing)))
        if not (narrowing and self._lexemes_index(conn)):
            return found, params
        counted = self._counting(plan, planned, texts, filters, params)
        lexical = self._lexical(plan, planned, texts, filters, params)
        return _Where(found.filters, found.tokens, found.confirm, counted, lexical), params

    @staticmethod
    def _lexical(plan: planner.Plan, planned: list[TermParts], texts: list[str], filters: str,
                 params: dict[str, Any]) -> _Where | None:
        """The hits' candidates as the GIN index on ``strip(tokens)`` finds them, by the terms'
        lexemes alone (every phrase dropped), with what confirms them on their text (None: no
        term has a lexeme).

        What a page sorts by date: only the rows up to the page's end are confirmed, so a
        phrase is cheaper decided on those few texts than from the positions of every one of
        its terms in RUM (2025年 死亡: 725 hits, 85 ms to find them in RUM through 202 <-> 025
        <4> 年:*, 1 ms through 202 & 025 & 死亡 in GIN)."""
        return _lexemes_where(
            [p.without_phrase(term) for term, p in zip(plan.terms, planned, strict=True)],
            texts, filters, params, "lexemes")

    @staticmethod
    def _counting(plan: planner.Plan, planned: list[TermParts], texts: list[str], filters: str,
                  params: dict[str, Any]) -> str:
        """The WHERE clause the exact count uses (empty: ``_where``'s own).

        Counting reads the whole posting list of every operand, and RUM's lists, which carry
        positions, are read several times slower than a plain GIN index's.  So a query whose
        count needs no positions reads its lexemes from the GIN index on ``strip(tokens)``,
        which only an expression ``strip(d.tokens) @@ …`` can use (a phrase never does: the
        planner cannot take it for one): a chain, which only narrows, is dropped and the text
        decides (``COUNT_PHRASES``); a query with a phrase RUM decides is counted on RUM."""
        counted = [p.without_phrase(term) if p.phrase and not _phrase_counted(p) else p
                   for term, p in zip(plan.terms, planned, strict=True)]
        if any(p.phrase for p in counted):
            # Lexemes from GIN ANDed with a phrase from RUM: the planner tested the phrase on
            # each candidate's terms instead (罚款 有限公司: 1.3 s for 0.1 s on RUM alone).
            return ""
        where = _lexemes_where(counted, texts, filters, params, "count_lexemes")
        return str(where) if where is not None else ""

    def _frequencies(self, conn: sa.Connection) -> Frequencies | None:
        """The lexemes' shares from the table's statistics (read again after five minutes:
        a rebuild analyses the table anew; None before the first ANALYZE: every operand is
        kept)."""
        now = time.monotonic()
        if self._shares is None or now - self._shares[1] > 300:
            row = conn.execute(sa.text(
                "SELECT most_common_elems::text::text[] AS elements, "
                "most_common_elem_freqs AS shares FROM pg_stats "
                f"WHERE tablename = '{TABLE}' AND attname = 'tokens'")).first()
            found = None
            if row is not None and row.elements is not None:
                # The last three shares are the least, the greatest and the share of NULLs.
                found = Frequencies(list(row.elements), list(row.shares[:len(row.elements)]))
            self._shares = (found, now)
        return self._shares[0]

    def _lexeme_total(self, conn: sa.Connection, plan: planner.Plan,
                      query: SearchQuery) -> int | None:
        """The exact count of a query of one term that one lexeme decides, without filters,
        from ``LEXEME_COUNTS`` (read in the search's snapshot); None for any other query, or
        when the counts are not kept (a database not yet migrated)."""
        if (len(plan.terms) != 1 or query.kinds or query.county or query.sector or query.year
                or len(lexemes := decisive_lexemes(plan.terms[0])) != 1):
            return None
        if self._has_lexeme_counts is None:
            self._has_lexeme_counts = bool(conn.scalar(sa.text(_HAS_LEXEME_COUNTS)))
        if not self._has_lexeme_counts:
            return None
        found = conn.scalar(sa.text(f"SELECT documents FROM {LEXEME_COUNTS} WHERE lexeme = :l"),
                            {"l": lexemes[0]})
        return int(found or 0)

    def _gram_total(self, conn: sa.Connection, plan: planner.Plan,
                    query: SearchQuery) -> int | None:
        """The exact count of a query of one term of GRAM_LENGTHS characters whose string is
        in ``GRAM_COUNTS``, without filters (read in the search's snapshot); None for any
        other query, a string not in the table, or when the counts are not kept."""
        low, high = GRAM_LENGTHS
        if (len(plan.terms) != 1 or query.kinds or query.county or query.sector or query.year
                or not low <= len(plan.terms[0].text) <= high):
            return None
        if self._has_gram_counts is None:
            self._has_gram_counts = bool(conn.scalar(sa.text(_HAS_GRAM_COUNTS)))
        if not self._has_gram_counts:
            return None
        found = conn.scalar(sa.text(f"SELECT documents FROM {GRAM_COUNTS} WHERE gram = :g"),
                            {"g": plan.terms[0].text})
        return None if found is None else int(found)

    def _state(self, conn: sa.Connection) -> bool:
        """Whether the generation's table, the count cache and the trigger exist (asked once
        per process; a database not yet migrated has none: no cache, counts every time)."""
        if self._has_state is None:
            self._has_state = bool(conn.scalar(sa.text(_HAS_STATE)))
        return self._has_state

    # -- the rest of the protocol -------------------------------------------------------------

    def generation(self) -> int:
        """A number raised in the same transaction as any change to the table (-1: no index
        yet): one row's read, whatever the size of the index."""
        with self._reading() as conn:
            if conn is None:
                return -1
            if self._state(conn):
                value = conn.scalar(sa.text(f"SELECT generation FROM {STATE} WHERE id = 1"))
            else:  # not migrated yet: the latest write's time
                value = conn.scalar(sa.text(
                    "SELECT floor(extract(epoch FROM max(written_at)) * 1000000)::bigint "
                    f"FROM {TABLE}"))
            return -1 if value is None else int(value)

    def warm(self, queries: Iterable[str] = ("矿山", "矿", "12号", "ma")) -> int:
        """Open the connection pool and read the table's statistics; returns ``generation()``."""
        for q in queries:
            self.search(SearchQuery(q=q))
        return self.generation()


@dataclass(frozen=True)
class _Where:
    """The conditions of the hits: tests on the row's own columns (``filters``), the index's
    (``tokens``, empty when nothing narrows) and the tests on the text that confirm the
    candidates (``confirm``, empty when none); and the same hits as the count finds them
    (``counting``)."""

    filters: str
    tokens: str = ""
    confirm: str = ""
    counting: str = ""  # the whole clause the count uses, when not this one (``_counting``)
    lexical: _Where | None = None  # what a page's candidates are sorted from (``_lexical``)

    @property
    def counted(self) -> str:
        return self.counting or str(self)

    @property
    def sorted(self) -> _Where:
        """The conditions a page's candidates are found by, sorted and then confirmed."""
        return self.lexical or self

    @staticmethod
    def _all(*tests: str) -> str:
        return " AND ".join(t for t in tests if t) or "true"

    @property
    def found(self) -> str:
        return self._all(self.filters, self.tokens)

    @property
    def tested(self) -> str:
        return self._all(self.confirm)

    def __str__(self) -> str:
        return self._all(self.filters, self.tokens, self.confirm)


class _Counter:
    """The exact counts of one read, taken from ``search_counts`` when counted before at the
    read's generation, else counted and kept there (``store``, at the end of the read)."""

    def __init__(self, index: PostgresIndex, conn: sa.Connection, plan: planner.Plan,
                 query: SearchQuery) -> None:
        self.conn = conn
        self.cached = index._state(conn)
        # What decides the hits (the sort and the page do not): the terms as planned, filters.
        self.key = json.dumps([sorted(plan.texts), sorted(query.kinds), query.county,
                               query.sector, query.year], ensure_ascii=False)
        self.generation: int | None = None
        self.new: dict[str, int] = {}

    def count(self, part: str, where: str, params: dict[str, Any]) -> int:
        key = f"{part} {self.key}"
        if self.cached:
            # The generation and the count are read in the snapshot of the whole read
            # (REPEATABLE READ, see ``_Reading``): a count kept under it is exact for it.
            row = self.conn.execute(sa.text(
                f"SELECT s.generation, c.total FROM {STATE} s LEFT JOIN {COUNTS} c "
                "ON c.key = :key AND c.generation = s.generation WHERE s.id = 1"),
                {"key": key}).first()
            if row is not None:
                self.generation = row.generation
                if row.total is not None:
                    return int(row.total)
        total = int(self.conn.scalar(
            sa.text(f"SELECT count(*) FROM {TABLE} d WHERE {where}"), params) or 0)
        self.new[key] = total
        return total

    def store(self) -> None:
        """Keep the counts made by this read (a failure, such as a read-only standby or a
        concurrent insert of the same count, only loses the saving)."""
        if not self.new or self.generation is None:
            return
        try:
            self.conn.execute(sa.text(
                f"INSERT INTO {COUNTS} (key, generation, total) VALUES (:key, :generation, "
                ":total) ON CONFLICT DO NOTHING"),
                [{"key": k, "generation": self.generation, "total": n}
                 for k, n in self.new.items()])
            self.conn.commit()
        except DBAPIError:
            self.conn.rollback()


class _Reading:
    """A connection for reading (None when the table does not exist yet); database errors
    become ``SearchUnavailable``."""

    def __init__(self, index: PostgresIndex) -> None:
        self.index = index
        self.conn: sa.Connection | None = None

    def __enter__(self) -> sa.Connection | None:
        try:
            # One snapshot for the whole read: the generation and the counts it keeps agree.
            self.conn = self.index._connect().connect().execution_options(
                isolation_level="REPEATABLE READ")
            if not self.index._table_exists(self.conn):
                return None
            # PostgreSQL's JIT compiled each broad search's plan for ~700 ms (the plans are
            # costed high; executing them takes milliseconds).  For this read only.
            # Nor do parallel workers pay on two cores shared by two workers.
            # A prefix's many posting lists, or a dense page's candidates, spilled to disk
            # with the default 4 MB (2024年 at 100,000 items: 54 ms, 30 ms with more).
            self.conn.execute(sa.text(
                "SELECT set_config('jit', 'off', true), "
                "set_config('max_parallel_workers_per_gather', '0', true), "
                "set_config('work_mem', '32MB', true)"))
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


