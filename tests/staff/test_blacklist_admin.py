"""Blacklist management: early removal after the minimum period, reinstatement, expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.domain.blacklist import BlacklistStatus
from portal.extensions import db
from portal.models import BlacklistEntry, ItemVersion
from portal.services.enterprises import blacklist_admin
from portal.services.publication import publishing
from portal.services.publication.publishing import TransitionRefused, ValuesInvalid
from tests import factories
from tests.conftest import make_app
from tests.staff.conftest import csrf_token, login

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def entry_id(app) -> int:
    with app.app_context():
        entry = factories.blacklist_entry(listed_on=date(2025, 6, 1), grounds="瞒报、谎报生产安全事故")
        db.session.commit()
        return entry.id


@pytest.fixture
def editor(app):
    client = app.test_client()
    login(client, roles=("editor",))
    return client


def post(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def entry(app, entry_id) -> BlacklistEntry:
    with app.app_context():
        item = db.session.get(BlacklistEntry, entry_id)
        db.session.expunge(item)
        return item


def versions(app, entry_id) -> list[ItemVersion]:
    with app.app_context():
        return list(db.session.scalars(
            select(ItemVersion).where(ItemVersion.kind == "blacklist",
                                      ItemVersion.item_id == entry_id).order_by(ItemVersion.number)))


def test_early_removal_before_the_minimum_period_is_refused(app, editor, entry_id):
    url = f"/staff/blacklist/{entry_id}/remove"
    # Listed 2025-06-01: the 12 months run through 2026-06-01, so the earliest is 2026-06-02.
    response = post(editor, url, {"removed_on": "2026-06-01", "reason": "已完成信用修复"})
    assert response.status_code == 400
    assert "最早可于 2026-06-02 移出" in response.get_data(as_text=True)
    assert entry(app, entry_id).removed_on is None


def test_early_removal_and_reinstatement_are_kept_in_the_public_history(app, editor, entry_id):
    remove = f"/staff/blacklist/{entry_id}/remove"
    assert post(editor, remove, {"removed_on": "2026-11-20", "reason": ""}).status_code == 400
    future = post(editor, remove, {"removed_on": "2026-11-26", "reason": "已完成信用修复"})
    assert future.status_code == 400 and "不能晚于今天" in future.get_data(as_text=True)
    response = post(editor, remove, {"removed_on": "2026-11-20",
                                     "reason": "已履行行政处罚，完成信用修复"})
    assert response.status_code == 303
    removed = entry(app, entry_id)
    assert removed.removed_on == date(2026, 11, 20)
    assert removed.status(date(2026, 11, 25)) is BlacklistStatus.REMOVED
    [v1] = versions(app, entry_id)
    assert v1.summary == "提前移出（信用修复）：已履行行政处罚，完成信用修复"
    assert v1.changes["removed_on"] == [None, "2026-11-20"]

    # Removing twice is refused; so is reinstating without a reason.
    again = post(editor, remove, {"removed_on": "2026-11-21", "reason": "再次移出测试"})
    assert again.status_code == 303 and entry(app, entry_id).removed_on == date(2026, 11, 20)
    reinstate = f"/staff/blacklist/{entry_id}/reinstate"
    assert post(editor, reinstate, {"reason": ""}).status_code == 400

    response = post(editor, reinstate, {"reason": "信用修复材料弄虚作假，撤销移出决定"})
    assert response.status_code == 303
    restored = entry(app, entry_id)
    assert restored.removed_on is None and restored.removal_reason is None
    assert restored.status(date(2026, 11, 25)) is BlacklistStatus.ACTIVE
    assert restored.ends_on == date(2028, 6, 1)  # the original term
    v1, v2 = versions(app, entry_id)
    assert v2.summary.startswith("撤销信用修复，恢复列入") and v2.changes["removed_on"][1] is None
    with app.app_context():
        actions = list(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_kind == "blacklist")))
    assert actions == ["remove", "reinstate"]
    page = editor.get(f"/staff/blacklist/{entry_id}").get_data(as_text=True)
    assert "公示中" in page and "弄虚作假" in page


def test_reinstating_an_entry_that_was_not_removed_is_refused(app, entry_id):
    with app.app_context(), app.test_request_context():
        item = db.session.get(BlacklistEntry, entry_id)
        with pytest.raises(TransitionRefused):
            blacklist_admin.reinstate(item, reason="没有移出过的条目")


def test_expired_entries_stop_being_active_and_cannot_be_removed(app, entry_id):
    with app.app_context(), app.test_request_context():
        item = db.session.get(BlacklistEntry, entry_id)
        # Listed 2025-06-01 for 3 years: active through 2028-06-01 (民法典 Arts. 201–202).
        assert item.status(date(2028, 6, 1)) is BlacklistStatus.ACTIVE
        assert item.status(date(2028, 6, 2)) is BlacklistStatus.EXPIRED
        active = blacklist_admin.list_entries(status=BlacklistStatus.ACTIVE, today=date(2028, 6, 2))
        assert active.total == 0
        expired = blacklist_admin.list_entries(status=BlacklistStatus.EXPIRED,
                                               today=date(2028, 6, 2))
        assert [e.id for e in expired.items] == [entry_id]
    with time_machine.travel(datetime(2028, 6, 2, 2, 0, tzinfo=UTC), tick=False):
        with app.app_context(), app.test_request_context():
            item = db.session.get(BlacklistEntry, entry_id)
            with pytest.raises(TransitionRefused, match="已期满移出"):
                blacklist_admin.remove_early(item, removed_on=date(2028, 6, 2), reason="信用修复完成")


@pytest.mark.usefixtures("test_database")
def test_minimum_period_and_duration_come_from_settings(tmp_path):
    app = make_app(tmp_path, blacklist_years=2, blacklist_min_months_before_removal=18)
    with app.app_context(), app.test_request_context():
        item = factories.blacklist_entry(listed_on=date(2025, 1, 10), years=2)
        db.session.commit()
        # 18 months counted from 2025-01-10 run through 2026-07-10 (民法典 Arts. 201–202).
        assert blacklist_admin.earliest_removal_date(item) == date(2026, 7, 11)
        assert publishing.listing_duration_years() == 2
        with pytest.raises(ValuesInvalid) as refused:
            blacklist_admin.remove_early(item, removed_on=date(2026, 7, 10), reason="信用修复完成")
        assert "列入满 18 个月后" in refused.value.errors["removed_on"]
