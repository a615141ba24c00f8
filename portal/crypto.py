"""The one wrapper around ``cryptography`` for data at rest (DESIGN.md §3).

``PORTAL_DATA_KEY`` holds one or more keys separated by commas, newest first.  Each key is a
string of at least 32 random characters (``python -c 'import secrets;
print(secrets.token_urlsafe(32))'``); it is never used directly: HKDF-SHA256 derives one Fernet
key per *purpose* (a fixed label such as ``"staff_users.totp_secret"``), so a ciphertext copied
into another column does not decrypt there, and one data key serves every column.

Fernet (AES-128-CBC with HMAC-SHA256) authenticates what it encrypts: a wrong key or an edited
ciphertext raises ``DecryptionFailed``, never returns garbage.  ``MultiFernet`` encrypts with the
newest key and decrypts with any configured one, so keys rotate without downtime:

1. put a new key in front: ``PORTAL_DATA_KEY=new,old`` and restart;
2. ``flask --app portal rotate-data-key`` re-encrypts every encrypted column with the new key;
3. remove the old key and restart.

A Fernet token carries the time it was made, in clear.  Report content must not reveal when it
was submitted (DESIGN.md §3), so every token here is stamped with time 0; nothing here uses
Fernet's time-to-live.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

MIN_KEY_LENGTH = 32
KEY_SEPARATOR = ","
# HKDF's "info": binds each derived key to this application, this scheme version and a purpose.
_INFO_PREFIX = b"xsbn-safety-portal/data-at-rest/v1/"
# The time stamped into every token (see the module docstring).
_TOKEN_TIME = 0
EXTENSION_KEY = "data_keys"


class DataKeyInvalid(ValueError):
    """``PORTAL_DATA_KEY`` is empty or holds a key too short to be a real key."""


class DecryptionFailed(Exception):
    """A value does not decrypt with any configured key: wrong or removed key, or tampering."""


def parse_data_keys(value: str) -> tuple[str, ...]:
    """The keys in ``value`` (comma-separated, newest first), each checked for length.

    The message never contains a key, only its position.
    """
    keys = tuple(part.strip() for part in value.split(KEY_SEPARATOR) if part.strip())
    if not keys:
        raise DataKeyInvalid("PORTAL_DATA_KEY holds no key")
    for position, key in enumerate(keys, start=1):
        if len(key) < MIN_KEY_LENGTH:
            raise DataKeyInvalid(
                f"PORTAL_DATA_KEY: key {position} of {len(keys)} has {len(key)} characters; "
                f"each key needs at least {MIN_KEY_LENGTH} random characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
    return keys


def _derive(key: str, purpose: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=_INFO_PREFIX + purpose.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(key.encode("utf-8"))))


class Cipher:
    """Encrypts and decrypts text for one purpose with every configured key (newest first)."""

    def __init__(self, keys: Iterable[str], purpose: str) -> None:
        self.purpose = purpose
        self._fernets = [_derive(key, purpose) for key in keys]
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, plaintext: str) -> str:
        """A token of ``plaintext`` under the newest key (a new random IV each time)."""
        return self._multi.encrypt_at_time(plaintext.encode("utf-8"), _TOKEN_TIME).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text of ``token``; ``DecryptionFailed`` if no configured key opens it."""
        return self.decrypt_bytes(token).decode("utf-8")

    def encrypt_bytes(self, plaintext: bytes) -> str:
        """A token of ``plaintext`` bytes (a photo) under the newest key."""
        return self._multi.encrypt_at_time(plaintext, _TOKEN_TIME).decode("ascii")

    def decrypt_bytes(self, token: str) -> bytes:
        """The bytes of ``token``; ``DecryptionFailed`` if no configured key opens it."""
        try:
            return self._multi.decrypt(token)
        except (InvalidToken, TypeError, ValueError) as exc:
            raise DecryptionFailed(f"cannot decrypt a {self.purpose} value") from exc

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the newest key; ``DecryptionFailed`` as ``decrypt``."""
        try:
            return self._multi.rotate(token).decode("ascii")
        except (InvalidToken, TypeError, ValueError) as exc:
            raise DecryptionFailed(f"cannot decrypt a {self.purpose} value") from exc

    def is_current(self, token: str) -> bool:
        """True if ``token`` was made with the newest key (so rotating it changes nothing)."""
        try:
            self._fernets[0].extract_timestamp(token)
        except (InvalidToken, TypeError, ValueError):
            return False
        return True

    def __repr__(self) -> str:  # never show key material
        return f"<Cipher {self.purpose!r}, {len(self._fernets)} key(s)>"


class Keyring:
    """The configured data keys, newest first; hands out one ``Cipher`` per purpose."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = tuple(keys)
        if not self._keys:
            raise DataKeyInvalid("a keyring needs at least one key")
        self._ciphers: dict[str, Cipher] = {}

    @classmethod
    def from_setting(cls, value: str) -> Keyring:
        return cls(parse_data_keys(value))

    def __len__(self) -> int:
        return len(self._keys)

    def cipher(self, purpose: str) -> Cipher:
        if purpose not in self._ciphers:
            # HKDF per key and purpose runs once per process, not per value.
            self._ciphers[purpose] = Cipher(self._keys, purpose)
        return self._ciphers[purpose]

    def __repr__(self) -> str:
        return f"<Keyring {len(self._keys)} key(s)>"


def app_keyring() -> Keyring:
    """The current app's keyring (``create_app`` builds it from ``PORTAL_DATA_KEY``)."""
    return current_app.extensions[EXTENSION_KEY]


class EncryptedText(TypeDecorator[str]):
    """A text column stored encrypted: encrypted on the way in, decrypted on the way out.

    ``purpose`` names the column's key (``"<table>.<column>"`` by convention) and must never
    change once data is stored.  Equality filters on such a column cannot match (each
    encryption differs); look rows up by another column.
    """

    impl = Text
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return app_keyring().cipher(self.purpose).encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return app_keyring().cipher(self.purpose).decrypt(value)


class EncryptedBytes(EncryptedText):
    """Like ``EncryptedText`` for bytes (photos): the stored token is text, so rotation is the same."""

    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Any) -> str | None:  # type: ignore[override]
        if value is None:
            return None
        return app_keyring().cipher(self.purpose).encrypt_bytes(value)

    def process_result_value(self, value: str | None, dialect: Any) -> bytes | None:  # type: ignore[override]
        if value is None:
            return None
        return app_keyring().cipher(self.purpose).decrypt_bytes(value)
