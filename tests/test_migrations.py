"""Migrations that do more than the models show: database triggers, data conversions.

Each test leaves the database at head again (on PostgreSQL the schema outlives the test).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from portal import database
from portal.extensions import db


def downgrade(revision: str) -> None:
    cfg = database.alembic_config()
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


@contextmanager
def at_revision(revision: str):
    """Run the body on the schema of ``revision``, then upgrade back to head, even on failure."""
    downgrade(revision)
    try:
        yield
    finally:
        db.session.rollback()
        database.upgrade()


def insert_event(seq: int) -> None:
    db.session.execute(text(
        "INSERT INTO audit_events (seq, occurred_at, actor, action, object_kind, object_id, "
        "summary, prev_hash, hash) VALUES (:seq, CURRENT_TIMESTAMP, 'system', 'edit', '', '', "
        "'{}', :prev, :hash)"
    ), {"seq": seq, "prev": f"{seq - 1:064d}", "hash": f"{seq:064d}"})
    db.session.commit()


def test_0003_guards_the_audit_log_and_its_downgrade_lifts_the_guard(app_ctx):
    insert_event(1)
    with at_revision("0002"):
        db.session.execute(text("UPDATE audit_events SET actor = 'changed' WHERE seq = 1"))
        db.session.commit()
    # Back at head: the guard is there again.
    with pytest.raises(IntegrityError, match="append-only"):
        db.session.execute(text("UPDATE audit_events SET actor = 'again' WHERE seq = 1"))
    db.session.rollback()
    with pytest.raises(IntegrityError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    db.session.rollback()
    insert_event(2)  # inserting is what the log is for
    assert db.session.scalar(text("SELECT count(*) FROM audit_events")) == 2


def test_0004_encrypts_existing_totp_secrets_and_its_downgrade_decrypts_them(app_ctx):
    from portal.staff.models import StaffUser

    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    with at_revision("0003"):
        db.session.execute(text(
            "INSERT INTO staff_users (username, display_name, password_hash, totp_secret, "
            "active, session_token, created_at) VALUES ('editor.li', '', 'x', :secret, "
            ":active, 'token', CURRENT_TIMESTAMP)"
        ), {"secret": secret, "active": True})
        db.session.commit()
    stored = db.session.scalar(text("SELECT totp_secret FROM staff_users"))
    assert stored != secret and secret not in stored and stored.startswith("gAAAAA")
    assert db.session.scalar(db.select(StaffUser.totp_secret)) == secret
    db.session.rollback()
    with at_revision("0003"):
        assert db.session.scalar(text("SELECT totp_secret FROM staff_users")) == secret
        db.session.rollback()
    # And up again: encrypted once more, readable through the model.
    assert db.session.scalar(text("SELECT totp_secret FROM staff_users")).startswith("gAAAAA")
    assert db.session.scalar(db.select(StaffUser.totp_secret)) == secret


def test_0010_keeps_the_rejection_of_a_reward_rejected_before_it(app_ctx):
    from portal.models import Reward, RewardRejection
    from portal.services.reporting import rewards
    from tests import factories
    from tests.staff.conftest import make_staff

    report = factories.accepted_report()
    report.status, report.verification_result = "verified", "true"
    report.decision = factories.decision()
    db.session.commit()
    reward = rewards.propose(report, actor=make_staff("handler"))
    rewards.reject(reward, actor=make_staff("approver"), reason="举报人系该企业安全管理人员")
    pending = factories.accepted_report()
    pending.status, pending.verification_result = "verified", "true"
    pending.decision = factories.decision()
    db.session.commit()
    rewards.propose(pending, actor=make_staff("handler"))
    db.session.remove()
    with at_revision("0009"):
        pass
    [kept] = db.session.scalars(db.select(RewardRejection)).all()
    rejected = db.session.get(Reward, kept.reward_id)
    assert rejected.status == "rejected"
    assert (kept.amount_yuan, kept.basis, kept.proposed_on, kept.rejected_by_id, kept.rejected_on,
            kept.reason) == (rejected.amount_yuan, rejected.basis, rejected.proposed_on,
                             rejected.decided_by_id, rejected.decided_on, "举报人系该企业安全管理人员")
    # Both reasons are stored encrypted (they may quote the report), readable through the models.
    for sql in ("SELECT reason FROM reward_rejections", "SELECT rejection_reason FROM rewards "
                "WHERE rejection_reason IS NOT NULL"):
        assert db.session.scalar(text(sql)).startswith("gAAAAA")
    assert rejected.rejection_reason == "举报人系该企业安全管理人员"


def test_0014p_gives_existing_search_rows_positions_so_phrases_are_decided(app_ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the search table exists on PostgreSQL only")
    from search_index import SearchQuery
    from search_index.postgres import PostgresIndex

    with at_revision("0013"):
        # A row as the previous version wrote it: lexemes without positions.
        db.session.execute(text(
            "INSERT INTO search_documents (kind, item_id, title, original, body, title_chars, "
            "length, tokens, event_date, county, sector, withdrawn, deleted, written_at) VALUES "
            "('decisions', 1, '现场检查', '现场检查 矿山', '现场检查 矿山', 4, 7, "
            "array_to_tsvector('{现场,场检,检查,矿山}'), NULL, '', '', false, false, now()), "
            "('decisions', 2, '现场', '现场 检查', '现场 检查', 2, 5, "
            "array_to_tsvector('{现场,检查}'), NULL, '', '', false, false, now())"))
        db.session.commit()
    assert db.session.scalar(text(
        "SELECT count(*) FROM search_documents WHERE positional")) == 2
    index = PostgresIndex(db.engine.url.render_as_string(hide_password=False))
    try:
        assert [h.id for h in index.search(SearchQuery(q="现场检查")).hits] == [1]
        assert index.search(SearchQuery(q="检查")).total == 2
    finally:
        index.close()
        db.session.execute(text("DELETE FROM search_documents"))
        db.session.commit()


def test_0016g_gives_existing_search_rows_their_title_terms_and_the_index_a_generation(app_ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the search table exists on PostgreSQL only")
    from search_index import SearchQuery
    from search_index.postgres import PostgresIndex, tsvector_literal

    with at_revision("0015d"):
        # A row as the previous version wrote it: no title terms, no generation.
        tokens, _ = tsvector_literal("现场检查 矿山", 4)
        db.session.execute(text(
            "INSERT INTO search_documents (kind, item_id, title, original, body, title_chars, "
            "length, tokens, positional, heading, event_date, county, sector, withdrawn, "
            "deleted, written_at) VALUES ('decisions', 1, '现场检查', '现场检查 矿山', "
            "'现场检查 矿山', 4, 7, CAST(:tokens AS tsvector), true, '现场检查', NULL, '', '', "
            "false, false, now())"), {"tokens": tokens})
        db.session.commit()
    assert "'现场'" in db.session.scalar(text("SELECT title_terms::text FROM search_documents"))
    index = PostgresIndex(db.engine.url.render_as_string(hide_password=False))
    try:
        before = index.generation()
        assert index.search(SearchQuery(q="检查")).total == 1
        db.session.execute(text("DELETE FROM search_documents"))  # the trigger raises it
        db.session.commit()
        assert index.generation() > before
        assert index.search(SearchQuery(q="检查")).total == 0
    finally:
        index.close()
        db.session.execute(text("DELETE FROM search_documents"))
        db.session.commit()


def test_0017c_puts_the_terms_without_positions_under_a_gin_index_beside_rum(app_ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the search table exists on PostgreSQL only")
    from search_index import Document, SearchQuery
    from search_index.postgres import PostgresIndex

    url = db.engine.url.render_as_string(hide_password=False)
    lexemes = text("SELECT to_regclass('search_documents_lexemes') IS NOT NULL")
    rum = db.session.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'rum'")) > 0
    index = PostgresIndex(url)
    try:
        index.update([Document(kind="decisions", id=1, title="现场检查", text="现场检查 矿山",
                                date=None)])
        with at_revision("0016g"):
            assert not db.session.scalar(lexemes)
            db.session.commit()
            reader = PostgresIndex(url)  # a process that finds no such index counts on RUM
            assert reader.search(SearchQuery(q="矿山")).total == 1
            reader.close()
        assert db.session.scalar(lexemes) == rum
        db.session.commit()
        reader = PostgresIndex(url)
        assert reader.search(SearchQuery(q="矿山 检查")).total == 1
        reader.close()
    finally:
        index.close()
        db.session.execute(text("DELETE FROM search_documents"))
        db.session.commit()


def test_0018p_counts_the_lexemes_of_existing_search_rows_and_triggers_keep_them_exact(app_ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the search table exists on PostgreSQL only")
    from search_index import Document, SearchQuery
    from search_index.postgres import PostgresIndex

    url = db.engine.url.render_as_string(hide_password=False)
    kept = text("SELECT to_regclass('search_lexeme_counts') IS NOT NULL")
    mines = text("SELECT documents FROM search_lexeme_counts WHERE lexeme = '矿山'")
    storage = text("SELECT attstorage FROM pg_attribute WHERE attname = 'title_terms' "
                   "AND attrelid = to_regclass('search_documents')")
    index = PostgresIndex(url)
    try:
        index.update([Document(kind="decisions", id=n, title="现场检查", text="现场检查 矿山",
                               date=None) for n in (1, 2)])
        with at_revision("0017c"):
            assert not db.session.scalar(kept)
            assert db.session.scalar(storage) == "p"
            db.session.commit()
            # Written before the migration: no counts kept, the count is made on the rows.
            index.update([Document(kind="decisions", id=3, title="矿山", text="矿山", date=None)])
            reader = PostgresIndex(url)
            assert reader.search(SearchQuery(q="矿山")).total == 3
            reader.close()
        assert db.session.scalar(mines) == 3
        assert db.session.scalar(storage) == "e"  # the title's terms out of line from here on
        db.session.commit()
        index.update([], deleted=["decisions:2"])  # kept exact from here on
        assert db.session.scalar(mines) == 2
        db.session.commit()
        reader = PostgresIndex(url)
        assert reader.search(SearchQuery(q="矿山")).total == 2
        reader.close()
    finally:
        index.close()
        db.session.execute(text("DELETE FROM search_documents"))
        db.session.commit()


def test_0019t_makes_writers_take_turns_and_keeps_strings_counts_once_a_rebuild_fills_them(
        app_ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the search table exists on PostgreSQL only")
    from search_index import Document, SearchQuery
    from search_index.postgres import PostgresIndex

    url = db.engine.url.render_as_string(hide_password=False)
    kept = text("SELECT to_regclass('search_gram_counts') IS NOT NULL")
    turns = text("SELECT count(*) FROM pg_trigger WHERE tgname = 'search_writers_in_turn'")
    phrase = text("SELECT documents FROM search_gram_counts WHERE gram = '现场检查'")

    def item(n: int) -> Document:
        return Document(kind="decisions", id=n, title="现场检查", text="现场检查 矿山", date=None)

    index = PostgresIndex(url)
    try:
        index.update([item(1)])
        with at_revision("0018p"):
            assert not db.session.scalar(kept) and db.session.scalar(turns) == 0
            db.session.commit()
        assert db.session.scalar(turns) == 1
        assert db.session.scalar(text("SELECT count(*) FROM search_gram_counts")) == 0
        db.session.commit()
        reader = PostgresIndex(url)
        assert reader.search(SearchQuery(q="现场检查")).total == 1  # counted on the rows
        index.rebuild([item(1), item(2)])
        assert db.session.scalar(phrase) == 2
        db.session.commit()
        index.update([item(3)], deleted=["decisions:1"])  # kept exact from here on
        assert db.session.scalar(phrase) == 2
        db.session.commit()
        assert reader.search(SearchQuery(q="现场检查")).total == 2
        reader.close()
    finally:
        index.close()
        db.session.execute(text("DELETE FROM search_documents"))
        db.session.commit()


@pytest.mark.parametrize("departments", [1, 2])
def test_0015d_puts_existing_staff_in_the_only_department_else_leaves_it_unset(app_ctx,
                                                                              departments):
    from portal.staff.models import StaffUser
    from tests import factories
    from tests.staff.conftest import make_staff

    for n in range(1, departments):
        factories.department(f"第{n}个其他部门")
    ids = [make_staff("editor").id, make_staff("approver", department=None).id]
    db.session.remove()
    with at_revision("0015v"):
        pass
    found = {u.id: u.department for u in db.session.scalars(
        db.select(StaffUser).where(StaffUser.id.in_(ids)))}
    if departments == 1:
        assert {d.name for d in found.values()} == {"西双版纳州应急管理局"}
    else:
        assert set(found.values()) == {None}
