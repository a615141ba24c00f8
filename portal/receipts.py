"""Receipt codes of anonymous reports (DESIGN.md §3): make, parse, digest, answer in fixed time.

Format.  24 random characters (120 bits from ``secrets``) and 4 check characters (20 bits), all
from Crockford's base32 alphabet (0-9, A-Z without I, L, O, U), written as 7 groups of 4 joined by
hyphens: ``7KQ2-XM9D-…`` (28 characters, 34 with hyphens).  24 + 4 fills the groups exactly, so
nobody wonders whether a short last group was cut off; 120 bits is above the 100 the design asks.

Input.  Case, spaces, hyphens and full-width forms do not matter; Crockford's confusables are
read as the digit people meant (I and L → 1, O → 0).  A code whose check part does not match is
refused here, before any database work: a mistyped or made-up code passes the check with
probability 2⁻²⁰ (about one in a million).  The check is an HMAC keyed by the app's
secret, so codes cannot be made offline by someone who only knows the format.

Storage.  Only an Argon2id hash of the canonical code is stored (``Report.receipt_digest``),
with one site-wide salt derived from the secret key, so the code alone finds its report (a
per-row salt would need the row first).  Parameters: t=2, m=19 MiB, p=1 (OWASP's first
recommended Argon2id setting) take about 20 ms on one core, so one submission on an idle
server stays far below 300 ms.  They still resist an offline guess because the guess space
is what protects the code, not the hash's cost: finding one of N stored codes takes about
2¹²⁰ / N guesses, i.e. more than 10²⁰ years at a billion guesses a second for a million
reports; and the salt and check key come from ``PORTAL_SECRET_KEY``, so a copy of the database
without the secret cannot test a single guess.  To rotate that key, set ``PORTAL_SECRET_KEY=NEW,OLD``
and keep the old key there for as long as reports made under it may be followed up: a code's
check part names the key it was made with (``candidate_digests``); a key dropped from the
setting takes its codes with it.

Time.  ``MinimumDuration`` pads an answer to a fixed minimum, and ``candidate_digests`` always
pays for one hash, so a wrong code (check valid or not) costs the same as a right one.  A padded
answer holds its thread while it waits, so ``AnswerSlots`` bounds how many a process pads at
once: the rest are answered at once with "busy, try again", before their code is read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from argon2.low_level import Type, hash_secret_raw

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# What people type for a character the alphabet left out (Crockford's decoding rules).
_CONFUSABLES = {"I": "1", "L": "1", "O": "0"}
RANDOM_CHARS = 24  # 5 bits each: 120 random bits
CHECK_CHARS = 4  # 20 bits of HMAC
CODE_CHARS = RANDOM_CHARS + CHECK_CHARS
GROUP = 4
SEPARATOR = "-"
# Longest input worth reading: the code with a separator and a space between all characters.
MAX_INPUT_CHARS = CODE_CHARS * 3

ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1
ARGON2_HASH_BYTES = 32
SALT_BYTES = 16

_CHECK_LABEL = "receipt-code.check.v1"
_SALT_LABEL = "receipt-code.salt.v1"
# Hashed when a code is refused before the lookup, so the refusal costs the same time.
_DUMMY_CODE = "0" * CODE_CHARS


class ReceiptCodeInvalid(ValueError):
    """Not a receipt code of this portal: wrong length, a foreign character or a wrong check."""


def _keyed(secret_key: str, label: str, data: bytes) -> bytes:
    return hmac.new(f"{label}:{secret_key}".encode(), data, hashlib.sha256).digest()


def _check_part(secret_key: str, random_part: str) -> str:
    value = int.from_bytes(_keyed(secret_key, _CHECK_LABEL, random_part.encode("ascii"))[:4], "big")
    value >>= 32 - 5 * CHECK_CHARS  # the first 20 bits
    return "".join(
        ALPHABET[(value >> (5 * (CHECK_CHARS - 1 - i))) & 31] for i in range(CHECK_CHARS)
    )


def with_check(secret_key: str, random_part: str) -> str:
    """``random_part`` (24 characters of the alphabet) with its check part, grouped."""
    return grouped(random_part + _check_part(secret_key, random_part))


def grouped(code: str) -> str:
    """``code`` (canonical, 28 characters) in groups of 4 joined by hyphens."""
    return SEPARATOR.join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def new_code(secret_key: str) -> str:
    """A fresh receipt code, canonical (no separators)."""
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return random_part + _check_part(secret_key, random_part)


def normalize(raw: str) -> str:
    """Upper case, full-width folded, spaces and hyphens dropped, confusables mapped."""
    text = unicodedata.normalize("NFKC", (raw or "")[:MAX_INPUT_CHARS]).upper()
    kept = (ch for ch in text if not ch.isspace() and ch not in "-‐‑‒–—_.")
    return "".join(_CONFUSABLES.get(ch, ch) for ch in kept)


def parse(raw: str, secret_key: str) -> str:
    """The canonical code in ``raw``; ``ReceiptCodeInvalid`` unless its check part matches."""
    code = normalize(raw)
    if len(code) != CODE_CHARS or any(ch not in _VALUE for ch in code):
        raise ReceiptCodeInvalid("not a receipt code")
    expected = _check_part(secret_key, code[:RANDOM_CHARS])
    if not hmac.compare_digest(expected, code[RANDOM_CHARS:]):
        raise ReceiptCodeInvalid("check part does not match")
    return code


def site_salt(secret_key: str) -> bytes:
    """The one site-wide salt: a keyed hash of a fixed label, so it is secret with the key."""
    return _keyed(secret_key, _SALT_LABEL, b"")[:SALT_BYTES]


def digest(code: str, secret_key: str) -> str:
    """Argon2id of a canonical code with the site-wide salt, hex (``Report.receipt_digest``)."""
    raw = hash_secret_raw(
        secret=code.encode("ascii"),
        salt=site_salt(secret_key),
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=ARGON2_HASH_BYTES,
        type=Type.ID,
    )
    return raw.hex()


def candidate_digests(raw: str, secret_keys: Sequence[str]) -> list[str]:
    """The digests the code in ``raw`` may be stored under, one per secret key (newest first)
    whose check part it carries: while ``PORTAL_SECRET_KEY`` is rotated, a code made under the
    old key still opens its report.  Its check part names the key, so this is one Argon2id hash
    (two only with a 2⁻²⁰ chance); empty for a non-code, after one hash all the same."""
    code = normalize(raw)
    found = []
    for key in secret_keys:
        try:
            found.append(digest(parse(code, key), key))
        except ReceiptCodeInvalid:
            continue
    if not found:
        digest(_DUMMY_CODE, secret_keys[0])
    return found


@dataclass
class MinimumDuration:
    """``with MinimumDuration(0.5):`` — the block takes at least that long.

    Wraps everything from reading a submitted code to the finished answer, so a wrong code and
    a right one cannot be told apart by the time the answer takes (as long as the real work
    stays below the minimum)."""

    seconds: float
    started: float = 0.0

    def __enter__(self) -> MinimumDuration:
        self.started = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        remaining = self.seconds - (time.monotonic() - self.started)
        if remaining > 0:
            time.sleep(remaining)


class AnswerSlots:
    """How many answers to a code one process may be padding at once (DESIGN.md §3: no padded
    answer may hold the threads that serve everyone else).

    ``try_take`` answers at once, or after waiting up to ``wait`` seconds as the process's one
    request in line for a slot: with every slot taken and someone already in line, the caller
    answers "busy" at once.  Either way before the code is read, so it says nothing about the
    code.  The line is one long because each place in it holds a thread too: at most
    ``size + 1`` threads of a process are ever held for codes."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("at least one slot")
        self.size = size
        self._free = threading.BoundedSemaphore(size)
        self._line = threading.BoundedSemaphore(1)
        self._lock = threading.Lock()
        self._taken = 0

    def try_take(self, wait: float = 0.0) -> bool:
        """Take a slot if one is free, or frees up within ``wait`` seconds while this caller
        is the one in line; else False."""
        if not self._free.acquire(blocking=False):
            if not wait or not self._line.acquire(blocking=False):
                return False
            try:
                if not self._free.acquire(timeout=wait):
                    return False
            finally:
                self._line.release()
        with self._lock:
            self._taken += 1
        return True

    def give_back(self) -> None:
        with self._lock:
            self._taken -= 1
        self._free.release()

    @property
    def taken(self) -> int:
        """Slots in use now (for tests and benchmarks)."""
        return self._taken
