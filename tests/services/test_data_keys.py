"""Encrypted columns at rest (the TOTP secret) and ``flask --app portal rotate-data-key``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select, text

from portal import create_app
from portal.audit import AuditEvent
from portal.crypto import DecryptionFailed
from portal.extensions import db
from portal.services.operations import data_keys
from portal.staff import accounts
from portal.staff.models import StaffUser
from tests.staff.conftest import PASSWORD, login

KEY_A = secrets.token_urlsafe(32)
KEY_B = secrets.token_urlsafe(32)
KEY_C = secrets.token_urlsafe(32)


@pytest.fixture
def app_settings() -> dict:
    """The usual fresh database, under a data key this module knows."""
    return {"data_key": KEY_A}


@contextmanager
def same_database(app: Flask, tmp_path, data_key: str) -> Iterator[Flask]:
    """Another app on ``app``'s database with other keys: the same data after a redeploy."""
    other = create_app({"env": "test", "data_key": data_key,
                        "database_url": app.config["SQLALCHEMY_DATABASE_URI"],
                        "index_dir": str(tmp_path / "index"), "ratelimit_storage_uri": "memory://"})
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def create_accounts(app: Flask, *names: str) -> dict[str, str]:
    """Accounts made through the real service; returns username → TOTP secret."""
    secrets_by_name = {}
    with app.app_context():
        for name in names:
            user = accounts.create_account(username=name, password=PASSWORD, roles={"editor"},
                                           totp_confirmed=True, actor_name="system")
            secrets_by_name[name] = user.totp_secret
    return secrets_by_name


def stored_secrets(app: Flask) -> dict[str, str]:
    """username → the totp_secret column as the database holds it."""
    with app.app_context():
        rows = db.session.execute(text("SELECT username, totp_secret FROM staff_users"))
        return dict(rows.all())


def read_secrets(app: Flask) -> dict[str, str]:
    with app.app_context():
        return {u.username: u.totp_secret for u in db.session.scalars(select(StaffUser))}


def rotate(app: Flask):
    return app.test_cli_runner().invoke(args=["rotate-data-key"])


def test_the_database_never_holds_a_totp_secret_in_clear(app):
    created = create_accounts(app, "editor.li", "editor.wang")
    with app.app_context(), app.test_request_context():
        user = accounts.find("editor.wang")
        accounts.reset_totp(user)
        created["editor.wang"] = user.totp_secret
    assert read_secrets(app) == created  # the application reads the secrets back
    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM staff_users")).all()
        summaries = db.session.execute(text("SELECT summary FROM audit_events")).all()
    dump = repr(rows) + repr(summaries)
    for secret in created.values():
        assert len(secret) == 32 and secret not in dump
    for token in stored_secrets(app).values():
        assert token.startswith("gAAAAA")  # a Fernet token (version byte 0x80)


def test_sign_in_with_an_encrypted_secret(app):
    secret = create_accounts(app, "editor.li")["editor.li"]
    with app.app_context():
        sign_in = accounts.authenticate(username="editor.li", password=PASSWORD,
                                        code=pyotp.TOTP(secret).now())
        assert sign_in.user.username == "editor.li"


def test_another_key_cannot_read_the_secrets(app, tmp_path):
    create_accounts(app, "editor.li")
    with same_database(app, tmp_path, KEY_C) as stranger, stranger.app_context():
        with pytest.raises(DecryptionFailed):
            db.session.scalars(select(StaffUser)).all()


def test_rotation_old_key_decrypts_until_rotate_then_the_old_key_can_go(app, tmp_path):
    created = create_accounts(app, "editor.li", "editor.wang")
    before = stored_secrets(app)
    # 1. Deploy a new key in front of the old one: everything still reads, nothing rewritten.
    with same_database(app, tmp_path, f"{KEY_B},{KEY_A}") as both:
        assert read_secrets(both) == created
        assert stored_secrets(both) == before
        # 2. Rotate.
        result = rotate(both)
        assert result.exit_code == 0, result.output
        assert "staff_users.totp_secret：重新加密 2 条，已是最新密钥 0 条" in result.output
        assert "可以从 PORTAL_DATA_KEY 中删除旧密钥" in result.output
        after = stored_secrets(both)
        assert all(after[name] != before[name] for name in created)
        # New accounts under the new keys join the rotated ones.
        created |= create_accounts(both, "editor.zhao")
    # 3. The old key is gone: everything still reads.
    with same_database(app, tmp_path, KEY_B) as new_only:
        assert read_secrets(new_only) == created
        again = rotate(new_only)  # with one key: changes nothing, proves all decrypt
        assert again.exit_code == 0, again.output
        assert "重新加密 0 条，已是最新密钥 3 条" in again.output
        assert "删除旧密钥" not in again.output
        assert stored_secrets(new_only)["editor.li"] == after["editor.li"]
    # The old key alone opens nothing any more.
    with same_database(app, tmp_path, KEY_A) as old_only, old_only.app_context():
        with pytest.raises(DecryptionFailed):
            db.session.scalars(select(StaffUser)).all()


def test_rotation_is_audited_and_the_chain_stays_intact(app, tmp_path):
    create_accounts(app, "editor.li")
    with same_database(app, tmp_path, f"{KEY_B},{KEY_A}") as both:
        assert rotate(both).exit_code == 0
        with both.app_context():
            event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
            assert (event.action, event.actor, event.object_kind) == (
                "data_key_rotate", "system", "data_key")
            assert event.summary["keys"] == 2
            assert event.summary["columns"]["staff_users.totp_secret"] == {
                "rotated": 1, "current": 0, "changed_meanwhile": 0}
        verify = both.test_cli_runner().invoke(args=["audit-verify"])
        assert verify.exit_code == 0 and "共 2 条事件" in verify.output
        admin = both.test_client()
        login(admin, roles=("admin",))
        page = admin.get("/staff/audit?action=data_key_rotate").get_data(as_text=True)
        assert "共 1 条" in page and "轮换数据加密密钥" in page and "数据加密密钥" in page


def test_rotation_without_the_key_in_use_changes_nothing(app, tmp_path):
    create_accounts(app, "editor.li", "editor.wang")
    before = stored_secrets(app)
    # The operator dropped the old key before rotating: refused, nothing written.
    with same_database(app, tmp_path, KEY_B) as wrong:
        result = rotate(wrong)
        assert result.exit_code == 1
        assert "未做任何更改" in result.output and "staff_users.totp_secret (id 1)" in result.output
        assert stored_secrets(wrong) == before
        with wrong.app_context():
            assert db.session.scalar(
                select(AuditEvent.action).order_by(AuditEvent.seq.desc())) == "account_create"


def test_a_value_rewritten_during_rotation_is_left_alone(app, tmp_path, monkeypatch):
    create_accounts(app, "editor.li")
    stale = stored_secrets(app)["editor.li"]
    with same_database(app, tmp_path, f"{KEY_B},{KEY_A}") as both:
        with both.app_context():
            # The application writes a new value (under the new key) after rotation read the
            # old one: rotation must not put the old secret back.
            user = accounts.find("editor.li")
            user.totp_secret = "NEWSECRETNEWSECRETNEWSECRETNEWS2"
            db.session.commit()
            fresh = stored_secrets(both)["editor.li"]
            monkeypatch.setattr(data_keys, "_stored_tokens", lambda table, column: iter(
                [(user.id, stale)] if table.name == "staff_users" else []))
            report = data_keys.rotate_data_key()
        assert [(c.rotated, c.current, c.changed_meanwhile) for c in report.columns
                if c.column == "staff_users.totp_secret"] == [(0, 0, 1)]
        assert stored_secrets(both)["editor.li"] == fresh
        assert read_secrets(both)["editor.li"] == "NEWSECRETNEWSECRETNEWSECRETNEWS2"


def test_rotation_reads_in_batches(app, tmp_path, monkeypatch):
    monkeypatch.setattr(data_keys, "BATCH_SIZE", 2)
    created = create_accounts(app, *(f"editor{i}" for i in range(5)))
    with same_database(app, tmp_path, f"{KEY_B},{KEY_A}") as both:
        result = rotate(both)
        assert "重新加密 5 条" in result.output, result.output
    with same_database(app, tmp_path, KEY_B) as new_only:
        assert read_secrets(new_only) == created


def test_every_encrypted_column_is_found():
    import portal.credit.models  # noqa: F401 - registered when the app is made

    assert sorted(f"{t.name}.{c.name}" for t, c in data_keys.encrypted_columns()) == [
        "objections.answer", "objections.applicant_name", "objections.contact",
        "objections.should_read", "objections.what_is_wrong",
        "repair_applications.applicant_name", "repair_applications.applicant_role",
        "repair_applications.contact", "repair_applications.penalty_done",
        "repair_applications.reasons", "repair_applications.rectification",
        "repair_documents.data", "repair_events.note",
        "report_drafts.payload", "report_events.note", "report_messages.body",
        "report_photos.data", "report_photos.thumbnail", "reports.contact",
        "reports.decline_reason",
        "reports.description", "reports.enterprise_name", "reports.extension_reason",
        "reports.place", "reports.seen_since", "reports.uscc", "reward_rejections.reason",
        "rewards.payment_details", "rewards.payment_reference", "rewards.rejection_reason",
        "staff_users.totp_secret"]
