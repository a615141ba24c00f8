"""Open data: the JSON API, CSV downloads, Atom feeds, /data and the OpenAPI description."""

from __future__ import annotations

import csv
import gc
import io
import re
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from flask import has_request_context
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from portal import fieldspec
from portal.extensions import db
from portal.models import utcnow
from portal.services.publication import opendata
from tests import factories
from tests.conftest import make_app
from tests.disclosures.pages_html import assert_accessible_page

# A streamed export left half-read used to pop its request context whenever the garbage collector
# got to it, in whatever test was running then ("Popped wrong request context"): an error here.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")

ATOM = "{http://www.w3.org/2005/Atom}"
KINDS = fieldspec.KINDS
MAKE = {
    "powers": factories.power,
    "decisions": factories.decision,
    "accidents": factories.accident,
    "blacklist": factories.blacklist_entry,
    "supervision": factories.supervision_item,
}


@pytest.fixture
def items(app_ctx):
    """Every kind: two published items (one withdrawn) and a draft."""
    made: dict[str, list[int]] = {}
    for kind, make in MAKE.items():
        shown = make()
        withdrawn = make(withdrawn_at=utcnow(), withdrawn_reason="决定已被依法撤销")
        make(published=False)
        db.session.commit()
        made[kind] = [shown.id, withdrawn.id]
    return made


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def walk(client, url: str) -> list[dict]:
    """Follow ``next`` from ``url`` to the end; every page's count must agree."""
    results, count = [], None
    while url:
        response = client.get(path_of(url))
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        count = body["count"] if count is None else count
        assert body["count"] == count
        results += body["results"]
        url = body["next"]
    assert len(results) == count
    return results


# --- JSON API -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_api_lists_published_items_with_withdrawn_marked_and_no_drafts(client, items, kind):
    body = client.get(f"/api/v1/{kind}").get_json()
    assert body["count"] == 2 and body["next"] is None
    by_id = {r["id"]: r for r in body["results"]}
    assert set(by_id) == set(items[kind])
    shown, withdrawn = (by_id[i] for i in items[kind])
    assert shown["withdrawn"] is False and shown["withdrawn_at"] is None
    assert withdrawn["withdrawn"] is True and withdrawn["withdrawn_reason"] == "决定已被依法撤销"
    # English names from the spec, ISO dates and times.
    assert {f.api for f in opendata.exported_fields(kind)} <= set(shown)
    assert "report_source" not in shown and "party_name" not in shown or kind == "decisions"
    date.fromisoformat(shown["published_at"][:10])
    assert shown["url"].endswith(f"/{kind}/{shown['id']}")


def test_api_values_are_typed(client, app_ctx):
    decision = factories.decision(fine_yuan=Decimal("12345.60"), decision_date=date(2026, 9, 28))
    power = factories.power(workflow=["立案", "决定"])
    db.session.commit()
    d = client.get(f"/api/v1/decisions/{decision.id}").get_json()
    assert d["fine_yuan"] == 12345.6 and d["decision_date"] == "2026-09-28"
    assert d["party_name"] == decision.party_name and d["kind"] == "decisions"
    p = client.get(f"/api/v1/powers/{power.id}").get_json()
    assert p["workflow"] == ["立案", "决定"]


@pytest.mark.parametrize("kind", KINDS)
def test_api_item_is_404_for_drafts_and_unknown_ids(client, app_ctx, kind):
    draft = MAKE[kind](published=False)
    db.session.commit()
    for item_id in (draft.id, 999999, 2**40):
        response = client.get(f"/api/v1/{kind}/{item_id}")
        assert response.status_code == 404 and "error" in response.get_json()


def test_next_walks_every_item_exactly_once(client, app_ctx):
    # Same dates for many items: the id must break ties, or pages would overlap or skip.
    for n in range(23):
        factories.decision(decision_date=date(2026, 9, 1 + n % 3))
    factories.decision(published=False)
    db.session.commit()
    results = walk(client, "/api/v1/decisions?per_page=4")
    ids = [r["id"] for r in results]
    assert len(ids) == len(set(ids)) == 23
    first = client.get("/api/v1/decisions?per_page=100").get_json()
    assert [r["id"] for r in first["results"]] == ids and first["next"] is None


def test_api_filters_are_the_list_filters(client, app_ctx):
    factories.decision(county="勐海县", decision_date=date(2025, 3, 1))
    factories.decision(county="景洪市", decision_date=date(2026, 3, 1))
    factories.decision(county="勐海县", decision_date=date(2026, 4, 1), decision_type="行政检查")
    db.session.commit()
    body = client.get("/api/v1/decisions?county=勐海县&per_page=1").get_json()
    assert body["count"] == 2 and "county=" in body["next"] and "per_page=1" in body["next"]
    assert {r["county"] for r in walk(client, "/api/v1/decisions?county=勐海县&per_page=1")} == {"勐海县"}
    assert client.get("/api/v1/decisions?year=2026&decision_type=行政检查").get_json()["count"] == 1


@pytest.mark.parametrize("query", [
    "county=火星", "page=0", "page=abc", "per_page=101", "per_page=0", "year=1850",
    "decision_type=<script>",
])
def test_api_bad_parameters_are_400_without_echo(client, items, query):
    response = client.get(f"/api/v1/decisions?{query}")
    assert response.status_code == 400
    assert "<script>" not in response.get_data(as_text=True)
    assert response.get_json()["error"]


def test_api_page_past_the_end_is_404(client, items):
    assert client.get("/api/v1/decisions?page=9").status_code == 404


@pytest.mark.usefixtures("test_database")
def test_api_is_rate_limited_by_its_setting(tmp_path):
    app = make_app(tmp_path, ratelimit_api="3 per minute")
    client = app.test_client()
    codes = [client.get("/api/v1/powers").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/powers.csv").status_code == 429  # one limit for all open data
    app.extensions["search_index"].close()


# --- CSV ------------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, so Excel shows the Chinese"
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


@pytest.mark.parametrize("kind", KINDS)
def test_csv_has_chinese_header_and_every_published_item(client, items, kind):
    response = client.get(f"/{kind}.csv", buffered=False)  # as a browser gets it: streamed
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.is_streamed
    rows = read_csv(response)
    assert rows[0] == opendata.csv_header(kind)
    assert rows[0][:3] == ["编号", "永久链接", "标题"]
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(items[kind])
    withdrawn_col = rows[0].index("已撤回")
    assert sorted(r[withdrawn_col] for r in rows[1:]) == ["否", "是"]


def test_a_csv_looked_at_only_for_its_status_leaves_no_request_behind(app, client, items):
    """The test client reads the first chunk of a streamed answer inside ``client.get``; the
    export's generator (``stream_with_context``) then holds its request and app contexts
    pushed until it ends.  Unread, it used to end only when the garbage collector found it,
    popping its context under whatever was pushed then.  The suite's client reads every answer
    to its end and closes it, as a WSGI server does, unless a test asks for the stream."""
    response = client.get("/decisions.csv")
    assert response.status_code == 200
    assert not has_request_context()  # nothing of that request is left pushed
    with app.test_request_context("/"):
        del response
        gc.collect()  # an unfinished stream would pop its context here: the wrong one


def test_csv_neutralises_formula_cells(client, app_ctx):
    factories.decision(party_name="=HYPERLINK(\"http://evil\",\"x\")", facts="+1+1",
                       penalty="-2", compliance="@SUM(A1)", remedy="\t=1")
    db.session.commit()
    rows = read_csv(client.get("/decisions.csv"))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["当事人"].startswith("'=HYPERLINK")
    assert row["事实和证据"] == "'+1+1" and row["决定内容"] == "'-2"
    assert row["履行方式和期限"] == "'@SUM(A1)" and row["救济途径和期限"] == "'\t=1"
    assert row["标题"].startswith("'=")


def test_csv_is_filtered_like_the_list_and_read_in_batches(client, app_ctx, monkeypatch):
    from portal.services.publication import disclosures

    monkeypatch.setattr(disclosures, "EXPORT_BATCH", 2)
    for n in range(5):
        factories.decision(county="勐腊县" if n % 2 else "景洪市")
    db.session.commit()
    rows = read_csv(client.get("/decisions.csv?county=景洪市"))
    assert len(rows) == 4 and {r[rows[0].index("县（市、区）")] for r in rows[1:]} == {"景洪市"}
    assert client.get("/decisions.csv?county=火星").status_code == 400


def test_csv_rows_are_fetched_as_the_response_is_read(client, app_ctx, monkeypatch):
    from portal.services.publication import disclosures

    monkeypatch.setattr(disclosures, "EXPORT_BATCH", 2)
    for _ in range(5):
        factories.power()
    db.session.commit()
    calls = []
    original = disclosures.iter_published

    def spy(*args, **kwargs):
        for item in original(*args, **kwargs):
            calls.append(item.id)
            yield item

    monkeypatch.setattr(disclosures, "iter_published", spy)
    response = client.get("/powers.csv", buffered=False)
    chunks = response.response
    first = next(iter(chunks))
    assert first.startswith(b"\xef\xbb\xbf") and calls == []  # header sent before any query
    assert len(b"".join(chunks).splitlines()) == 5 and len(calls) == 5
    response.close()


# --- Atom -----------------------------------------------------------------------------------------


def parse_atom(response) -> ET.Element:
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    return ET.fromstring(response.get_data())


@pytest.mark.parametrize("kind", KINDS)
def test_kind_feed_has_an_entry_per_published_item(client, items, kind):
    feed = parse_atom(client.get(f"/feeds/{kind}.atom"))
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    ids = sorted(int(e.find(f"{ATOM}id").text.rsplit("/", 1)[1]) for e in entries)
    assert ids == sorted(items[kind])
    titles = [e.find(f"{ATOM}title").text for e in entries]
    assert sum(t.endswith("（已撤回）") for t in titles) == 1
    for entry in entries:
        assert entry.find(f"{ATOM}updated").text
        assert entry.find(f"{ATOM}link").get("href").endswith(entry.find(f"{ATOM}id").text[-8:])


def test_search_feed_has_the_search_hits(client, app_ctx):
    factories.decision(facts="经查，该公司在磨憨镇非煤矿山作业时未排查隐患。")
    factories.decision(facts="储罐区隐患。")
    db.session.commit()
    feed = parse_atom(client.get("/feeds/search.atom?q=磨憨镇"))
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    assert "磨憨镇" in entries[0].find(f"{ATOM}summary").text
    assert "<mark>" not in entries[0].find(f"{ATOM}summary").text
    assert client.get("/feeds/search.atom").status_code == 400
    assert client.get("/feeds/search.atom?q=x&kind=nope").status_code == 400


# --- links, /data, OpenAPI ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_list_pages_link_their_data_versions_with_the_filters(client, items, kind):
    html = client.get(f"/{kind}?year=2026").get_data(as_text=True)
    assert_accessible_page(html)
    for mime, href in ((r"application/json", f"/api/v1/{kind}?year=2026"),
                       (r"text/csv", f"/{kind}.csv?year=2026"),
                       (r"application/atom\+xml", f"/feeds/{kind}.atom?year=2026")):
        assert re.search(rf'<link rel="alternate" type="{mime}" title="[^"]+" href="{re.escape(href)}">',
                         html), href
        assert f'href="{href}"' in html.split("<body>")[1]  # a visible link too


def test_search_page_links_json_and_atom(client, items):
    html = client.get("/search?q=隐患").get_data(as_text=True)
    assert '<link rel="alternate" type="application/json"' in html
    assert 'href="/feeds/search.atom?q=%E9%9A%90%E6%82%A3"' in html


def test_data_page_is_generated_from_the_spec(client):
    response = client.get("/data")
    html = response.get_data(as_text=True)
    assert_accessible_page(html)
    assert "CC BY 4.0" in html and "更新频率" in html
    for kind, spec in fieldspec.SPECS.items():
        assert spec.label in html
        for f in opendata.exported_fields(kind):
            assert f"<code>{f.api}</code>" in html and f.label in html


def _validator(document: dict, ref: str) -> Draft202012Validator:
    schema = {"$ref": ref, "components": document["components"]}
    cls = validator_for(schema, default=Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_openapi_documents_every_kind_and_real_responses_conform(client, items, app_ctx):
    factories.accident(approved_on=None, uscc=None)  # nullable fields as null
    factories.decision(fine_yuan=None, uscc=None, enterprise=factories.enterprise())
    db.session.commit()
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert "CC BY 4.0" in document["info"]["license"]["name"]
    for kind in KINDS:
        name = fieldspec.SPECS[kind].api_name
        list_op = document["paths"][f"/api/v1/{kind}"]["get"]
        ref = list_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = client.get(f"/api/v1/{kind}?per_page=100").get_json()
        errors = list(_validator(document, ref).iter_errors(page))
        assert not errors, errors[0].message
        item_ref = f"#/components/schemas/{name}"
        for result in page["results"]:
            one = client.get(f"/api/v1/{kind}/{result['id']}").get_json()
            assert not list(_validator(document, item_ref).iter_errors(one))
        # The schema is strict: an unknown or missing field fails it.
        assert list(_validator(document, item_ref).iter_errors(page["results"][0] | {"x": 1}))
        params = {p["name"] for p in list_op["parameters"]}
        assert {"page", "per_page"} <= params
    search = client.get("/api/v1/search?q=隐患").get_json()
    ref = document["paths"]["/api/v1/search"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["$ref"]
    assert search["count"] and not list(_validator(document, ref).iter_errors(search))
    bad = client.get("/api/v1/decisions?per_page=500").get_json()
    assert not list(_validator(document, "#/components/schemas/Error").iter_errors(bad))


# --- each column once, named for what it holds ---------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_csv_header_has_each_column_once(client, items, kind):
    header = read_csv(client.get(f"/{kind}.csv"))[0]
    assert len(header) == len(set(header)), header  # accidents.csv had 标题 twice
    assert header == opendata.csv_header(kind)


PENALTY_WORDS = ("违法事实和证据", "违反的规定和处罚依据", "处罚种类和内容")


@pytest.mark.parametrize("decision_type", fieldspec.DECISION_TYPE_LABELS)
def test_a_csv_of_one_decision_type_names_its_columns_after_the_type(client, app_ctx,
                                                                    decision_type):
    factories.decision(decision_type=decision_type, fine_yuan=None)
    db.session.commit()
    header = read_csv(client.get(f"/decisions.csv?decision_type={decision_type}"))[0]
    labels = fieldspec.decision_labels(decision_type)
    for name in ("facts", "legal_basis", "penalty"):
        assert labels[name] in header
    if decision_type != "行政处罚":
        assert not set(PENALTY_WORDS) & set(header)


def test_a_csv_of_every_type_and_the_api_description_are_not_a_penaltys(client, items):
    header = read_csv(client.get("/decisions.csv"))[0]
    assert not set(PENALTY_WORDS) & set(header)
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Decision"]
    assert schema["description"] == "行政执法决定"
    for name in ("facts", "legal_basis", "penalty"):
        description = schema["properties"][name]["description"]
        for decision_type, labels in fieldspec.DECISION_TYPE_LABELS.items():
            assert f"{decision_type}为“{labels[name]}”" in description
    assert "只有行政处罚" in schema["properties"]["fine_yuan"]["description"]


def test_the_feed_names_each_decision_after_its_type(client, app_ctx):
    for decision_type in fieldspec.DECISION_TYPE_LABELS:
        factories.decision(decision_type=decision_type, fine_yuan=None,
                           party_name=f"{decision_type}测试有限公司")
    db.session.commit()
    feed = parse_atom(client.get("/feeds/decisions.atom"))
    summaries = {e.find(f"{ATOM}title").text: e.find(f"{ATOM}summary").text
                 for e in feed.findall(f"{ATOM}entry")}
    for decision_type in fieldspec.DECISION_TYPE_LABELS:
        (summary,) = [v for k, v in summaries.items() if k.startswith(decision_type + "测试")]
        assert summary.startswith(f"{decision_type}决定 · ")

@pytest.mark.parametrize("control", ["\x00", "\x01", "\x1f", "\x7f", "\x85", "\t", "\n", "\ufffe"])
def test_control_characters_in_a_search_are_spaces_on_the_page_api_and_feed(
        client, app_ctx, control):
    """XML cannot carry a control character: ``/feeds/search.atom?q=x%1Fy`` answered 500.  One
    filter on the search form reads each one as a space, for the page, the API and the feed."""
    factories.decision(facts="经查，该公司在磨憨镇非煤矿山作业时未排查隐患。")
    factories.decision(facts="储罐区隐患。")
    db.session.commit()
    query = {"q": f"磨憨镇{control}非煤矿山"}
    feed = parse_atom(client.get("/feeds/search.atom", query_string=query))
    assert len(feed.findall(f"{ATOM}entry")) == 1
    assert feed.find(f"{ATOM}title").text.startswith("搜索“磨憨镇 非煤矿山”")
    assert client.get("/api/v1/search", query_string=query).get_json()["count"] == 1
    page = client.get("/search", query_string=query)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="磨憨镇 非煤矿山"' in html
    if control not in "\t\n":  # the page's own layout has tabs and newlines
        assert control not in html
    only = client.get("/feeds/search.atom", query_string={"q": control * 3})
    assert only.status_code == 400 and "缺少参数 q" in only.get_data(as_text=True)
