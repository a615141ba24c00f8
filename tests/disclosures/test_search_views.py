"""Client tests of /search and /api/v1/search: results, filters, paging, and bad input."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.extensions import db
from portal.models import utcnow
from tests import factories
from tests.conftest import make_app
from tests.disclosures.search_backends import BACKENDS, backend_app


@pytest.fixture(params=BACKENDS)
def app(request, tmp_path, test_database):
    """Every test here on each search backend (issue 9 §5)."""
    yield from backend_app(request.param, tmp_path)


@pytest.fixture
def items(app_ctx):
    """A few published items of every kind, one withdrawn, one draft."""
    mine = factories.enterprise(name="勐腊县金象矿业有限公司", county="勐腊县", sector="非煤矿山")
    plant = factories.enterprise(name="景洪市孔雀化工有限公司", county="景洪市", sector="危险化学品")
    made = {
        "decision": factories.decision(
            enterprise=mine, document_no="西应急罚〔2026〕12号", decision_date=date(2026, 3, 2),
            facts="经查，该公司在磨憨镇非煤矿山作业时未按规定排查治理重大事故隐患。"),
        "withdrawn": factories.decision(
            enterprise=plant, document_no="西应急罚〔2025〕7号", decision_date=date(2025, 5, 6),
            facts="经查，该公司储罐区存在重大事故隐患。", withdrawn_at=utcnow(),
            withdrawn_reason="决定已被撤销"),
        "accident": factories.accident(enterprise=mine, summary="采场发生坍塌，造成1人死亡。"),
        "power": factories.power(name="对非煤矿山企业未按规定排查治理事故隐患的行政处罚"),
        "blacklist": factories.blacklist_entry(enterprise=plant),
        # Its own number: the factory's default (…〔2026〕<n>号, n from a process-wide counter)
        # could otherwise be the decision's 12号 above.
        "draft": factories.decision(published=False, document_no="西应急罚〔2026〕9001号",
                                    facts="草稿：磨憨镇矿山隐患"),
    }
    db.session.commit()
    return made


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_the_search_page_without_a_query_shows_the_form(client):
    response = client.get("/search")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<label for="search-q">搜索词</label>' in html
    for name in ("kind", "county", "sector", "year", "sort"):
        assert f'<label for="{name}"' in html
    assert "找到" not in html


def test_results_show_kind_title_link_date_snippet_and_withdrawn_marker(client, items):
    response = client.get("/search?q=重大事故隐患")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "找到 <strong>2</strong> 条" in html
    decision, withdrawn = items["decision"], items["withdrawn"]
    assert f'href="/decisions/{decision.id}"' in html
    assert f'href="/decisions/{withdrawn.id}"' in html
    assert "行政处罚决定" in html and "2026年3月2日" in html
    assert "<mark>重大事故隐患</mark>" in html
    assert html.count("已撤回") == 1
    assert f"/decisions/{items['draft'].id}\"" not in html


def test_two_character_words_and_places_inside_longer_words(client, items):
    html = client.get("/search?q=矿山").get_data(as_text=True)
    # decision, accident (its enterprise's sector), power, but not the draft
    assert f'/decisions/{items["decision"].id}"' in html
    assert f'/powers/{items["power"].id}"' in html
    assert f'/accidents/{items["accident"].id}"' in html
    html = client.get("/search?q=磨憨").get_data(as_text=True)
    assert "找到 <strong>1</strong> 条" in html


@pytest.mark.parametrize("q", ["西应急罚〔2026〕12号", "西应急罚[2026]12号", "〔2026〕12号"])
def test_document_numbers_in_any_bracket_style(client, items, q):
    data = client.get("/api/v1/search", query_string={"q": q}).get_json()
    assert [r["id"] for r in data["results"]] == [items["decision"].id]


def test_credit_codes_and_fragments(client, items):
    code = items["blacklist"].uscc
    for q in (code, code.lower(), code[4:12]):
        data = client.get("/api/v1/search", query_string={"q": q, "kind": "blacklist"}).get_json()
        assert [r["id"] for r in data["results"]] == [items["blacklist"].id], q


def test_filters_narrow_and_are_kept_in_the_form(client, items):
    html = client.get("/search?q=隐患&kind=decisions&county=勐腊县&year=2026").get_data(as_text=True)
    assert "找到 <strong>1</strong> 条" in html
    assert '<option selected value="decisions">' in html
    assert '<option selected value="勐腊县">' in html
    assert 'value="2026"' in html


@pytest.mark.parametrize("year", [" 2026", "２０２６", "\u30002026\u3000"])
def test_a_year_is_read_by_the_one_year_parser(client, items, year):
    """The search's year goes through the parser of every ``year=`` (portal/params.py): spaces of
    any kind and full-width digits are the same year, on the page and in the API."""
    query = {"q": "隐患", "kind": "decisions", "year": year}
    html = client.get("/search", query_string=query).get_data(as_text=True)
    assert "找到 <strong>1</strong> 条" in html and 'value="2026"' in html
    data = client.get("/api/v1/search", query_string=query).get_json()
    assert [r["id"] for r in data["results"]] == [items["decision"].id]


def test_a_bad_year_is_kept_in_the_box_with_its_message(client, items):
    response = client.get("/search", query_string={"q": "隐患", "year": "20x6"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "年份应为四位数字" in html and 'value="20x6"' in html


def test_no_results_page_helps(client, items):
    response = client.get("/search?q=不存在的词语&kind=accidents")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "没有找到" in html and "错别字" in html and "减少搜索词" in html
    assert "去掉筛选条件" in html
    assert any(h.startswith("/search?q=") and "kind" not in h for h in hrefs(html))


def test_paging_links_keep_the_query_and_filters(app_ctx, client):
    for n in range(25):
        factories.decision(facts=f"第{n}号检查：勐海县矿山隐患", county="勐海县")
    db.session.commit()
    html = client.get("/search?q=矿山&county=勐海县&sort=date").get_data(as_text=True)
    assert "第 1 / 2 页" in html
    (next_link,) = [h for h in hrefs(html) if "page=2" in h and "rel" not in h][:1] or [None]
    assert next_link is not None
    args = parse_qs(urlsplit(next_link.replace("&amp;", "&")).query)
    assert args == {"q": ["矿山"], "county": ["勐海县"], "sort": ["date"], "page": ["2"]}
    html = client.get(next_link.replace("&amp;", "&")).get_data(as_text=True)
    assert "第 2 / 2 页" in html and html.count("<li class=\"search-hit") == 5


def test_api_returns_exactly_the_documented_shape(client, items):
    response = client.get("/api/v1/search?q=矿山&per_page=2")
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"count", "results", "next"}
    assert data["count"] == 3
    for result in data["results"]:
        assert set(result) == {"kind", "id", "title", "url", "date", "snippet"}
        assert result["url"] == f"http://localhost/{result['kind']}/{result['id']}"
        date.fromisoformat(result["date"])
    assert data["next"].startswith("http://localhost/api/v1/search?")


def test_api_next_walks_every_hit_exactly_once(app_ctx, client):
    for n in range(23):
        factories.accident(summary=f"第{n}起：景洪市建筑工地高处坠落")
    db.session.commit()
    seen = []
    url = "/api/v1/search?q=高处坠落&per_page=5"
    pages = 0
    while url:
        data = client.get(url).get_json()
        assert data["count"] == 23
        seen.extend((r["kind"], r["id"]) for r in data["results"])
        url = data["next"]
        pages += 1
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23


BAD = [
    ("q", "矿" * 5000, "太长"),
    ("q", '"非煤矿山', "引号"),
    ("q", "矿山”", "引号"),
    ("q", "，。！？", "标点"),
    ("page", "abc", "页码"),
    ("page", "-1", "页码"),
    ("page", "0", "页码"),
    ("page", "1001", "页码"),
    ("per_page", "1000", "每页条数"),
    ("per_page", "0", "每页条数"),
    ("kind", "users", "信息类别"),
    ("county", "<script>", "县"),
    ("year", "20x6", "年份"),
    ("sort", "popular", "排序"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD)
def test_bad_input_gets_a_clear_message_on_the_page(client, items, name, value, message):
    args = {"q": "矿山", name: value}
    response = client.get("/search", query_string=args)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in html and message in html


@pytest.mark.parametrize(("name", "value", "message"), BAD)
def test_bad_input_gets_a_json_error(client, items, name, value, message):
    response = client.get("/api/v1/search", query_string={"q": "矿山", name: value})
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_api_needs_a_query(client):
    response = client.get("/api/v1/search?kind=decisions")
    assert response.status_code == 400
    assert "q" in response.get_json()["error"]


@pytest.mark.parametrize("q", ["<script>alert(1)</script>", '"><script>alert(1)</script>',
                               "<img src=x onerror=alert(1)>"])
def test_markup_in_the_query_is_never_reflected(client, items, q):
    html = client.get("/search", query_string={"q": q}).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html or "&lt;img" in html
    data = client.get("/api/v1/search", query_string={"q": q}).get_json()
    assert "count" in data or "error" in data


def test_pages_have_no_inline_styles_or_scripts(client, items):
    for url in ("/search", "/search?q=矿山", "/search?q=无此词", '/search?q="x'):
        html = client.get(url).get_data(as_text=True)
        assert "<script" not in html and " style=" not in html


@pytest.mark.usefixtures("test_database")
def test_search_is_rate_limited(tmp_path):
    app = make_app(tmp_path, ratelimit_search="3 per minute")
    client = app.test_client()
    codes = [client.get("/api/v1/search?q=矿山").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/search?q=矿山").status_code == 429


@pytest.mark.parametrize(("name", "value", "field_id"), [
    ("year", "20x6", "year"), ("kind", "users", "kind"), ("sort", "popular", "sort"),
    ("q", "矿" * 5000, "search-q"), ("q", '"非煤矿山', "search-q"),
])
def test_the_error_summary_links_each_problem_to_its_field(client, items, name, value, field_id):
    args = {"q": "矿山"} | {name: value}
    html = client.get("/search", query_string=args).get_data(as_text=True)
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    assert f'href="#{field_id}"' in summary
    before, after = html.split(f'id="{field_id}"', 1)
    field = before.rsplit("<", 1)[1] + after.split(">", 1)[0]  # the field's whole start tag
    assert 'aria-invalid="true"' in field and f'{field_id}-error' in field


def test_titles_mark_the_match_and_power_snippets_show_it(client, app_ctx):
    power = factories.power(name="对<未按规定>排查治理事故隐患的行政处罚", responsibilities="立案、调查取证")
    db.session.commit()
    html = client.get("/search?q=隐患").get_data(as_text=True)
    title = re.search(rf'<a href="/powers/{power.id}">(.*?)</a>', html).group(1)
    assert title == "对&lt;未按规定&gt;排查治理事故<mark>隐患</mark>的行政处罚"
    snippet = re.search(r'<p class="search-snippet">(.*?)</p>', html, re.S).group(1)
    assert "<mark>隐患</mark>" in snippet  # not the start of the item's text (its code)


def badges(html: str) -> dict[str, str]:
    """Each hit's link → the kind badge shown above it."""
    found = re.findall(r'<span class="badge badge-muted">([^<]+)</span>.*?<a href="([^"]+)">',
                       html, re.S)
    return {href: label for label, href in found}


def test_a_decisions_badge_names_its_type_with_one_query_per_page(app, client, app_ctx):
    from sqlalchemy import event

    penalty = factories.decision(facts="磨憨镇尾矿库隐患")
    inspection = factories.decision(decision_type="行政检查", facts="磨憨镇尾矿库检查")
    coercion = factories.decision(decision_type="行政强制", facts="磨憨镇尾矿库查封")
    licence = factories.decision(decision_type="行政许可", facts="磨憨镇尾矿库许可")
    power = factories.power(name="对磨憨镇尾矿库的行政检查")
    db.session.commit()
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        html = client.get("/search?q=磨憨镇尾矿库").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert badges(html) == {
        f"/decisions/{penalty.id}": "行政处罚决定",
        f"/decisions/{inspection.id}": "行政检查决定",
        f"/decisions/{coercion.id}": "行政强制决定",
        f"/decisions/{licence.id}": "行政许可决定",
        f"/powers/{power.id}": "权责清单",
    }
    # The types of the page's decisions come in one query, not one per hit.
    assert len([s for s in statements if "FROM decisions" in s]) <= 1


def test_a_repeated_results_page_is_cached_yet_shows_a_publication_at_once(client, items):
    def count() -> str:
        response = client.get("/search?q=磨憨镇")
        assert response.status_code == 200 and response.headers["ETag"]
        return re.search(r"找到 <strong>(\d+)</strong>", response.get_data(as_text=True)).group(1)

    before = count()
    assert count() == before  # the second answer came from the page cache (same generations)
    factories.decision(facts="经查，该公司在磨憨镇违规储存危险化学品。")
    db.session.commit()  # the index is updated just after the commit
    assert int(count()) == int(before) + 1


@pytest.mark.usefixtures("test_database")
def test_a_cached_results_page_still_counts_against_the_limit(tmp_path):
    app = make_app(tmp_path, ratelimit_search="3 per minute")
    client = app.test_client()
    assert [client.get("/search?q=矿山").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_results_with_the_same_title_show_what_tells_them_apart(app_ctx, client):
    """Six power items may share one name: each hit shows its department and number."""
    for county in ("景洪市", "勐海县", "勐腊县"):
        factories.power(name="非煤矿山建设项目安全设施设计审查", code=f"XK-{county}",
                        department=factories.department(f"{county}应急管理局"))
    db.session.commit()
    html = client.get("/search?q=安全设施设计审查").get_data(as_text=True)
    hits = html.split('<li class="search-hit')[1:]
    assert len(hits) == 3
    for county in ("景洪市", "勐海县", "勐腊县"):
        (hit,) = [h for h in hits if f"XK-{county}" in h]
        assert f"{county}应急管理局" in hit
