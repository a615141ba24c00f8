"""portal.crypto: keys from PORTAL_DATA_KEY, per-purpose Fernet keys, rotation, typed errors."""

from __future__ import annotations

import base64
import secrets

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portal.config import Settings, SettingsError
from portal.crypto import (
    MIN_KEY_LENGTH,
    Cipher,
    DataKeyInvalid,
    DecryptionFailed,
    Keyring,
    parse_data_keys,
)

OLD = secrets.token_urlsafe(32)
NEW = secrets.token_urlsafe(32)
PURPOSE = "reports.body"


def test_round_trip_of_chinese_and_empty_text():
    cipher = Keyring([NEW]).cipher(PURPOSE)
    for text in ("景洪市某化工厂夜间违规储存危险化学品，联系电话 13800000000", "", "a" * 10_000):
        token = cipher.encrypt(text)
        assert text[:20] not in token or not text
        assert cipher.decrypt(token) == text


def test_each_encryption_differs_and_carries_no_timestamp():
    cipher = Keyring([NEW]).cipher(PURPOSE)
    first, second = cipher.encrypt("同一内容"), cipher.encrypt("同一内容")
    assert first != second  # a fresh IV each time: equal texts do not look equal
    for token in (first, second):
        raw = base64.urlsafe_b64decode(token)
        # Fernet's version byte, then its 8-byte big-endian timestamp: zero, so a stored report
        # does not tell when it was written (DESIGN.md §3).
        assert raw[0] == 0x80 and raw[1:9] == bytes(8)


def test_the_derivation_is_hkdf_sha256_with_a_label_per_purpose():
    # Pins the scheme: a change here would make every stored value unreadable.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"xsbn-safety-portal/data-at-rest/v1/" + PURPOSE.encode()).derive(NEW.encode())
    token = Keyring([NEW]).cipher(PURPOSE).encrypt("内容")
    assert Fernet(base64.urlsafe_b64encode(derived)).decrypt(token) == "内容".encode()


def test_a_wrong_key_fails_with_the_typed_error():
    token = Keyring([OLD]).cipher(PURPOSE).encrypt("秘密")
    with pytest.raises(DecryptionFailed):
        Keyring([NEW]).cipher(PURPOSE).decrypt(token)


def test_a_token_of_another_purpose_does_not_decrypt():
    keyring = Keyring([NEW])
    token = keyring.cipher("staff_users.totp_secret").encrypt("JBSWY3DPEHPK3PXP")
    with pytest.raises(DecryptionFailed):
        keyring.cipher(PURPOSE).decrypt(token)


def flip(token: str, position: int) -> str:
    """``token`` with one bit of its byte at ``position`` flipped (still valid base64)."""
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[position] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("damage", [
    lambda t: flip(t, -1),  # signature
    lambda t: flip(t, 30),  # ciphertext
    lambda t: flip(t, 5),  # timestamp
    lambda t: t[:40],  # cut short
    lambda t: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",  # a plaintext value never encrypted
    lambda t: "",
    lambda t: "不是密文",
])
def test_damaged_or_foreign_values_fail_with_the_typed_error(damage):
    cipher = Keyring([NEW]).cipher(PURPOSE)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(damage(cipher.encrypt("内容")))


def test_rotation_old_key_still_decrypts_then_rotate_moves_to_the_newest_key():
    old_token = Keyring([OLD]).cipher(PURPOSE).encrypt("举报内容")
    both = Keyring([NEW, OLD]).cipher(PURPOSE)
    assert both.decrypt(old_token) == "举报内容"  # the old key still opens old values
    assert not both.is_current(old_token)
    new_token = both.rotate(old_token)
    assert both.is_current(new_token)
    # After rotation the old key can go …
    assert Keyring([NEW]).cipher(PURPOSE).decrypt(new_token) == "举报内容"
    # … and it no longer opens anything rotated.
    with pytest.raises(DecryptionFailed):
        Keyring([OLD]).cipher(PURPOSE).decrypt(new_token)
    # New values are written with the newest key.
    assert both.is_current(both.encrypt("新内容"))


def test_rotating_a_value_no_key_opens_fails_with_the_typed_error():
    token = Keyring([OLD]).cipher(PURPOSE).encrypt("内容")
    with pytest.raises(DecryptionFailed):
        Keyring([NEW]).cipher(PURPOSE).rotate(token)


def test_parse_data_keys_newest_first_and_trimmed():
    assert parse_data_keys(f" {NEW} , {OLD},") == (NEW, OLD)


@pytest.mark.parametrize("value", ["", " , ", "short", f"{NEW},{'x' * (MIN_KEY_LENGTH - 1)}"],
                         ids=["empty", "blank-list", "short", "second-key-short"])
def test_parse_data_keys_refuses_empty_and_short_keys_without_echoing_them(value):
    with pytest.raises(DataKeyInvalid) as caught:
        parse_data_keys(value)
    assert NEW not in str(caught.value) and "x" * 10 not in str(caught.value)


def test_settings_refuse_a_short_data_key_in_production():
    good = {"env": "production", "secret_key": secrets.token_urlsafe(48)}
    with pytest.raises(SettingsError, match="PORTAL_DATA_KEY.*32"):
        Settings.from_env({**good, "data_key": "k" * (MIN_KEY_LENGTH - 1)})
    with pytest.raises(SettingsError, match="key 2 of 2"):
        Settings.from_env({**good, "data_key": f"{NEW},tooshort"})
    with pytest.raises(SettingsError, match="PORTAL_DATA_KEY"):
        Settings.from_env({**good, "data_key": ""})
    assert Settings.from_env({**good, "data_key": f"{NEW},{OLD}"}).data_key == f"{NEW},{OLD}"


def test_settings_refuse_a_short_data_key_given_in_any_environment():
    with pytest.raises(SettingsError):
        Settings.from_env({"env": "test", "data_key": "short"})


def test_the_app_holds_a_keyring_of_the_configured_keys(tmp_path):
    from portal import create_app

    app = create_app({"env": "test", "data_key": f"{NEW},{OLD}",
                      "database_url": f"sqlite:///{tmp_path / 'p.db'}",
                      "index_dir": str(tmp_path / "index")})
    keyring = app.extensions["data_keys"]
    assert len(keyring) == 2
    token = keyring.cipher(PURPOSE).encrypt("内容")
    assert Keyring([NEW]).cipher(PURPOSE).decrypt(token) == "内容"


def test_nothing_prints_key_material():
    keyring = Keyring([NEW, OLD])
    for shown in (repr(keyring), repr(keyring.cipher(PURPOSE)), repr(Cipher([NEW], PURPOSE))):
        assert NEW not in shown and OLD not in shown
