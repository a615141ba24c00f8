"""One field spec per published kind: the single source of what each kind holds and how it is shown.

For every field: the Chinese label (pages, forms, history, audit, CSV header), the English name
in the JSON API, its value type (which fixes the JSON Schema, the CSV cell and the import parser),
whether it is free text in which a natural person's ID-card or mobile number must be masked before
anything is stored, whether the search index reads it, whether the import file carries it (and
under which column name) and whether the open-data exports carry it.  The kind list itself, and
each kind's name, is declared once in ``portal.kinds``.

Readers: ``portal.labels`` (labels), the staff forms (labels), ``services.publishing`` (masking),
``services.importer`` (labels, masking, column names), ``search_sync`` (searchable text),
``services.opendata`` (JSON, CSV, Atom, the data dictionary and OpenAPI).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from portal import kinds as kind_registry
from portal.domain.masking import (
    county_level_address,
    mask_html,
    mask_markdown,
    mask_personal_data,
    natural_person_name,
)

# The published kinds, in the order pages and exports list them (declared in portal.kinds).
KINDS: tuple[str, ...] = kind_registry.KEYS

# Value types.  ``text`` is free text (masked); ``string`` a code or name typed exactly
# (文号, 编码, credit code); ``choice`` a value from a fixed vocabulary (portal/domain/catalog.py).
TEXT, STRING, CHOICE, DATE, DATETIME, INTEGER, MONEY, STEPS, HTML, MARKDOWN, BOOLEAN = (
    "text", "string", "choice", "date", "datetime", "integer", "money", "steps", "html",
    "markdown", "boolean",
)
# Free-text types: what an editor or an import file writes in words, where personal data may hide.
FREE_TEXT_TYPES = frozenset({TEXT, STEPS, HTML, MARKDOWN})

# JSON Schema of each type's value in the API (``null`` is added for optional fields).
JSON_SCHEMAS: dict[str, dict[str, Any]] = {
    TEXT: {"type": "string"},
    STRING: {"type": "string"},
    CHOICE: {"type": "string"},
    DATE: {"type": "string", "format": "date"},
    DATETIME: {"type": "string", "format": "date-time"},
    INTEGER: {"type": "integer"},
    MONEY: {"type": "number", "minimum": 0},
    STEPS: {"type": "array", "items": {"type": "string"}},
    HTML: {"type": "string", "contentMediaType": "text/html"},
    MARKDOWN: {"type": "string"},
    BOOLEAN: {"type": "boolean"},
}
# How a value is written in a CSV cell, said once for the data dictionary.
CSV_FORMS: dict[str, str] = {
    TEXT: "文本", STRING: "文本", CHOICE: "文本（取值见说明）", DATE: "YYYY-MM-DD",
    DATETIME: "ISO 8601 时间（UTC）", INTEGER: "整数", MONEY: "金额（元，两位小数）",
    STEPS: "步骤以“>”连接", HTML: "纯文本（去除标记）", MARKDOWN: "—", BOOLEAN: "是/否",
}
STEP_SEPARATOR = ">"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a kind.  ``name`` is the model attribute (or a property of the item)."""

    name: str
    label: str
    api: str  # the English name in JSON and the data dictionary
    type: str
    description: str = ""
    nullable: bool = False
    searchable: bool = False  # part of the search index's text
    exported: bool = True  # in the JSON API, CSV and data dictionary
    import_name: str | None = None  # the column of an import file; None: not imported
    derived: bool = False  # computed by the portal, never typed in

    @property
    def free_text(self) -> bool:
        return self.type in FREE_TEXT_TYPES

    @property
    def masked(self) -> bool:
        """Free text is masked on every way in (forms, publishing, import)."""
        return self.free_text

    def mask(self, value: Any) -> Any:
        """The value with ID-card and mobile numbers masked, in the way its type needs."""
        if not self.masked or not value:
            return value
        if self.type == STEPS:
            return [mask_personal_data(step) for step in value]
        if self.type == HTML:
            return mask_html(value)
        if self.type == MARKDOWN:
            return mask_markdown(value)
        return mask_personal_data(value)

    def json_schema(self) -> dict[str, Any]:
        schema = dict(JSON_SCHEMAS[self.type])
        if self.nullable:
            schema["type"] = [schema["type"], "null"]
        schema["description"] = self.label + (f"：{self.description}" if self.description else "")
        return schema


@dataclass(frozen=True)
class KindSpec:
    kind: str
    fields: tuple[FieldSpec, ...]

    @property
    def label(self) -> str:
        """The kind's Chinese name."""
        return kind_registry.get(self.kind).label

    @property
    def api_name(self) -> str:
        """Singular English name, for schema names."""
        return kind_registry.get(self.kind).api_name

    @property
    def date_field(self) -> str:
        """The decision or event date (sorting, year filter, feeds)."""
        return kind_registry.get(self.kind).date_field

    @property
    def by_name(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    @property
    def exported(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.exported)

    @property
    def masked(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.masked)

    @property
    def searchable(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.searchable)


def _f(name: str, label: str, api: str | None = None, type: str = TEXT, **kw: Any) -> FieldSpec:
    return FieldSpec(name, label, api or name, type, **kw)


def _department(label: str = "责任单位") -> FieldSpec:
    return _f("department", label, "department", STRING, import_name="department", searchable=True)


def _place() -> tuple[FieldSpec, FieldSpec]:
    return (
        _f("county", "县（市、区）", type=CHOICE, import_name="county", searchable=True),
        _f("sector", "行业领域", type=CHOICE, import_name="sector", searchable=True),
    )


# State every kind shares; the withdrawal reason is free text written by staff.
COMMON: tuple[FieldSpec, ...] = (
    _f("published_at", "公开时间", "published_at", DATETIME, derived=True),
    _f("modified_at", "最后修改时间", "modified_at", DATETIME, derived=True),
    _f("is_withdrawn", "已撤回", "withdrawn", BOOLEAN, derived=True),
    _f("withdrawn_at", "撤回时间", "withdrawn_at", DATETIME, nullable=True, derived=True),
    _f("withdrawn_reason", "撤回理由", "withdrawn_reason", nullable=True),
)

# A decision's sections are named after its type: only a 行政处罚 is a penalty, and a 行政许可,
# 行政检查 or 行政强制 decision must not be shown under 违反的规定和处罚依据 or 处罚种类和内容.
# The spec's own labels (below) are the neutral ones every type shares: the CSV header of a
# mixed file, the staff forms; a page, a filtered CSV, a feed entry and a history line about
# decisions of one type use that type's labels (``decision_labels``).
DECISION_TYPE_LABELS: dict[str, dict[str, str]] = {
    "行政处罚": {
        "kind": "行政处罚决定",
        "facts": "违法事实和证据",
        "legal_basis": "违反的规定和处罚依据",
        "penalty": "处罚种类和内容",
    },
    "行政许可": {
        "kind": "行政许可决定",
        "facts": "申请事项和审查情况",
        "legal_basis": "许可依据",
        "penalty": "许可决定的内容",
    },
    "行政检查": {
        "kind": "行政检查决定",
        "facts": "检查发现的问题和证据",
        "legal_basis": "检查和处理的依据",
        "penalty": "处理决定的内容",
    },
    "行政强制": {
        "kind": "行政强制决定",
        "facts": "实施行政强制的事实和证据",
        "legal_basis": "实施行政强制的依据",
        "penalty": "行政强制措施的种类和内容",
    },
}
# The kind's name: the list holds every type of enforcement decision, not penalties alone.
DECISIONS_LABEL = kind_registry.get("decisions").label


def _by_type(name: str) -> str:
    """What a type-dependent field holds for each type, for the API and the data dictionary."""
    return "按决定类型：" + "；".join(f"{t}为“{labels[name]}”"
                                     for t, labels in DECISION_TYPE_LABELS.items())


SPECS: dict[str, KindSpec] = {
    "powers": KindSpec("powers", (
        _f("code", "编码", type=STRING, import_name="code", searchable=True,
           description="权责清单事项编码，唯一"),
        _f("name", "职权名称", import_name="name"),
        _f("power_type", "职权类型", type=CHOICE, import_name="power_type", searchable=True),
        _f("legal_basis", "实施依据", import_name="legal_basis", searchable=True),
        _department("实施主体"),
        _f("responsibilities", "责任事项", import_name="responsibilities", searchable=True),
        _f("accountability", "追责情形", import_name="accountability", searchable=True),
        _f("workflow", "办理流程", type=STEPS, import_name="workflow", searchable=True,
           description="按先后顺序的办理步骤"),
        _f("remarks", "备注", import_name="remarks", searchable=True),
    )),
    "decisions": KindSpec("decisions", (
        _f("document_no", "文号", type=STRING, import_name="document_no", searchable=True),
        _f("decision_type", "决定类型", type=CHOICE, import_name="decision_type", searchable=True),
        _f("party_name", "当事人", "party_name", import_name="enterprise_name", searchable=True,
           description="自然人（无统一社会信用代码）只公开姓氏，如“张某”"),
        _f("uscc", "统一社会信用代码", type=STRING, nullable=True, import_name="uscc",
           searchable=True, description="GB 32100-2015，18 位；自然人为空"),
        _f("party_address", "当事人地址", import_name="party_address",
           description="自然人只公开到县（市、区）"),
        *_place(),
        _f("facts", "事实和证据", import_name="facts", searchable=True,
           description=_by_type("facts")),
        _f("legal_basis", "依据", import_name="legal_basis", searchable=True,
           description=_by_type("legal_basis")),
        _f("penalty", "决定内容", import_name="penalty", searchable=True,
           description=_by_type("penalty")),
        _f("fine_yuan", "罚款金额", type=MONEY, nullable=True, import_name="fine_yuan",
           description="元；只有行政处罚决定可处罚款，其他类型和无罚款的处罚为空"),
        _f("compliance", "履行方式和期限", import_name="compliance"),
        _f("remedy", "救济途径和期限", import_name="remedy"),
        _f("decision_date", "决定日期", type=DATE, import_name="decision_date"),
        _department("作出决定机关"),
        _f("publish_due", "公开期限", type=DATE, nullable=True, derived=True,
           description="行政处罚、行政许可 7 个工作日，其他执法决定 20 个工作日"),
    )),
    "accidents": KindSpec("accidents", (
        _f("title_text", "标题", "title", import_name="title"),
        _f("occurred_on", "事故发生日期", type=DATE, import_name="occurred_on"),
        *_place(),
        _f("enterprise_name", "事故单位", import_name="enterprise_name", searchable=True),
        _f("uscc", "统一社会信用代码", type=STRING, nullable=True, import_name="uscc",
           searchable=True),
        _f("deaths", "死亡人数", type=INTEGER, import_name="deaths"),
        _f("serious_injuries", "重伤人数", type=INTEGER, import_name="serious_injuries",
           description="含急性工业中毒"),
        _f("direct_loss_yuan", "直接经济损失", type=MONEY, import_name="direct_loss_yuan",
           description="元"),
        _f("level", "事故等级", type=INTEGER, derived=True, searchable=True,
           description="1 特别重大、2 重大、3 较大、4 一般（国务院令第493号第三条）"),
        _f("summary", "事故概要", import_name="summary", searchable=True),
        _f("report_html", "调查报告全文", "report", HTML, import_name="report", searchable=True),
        # The editor's Markdown, kept for editing; the public gets the rendered report.
        _f("report_source", "报告全文（Markdown）", "report_source", MARKDOWN, nullable=True,
           exported=False),
        _f("approved_on", "批复日期", type=DATE, nullable=True, import_name="approved_on"),
        _f("assessment_due", "整改评估期限", type=DATE, nullable=True, derived=True,
           description="批复后 1 年"),
        _f("assessment_published_on", "整改评估公开日期", type=DATE, nullable=True),
        _department("发布单位"),
    )),
    "blacklist": KindSpec("blacklist", (
        _f("enterprise_name", "企业名称", import_name="enterprise_name", searchable=True),
        _f("uscc", "统一社会信用代码", type=STRING, import_name="uscc", searchable=True),
        *_place(),
        _f("grounds", "列入事由", type=CHOICE, import_name="grounds", searchable=True),
        _f("basis", "列入依据（决定文书）", "basis", import_name="basis", searchable=True),
        _f("listed_on", "列入日期", type=DATE, import_name="listed_on"),
        _f("ends_on", "届满日期", type=DATE, derived=True, description="列入期满、自动移出的日期"),
        _f("removed_on", "移出日期", type=DATE, nullable=True, description="信用修复提前移出"),
        _f("removal_reason", "移出理由", nullable=True),
        _f("status", "名单状态", type=CHOICE, derived=True,
           description="active 公示中、expired 已期满、removed 已提前移出、pending 未到列入日期"),
        _department("认定部门"),
    )),
}

# Filters the list pages, the API, the CSV and the feeds accept, with their Chinese labels.
FILTER_LABELS: dict[str, str] = {
    "county": "县（市、区）", "sector": "行业领域", "year": "年份（决定或事件日期）",
    "department": "责任单位编号", "power_type": "职权类型", "decision_type": "决定类型",
    "level": "事故等级 1–4", "status": "名单状态",
    "late": "公开时效：1 逾期公开，0 按期公开", "withdrawal": "撤回时效：on_time、late、overdue",
    "assessment": "整改评估：on_time、late、overdue",
}


def spec(kind: str) -> KindSpec:
    return SPECS[kind]


def field(kind: str, name: str) -> FieldSpec | None:
    """The spec of field ``name`` of ``kind`` (or of the shared state fields); None if unknown."""
    return SPECS[kind].by_name.get(name) or {f.name: f for f in COMMON}.get(name)


def label(kind: str, name: str) -> str:
    """The field's Chinese label; the name itself if the spec does not know it."""
    found = field(kind, name) if kind in SPECS else None
    return found.label if found else name


def mask_values(kind: str, values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``values`` (model attribute → value) with every free-text field masked, and the labels
    of the fields in which something was masked.

    A decision's party without a credit code is a natural person (DOMAIN §1): the name is
    published as the surname and 某 — in its own field and wherever the full name recurs in the
    decision's text — and the address no finer than the county.  Every way in (the staff form,
    the import) passes through here, so this is a rule, not a hint on a form."""
    out = dict(values)
    masked: list[str] = []
    person = _natural_person(kind, values)
    for name, value in values.items():
        spec_field = field(kind, name)
        if spec_field is None or not spec_field.masked:
            continue
        clean = spec_field.mask(value)
        if person is not None:
            full, shown = person
            if name == "party_name":
                clean = shown
            elif name == "party_address":
                clean = county_level_address(value or "", values.get("county") or "")
            elif full and isinstance(clean, str):
                clean = clean.replace(full, shown)
            elif full and isinstance(clean, list):
                clean = [step.replace(full, shown) for step in clean]
        if clean != value:
            masked.append(spec_field.label)
            out[name] = clean
    return out, masked


def _natural_person(kind: str, values: dict[str, Any]) -> tuple[str, str] | None:
    """(full name as typed, name as published) of a decision's natural-person party."""
    if kind != "decisions" or values.get("uscc") or "party_name" not in values:
        return None
    shown = natural_person_name(values["party_name"] or "")
    full = re.sub(r"[（(].*$", "", (values["party_name"] or "").strip()).strip()
    # A one-character "name" (or one already masked) is not worth replacing in the text.
    return (full if len(full) > 1 and full != shown else "", shown)


def raw_value(item: Any, f: FieldSpec) -> Any:
    """The field's value on ``item``."""
    if f.name == "department":
        return item.department.name if item.department else ""
    if f.name == "status":
        return item.status().value
    return getattr(item, f.name)


def json_value(item: Any, f: FieldSpec) -> Any:
    """The field's value as the JSON API gives it: ISO dates, numbers, lists."""
    value = raw_value(item, f)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if f.type == STEPS:
        return list(value)
    return value


def csv_value(item: Any, f: FieldSpec) -> str:
    """The field's value as one CSV cell (before formula neutralising)."""
    from portal.sanitize import plain_text

    value = raw_value(item, f)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if f.type == STEPS:
        return STEP_SEPARATOR.join(value)
    if f.type == HTML:
        return plain_text(value).strip()
    return str(value)


def search_text(item: Any, f: FieldSpec) -> str:
    """The field's value as the search index reads it."""
    value = raw_value(item, f)
    if value is None:
        return ""
    if f.name == "level":
        return item.accident_level.label
    if f.type == STEPS:
        return " ".join(value)
    if f.type == HTML:
        from portal.sanitize import plain_text

        return plain_text(value)
    return str(value)


def decision_labels(decision_type: str | None) -> dict[str, str]:
    """The labels of a decision's fields for its type, and its name under ``"kind"`` (the
    spec's neutral labels where the type is unknown)."""
    labels = {f.name: f.label for f in SPECS["decisions"].fields}
    labels["kind"] = f"{decision_type}决定" if decision_type else DECISIONS_LABEL
    return labels | DECISION_TYPE_LABELS.get(decision_type or "", {})


def choices(name: str) -> tuple[str, ...]:
    """The fixed vocabulary of a choice field (portal/domain/catalog.py), for the data dictionary."""
    from portal.domain import catalog
    from portal.domain.blacklist import BlacklistStatus

    return {
        "power_type": catalog.POWER_TYPES,
        "decision_type": catalog.DECISION_TYPES,
        "county": catalog.COUNTIES,
        "sector": catalog.SECTORS,
        "grounds": catalog.BLACKLIST_GROUNDS,
        "status": tuple(s.value for s in BlacklistStatus),
    }.get(name, ())
