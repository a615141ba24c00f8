"""The demo data set: realistic, labelled, deterministic, loadable twice without harm."""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from portal import kinds as kind_registry
from portal.domain import catalog
from portal.domain.accidents import AccidentLevel, classify
from portal.domain.blacklist import BlacklistStatus, earliest_removal, listing_end, status
from portal.domain.credit_code import parse
from portal.domain.masking import mask_personal_data
from portal.extensions import db
from portal.models import (
    DISCLOSURE_MODELS,
    AccidentReport,
    BlacklistEntry,
    Decision,
    Department,
    Enterprise,
    ItemVersion,
    local_date,
)
from portal.services.demo import published as demo_data
from portal.services.demo.published import DEMO_MARK, DEMO_SUFFIX, MIN_SIZE, generate, load_demo
from portal.working_days import decision_publish_deadline

# The kinds the demo generates as rows (the others, 督办, are made through the services).
IMPORTABLE = tuple(k.key for k in kind_registry.KINDS if k.importable)

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
TOWNS = {town for _, towns in demo_data.PLACES.values() for town in towns}


@pytest.fixture(scope="module")
def demo():
    return generate(400, seed=7, today=TODAY, now=NOW)


def test_the_same_seed_gives_the_same_data():
    first = generate(80, seed=1, today=TODAY, now=NOW)
    assert first == generate(80, seed=1, today=TODAY, now=NOW)
    assert first != generate(80, seed=2, today=TODAY, now=NOW)


def test_size_is_the_number_of_items_with_a_floor():
    assert sum(generate(250, today=TODAY, now=NOW).counts()[k] for k in IMPORTABLE) == 250
    small = generate(1, today=TODAY, now=NOW).counts()
    assert sum(small[k] for k in IMPORTABLE) == MIN_SIZE
    assert all(small[k] > 0 for k in IMPORTABLE)


def test_every_kind_and_decision_type_is_present(demo):
    assert all(demo.items[kind] for kind in IMPORTABLE)
    assert {d["decision_type"] for d in demo.items["decisions"]} == set(catalog.DECISION_TYPES)
    assert len({p["power_type"] for p in demo.items["powers"]}) >= 5


def test_everything_is_labelled_as_demo_data(demo):
    assert all(name.endswith(DEMO_SUFFIX) for name in demo.departments)
    assert all(e["name"].endswith(DEMO_SUFFIX) for e in demo.enterprises)
    for rows in demo.items.values():
        assert all(row["department"] in demo.departments for row in rows)
    assert all(d["facts"].startswith(DEMO_MARK) for d in demo.items["decisions"])
    assert all(a["summary"].startswith(DEMO_MARK) and DEMO_MARK in a["report_html"]
               for a in demo.items["accidents"])
    assert all(b["basis"].startswith(DEMO_MARK) for b in demo.items["blacklist"])
    assert all(p["remarks"].startswith(DEMO_MARK) for p in demo.items["powers"])


def test_credit_codes_are_valid_and_local(demo):
    codes = [e["uscc"] for e in demo.enterprises]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert parse(code).area_code in {"532801", "532822", "532823"}
    used = {row["uscc"] for kind in ("decisions", "accidents", "blacklist") for row in demo.items[kind]}
    assert used <= set(codes)


def test_places_and_vocabularies_come_from_the_catalog(demo):
    for kind in ("decisions", "accidents", "blacklist"):
        assert {r["county"] for r in demo.items[kind]} <= set(catalog.COUNTIES)
        assert {r["sector"] for r in demo.items[kind]} <= set(catalog.SECTORS)
    assert {p["power_type"] for p in demo.items["powers"]} <= set(catalog.POWER_TYPES)
    assert {b["grounds"] for b in demo.items["blacklist"]} <= set(catalog.BLACKLIST_GROUNDS)
    assert all(any(town in e["address"] for town in TOWNS) for e in demo.enterprises)
    assert len({e["county"] for e in demo.enterprises}) >= 4


def test_accident_levels_follow_from_the_figures(demo):
    levels = Counter()
    for a in demo.items["accidents"]:
        level = classify(deaths=a["deaths"], serious_injuries=a["serious_injuries"],
                         direct_loss_yuan=a["direct_loss_yuan"])
        assert a["level"] == level
        assert demo_data.LEVEL_WORDS[level] in a["title_text"]
        assert a["approved_on"] > a["occurred_on"]
        levels[level] += 1
    assert levels[AccidentLevel.MAJOR] >= 1
    assert levels[AccidentLevel.LARGER] >= 2
    assert levels[AccidentLevel.EXTRAORDINARY] == 0  # implausible for the prefecture
    assert levels[AccidentLevel.GENERAL] > levels[AccidentLevel.LARGER]


def test_blacklist_entries_in_every_state(demo):
    states = Counter()
    for b in demo.items["blacklist"]:
        assert b["ends_on"] == listing_end(b["listed_on"], 3)
        if b["removed_on"]:
            assert earliest_removal(b["listed_on"], 12) <= b["removed_on"] <= b["ends_on"]
            assert b["removal_reason"]
        states[status(listed_on=b["listed_on"], ends_on=b["ends_on"], removed_on=b["removed_on"],
                      today=TODAY)] += 1
    assert {BlacklistStatus.ACTIVE, BlacklistStatus.EXPIRED, BlacklistStatus.REMOVED} <= set(states)


def test_blacklist_follows_the_configured_duration():
    data = generate(60, today=TODAY, now=NOW, blacklist_years=1)
    assert all(b["ends_on"] == listing_end(b["listed_on"], 1) for b in data.items["blacklist"])


def test_decisions_have_real_deadlines_and_both_on_time_flags(demo):
    on_time = Counter()
    for d in demo.items["decisions"]:
        deadline = decision_publish_deadline(d["decision_type"], d["decision_date"])
        assert (d["publish_due"], d["publish_due_provisional"]) == (deadline.due, deadline.provisional)
        if d["published_at"] is not None:
            assert d["published_at"] <= NOW
            assert local_date(d["published_at"]) > d["decision_date"]
            on_time[local_date(d["published_at"]) <= d["publish_due"]] += 1
    assert on_time[True] > on_time[False] > 0


def test_document_numbers_are_unique_and_well_formed(demo):
    numbers = [d["document_no"] for d in demo.items["decisions"]]
    assert len(set(numbers)) == len(numbers)
    for d in demo.items["decisions"]:
        match = re.fullmatch(r"西\w*应急(罚|强|责改|许)〔(\d{4})〕\d+号", d["document_no"])
        assert match and int(match[2]) == d["decision_date"].year
        assert match[1] == demo_data.DOCUMENT_TYPE_CODES[d["decision_type"]]


def test_penalties_cite_real_articles_and_fine(demo):
    for d in demo.items["decisions"]:
        if d["decision_type"] == catalog.LICENCE_DECISION:  # a licence granted, not a penalty
            assert "《安全生产许可证条例》第" in d["legal_basis"] and d["fine_yuan"] is None
            continue
        assert "《中华人民共和国安全生产法》第" in d["legal_basis"]
        if d["decision_type"] == catalog.PENALTY_DECISION:
            assert d["fine_yuan"] > 0 and "罚款" in d["penalty"]
        else:
            assert d["fine_yuan"] is None


def test_some_decisions_are_withdrawn_with_a_reason(demo):
    withdrawn = [d for d in demo.items["decisions"] if d["withdrawn_at"]]
    assert len(withdrawn) >= 2
    assert all(d["withdrawn_reason"] and d["published_at"] < d["withdrawn_at"] <= NOW
               for d in withdrawn)


def test_history_spans_several_years(demo):
    years = {d["published_at"].year for d in demo.items["decisions"] if d["published_at"]}
    assert len(years) >= 6
    assert min(b["listed_on"] for b in demo.items["blacklist"]) < TODAY - timedelta(days=3 * 365)


def test_no_personal_data_is_left_unmasked(demo):
    assert all(mask_personal_data(d["facts"]) == d["facts"] for d in demo.items["decisions"])
    assert any("5328**" in d["facts"] for d in demo.items["decisions"])  # masking shows


def test_demo_documents_need_no_database():
    documents = list(demo_data.demo_documents(60, today=TODAY))
    assert {d.kind for d in documents} == set(IMPORTABLE)
    assert len({d.key for d in documents}) == len(documents)
    assert all("演示" in d.text for d in documents)


# --- loading into the database -----------------------------------------------------------------


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_load_demo_writes_everything_and_rebuilds_the_index_once(app, frozen, monkeypatch):
    calls = []
    monkeypatch.setattr("portal.search_sync.reindex_all",
                        lambda: calls.append(app.extensions["search_sync_suspended"]) or 0)
    with app.app_context():
        counts = load_demo(size=60)
        assert calls == [False]
        assert sum(counts[k] for k in IMPORTABLE) == 60
        for kind in IMPORTABLE:
            model = DISCLOSURE_MODELS[kind]
            assert db.session.scalar(select(func.count()).select_from(model)) == counts[kind]
        assert db.session.scalar(select(func.count()).select_from(Enterprise)) == counts["enterprises"]
        assert all(n.endswith(DEMO_SUFFIX) for n in db.session.scalars(select(Department.name)))
        # Derived fields are stored as the domain rules say.
        for a in db.session.scalars(select(AccidentReport)):
            assert a.accident_level is classify(deaths=a.deaths, serious_injuries=a.serious_injuries,
                                                direct_loss_yuan=a.direct_loss_yuan)
        decisions = db.session.scalars(select(Decision)).all()
        assert {d.published_on_time for d in decisions} >= {True, False}
        assert all(d.enterprise is not None and d.enterprise.uscc == d.uscc for d in decisions)
        for state in (BlacklistStatus.ACTIVE, BlacklistStatus.EXPIRED, BlacklistStatus.REMOVED):
            assert db.session.scalar(select(func.count()).select_from(BlacklistEntry)
                                     .where(BlacklistEntry.status_clause(state, TODAY))) > 0
        assert db.session.scalar(select(func.count()).select_from(ItemVersion)) > 0


def test_loading_twice_loads_nothing_more(app, frozen, caplog, monkeypatch):
    monkeypatch.setattr("portal.search_sync.reindex_all", lambda: 0)
    with app.app_context():
        first = load_demo(size=40)
        with caplog.at_level(logging.WARNING):
            second = load_demo(size=40)
        assert second == first
        assert "演示数据已存在" in caplog.text
        assert db.session.scalar(select(func.count()).select_from(Decision)) == first["decisions"]


def test_demo_command(runner, app_ctx, frozen):
    # Few reports and 督办事项: their loaders have tests of their own (test_demo_reports.py,
    # test_demo_supervision.py); here the command's options and its idempotence.
    args = ["demo", "--size", "30", "--reports", "2", "--supervision", "2"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("演示数据已载入：powers 3，decisions ")
    assert "reports 2，" in result.stdout and result.stdout.rstrip().endswith("supervision 2")
    again = runner.invoke(args=args)
    assert again.exit_code == 0
    assert again.stdout == result.stdout
    assert runner.invoke(args=["demo", "--size", "0"]).exit_code == 2


def test_demo_items_are_valid_import_rows(app_ctx, frozen, tmp_path):
    """The generator and the importer agree on what a valid item is."""
    import json

    from portal.services.publication.importer import import_file

    data = generate(60, seed=3, today=TODAY, now=NOW)
    for kind in IMPORTABLE:
        records = list(demo_data.import_records(data, kind))
        path = tmp_path / f"{kind}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                        encoding="utf-8")
        assert import_file(kind, path).created == len(records) > 0
        again = import_file(kind, path)
        assert (again.created, again.updated, again.unchanged) == (0, 0, len(records))
    accident = db.session.scalar(select(AccidentReport).order_by(AccidentReport.id))
    expected = next(a for a in data.items["accidents"] if a["title_text"] == accident.title_text)
    assert accident.report_html == expected["report_html"]  # sanitising it again changes nothing
    assert accident.level == expected["level"]
