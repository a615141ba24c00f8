"""Rules of the enterprise credit check: what a listing restricts, and certificate numbers."""

from __future__ import annotations

import re
import secrets
import unicodedata

# What follows from being on the 严重失信主体名单 while the listing is active (the measures the
# rules let other authorities take; the seed's list, in its order).
BLACKLIST_RESTRICTIONS: tuple[str, ...] = (
    "经营",
    "投融资",
    "政府采购",
    "工程招投标",
    "国有土地出让",
    "荣誉授予",
    "进出口",
    "出入境",
    "资质审核",
)

# Certificate numbers: Crockford base32 (no I, L, O, U), in groups of 4 like the report receipt
# code, so that a number can be read over the phone and typed on a phone keyboard.  The first
# group names the portal (西双版纳); the rest is random: 8 symbols, 40 bits.  A certificate only
# repeats what the published records said, so the number needs to be unguessable enough not to
# be found by trying (the verification page is rate-limited too), not secret.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CERTIFICATE_PREFIX = "XSBN"
CERTIFICATE_RANDOM_SYMBOLS = 8
GROUP = 4
# How people mistype Crockford symbols (Crockford's own decoding rule).
_CROCKFORD_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_NUMBER_PATTERN = re.compile(
    rf"^(?:{CERTIFICATE_PREFIX})?([{CROCKFORD}]{{{CERTIFICATE_RANDOM_SYMBOLS}}})$"
)


def new_certificate_number() -> str:
    """A fresh random number such as ``XSBN-7KQ2-XM9D`` (the caller checks it is unused)."""
    while True:
        body = "".join(secrets.choice(CROCKFORD) for _ in range(CERTIFICATE_RANDOM_SYMBOLS))
        # A body that starts like the prefix would make "XSBN-7KQ2" (a number typed in half)
        # ambiguous: never issue one.
        if not body.startswith(CERTIFICATE_PREFIX):
            break
    return format_certificate_number(CERTIFICATE_PREFIX + body)


def format_certificate_number(compact: str) -> str:
    return "-".join(compact[i:i + GROUP] for i in range(0, len(compact), GROUP))


def parse_certificate_number(raw: str) -> str | None:
    """The number in its printed form, or None if ``raw`` cannot be one.

    Case, spaces, hyphens and full-width input do not matter, nor does leaving out the
    ``XSBN`` group (no number's random part starts with it); I, L and O are read as 1, 1 and 0.
    """
    text = unicodedata.normalize("NFKC", raw or "").upper()
    compact = "".join(ch for ch in text if ch.isalnum())
    if compact.startswith(CERTIFICATE_PREFIX):
        compact = compact[len(CERTIFICATE_PREFIX):]
    compact = compact.translate(_CROCKFORD_ALIASES)
    match = _NUMBER_PATTERN.match(compact)
    if not match:
        return None
    return format_certificate_number(CERTIFICATE_PREFIX + match.group(1))
