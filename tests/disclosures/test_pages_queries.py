"""The queries behind the public pages (portal.services.publication.disclosures)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal import kinds
from portal.domain.catalog import COUNTIES
from portal.extensions import db
from portal.models import AccidentReport, ItemVersion
from portal.services.publication import disclosures as service
from tests import factories


def test_an_empty_list_has_one_empty_page(app_ctx):
    result = service.list_published("decisions")
    assert (result.items, result.total, result.page, result.pages) == ([], 0, 1, 1)
    assert not result.has_next and not result.has_prev
    assert result.first_index == 0


def test_page_past_the_end_raises_with_the_last_page(app_ctx):
    for _ in range(3):
        factories.power()
    db.session.commit()
    with pytest.raises(service.PageOutOfRange) as error:
        service.list_published("powers", page=3, per_page=2)
    assert error.value.last_page == 2
    with pytest.raises(ValueError):
        service.list_published("powers", page=0)
    last = service.list_published("powers", page=2, per_page=2)
    assert len(last.items) == 1 and last.first_index == 3 and last.last_index == 3


@pytest.mark.usefixtures("test_database")
def test_page_size_comes_from_settings(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path, page_size=2)
    with app.app_context():
        for _ in range(3):
            factories.blacklist_entry()
        db.session.commit()
        result = service.list_published("blacklist")
        assert result.per_page == 2 and result.pages == 2
        db.session.remove()
        db.engine.dispose()


def test_get_published_finds_only_published_items_of_that_kind(app_ctx):
    published = factories.accident()
    draft = factories.accident(published=False)
    db.session.commit()
    assert service.get_published("accidents", published.id) is published
    for kind, item_id in (("accidents", draft.id), ("decisions", published.id),
                          ("accidents", 2**31), ("nothing", 1)):
        with pytest.raises(service.DisclosureNotFound):
            service.get_published(kind, item_id)


def test_latest_published_by_publication_time(app_ctx):
    old = factories.decision(published_at=datetime(2025, 1, 1, tzinfo=UTC))
    new = factories.decision(published_at=datetime(2026, 1, 1, tzinfo=UTC))
    factories.decision(published=False)
    db.session.commit()
    latest = service.latest_published(limit=5)
    assert tuple(latest) == kinds.KEYS
    assert latest["decisions"] == [new, old]
    assert service.latest_published(limit=1)["decisions"] == [new]


def test_facets_list_the_vocabulary_then_other_values_found(app_ctx):
    other = factories.department("勐腊县应急管理局")
    factories.department("没有公开任何信息的部门")
    factories.decision(county="某新设园区", decision_date=date(2024, 6, 1), department=other)
    factories.decision(decision_date=date(2026, 6, 1))
    factories.decision(county="草稿县", decision_date=date(2019, 6, 1), published=False)
    db.session.commit()
    facets = service.facets("decisions")
    assert facets.counties == [*COUNTIES, "某新设园区"]
    assert facets.years == [2026, 2024]
    assert [name for _, name in facets.departments] == ["勐腊县应急管理局", "西双版纳州应急管理局"]


def test_power_years_are_beijing_years(app_ctx):
    factories.power(published_at=datetime(2023, 12, 31, 20, tzinfo=UTC))  # 2024-01-01 in Beijing
    factories.power(published_at=datetime(2025, 5, 1, tzinfo=UTC))
    db.session.commit()
    facets = service.facets("powers")
    assert facets.years == [2025, 2024]
    assert facets.counties == []
    assert service.list_published("powers", service.ListFilters(year=2023)).total == 0
    assert service.list_published("powers", service.ListFilters(year=2024)).total == 1


def test_assessment_state_over_time():
    report = AccidentReport(approved_on=date(2025, 5, 1), assessment_due=date(2026, 5, 1))
    assert service.assessment_state(report, date(2026, 5, 1)) is service.AssessmentState.PENDING
    assert service.assessment_state(report, date(2026, 5, 2)) is service.AssessmentState.OVERDUE
    report.assessment_published_on = date(2026, 5, 1)
    assert service.assessment_state(report, date(2027, 1, 1)) is service.AssessmentState.DONE
    report.assessment_published_on = date(2026, 5, 2)
    assert service.assessment_state(report, date(2027, 1, 1)) is service.AssessmentState.DONE_LATE
    assert service.assessment_state(AccidentReport(), date(2027, 1, 1)) is (
        service.AssessmentState.NOT_APPROVED
    )


def test_days_from_approval_counts_beijing_dates():
    report = AccidentReport(approved_on=date(2026, 8, 20),
                            published_at=datetime(2026, 8, 21, 17, tzinfo=UTC))  # 22nd in Beijing
    assert service.days_from_approval(report) == 2
    assert service.days_from_approval(AccidentReport(approved_on=date(2026, 8, 20))) is None


def test_history_entries_translate_and_hide_long_or_internal_values(app_ctx):
    item = factories.accident()
    db.session.commit()
    db.session.add(ItemVersion(kind="accidents", item_id=item.id, number=1, summary="修订",
                               changes={"level": [1, 2], "report_html": ["<p>a</p>", "<p>b</p>"],
                                        "department_id": [1, 2], "title_text": ["旧", "新" * 80],
                                        "mystery_field": ["a", None], "deaths": [2, 3]}))
    db.session.commit()
    [entry] = service.public_history(item)
    changes = {c.label: (c.old, c.new) for c in entry.changes}
    assert changes["事故等级"] == ("一般事故", "较大事故")
    assert changes["调查报告全文"] == (None, None)
    assert changes["责任单位"] == (None, None)
    assert changes["标题"] == (None, None)  # too long to show side by side
    assert changes["mystery_field"] == ("a", "（空）")
    assert changes["死亡人数"] == ("2", "3")
    assert service.field_label("powers", "workflow") == "办理流程"
    assert service.field_label("blacklist", "uscc") == "统一社会信用代码"


def test_facets_follow_new_publications_and_edits(app_ctx):
    item = factories.decision(decision_date=date(2026, 6, 1))
    db.session.commit()
    assert service.facets("decisions").years == [2026]
    factories.decision(decision_date=date(2023, 6, 1))
    db.session.commit()
    assert service.facets("decisions").years == [2026, 2023]
    draft = factories.decision(decision_date=date(2021, 6, 1), published=False)
    db.session.commit()
    assert service.facets("decisions").years == [2026, 2023]
    draft.published_at = datetime(2020, 1, 1, tzinfo=UTC)  # a historic publication date
    db.session.commit()
    assert service.facets("decisions").years == [2026, 2023, 2021]
    item.county = "新设园区"
    item.modified_at = datetime(2030, 1, 1, tzinfo=UTC)
    db.session.commit()
    assert "新设园区" in service.facets("decisions").counties
