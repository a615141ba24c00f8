"""Data-key rotation: re-encrypt every ``EncryptedText`` column with the newest data key.

After ``PORTAL_DATA_KEY=new,old`` is deployed, ``rotate_data_key()`` (``flask --app portal
rotate-data-key``) rewrites each value that is not yet under the new key; once it reports no
failure, the old key can be removed from the setting.  Run with a single key, it changes
nothing and proves that every stored value still decrypts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Column, Table, Text, literal, select, type_coerce, update

from portal import audit
from portal.crypto import DecryptionFailed, EncryptedText, Keyring, app_keyring
from portal.extensions import db
from portal.models import Base

BATCH_SIZE = 500


class RotationFailed(Exception):
    """A stored value does not decrypt with any configured key; nothing was changed."""


@dataclass(frozen=True)
class ColumnRotation:
    column: str  # "table.column"
    rotated: int  # re-encrypted with the newest key
    current: int  # already under the newest key
    changed_meanwhile: int  # rewritten by the application during the run (already new)

    @property
    def total(self) -> int:
        return self.rotated + self.current + self.changed_meanwhile


@dataclass(frozen=True)
class RotationReport:
    keys: int
    columns: list[ColumnRotation]

    @property
    def rotated(self) -> int:
        return sum(c.rotated for c in self.columns)


def encrypted_columns() -> list[tuple[Table, Column]]:
    """Every column of the models stored with ``EncryptedText``, in table order."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText):
                if len(table.primary_key.columns) != 1:
                    raise NotImplementedError(f"{table.name}: rotation needs a one-column key")
                found.append((table, column))
    return found


def _stored_tokens(table: Table, column: Column) -> Iterator[tuple[object, str]]:
    """(primary key, token as stored), in key order, a batch at a time (keyset, not offset)."""
    [pk] = table.primary_key.columns
    stored = type_coerce(column, Text)  # the token itself, not decrypted
    last = None
    while True:
        stmt = select(pk, stored).where(column.isnot(None)).order_by(pk).limit(BATCH_SIZE)
        if last is not None:
            stmt = stmt.where(pk > last)
        rows = db.session.execute(stmt).all()
        yield from ((row[0], row[1]) for row in rows)
        if len(rows) < BATCH_SIZE:
            return
        last = rows[-1][0]


def _rotate_column(keyring: Keyring, table: Table, column: Column) -> ColumnRotation:
    cipher = keyring.cipher(column.type.purpose)
    [pk] = table.primary_key.columns
    stored = type_coerce(column, Text)
    rotated = current = changed = 0
    for key, token in _stored_tokens(table, column):
        if cipher.is_current(token):
            current += 1
            continue
        try:
            new_token = cipher.rotate(token)
        except DecryptionFailed:
            raise RotationFailed(
                f"{table.name}.{column.name} (id {key}): no configured key decrypts this value"
            ) from None
        # Written only if the value is still the one read: a row the application changed in
        # the meantime (with the new key, after the restart) is left as it is.
        result = db.session.execute(
            update(table)
            .where(pk == key, stored == literal(token, Text))
            .values({column.name: literal(new_token, Text)})
        )
        if result.rowcount == 1:
            rotated += 1
        else:
            changed += 1
    return ColumnRotation(f"{table.name}.{column.name}", rotated, current, changed)


def rotate_data_key(*, keyring: Keyring | None = None) -> RotationReport:
    """Re-encrypt every encrypted column with the newest key, in one transaction, audited.

    Raises ``RotationFailed`` (and changes nothing) if any value decrypts with no configured
    key, for instance because a key still in use was removed from ``PORTAL_DATA_KEY``.
    """
    keyring = keyring or app_keyring()
    try:
        columns = [_rotate_column(keyring, table, column) for table, column in encrypted_columns()]
        report = RotationReport(len(keyring), columns)
        audit.record(
            db.session, "data_key_rotate", actor_name=audit.SYSTEM_ACTOR,
            object_kind="data_key",
            summary={"keys": report.keys,
                     "columns": {c.column: {"rotated": c.rotated, "current": c.current,
                                            "changed_meanwhile": c.changed_meanwhile}
                                 for c in columns}},
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return report
