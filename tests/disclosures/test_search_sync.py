"""The index follows the database: after each commit, never before, never on rollback."""

from __future__ import annotations

import logging

import pytest
from whoosh.index import open_dir

from portal.extensions import db
from portal.models import utcnow
from portal.search_sync import reindex_all, search_index, suspended
from search_index import SearchQuery
from tests import factories
from tests.disclosures.search_backends import BACKENDS, backend_app


@pytest.fixture(params=BACKENDS)
def app(request, tmp_path, test_database):
    """Every test here on each search backend (issue 9 §5)."""
    yield from backend_app(request.param, tmp_path)


def found(q: str, **filters) -> dict[tuple[str, int], bool]:
    """{(kind, id): withdrawn} of every hit."""
    results = search_index().search(SearchQuery(q=q, per_page=100, **filters))
    return {(h.kind, h.id): h.withdrawn for h in results.hits}


def test_a_published_item_is_searchable_after_commit(app_ctx):
    item = factories.decision(facts="经查，该公司在磨憨镇非煤矿山作业。")
    db.session.flush()
    assert found("磨憨镇") == {}  # flushed is not committed
    db.session.commit()
    assert found("磨憨镇") == {("decisions", item.id): False}


def test_drafts_are_never_indexed_until_published(app_ctx):
    item = factories.power(published=False, name="烟花爆竹经营许可")
    db.session.commit()
    assert found("烟花爆竹") == {}
    item.published_at = utcnow()
    db.session.commit()
    assert found("烟花爆竹") == {("powers", item.id): False}
    item.published_at = None  # back to a draft: out of the index
    db.session.commit()
    assert found("烟花爆竹") == {}


def test_an_edit_replaces_the_indexed_text(app_ctx):
    item = factories.accident(summary="采场发生透水险情")
    db.session.commit()
    item.summary = "储罐区发生泄漏险情"
    db.session.commit()
    assert found("透水") == {}
    assert found("泄漏") == {("accidents", item.id): False}
    assert search_index().search(SearchQuery(q="险情")).total == 1


def test_a_withdrawn_item_stays_searchable_and_is_marked(app_ctx):
    item = factories.decision(facts="勐腊县危险化学品仓库")
    db.session.commit()
    item.withdrawn_at = utcnow()
    item.withdrawn_reason = "决定已被撤销"
    db.session.commit()
    assert found("危险化学品") == {("decisions", item.id): True}


def test_a_deleted_item_leaves_the_index(app_ctx):
    keep = factories.blacklist_entry(grounds="瞒报生产安全事故")
    gone = factories.blacklist_entry(grounds="瞒报生产安全事故")
    db.session.commit()
    assert len(found("瞒报")) == 2
    db.session.delete(gone)
    db.session.commit()
    assert found("瞒报") == {("blacklist", keep.id): False}


def test_a_rollback_indexes_nothing(app_ctx):
    factories.decision(facts="基诺山乡采石场")
    db.session.flush()
    db.session.rollback()
    factories.power(name="无关事项")
    db.session.commit()  # the next commit does not bring the rolled-back item back
    assert found("基诺山") == {}


def test_a_rolled_back_savepoint_is_not_indexed_and_commits_wait_for_the_outer_one(app_ctx):
    outer = factories.decision(facts="勐仑镇加油站")
    with db.session.begin_nested() as savepoint:
        factories.decision(facts="勐仑镇采砂场")
        db.session.flush()
        savepoint.rollback()
    with db.session.begin_nested():
        inner = factories.decision(facts="勐仑镇码头")
    assert found("勐仑镇") == {}  # a savepoint commit is not a commit
    db.session.commit()
    assert found("勐仑镇") == {("decisions", outer.id): False, ("decisions", inner.id): False}


def test_suspended_updates_wait_for_reindex(app_ctx):
    with suspended():
        item = factories.accident(summary="关累镇码头货船起火")
        db.session.commit()
    assert found("关累镇") == {}
    assert reindex_all() == 1
    assert found("关累镇") == {("accidents", item.id): False}


def test_an_index_failure_does_not_undo_the_commit(app, app_ctx, caplog):
    if app.config["SETTINGS"].search_backend != "whoosh":
        pytest.skip("holds the Whoosh index's file lock")
    factories.power(name="初始事项")
    db.session.commit()
    index = search_index()
    index.write_timeout = 0.2
    held = open_dir(index.directory).writer()  # another process holds the write lock
    try:
        with caplog.at_level(logging.ERROR):
            item = factories.decision(facts="易武镇茶叶加工厂")
            db.session.commit()
    finally:
        held.cancel()
    assert item.id is not None  # committed
    assert "reindex" in caplog.text
    assert found("易武镇") == {}
    reindex_all()
    assert found("易武镇") == {("decisions", item.id): False}


def test_reindex_command_rebuilds_from_the_database(app, runner):
    with app.app_context():
        with suspended():
            factories.decision(facts="打洛镇口岸")
            factories.power(published=False, name="打洛镇草稿")
            db.session.commit()
    with app.app_context():  # `flask` pushes one; the test runner's app.cli does not
        result = runner.invoke(args=["reindex"])
        assert result.exit_code == 0, result.output
        assert "1 条" in result.output
        assert len(found("打洛镇")) == 1


def test_published_documents_reads_every_item_across_batches(app_ctx):
    from portal.search_sync import published_documents

    items = [factories.decision() for _ in range(5)] + [factories.power() for _ in range(3)]
    factories.power(published=False)
    db.session.commit()
    made = {(item.KIND, item.id) for item in items}
    documents = list(published_documents(batch_size=2))
    assert {(d.kind, d.id) for d in documents} == made
    assert len(documents) == len(made)


def test_on_postgres_no_local_directory_is_used_and_every_process_sees_a_publication(
        app, app_ctx, tmp_path):
    settings = app.config["SETTINGS"]
    if settings.search_backend != "postgres":
        pytest.skip("the PostgreSQL backend's property")
    from portal import create_app

    # Another worker, as on another host: its own process state, the same database.
    other = create_app({"env": "test", "database_url": settings.database_url,
                        "search_backend": "postgres", "index_dir": str(tmp_path / "elsewhere")})
    try:
        item = factories.decision(facts="勐捧镇砖厂粉尘涉爆")
        db.session.commit()
        with other.app_context():
            hits = search_index().search(SearchQuery(q="勐捧镇 粉尘")).hits
            assert [(h.kind, h.id) for h in hits] == [("decisions", item.id)]
        assert reindex_all() == 1
        assert found("粉尘涉爆") == {("decisions", item.id): False}
    finally:
        other.extensions["search_index"].close()
    assert not (tmp_path / "index").exists() and not (tmp_path / "elsewhere").exists()


def test_the_postgres_backend_needs_a_postgres_database(tmp_path):
    from portal.config import Settings, SettingsError

    with pytest.raises(SettingsError, match="PORTAL_DATABASE_URL"):
        Settings.from_env({"env": "test", "search_backend": "postgres",
                           "database_url": f"sqlite:///{tmp_path / 'x.db'}"}, environ={})
    with pytest.raises(SettingsError, match="PORTAL_SEARCH_BACKEND"):
        Settings.from_env({"env": "test", "search_backend": "elastic"}, environ={})
