"""Open data: the JSON, CSV and Atom forms of the published items, and the OpenAPI description.

Everything here is generated from the field spec (``portal.fieldspec``): the JSON field names,
the CSV header, the data dictionary and the schemas.  Drafts are never exported (the queries in
``services.disclosures`` return published items only); withdrawn items are, marked.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator

from portal import fieldspec
from portal.domain.catalog import COUNTIES, SECTORS
from portal.models import DisclosureMixin, utcnow

# The licence the data is published under, said on /data, in the OpenAPI document and the feeds.
LICENCE_NAME = "知识共享 署名 4.0 国际许可协议（CC BY 4.0）"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/deed.zh-hans"
ATTRIBUTION = "西双版纳傣族自治州应急管理局"
API_VERSION = "1.0.0"
FEED_ENTRIES = 50  # entries in a kind's Atom feed: the most recently published
# A cell starting with one of these is a formula to Excel and LibreOffice: a leading
# apostrophe makes it text (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"

# Columns before the spec's fields in the JSON and CSV forms.
ID_LABEL, URL_LABEL, TITLE_LABEL = "编号", "永久链接", "标题"


# The largest page number the list endpoints read (``disclosures/opendata._positive``).
MAX_PAGE_NUMBER = 10**9 - 1


def exported_fields(kind: str) -> tuple[fieldspec.FieldSpec, ...]:
    """The kind's fields in the exports: its own exported fields, then the shared state."""
    return fieldspec.SPECS[kind].exported + fieldspec.COMMON


# JSON keys the leading columns already carry: a field under the same name (an accident
# report's title) is that column, not a second one.
LEADING_KEYS = ("kind", "id", "url", "title")


def csv_fields(kind: str) -> tuple[fieldspec.FieldSpec, ...]:
    """The fields after the leading columns in the CSV: each once (an accident report's title
    is the 标题 column, as it is the one ``title`` in the JSON)."""
    return tuple(f for f in exported_fields(kind) if f.api not in LEADING_KEYS)


# --- JSON ---------------------------------------------------------------------------------------


def item_json(item: DisclosureMixin, url: str) -> dict[str, Any]:
    """One published item as the API gives it: English names from the spec, ISO dates."""
    data: dict[str, Any] = {"kind": item.KIND, "id": item.id, "url": url, "title": item.title}
    for f in exported_fields(item.KIND):
        data[f.api] = fieldspec.json_value(item, f)
    return data


# --- CSV ----------------------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """A cell that a spreadsheet would run as a formula, made plain text."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_header(kind: str, decision_type: str | None = None) -> list[str]:
    """The CSV header row: Chinese labels (the data dictionary on /data gives the English).
    A file of decisions of one ``decision_type`` names the columns after that type; a file of
    several types has the neutral labels every type shares."""
    labels = (fieldspec.decision_labels(decision_type) if kind == "decisions" and decision_type
              else {})
    return [ID_LABEL, URL_LABEL, TITLE_LABEL,
            *(labels.get(f.name, f.label) for f in csv_fields(kind))]


def csv_row(item: DisclosureMixin, url: str) -> list[str]:
    cells = [str(item.id), url, item.title]
    cells += [fieldspec.csv_value(item, f) for f in csv_fields(item.KIND)]
    return [neutralise(cell) for cell in cells]


def csv_lines(kind: str, items: Iterable[DisclosureMixin], url_for_item: Any,
              decision_type: str | None = None) -> Iterator[str]:
    """The CSV file line by line (BOM first, so Excel reads UTF-8), never whole in memory.
    ``decision_type``: the one type the file holds (a filtered download), for its header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(csv_header(kind, decision_type))
    yield CSV_BOM + take()
    for item in items:
        writer.writerow(csv_row(item, url_for_item(item)))
        yield take()


# --- Atom ---------------------------------------------------------------------------------------


def _aware(moment: datetime | None) -> datetime:
    return (moment or utcnow()).astimezone(UTC)


def atom_feed(
    *, feed_id: str, title: str, self_url: str, alternate_url: str,
    entries: Iterable[dict[str, Any]],
) -> bytes:
    """An Atom 1.0 document.  Each entry: id (permalink), title, url, updated, published,
    summary; a withdrawn item says so in its title."""
    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(title)
    fg.author({"name": ATTRIBUTION})
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=alternate_url, rel="alternate", type="text/html")
    fg.rights(f"{LICENCE_NAME}，注明来源：{ATTRIBUTION}")
    fg.language("zh-CN")
    latest = None
    # feedgen prepends each entry: add them oldest first so the feed reads newest first.
    for data in reversed(list(entries)):
        entry = fg.add_entry()
        entry.id(data["url"])
        entry.title(data["title"])
        entry.link(href=data["url"], rel="alternate", type="text/html")
        updated = _aware(data.get("updated"))
        entry.updated(updated)
        if data.get("published"):
            entry.published(_aware(data["published"]))
        if data.get("summary"):
            entry.summary(data["summary"])
        latest = max(latest, updated) if latest else updated
    fg.updated(latest or utcnow())
    return fg.atom_str(pretty=True)


def item_entry(item: DisclosureMixin, url: str) -> dict[str, Any]:
    """What a kind's feed says of one item."""
    title = item.title + ("（已撤回）" if item.is_withdrawn else "")
    date = item.event_date
    # A decision is named after its type: a 行政许可决定 is no 行政处罚决定.
    name = (fieldspec.decision_labels(getattr(item, "decision_type", None))["kind"]
            if item.KIND == "decisions" else item.LABEL)
    summary = f"{name} · {date.isoformat() if date else ''}"
    if item.is_withdrawn:
        summary += f" · 已撤回：{item.withdrawn_reason or ''}"
    return {"url": url, "title": title, "updated": item.modified_at,
            "published": item.published_at, "summary": summary}


# --- OpenAPI ------------------------------------------------------------------------------------

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def item_schema(kind: str) -> dict[str, Any]:
    """JSON Schema of one item of ``kind``, from the spec."""
    properties: dict[str, Any] = {
        "kind": {"const": kind},
        "id": {"type": "integer", "minimum": 1, "description": "永久编号，不会改变或复用"},
        "url": {"type": "string", "format": "uri", "description": "永久链接"},
        "title": {"type": "string", "description": "标题"},
    }
    for f in exported_fields(kind):
        properties[f.api] = f.json_schema()
    return {
        "type": "object",
        "description": fieldspec.SPECS[kind].label,
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }


def _page_schema(items: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["count", "results", "next"],
        "additionalProperties": False,
        "properties": {
            "count": {"type": "integer", "minimum": 0, "description": "符合条件的总条数"},
            "results": {"type": "array", "items": items},
            "next": {"type": ["string", "null"], "format": "uri",
                     "description": "下一页的地址；最后一页为 null"},
        },
    }


def _param(name: str, description: str, schema: dict[str, Any], where: str = "query",
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": schema}


def _json_response(ref: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": ref}}}}


def openapi_document(
    *, server_url: str, filter_choices: dict[str, dict[str, list[str]]], max_per_page: int,
    search_kinds: tuple[str, ...], max_query_chars: int, search_max_page: int,
) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the search API and every kind's list and item endpoints.

    ``filter_choices``: per kind, each filter's allowed values (empty list: any of the data's).
    """
    errors = {
        "400": _json_response("#/components/schemas/Error", "参数无效"),
        "429": {"description": "请求过于频繁"},
    }
    paging = [
        _param("page", "页码，从 1 开始", {"type": "integer", "minimum": 1,
                                          "maximum": MAX_PAGE_NUMBER, "default": 1}),
        _param("per_page", f"每页条数，最多 {max_per_page}",
               {"type": "integer", "minimum": 1, "maximum": max_per_page, "default": 20}),
    ]
    schemas: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, Any] = {}
    for kind in fieldspec.KINDS:
        spec = fieldspec.SPECS[kind]
        name = spec.api_name
        schemas[name] = item_schema(kind)
        schemas[f"{name}Page"] = _page_schema({"$ref": f"#/components/schemas/{name}"})
        filters = []
        for key, values in filter_choices[kind].items():
            schema: dict[str, Any] = {"type": "string"}
            if values:
                schema["enum"] = values
            filters.append(_param(key, fieldspec.FILTER_LABELS[key], schema))
        paths[f"/api/v1/{kind}"] = {"get": {
            "operationId": f"list_{kind}",
            "summary": f"{spec.label}列表（新→旧），含已撤回条目（withdrawn 为 true）",
            "parameters": filters + paging,
            "responses": {"200": _json_response(f"#/components/schemas/{name}Page", "一页条目"),
                          "404": _json_response("#/components/schemas/Error",
                                                "没有这一页（页码超过最后一页）"),
                          **errors},
        }}
        paths[f"/api/v1/{kind}/{{id}}"] = {"get": {
            "operationId": f"get_{kind}",
            "summary": f"一条{spec.label}",
            "parameters": [_param("id", "永久编号", {"type": "integer", "minimum": 1}, "path",
                                  True)],
            "responses": {"200": _json_response(f"#/components/schemas/{name}", "条目"),
                          "404": _json_response("#/components/schemas/Error", "没有该条目"),
                          "429": errors["429"]},
        }}
    schemas["SearchHit"] = {
        "type": "object",
        "required": ["kind", "id", "title", "url", "date", "snippet"],
        "additionalProperties": False,
        "properties": {
            "kind": {"enum": list(search_kinds)},
            "id": {"type": "integer", "minimum": 1},
            "title": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "date": {"type": ["string", "null"], "format": "date",
                     "description": "决定或事件日期"},
            "snippet": {"type": "string", "contentMediaType": "text/html",
                        "description": "命中处前后的原文，已转义，命中词以 <mark> 标出"},
        },
    }
    schemas["SearchPage"] = _page_schema({"$ref": "#/components/schemas/SearchHit"})
    paths["/api/v1/search"] = {"get": {
        "operationId": "search",
        "summary": "全文检索四类公开信息（多个词须同时包含，引号内为短语）",
        "parameters": [
            _param("q", "搜索词", {"type": "string", "minLength": 1,
                                   "maxLength": max_query_chars}, required=True),
            _param("kind", "信息类别", {"enum": list(search_kinds)}),
            _param("county", "县（市、区）", {"enum": list(COUNTIES)}),
            _param("sector", "行业领域", {"enum": list(SECTORS)}),
            _param("year", "年份", {"type": "integer", "minimum": 1900, "maximum": 2199}),
            _param("sort", "排序", {"enum": ["relevance", "date"], "default": "relevance"}),
            _param("page", "页码，从 1 开始", {"type": "integer", "minimum": 1,
                                              "maximum": search_max_page, "default": 1}),
            paging[1],
        ],
        "responses": {"200": _json_response("#/components/schemas/SearchPage", "一页命中"),
                      **errors, "503": _json_response("#/components/schemas/Error", "搜索暂不可用")},
    }}
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "西双版纳州安全生产信息公开开放数据接口",
            "version": API_VERSION,
            "description": "权责清单、行政执法决定、事故调查报告和严重失信主体名单的开放数据。"
                           "日期为 ISO 8601；时间为 UTC。数据说明见 /data。",
            "license": {"name": LICENCE_NAME, "url": LICENCE_URL},
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": schemas},
    }
