"""The home page: what the portal is, a search box, the latest items of each kind, quick links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal import kinds
from portal.extensions import db
from tests import factories
from tests.disclosures.pages_html import assert_accessible_page


def test_home_explains_the_portal_and_offers_a_labelled_search(client):
    html = client.get("/").get_data(as_text=True)
    assert_accessible_page(html)
    assert "应急管理局主办" in html
    assert '<form class="big-search" action="/search" method="get" role="search">' in html
    assert '<label for="home-q">搜索公开信息</label>' in html
    assert 'id="home-q" name="q" type="search"' in html
    # The header search box is left out on the home page: one search form, one label.
    assert 'id="header-q"' not in html


def test_home_has_quick_links_to_report_and_credit_lookup(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/report"' in html and "我要举报" in html
    assert 'href="/credit"' in html and "企业信用查询" in html


def test_home_lists_the_five_latest_published_items_of_each_kind(app_ctx, client):
    start = datetime(2026, 1, 1, 2, tzinfo=UTC)
    decisions = [
        factories.decision(party_name=f"最新公开测试公司{i}", published_at=start + timedelta(days=i))
        for i in range(7)
    ]
    factories.decision(published=False, party_name="草稿公司")
    power = factories.power(name="权责事项甲")
    accident = factories.accident(title_text="某某坍塌事故调查报告")
    entry = factories.blacklist_entry()
    db.session.commit()

    html = client.get("/").get_data(as_text=True)
    for i in (2, 3, 4, 5, 6):
        assert f"最新公开测试公司{i}" in html
    assert "最新公开测试公司1" not in html and "最新公开测试公司0" not in html
    assert "草稿公司" not in html
    # Newest first, with the date and a link to the permanent page.
    assert html.index("最新公开测试公司6") < html.index("最新公开测试公司2")
    assert f'href="/decisions/{decisions[6].id}"' in html
    # The decision date where readers expect it, not the publication date (2026年1月7日).
    assert '决定日期 <time datetime="2026-09-28">2026年9月28日</time>' in html
    assert "2026年1月7日" not in html
    for item in (power, accident, entry):
        assert f'href="{item.url_path}"' in html
    for kind in kinds.KEYS:
        assert f'href="/{kind}"' in html


def test_home_says_so_when_a_kind_has_nothing_published(client):
    html = client.get("/").get_data(as_text=True)
    assert html.count("暂无公开信息。") == len(kinds.KINDS)


def test_withdrawn_item_is_marked_on_the_home_page(app_ctx, client):
    factories.decision(
        party_name="撤回测试公司", withdrawn_at=datetime(2026, 10, 1, tzinfo=UTC), withdrawn_reason="撤销"
    )
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "撤回测试公司" in html and "已撤回" in html


def test_nav_marks_the_current_page(client):
    html = client.get("/").get_data(as_text=True)
    assert '<a href="/" aria-current="page">首页</a>' in html
    html = client.get("/accidents").get_data(as_text=True)
    assert '<a href="/accidents" aria-current="page">事故调查报告</a>' in html
    assert '<a href="/" aria-current="page">' not in html
    # Sections that come later keep their links.
    for href in ("/credit", "/stats", "/report"):
        assert f'<a href="{href}">' in html
