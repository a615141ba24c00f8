"""The hash-chained audit log: appending, guards, audit-verify against tampering, browsing."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.audit import AuditEvent, AuditLogImmutable
from portal.extensions import db
from tests.staff.conftest import login, make_staff


def append(app, n: int, **kwargs) -> None:
    with app.app_context():
        for i in range(n):
            audit.record(db.session, kwargs.get("action", "edit"), actor_name=kwargs.get(
                "actor", "system"), object_kind=kwargs.get("kind", "decisions"), object_id=i + 1,
                summary={"changes": {"fine_yuan": [str(i), str(i + 1)]}, "文字": "中文内容"})
        db.session.commit()


def raw(app, sql: str, **params) -> None:
    """Run ``sql`` behind the application's back, as any database client could."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(sql), params)


def tamper(app, sql: str, **params) -> None:
    """Change the table as its owner could: lift the database's append-only guard (migration
    0003), run ``sql``, put the guard back, all in one transaction.  The hash chain is what
    catches this attacker."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The schema outlives this test on PostgreSQL: disable, not drop, and re-enable
            # before commit, so no other test ever runs without the guard.
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
            conn.execute(text(sql), params)
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
            return
        triggers = conn.execute(text(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' AND tbl_name = 'audit_events'"
        )).all()
        assert len(triggers) == 3, triggers
        for name, _ in triggers:
            conn.execute(text(f'DROP TRIGGER "{name}"'))
        conn.execute(text(sql), params)
        for _, create in triggers:
            conn.execute(text(create))


def verify(runner, *args):
    return runner.invoke(args=["audit-verify", *args])


def test_each_event_hashes_the_previous_hash_and_its_own_canonical_fields(app):
    append(app, 3)
    with app.app_context():
        first, second, third = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    assert first.seq == 1 and first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    canonical = json.dumps(
        {
            "prev_hash": second.prev_hash,
            "seq": 2,
            "occurred_at": second.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor_id": None,
            "actor": "system",
            "action": "edit",
            "object_kind": "decisions",
            "object_id": "2",
            "summary": {"changes": {"fine_yuan": ["1", "2"]}, "文字": "中文内容"},
        },
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    assert second.hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_audit_verify_passes_on_an_untouched_log(app, runner):
    append(app, 5)
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "审计日志完好：共 5 条事件" in result.output


def test_audit_verify_passes_on_an_empty_log(runner):
    result = verify(runner)
    assert result.exit_code == 0 and "共 0 条事件" in result.output


def test_audit_verify_names_an_edited_event(app, runner):
    append(app, 5)
    tamper(app, "UPDATE audit_events SET actor = 'someone.else' WHERE seq = 3")
    result = verify(runner)
    assert result.exit_code == 1
    assert "第 3 条事件" in result.output and "被修改" in result.output
    assert "此前 2 条事件完好" in result.output


def test_audit_verify_notices_an_edited_summary(app, runner):
    append(app, 4)
    tamper(app, "UPDATE audit_events SET summary = :s WHERE seq = 2",
        s=json.dumps({"changes": {"fine_yuan": ["1", "9"]}, "文字": "中文内容"}))
    result = verify(runner)
    assert result.exit_code == 1 and "第 2 条事件" in result.output


def test_audit_verify_notices_a_rehashed_edit(app, runner):
    # Recomputing the edited event's own hash does not help: the next event still points at
    # the old one.
    append(app, 4)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
        fields = audit.canonical_fields(event) | {"actor": "forger"}
        forged = audit.compute_hash(event.prev_hash, fields)
    tamper(app, "UPDATE audit_events SET actor = 'forger', hash = :h WHERE seq = 2", h=forged)
    result = verify(runner)
    assert result.exit_code == 1
    assert "第 3 条事件" in result.output and "前一事件哈希" in result.output


def test_audit_verify_names_the_event_after_a_deleted_one(app, runner):
    append(app, 5)
    tamper(app, "DELETE FROM audit_events WHERE seq = 2")
    result = verify(runner)
    assert result.exit_code == 1
    assert "第 3 条事件" in result.output and "被删除" in result.output


def test_audit_verify_notices_reordered_events(app, runner):
    append(app, 5)
    tamper(app, "UPDATE audit_events SET seq = -1 WHERE seq = 2")
    tamper(app, "UPDATE audit_events SET seq = 2 WHERE seq = 3")
    tamper(app, "UPDATE audit_events SET seq = 3 WHERE seq = -1")
    result = verify(runner)
    assert result.exit_code == 1
    assert "第 2 条事件" in result.output and "调换顺序" in result.output


def test_audit_verify_with_an_anchor_notices_events_cut_off_the_end(app, runner):
    append(app, 4)
    head = verify(runner).output.split("链头哈希：")[1].strip()
    assert verify(runner, "--anchor", head).exit_code == 0
    tamper(app, "DELETE FROM audit_events WHERE seq = 4")
    assert verify(runner).exit_code == 0  # a shorter chain is still a chain …
    result = verify(runner, "--anchor", head)
    assert result.exit_code == 1 and "找不到锚定哈希" in result.output  # … but not the noted one


def test_the_application_cannot_change_or_delete_events(app):
    append(app, 2)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.seq == 1))
        event.actor = "someone.else"
        with pytest.raises(AuditLogImmutable):
            db.session.flush()
        db.session.rollback()
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.seq == 1))
        db.session.delete(event)
        with pytest.raises(AuditLogImmutable):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(AuditLogImmutable):
            db.session.execute(update(AuditEvent).values(actor="x"))
        with pytest.raises(AuditLogImmutable):
            db.session.execute(delete(AuditEvent))
        with pytest.raises(AuditLogImmutable):
            db.session.query(AuditEvent).delete()
        db.session.rollback()
        assert db.session.scalar(select(AuditEvent.actor).where(AuditEvent.seq == 1)) == "system"


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET actor = 'someone.else' WHERE seq = 2",
    "UPDATE audit_events SET seq = seq + 100",
    "DELETE FROM audit_events WHERE seq = 3",
])
def test_the_database_refuses_raw_changes_and_deletions(app, runner, statement):
    append(app, 3)
    with pytest.raises(IntegrityError, match="append-only"):
        raw(app, statement)
    result = verify(runner)
    assert result.exit_code == 0 and "共 3 条事件" in result.output


def test_the_database_refuses_an_event_replaced_or_inserted_out_of_place(app, runner):
    """Security review finding 2: ``INSERT OR REPLACE`` with an existing seq replaced the last
    event without firing the delete trigger, and a re-hashed replacement passed audit-verify."""
    append(app, 3)
    with app.app_context():
        last = db.session.scalar(select(AuditEvent).where(AuditEvent.seq == 3))
        fields = audit.canonical_fields(last) | {"actor": "forger"}
        forged_hash = audit.compute_hash(last.prev_hash, fields)
        postgres = db.engine.dialect.name == "postgresql"
        row = {"id": last.id, "seq": 3, "at": last.occurred_at.replace(tzinfo=None),
               "kind": last.object_kind, "oid": last.object_id, "prev": last.prev_hash,
               "h": forged_hash, "next_prev": last.hash}
    columns = ("id, seq, occurred_at, actor_id, actor, action, object_kind, object_id, summary, "
               "prev_hash, hash")
    values = "(:id, :seq, :at, NULL, 'forger', 'edit', :kind, :oid, '{}', :prev, :h)"
    if postgres:
        attempts = [f"INSERT INTO audit_events ({columns}) VALUES {values} "
                    "ON CONFLICT (seq) DO UPDATE SET actor = 'forger', hash = EXCLUDED.hash"]
    else:
        attempts = [f"INSERT OR REPLACE INTO audit_events ({columns}) VALUES {values}",
                    f"REPLACE INTO audit_events ({columns}) VALUES {values}"]
    for statement in attempts:
        with pytest.raises(IntegrityError, match="append-only"):
            raw(app, statement, **row)
    # Out of place: a gap in the sequence, or a link to anything but the last event.
    with pytest.raises(IntegrityError, match="append-only"):
        raw(app, f"INSERT INTO audit_events ({columns}) VALUES {values}",
            **(row | {"id": 100, "seq": 5, "prev": row["next_prev"]}))
    with pytest.raises(IntegrityError, match="append-only"):
        raw(app, f"INSERT INTO audit_events ({columns}) VALUES {values}",
            **(row | {"id": 100, "seq": 4, "prev": row["prev"]}))
    result = verify(runner)
    assert result.exit_code == 0 and "共 3 条事件" in result.output
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.actor).where(AuditEvent.seq == 3)) != "forger"


def test_the_database_refuses_to_empty_the_log(app, runner):
    append(app, 2)
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    # PostgreSQL's TRUNCATE fires no row trigger: a statement trigger refuses it.  SQLite has no
    # TRUNCATE; its equivalent, an unqualified DELETE, is refused row by row.
    statement = "TRUNCATE audit_events" if postgres else "DELETE FROM audit_events"
    with pytest.raises(IntegrityError, match="append-only"):
        raw(app, statement)
    assert "共 2 条事件" in verify(runner).output


def test_the_database_guard_still_lets_the_log_grow(app, runner):
    append(app, 2)
    tamper(app, "UPDATE audit_events SET actor = 'forger' WHERE seq = 1")
    # The owner's edit went through, the guard is back for everyone else …
    with pytest.raises(IntegrityError):
        raw(app, "UPDATE audit_events SET actor = 'forger' WHERE seq = 2")
    # … and appending (which takes SQLite's write lock with an UPDATE of no row) still works.
    append(app, 1)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 3
    assert "第 1 条事件" in verify(runner).output


def test_concurrent_writers_never_fork_the_chain(app, runner):
    threads_n, per_thread = 4, 8
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def writer(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(per_thread):
                    audit.record(db.session, "edit", actor_name=f"writer{n}",
                                 object_kind="decisions", object_id=i)
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert f"共 {threads_n * per_thread} 条事件" in result.output


def test_failed_sign_in_never_records_the_password(app):
    from tests.staff.conftest import sign_in_form

    client = app.test_client()
    sign_in_form(client, "nobody.here", password="hunter2-hunter2-hunter2")
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent))
    text_of_event = json.dumps(event.summary, ensure_ascii=False) + event.actor
    assert "hunter2" not in text_of_event and "nobody.here" not in text_of_event


def test_admins_browse_and_filter_the_log(app):
    with app.app_context():
        make_staff("editor", username="editor.li")
    append(app, 55, actor="system")
    append(app, 2, actor="editor.li", action="publish", kind="accidents")
    client = app.test_client()
    login(client, roles=("admin",), username="admin.zhao")
    html = client.get("/staff/audit").get_data(as_text=True)
    assert "共 57 条" in html and "第 1 / 2 页" in html
    assert html.index('<td data-label="序号">57</td>') < html.index('<td data-label="序号">56</td>')  # newest first
    assert 'href="/staff/audit?page=2"' in html and "上一页" not in html
    second = client.get("/staff/audit?page=2").get_data(as_text=True)
    assert '<td data-label="序号">1</td>' in second and '<td data-label="序号">57</td>' not in second
    assert 'href="/staff/audit?page=1"' in second and "下一页" not in second
    filtered = client.get("/staff/audit?actor=system").get_data(as_text=True)
    assert "page=2" in filtered and "actor=system" in filtered.split("下一页")[0].rsplit("href=", 1)[1]
    by_actor = client.get("/staff/audit?actor=editor.li").get_data(as_text=True)
    assert "共 2 条" in by_actor
    by_action = client.get("/staff/audit?action=publish&object_kind=accidents")
    assert "共 2 条" in by_action.get_data(as_text=True)
    nothing = client.get("/staff/audit?object_kind=powers").get_data(as_text=True)
    assert "共 0 条" in nothing
    assert "中文内容" in html  # summaries readable, not \\u-escaped


def test_audit_date_filter_uses_beijing_dates(app):
    # 2026-11-24 23:30 in Beijing is 15:30 UTC the same day; 00:30 on the 25th is 16:30 UTC.
    with time_machine.travel(datetime(2026, 11, 24, 15, 30, tzinfo=UTC), tick=False):
        append(app, 1, actor="late.evening")
    with time_machine.travel(datetime(2026, 11, 24, 16, 30, tzinfo=UTC), tick=False):
        append(app, 1, actor="after.midnight")
        client = app.test_client()
        login(client, roles=("admin",))
        day = client.get("/staff/audit?date_from=2026-11-25&date_to=2026-11-25")
        html = day.get_data(as_text=True)
        assert "after.midnight" in html and "late.evening" not in html.split("<tbody>")[1]
        bad = client.get("/staff/audit?date_from=2026-11-25&date_to=2026-11-01&page=x")
        assert bad.status_code == 400 and "截止日期不能早于起始日期" in bad.get_data(as_text=True)
