"""The four public lists: published items only, newest first, filters, count, paging."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine

from portal.extensions import db
from tests import factories
from tests.conftest import make_app
from tests.disclosures.pages_html import assert_accessible_page

KINDS = ("powers", "decisions", "accidents", "blacklist")


def rows(html: str) -> list[str]:
    """The link texts of the list's rows, in order."""
    return re.findall(r'<th scope="row"><a href="/[a-z]+/\d+">([^<]+)</a>', html)


def total(html: str) -> int:
    return int(re.search(r"共 <strong>(\d+)</strong> 条", html).group(1))


@pytest.mark.parametrize("kind", KINDS)
def test_empty_list_renders_with_its_filter_form(client, kind):
    response = client.get(f"/{kind}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = assert_accessible_page(html)
    assert total(html) == 0
    assert "没有符合条件的" in html
    assert f'<form class="filters" method="get" action="/{kind}">' in html
    assert '<button type="submit">筛选</button>' in html
    assert page.controls, "the filter form has its selects"
    assert f'<a href="/{kind}" aria-current="page">' in html
    # A GET form without CSRF: reading a public list leaves no cookie behind.
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("kind", KINDS)
def test_lists_show_published_items_and_never_drafts(app_ctx, client, kind):
    make = {
        "powers": lambda **kw: factories.power(name=kw.pop("label"), **kw),
        "decisions": lambda **kw: factories.decision(party_name=kw.pop("label"), **kw),
        "accidents": lambda **kw: factories.accident(title_text=kw.pop("label"), **kw),
        "blacklist": lambda **kw: factories.blacklist_entry(enterprise_name=kw.pop("label"), **kw),
    }[kind]
    make(label="已公开的条目")
    make(label="尚未公开的草稿", published=False)
    db.session.commit()
    html = client.get(f"/{kind}").get_data(as_text=True)
    assert_accessible_page(html)
    assert rows(html) == ["已公开的条目"]
    assert total(html) == 1
    assert "尚未公开的草稿" not in html


def test_decisions_are_listed_newest_first_with_the_on_time_badge(app_ctx, client):
    factories.decision(party_name="较早公司", decision_date=date(2026, 3, 2),
                       published_at=datetime(2026, 3, 3, 2, tzinfo=UTC))
    factories.decision(party_name="较晚公司", decision_date=date(2026, 5, 6),
                       published_at=datetime(2026, 8, 1, 2, tzinfo=UTC))
    db.session.commit()
    html = client.get("/decisions").get_data(as_text=True)
    assert rows(html) == ["较晚公司", "较早公司"]
    late_row, early_row = html.split("<tbody>")[1].split("</tr>")[:2]
    assert "逾期公开" in late_row and "按时公开" in early_row


def test_withdrawn_items_stay_in_the_list_marked(app_ctx, client):
    factories.decision(party_name="被撤回公司", withdrawn_at=datetime(2026, 10, 1, tzinfo=UTC),
                       withdrawn_reason="决定已被撤销")
    factories.decision(party_name="正常公司")
    db.session.commit()
    html = client.get("/decisions").get_data(as_text=True)
    assert sorted(rows(html)) == ["正常公司", "被撤回公司"]
    withdrawn_row = next(r for r in html.split("</tr>") if "被撤回公司" in r)
    assert '<span class="badge badge-bad">已撤回</span>' in withdrawn_row
    normal_row = next(r for r in html.split("</tr>") if "正常公司" in r)
    assert "已撤回" not in normal_row


def test_decision_filters_by_county_sector_year_department_and_type(app_ctx, client):
    other = factories.department("勐海县应急管理局")
    factories.decision(party_name="景洪矿山2026", county="景洪市", sector="非煤矿山",
                       decision_date=date(2026, 4, 1))
    factories.decision(party_name="景洪矿山2025", county="景洪市", sector="非煤矿山",
                       decision_date=date(2025, 4, 1))
    factories.decision(party_name="勐海化工2026", county="勐海县", sector="危险化学品",
                       decision_date=date(2026, 5, 1), department=other)
    factories.decision(party_name="勐海强制2026", county="勐海县", sector="危险化学品",
                       decision_type="行政强制", decision_date=date(2026, 6, 1), department=other)
    db.session.commit()

    def listed(query: str) -> list[str]:
        html = client.get("/decisions?" + query).get_data(as_text=True)
        assert "的值无效" not in html
        return sorted(rows(html))

    assert listed("county=景洪市") == ["景洪矿山2025", "景洪矿山2026"]
    assert listed("sector=危险化学品") == ["勐海化工2026", "勐海强制2026"]
    assert listed("year=2025") == ["景洪矿山2025"]
    assert listed(f"department={other.id}") == ["勐海化工2026", "勐海强制2026"]
    assert listed("decision_type=行政强制") == ["勐海强制2026"]
    assert listed("county=景洪市&year=2026") == ["景洪矿山2026"]
    assert listed("county=&sector=&year=") == sorted(
        ["景洪矿山2026", "景洪矿山2025", "勐海化工2026", "勐海强制2026"]
    )
    html = client.get("/decisions?county=勐海县&year=2026").get_data(as_text=True)
    assert "符合条件的共 <strong>2</strong> 条" in html
    # The chosen values stay selected in the form, and a link clears them.
    assert '<option selected value="勐海县">勐海县</option>' in html
    assert '<option selected value="2026">2026年</option>' in html
    assert '<a href="/decisions">清除筛选条件</a>' in html


def test_year_choices_come_from_the_data(app_ctx, client):
    factories.decision(decision_date=date(2024, 4, 1))
    factories.decision(decision_date=date(2026, 4, 1))
    factories.decision(decision_date=date(2019, 4, 1), published=False)
    db.session.commit()
    html = client.get("/decisions").get_data(as_text=True)
    select = html.split('<select id="year" name="year">')[1].split("</select>")[0]
    assert re.findall(r'value="(\d*)"', select) == ["", "2026", "2024"]


def test_power_filters_by_type_department_and_year(app_ctx, client):
    other = factories.department("景洪市应急管理局")
    factories.power(name="许可事项", power_type="行政许可",
                    published_at=datetime(2025, 12, 31, 17, tzinfo=UTC))  # 2026-01-01 in Beijing
    factories.power(name="检查事项", power_type="行政检查", department=other,
                    published_at=datetime(2025, 6, 1, tzinfo=UTC))
    db.session.commit()
    assert rows(client.get("/powers?power_type=行政许可").get_data(as_text=True)) == ["许可事项"]
    assert rows(client.get(f"/powers?department={other.id}").get_data(as_text=True)) == ["检查事项"]
    # The year of a power item is the Beijing year of its publication.
    assert rows(client.get("/powers?year=2026").get_data(as_text=True)) == ["许可事项"]
    assert rows(client.get("/powers?year=2025").get_data(as_text=True)) == ["检查事项"]
    html = client.get("/powers").get_data(as_text=True)
    # Power items have no county or sector, so the form offers neither.
    assert 'name="county"' not in html and 'name="sector"' not in html
    assert 'name="power_type"' in html


def test_accident_filter_by_level(app_ctx, client):
    factories.accident(title_text="一般事故报告", deaths=1)
    factories.accident(title_text="较大事故报告", deaths=3)
    factories.accident(title_text="重大事故报告", serious_injuries=50)
    db.session.commit()
    assert rows(client.get("/accidents?level=2").get_data(as_text=True)) == ["较大事故报告"]
    assert rows(client.get("/accidents?level=3").get_data(as_text=True)) == ["重大事故报告"]
    html = client.get("/accidents?level=4").get_data(as_text=True)
    assert rows(html) == [] and "没有符合条件的事故调查报告" in html
    html = client.get("/accidents").get_data(as_text=True)
    assert "较大事故" in html and "一般事故" in html


@pytest.fixture
def blacklist_states(app_ctx):
    factories.blacklist_entry(enterprise_name="公示中企业", listed_on=date(2026, 3, 1))
    factories.blacklist_entry(enterprise_name="期满企业", listed_on=date(2022, 1, 1))
    factories.blacklist_entry(enterprise_name="修复企业", listed_on=date(2024, 1, 1),
                              removed_on=date(2025, 6, 1), removal_reason="完成信用修复")
    db.session.commit()


def test_blacklist_status_filter_follows_today(blacklist_states, client):
    with time_machine.travel(datetime(2026, 11, 28, 4, tzinfo=UTC), tick=False):
        assert sorted(rows(client.get("/blacklist").get_data(as_text=True))) == sorted(
            ["公示中企业", "期满企业", "修复企业"]
        )
        assert rows(client.get("/blacklist?status=active").get_data(as_text=True)) == ["公示中企业"]
        assert rows(client.get("/blacklist?status=expired").get_data(as_text=True)) == ["期满企业"]
        assert rows(client.get("/blacklist?status=removed").get_data(as_text=True)) == ["修复企业"]
        html = client.get("/blacklist").get_data(as_text=True)
        row = next(r for r in html.split("</tr>") if "公示中企业" in r)
        assert "公示中" in row
    # Three years after listing, the listing has ended by itself.
    with time_machine.travel(datetime(2029, 3, 2, 4, tzinfo=UTC), tick=False):
        assert rows(client.get("/blacklist?status=active").get_data(as_text=True)) == []
        assert sorted(rows(client.get("/blacklist?status=expired").get_data(as_text=True))) == [
            "公示中企业", "期满企业"
        ]


@pytest.mark.parametrize(
    "query",
    [
        "county=火星县",
        "sector=<script>alert(1)</script>",
        "year=abc",
        "year=1999",
        "department=999",
        "department=x",
        "decision_type=行政征收",
        "county=景洪市&county=%00",
    ],
)
def test_unknown_filter_values_are_ignored_with_a_message(app_ctx, client, query):
    factories.decision(party_name="唯一公司", county="景洪市")
    db.session.commit()
    response = client.get("/decisions?" + query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if "county=景洪市" in query:
        assert rows(html) == ["唯一公司"]
    else:
        assert "的值无效，已忽略。" in html
        assert rows(html) == ["唯一公司"]
    assert "<script>alert(1)</script>" not in html
    assert "火星县" not in html


@pytest.mark.parametrize("kind,query", [("accidents", "level=9"), ("accidents", "level=x"),
                                        ("blacklist", "status=pending"), ("blacklist", "status=ACTIVE"),
                                        ("powers", "power_type=行政处罚<"), ("powers", "county=景洪市")])
def test_unknown_kind_specific_values_never_fail(client, kind, query):
    response = client.get(f"/{kind}?{query}")
    assert response.status_code == 200


@pytest.fixture
def paged(tmp_path, test_database):
    """An app with 3 items per page and seven decisions in 景洪市, two in 勐腊县."""
    app = make_app(tmp_path, page_size=3)
    with app.app_context():
        for day in range(1, 8):
            factories.decision(party_name=f"景洪公司{day}", county="景洪市",
                               decision_date=date(2026, 5, day))
        for day in (8, 9):
            factories.decision(party_name=f"勐腊公司{day}", county="勐腊县",
                               decision_date=date(2026, 5, day))
        db.session.commit()
    yield app.test_client()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_paging_keeps_the_filters(paged):
    html = paged.get("/decisions?county=景洪市").get_data(as_text=True)
    assert rows(html) == ["景洪公司7", "景洪公司6", "景洪公司5"]
    assert "符合条件的共 <strong>7</strong> 条" in html
    assert "第 1 / 3 页" in html
    next_link = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html).group(1)
    assert "county=%E6%99%AF%E6%B4%AA%E5%B8%82" in next_link and "page=2" in next_link
    html = paged.get(next_link.replace("&amp;", "&")).get_data(as_text=True)
    assert rows(html) == ["景洪公司4", "景洪公司3", "景洪公司2"]
    assert 'rel="prev"' in html and "第 2 / 3 页" in html
    html = paged.get("/decisions?county=景洪市&page=3").get_data(as_text=True)
    assert rows(html) == ["景洪公司1"]
    assert 'rel="next"' not in html


def test_a_page_past_the_end_shows_the_last_page_with_a_message(paged):
    html = paged.get("/decisions?page=40").get_data(as_text=True)
    assert "没有第 40 页，共 3 页，已显示最后一页。" in html
    assert rows(html) == ["景洪公司3", "景洪公司2", "景洪公司1"]


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "99999999999999999999999", "<script>"])
def test_a_bad_page_number_shows_the_first_page_with_a_message(paged, page):
    response = paged.get("/decisions", query_string={"page": page})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "页码无效，已显示第 1 页。" in html
    assert rows(html)[0] == "勐腊公司9"
    assert "<script>" not in html.split("<main")[1]


def test_an_invalid_filter_is_dropped_from_the_page_links(paged):
    html = paged.get("/decisions?county=火星&sector=非煤矿山").get_data(as_text=True)
    next_link = re.search(r'<a href="([^"]+)" rel="next">', html).group(1)
    assert "county" not in next_link and "sector=" in next_link


@pytest.mark.parametrize("query", ["department=%20", "status=%20", "level=%20", "year=%20",
                                   "county=%20&sector=%09"])
def test_a_filter_of_spaces_alone_is_no_filter(client, query):
    # Found by the hypothesis fuzz test: spaces passed Optional() and reached int() (a 500).
    for kind in ("powers", "decisions", "accidents", "blacklist"):
        assert client.get(f"/{kind}?{query}").status_code == 200


def test_the_decision_list_is_named_for_every_type_it_holds_and_filters_by_type(app_ctx, client):
    for decision_type in ("行政处罚", "行政许可", "行政检查", "行政强制"):
        factories.decision(decision_type=decision_type, fine_yuan=None,
                           party_name=f"{decision_type}类公司")
    db.session.commit()
    html = client.get("/decisions").get_data(as_text=True)
    assert "<h1>行政执法决定</h1>" in html and "<title>行政处罚决定" not in html
    assert 'name="decision_type"' in html
    assert rows(client.get("/decisions?decision_type=行政许可").get_data(as_text=True)) == [
        "行政许可类公司"]


def test_a_blacklist_entrys_credit_code_links_to_its_credit_check(app_ctx, client):
    entry = factories.blacklist_entry()
    db.session.commit()
    html = client.get("/blacklist").get_data(as_text=True)
    assert f'href="/credit?code={entry.uscc}"' in html
