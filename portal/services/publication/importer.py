"""Bulk import of published items from JSON Lines or CSV files: every row or none.

``flask --app portal import KIND FILE`` calls :func:`import_file`.  The file is read and every row
validated before the database is touched; any problem (encoding, syntax, unknown column, missing or
malformed value) raises :class:`ImportInvalid` listing each one with its physical line number, so a
script can fix its export and send the whole file again.  A valid file is written in one
transaction.  Re-importing an item (same natural key) updates it, and a change to a published item
is kept in its public history.
"""

from __future__ import annotations

import csv
import difflib
import getpass
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import audit, fieldspec, search_sync
from portal.domain import catalog
from portal.domain.blacklist import (
    ENTERPRISE,
    PERSON,
    SUBJECT_TYPES,
    IdNumberInvalid,
    listing_end,
    mask_id_number,
)
from portal.domain.credit_code import CreditCodeInvalid
from portal.domain.credit_code import parse as parse_credit_code
from portal.extensions import db
from portal.labels import field_label
from portal.models import (
    AccidentReport,
    BlacklistEntry,
    Decision,
    Department,
    DisclosureMixin,
    Enterprise,
    PowerItem,
    local_date,
    local_today,
    utcnow,
)
from portal.sanitize import clean_html, markdown_to_html, plain_text
from portal.services.publication.history import apply_changes, record_version

KINDS = fieldspec.KINDS
SUFFIXES = (".jsonl", ".csv")
# In CSV a power item's workflow is one cell with its steps in order: "立案>调查取证>决定".
WORKFLOW_SEPARATOR = ">"
# Historic items (``published_on``) get this Beijing time of day as their publication moment.
PUBLICATION_TIME = time(9, 0)
BEIJING = ZoneInfo("Asia/Shanghai")
# From this many rows, and when the file is larger than what is already published, the index is
# rebuilt once after the commit instead of being updated item by item by the after-commit hook.
BULK_REINDEX_MIN_ROWS = 2000
MAX_COUNT = 1_000_000  # casualties: a sanity bound that also keeps clear of integer overflow
MAX_MONEY = Decimal("99999999999999.99")  # Numeric(16, 2)
_QUERY_CHUNK = 500


# --- errors and results ------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem in an import file, at a physical line (1-based; a CSV header is line 1)."""

    line: int | None  # None: the file as a whole
    field: str  # the column as written in the file; "" for the whole row or file
    reason: str
    label: str = ""  # the field's Chinese name

    def __str__(self) -> str:
        where = f"第 {self.line} 行" if self.line else "文件"
        if self.field:
            where += f"，字段 {self.field}" + (f"（{self.label}）" if self.label else "")
        return f"{where}：{self.reason}"


class ImportInvalid(Exception):
    """The file cannot be imported; nothing was written.  ``errors`` lists every problem."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} 处错误")


@dataclass
class ImportResult:
    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    reindexed: bool = False  # the whole index was rebuilt once instead of updated per item


class FieldInvalid(ValueError):
    """A single value is unusable; ``str()`` is the reason shown to the user."""


# --- value parsers -----------------------------------------------------------------------------

Parser = Callable[[Any], Any]


def _column_length(model: type, column: str) -> int | None:
    return getattr(model.__table__.c[column].type, "length", None)  # type: ignore[attr-defined]


def text(max_length: int | None = None) -> Parser:
    def parse(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise FieldInvalid("应为文本。")
        result = str(value).strip()
        if max_length is not None and len(result) > max_length:
            raise FieldInvalid(f"不能超过 {max_length} 个字符（现有 {len(result)} 个）。")
        return result

    return parse


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(value: Any) -> date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise FieldInvalid(f"日期应为 YYYY-MM-DD 格式（如 2026-09-28），不是“{value}”。")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FieldInvalid(f"“{value.strip()}”不是有效的日期。") from None


def count(value: Any) -> int:
    if isinstance(value, bool):
        raise FieldInvalid("应为整数。")
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise FieldInvalid(f"应为不小于 0 的整数，不是“{value}”。")
    if value < 0:
        raise FieldInvalid("不能为负数。")
    if value > MAX_COUNT:
        raise FieldInvalid(f"数值过大（上限 {MAX_COUNT}）。")
    return value


def money(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise FieldInvalid("应为金额（元）。")
    raw = str(value).strip() if isinstance(value, str | int | float) else None
    if raw is None or not re.fullmatch(r"-?\d+(\.\d+)?", raw):
        raise FieldInvalid(f"应为以元为单位的数字，如 50000 或 12345.67，不是“{value}”。")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise FieldInvalid(f"“{raw}”不是有效的金额。") from None
    if amount < 0:
        raise FieldInvalid("金额不能为负数。")
    if amount != amount.quantize(Decimal("0.01")):
        raise FieldInvalid("金额最多保留两位小数（到分）。")
    if amount > MAX_MONEY:
        raise FieldInvalid("金额过大。")
    return amount


def choice(options: tuple[str, ...]) -> Parser:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise FieldInvalid("应为文本。")
        value = value.strip()
        if value in options:
            return value
        close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
        close = close or [o for o in options if value and (value in o or o in value)]
        hint = f"是否应为“{close[0]}”？" if len(close) == 1 else ""
        raise FieldInvalid(f"“{value}”不是可用的值。{hint}可选：{'、'.join(options)}。")

    return parse


def credit_code(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldInvalid("统一社会信用代码应为文本（18 位）。")
    try:
        return parse_credit_code(value).value
    except CreditCodeInvalid as exc:
        raise FieldInvalid(str(exc)) from None


def subject_type(value: Any) -> str:
    """A blacklist subject type, by its code or its Chinese name."""
    names = {label: code for code, label in SUBJECT_TYPES.items()}
    if isinstance(value, str) and value.strip() in names:
        return names[value.strip()]
    return choice(tuple(SUBJECT_TYPES))(value)


def id_number(value: Any) -> str:
    """A person's ID number, masked at once (the full number is never kept)."""
    if not isinstance(value, str):
        raise FieldInvalid("身份证号码应为文本。")
    if not value.strip():
        return ""
    try:
        return mask_id_number(value)
    except IdNumberInvalid as exc:
        raise FieldInvalid(str(exc)) from None


def workflow(value: Any) -> list[str]:
    if isinstance(value, str):
        steps = value.split(WORKFLOW_SEPARATOR)
    elif isinstance(value, list) and all(isinstance(s, str) for s in value):
        steps = value
    else:
        raise FieldInvalid(f"应为步骤列表（JSON 数组，或以“{WORKFLOW_SEPARATOR}”分隔的文本）。")
    steps = [s.strip() for s in steps]
    if not all(steps):
        raise FieldInvalid("流程中有空步骤。")
    if len(steps) < 2:
        raise FieldInvalid(f"流程至少应有两个步骤，以“{WORKFLOW_SEPARATOR}”分隔。")
    return steps


_STARTS_WITH_TAG = re.compile(r"\s*<(?:[a-zA-Z][a-zA-Z0-9]*|!--)[\s>/]")


def report_html(value: Any) -> str:
    """Markdown, or HTML when it starts with a tag; either way sanitised by the one allow-list."""
    if not isinstance(value, str):
        raise FieldInvalid("应为 Markdown 或 HTML 文本。")
    html = clean_html(value) if _STARTS_WITH_TAG.match(value) else markdown_to_html(value)
    if not plain_text(html).strip():
        raise FieldInvalid("报告正文为空（清理不允许的标记后没有内容）。")
    # Masked afterwards, in the HTML's text (the spec's rule for an HTML field), so the masking
    # asterisks never meet Markdown.
    return html


# --- what each kind accepts --------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A column of an import file; its label and masking come from the field spec."""

    name: str
    label: str
    parse: Parser
    required: bool = True
    spec: fieldspec.FieldSpec | None = None  # None: a column of the import itself (published_on)

    def clean(self, value: Any) -> Any:
        """The parsed value with personal data masked if the spec says the field is free text."""
        return self.spec.mask(value) if self.spec is not None else value


def _field(kind: str, name: str, parse: Parser, required: bool = True) -> Field:
    """The import column ``name`` of ``kind``, described by the spec field imported under it."""
    spec = next(f for f in fieldspec.SPECS[kind].fields if f.import_name == name)
    return Field(name, spec.label, parse, required, spec)


@dataclass(frozen=True)
class KindSpec:
    kind: str
    model: type[DisclosureMixin]
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # natural key: re-importing it updates the item
    key_columns: tuple[str, ...]  # the same key as model attributes
    key_label: str
    # Dates that cannot lie in the future.
    past_dates: tuple[str, ...] = ()

    @property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


def _common(kind: str) -> tuple[Field, ...]:
    return (
        _field(kind, "department", text(_column_length(Department, "name"))),
        Field("published_on", "发布日期", iso_date, required=False),
    )


SPECS: dict[str, KindSpec] = {
    "powers": KindSpec(
        "powers",
        PowerItem,
        (
            _field("powers", "code", text(_column_length(PowerItem, "code"))),
            _field("powers", "name", text(_column_length(PowerItem, "name"))),
            _field("powers", "power_type", choice(catalog.POWER_TYPES)),
            _field("powers", "legal_basis", text()),
            _field("powers", "responsibilities", text()),
            _field("powers", "accountability", text()),
            _field("powers", "workflow", workflow),
            _field("powers", "remarks", text(), required=False),
            *_common("powers"),
        ),
        key=("code",),
        key_columns=("code",),
        key_label="编码",
    ),
    "decisions": KindSpec(
        "decisions",
        Decision,
        (
            _field("decisions", "document_no", text(_column_length(Decision, "document_no"))),
            _field("decisions", "decision_type", choice(catalog.DECISION_TYPES)),
            _field("decisions", "enterprise_name", text(_column_length(Decision, "party_name"))),
            # A natural person has no credit code, so it may be left empty.
            _field("decisions", "uscc", credit_code, required=False),
            _field("decisions", "party_address", text(_column_length(Decision, "party_address")),
                   required=False),
            _field("decisions", "county", choice(catalog.COUNTIES)),
            _field("decisions", "sector", choice(catalog.SECTORS)),
            _field("decisions", "facts", text()),
            _field("decisions", "legal_basis", text()),
            _field("decisions", "penalty", text()),
            # Not every decision fines (警告, 责令停产停业, 查封扣押).
            _field("decisions", "fine_yuan", money, required=False),
            _field("decisions", "compliance", text(), required=False),
            _field("decisions", "remedy", text(), required=False),
            _field("decisions", "decision_date", iso_date),
            *_common("decisions"),
        ),
        key=("document_no",),
        key_columns=("document_no",),
        key_label="文号",
        past_dates=("decision_date",),
    ),
    "accidents": KindSpec(
        "accidents",
        AccidentReport,
        (
            _field("accidents", "title", text(_column_length(AccidentReport, "title"))),
            _field("accidents", "occurred_on", iso_date),
            _field("accidents", "county", choice(catalog.COUNTIES)),
            _field("accidents", "sector", choice(catalog.SECTORS)),
            _field("accidents", "enterprise_name",
                   text(_column_length(AccidentReport, "enterprise_name"))),
            # An illegal, unregistered operation may have no credit code.
            _field("accidents", "uscc", credit_code, required=False),
            _field("accidents", "deaths", count),
            _field("accidents", "serious_injuries", count),
            _field("accidents", "direct_loss_yuan", money),
            _field("accidents", "summary", text()),
            _field("accidents", "report", report_html),
            _field("accidents", "approved_on", iso_date),
            *_common("accidents"),
        ),
        key=("title", "occurred_on"),
        key_columns=("title_text", "occurred_on"),
        key_label="标题和事故日期",
        past_dates=("occurred_on", "approved_on"),
    ),
    "blacklist": KindSpec(
        "blacklist",
        BlacklistEntry,
        (
            # Left out: 生产经营单位 (files made before subject types existed).
            _field("blacklist", "subject_type", subject_type, required=False),
            _field("blacklist", "enterprise_name",
                   text(_column_length(BlacklistEntry, "enterprise_name"))),
            _field("blacklist", "person_name",
                   text(_column_length(BlacklistEntry, "person_name")), required=False),
            _field("blacklist", "person_role",
                   text(_column_length(BlacklistEntry, "person_role")), required=False),
            _field("blacklist", "person_id_number", id_number, required=False),
            _field("blacklist", "uscc", credit_code),
            _field("blacklist", "grounds", choice(catalog.BLACKLIST_GROUNDS)),
            _field("blacklist", "basis", text()),
            _field("blacklist", "listed_on", iso_date),
            # Taken from the enterprise when left out.
            _field("blacklist", "county", choice(catalog.COUNTIES), required=False),
            _field("blacklist", "sector", choice(catalog.SECTORS), required=False),
            *_common("blacklist"),
        ),
        key=("uscc", "listed_on", "person_name"),
        key_columns=("uscc", "listed_on", "person_name"),
        key_label="统一社会信用代码、列入日期和有关人员姓名",
    ),
}


# --- reading files -----------------------------------------------------------------------------


@dataclass
class RawRow:
    line: int
    values: dict[str, Any]


@dataclass
class ParsedFile:
    """What could be read: data rows, the CSV header (None for JSON Lines), syntax errors."""

    rows: list[RawRow]
    header: list[str] | None
    header_line: int
    errors: list[RowError]


@dataclass
class CleanRow:
    line: int
    values: dict[str, Any]  # only the fields the row carries (absent optional fields: not here)

    def key(self, spec: KindSpec) -> tuple[Any, ...]:
        # An optional key column left out (a blacklist entry's person name) is empty.
        return tuple("" if self.values.get(k) is None else self.values[k] for k in spec.key)


def _file_error(reason: str, line: int | None = None) -> ImportInvalid:
    return ImportInvalid([RowError(line, "", reason)])


def read_file(path: str | Path) -> ParsedFile:
    """Decode and split the file; a line that cannot be parsed is an error, the rest still count.

    Raises ``ImportInvalid`` at once for what leaves nothing to check: a wrong extension, an
    encoding other than UTF-8, an empty file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise _file_error(f"文件扩展名应为 .jsonl 或 .csv，不是“{path.suffix or '（无）'}”。")
    data = path.read_bytes()
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _file_error(
            "文件不是 UTF-8 编码（可能是 GBK）。请在表格软件中“另存为 CSV UTF-8”后再导入。", line
        ) from None
    if not content.strip():
        raise _file_error("文件是空的。")
    parsed = _read_jsonl(content) if suffix == ".jsonl" else _read_csv(content)
    if not parsed.rows and not parsed.errors:
        raise _file_error("文件中没有数据行。")
    return parsed


_JSON_MESSAGES = {
    "Expecting property name enclosed in double quotes": "键名应使用英文双引号",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Expecting value": "缺少值或有多余的逗号",
    "Unterminated string starting at": "字符串缺少结束引号",
    "Extra data": "一行只能有一个 JSON 对象",
    "Invalid control character at": "字符串中有控制字符（换行应写作 \\n）",
    "Invalid \\escape": "无效的转义符",
}


def _read_jsonl(content: str) -> ParsedFile:
    parsed = ParsedFile([], None, 0, [])
    # Split on "\n" only: U+2028 and friends may legally appear inside JSON strings.
    for number, line in enumerate(content.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            reason = _JSON_MESSAGES.get(exc.msg, "有语法错误")
            parsed.errors.append(
                RowError(number, "", f"不是有效的 JSON：第 {exc.colno} 个字符处{reason}。")
            )
            continue
        if not isinstance(value, dict):
            parsed.errors.append(RowError(number, "", "每行应为一个 JSON 对象（{…}）。"))
            continue
        parsed.rows.append(RawRow(number, value))
    return parsed


def _read_csv(content: str) -> ParsedFile:
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    parsed = ParsedFile([], None, 0, [])
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            # A broken quote swallows the rest of the file: nothing after it can be trusted.
            parsed.errors.append(RowError(start, "", "CSV 格式错误：引号不成对或引号后有多余字符。"))
            break
        if not any(c.strip() for c in cells):
            continue
        if parsed.header is None:
            parsed.header, parsed.header_line = [c.strip() for c in cells], start
            continue
        width = len(parsed.header)
        if len(cells) > width and not any(c.strip() for c in cells[width:]):
            cells = cells[:width]  # trailing empty cells, as spreadsheets write them
        if len(cells) != width:
            parsed.errors.append(RowError(
                start, "", f"本行有 {len(cells)} 列，表头有 {width} 列（含逗号或换行的值须用英文双引号括起）。"
            ))
            continue
        parsed.rows.append(RawRow(start, dict(zip(parsed.header, cells, strict=True))))
    return parsed


# --- validation --------------------------------------------------------------------------------


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _unknown_field_error(line: int, name: str, spec: KindSpec) -> RowError:
    close = difflib.get_close_matches(name, list(spec.by_name), n=1, cutoff=0.6)
    hint = f"是否应为“{close[0]}”？" if close else f"可用字段：{'、'.join(spec.by_name)}。"
    return RowError(line, name, f"未知字段。{hint}")


def _header_errors(spec: KindSpec, header: list[str], line: int) -> list[RowError]:
    # One report per column instead of one per row.
    errors = []
    seen: set[str] = set()
    for name in header:
        if not name:
            errors.append(RowError(line, "", "表头中有空列名。"))
        elif name in seen:
            errors.append(RowError(line, name, "列名重复。"))
        elif name not in spec.by_name:
            errors.append(_unknown_field_error(line, name, spec))
        seen.add(name)
    errors += [RowError(line, f.name, "缺少必填列。", f.label)
               for f in spec.fields if f.required and f.name not in seen]
    return errors


def validate(spec: KindSpec, parsed: ParsedFile) -> list[CleanRow]:
    """Check every row fully; return the parsed rows or raise ``ImportInvalid`` with all errors."""
    errors = list(parsed.errors)
    if parsed.header is not None:
        header_errors = _header_errors(spec, parsed.header, parsed.header_line)
        if header_errors:
            # With a wrong header every row would repeat the same complaint.
            raise ImportInvalid(sorted(header_errors + errors, key=_position))
    today = local_today()
    clean: list[CleanRow] = []
    first_line_of: dict[tuple[Any, ...], int] = {}
    for row in parsed.rows:
        row_errors, values = _check_row(spec, row, today, check_names=parsed.header is None)
        if not row_errors:
            item = CleanRow(row.line, values)
            key = item.key(spec)
            if key in first_line_of:
                row_errors.append(RowError(
                    row.line, spec.key[0],
                    f"与第 {first_line_of[key]} 行重复：同一{spec.key_label}在一个文件中只能出现一次。",
                ))
            else:
                first_line_of[key] = row.line
                clean.append(item)
        errors += row_errors
    if errors:
        raise ImportInvalid(sorted(errors, key=_position))
    return clean


def _position(error: RowError) -> int:
    return error.line or 0


def _check_row(
    spec: KindSpec, row: RawRow, today: date, check_names: bool
) -> tuple[list[RowError], dict[str, Any]]:
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    if check_names:
        errors += [_unknown_field_error(row.line, n, spec) for n in row.values if n not in spec.by_name]
    for f in spec.fields:
        if f.name not in row.values:
            if f.required:
                errors.append(RowError(row.line, f.name, "缺少必填字段。", f.label))
            continue
        raw = row.values[f.name]
        if _is_blank(raw):
            if f.required:
                errors.append(RowError(row.line, f.name, "必填，不能为空。", f.label))
            else:
                values[f.name] = None
            continue
        try:
            value = f.parse(raw)
        except FieldInvalid as exc:
            errors.append(RowError(row.line, f.name, str(exc), f.label))
            continue
        values[f.name] = f.clean(value)
    if not errors:
        errors = _cross_checks(spec, row.line, values, today)
    return errors, values


def _cross_checks(spec: KindSpec, line: int, v: dict[str, Any], today: date) -> list[RowError]:
    errors = []
    fields = spec.by_name
    for name in (*spec.past_dates, "published_on"):
        if v.get(name) and v[name] > today:
            errors.append(RowError(line, name, f"不能晚于今天（{today}）。", fields[name].label))

    def not_before(later: str, earlier: str) -> None:
        if v.get(later) and v.get(earlier) and v[later] < v[earlier]:
            errors.append(RowError(
                line, later, f"不能早于{fields[earlier].label}（{v[earlier]}）。", fields[later].label
            ))

    not_before("published_on", "decision_date")
    if spec.kind == "decisions" and v.get("fine_yuan") is not None \
            and not catalog.fine_allowed(v.get("decision_type")):
        errors.append(RowError(line, "fine_yuan", catalog.FINE_ONLY_ON_PENALTY,
                               fields["fine_yuan"].label))
    not_before("approved_on", "occurred_on")
    not_before("published_on", "approved_on")
    if spec.kind == "blacklist" and v.get("subject_type") == PERSON:
        for name in ("person_name", "person_role", "person_id_number"):
            if not v.get(name):
                errors.append(RowError(line, name, "有关人员须填写此项。", fields[name].label))
    return errors


# --- writing -----------------------------------------------------------------------------------


def publication_moment(day: date, now: datetime | None = None) -> datetime:
    """The UTC publication timestamp of an item published on Beijing date ``day``."""
    now = now or utcnow()
    moment = datetime.combine(day, PUBLICATION_TIME, tzinfo=BEIJING)
    return min(moment, now)


def _model_values(spec: KindSpec, v: dict[str, Any], blacklist_years: int) -> dict[str, Any]:
    """Map the row's fields onto model attributes (only those the row carries)."""
    rename = {f.import_name: f.name for f in fieldspec.SPECS[spec.kind].fields if f.import_name}
    skip = {"department", "published_on"}
    values = {rename.get(k, k): val for k, val in v.items() if k not in skip}
    defaults = {"party_address": "", "compliance": "", "remedy": "", "remarks": ""}
    for name, default in defaults.items():
        if name in values and values[name] is None:
            values[name] = default
    if spec.kind == "blacklist":
        values["ends_on"] = listing_end(v["listed_on"], blacklist_years)
        if values.get("subject_type", ENTERPRISE) != PERSON:
            values.update(person_name="", person_role="", person_id_masked="")
        for name in ("county", "sector"):
            if values.get(name, "") is None:
                values[name] = ""
    # The rules that need more than one field (a natural person's name and address).
    values, _ = fieldspec.mask_values(spec.kind, values)
    return values


def _chunks(items: list[Any], size: int = _QUERY_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _departments(session: Session, names: set[str]) -> dict[str, Department]:
    stmt = select(Department).where(Department.name.in_(names))
    found = {d.name: d for d in session.scalars(stmt)}
    for name in sorted(names - found.keys()):
        found[name] = Department(name=name)
        session.add(found[name])
    return found


def _enterprises(session: Session, rows: list[CleanRow]) -> dict[str, Enterprise]:
    """Find or create each enterprise by credit code; the file's latest name and place win."""
    codes = sorted({r.values["uscc"] for r in rows if r.values.get("uscc")})
    found: dict[str, Enterprise] = {}
    for chunk in _chunks(codes):
        stmt = select(Enterprise).where(Enterprise.uscc.in_(chunk))
        found.update({e.uscc: e for e in session.scalars(stmt)})
    for row in rows:
        v = row.values
        if not v.get("uscc"):
            continue
        ent = found.get(v["uscc"])
        if ent is None:
            ent = found[v["uscc"]] = Enterprise(name=v["enterprise_name"], uscc=v["uscc"],
                                                county="", sector="")
            session.add(ent)
        ent.name = v["enterprise_name"]
        for place in ("county", "sector"):
            if v.get(place):
                setattr(ent, place, v[place])
    return found


def _existing(session: Session, spec: KindSpec, rows: list[CleanRow]) -> dict[tuple[Any, ...], Any]:
    """Items already stored under the rows' natural keys (the oldest one if staff made two)."""
    model: Any = spec.model
    first = getattr(model, spec.key_columns[0])
    wanted = sorted({r.values[spec.key[0]] for r in rows})
    found: dict[tuple[Any, ...], Any] = {}
    for chunk in _chunks(wanted):
        for item in session.scalars(select(model).where(first.in_(chunk)).order_by(model.id)):
            found.setdefault(tuple(getattr(item, c) for c in spec.key_columns), item)
    return found


def _change_summary(spec: KindSpec, changes: dict[str, list[Any]], item: Any) -> str:
    # A decision's fields are named after its type (行政许可 has no 处罚种类和内容).
    decision_type = getattr(item, "decision_type", None)
    return "导入更新：" + "、".join(field_label(spec.kind, name, decision_type) for name in changes)


def _store(spec: KindSpec, rows: list[CleanRow], source: ImportSource) -> ImportResult:
    session = db.session
    settings = current_app.config["SETTINGS"]
    now = utcnow()
    result = ImportResult(spec.kind)
    model: Any = spec.model
    published = session.scalar(
        select(func.count()).select_from(model).where(model.published_at.is_not(None))
    ) or 0
    result.reindexed = len(rows) >= BULK_REINDEX_MIN_ROWS and len(rows) > published
    try:
        with search_sync.suspended() if result.reindexed else nullcontext():
            departments = _departments(session, {r.values["department"] for r in rows})
            enterprises = _enterprises(session, rows)
            session.flush()  # ids for the lookups below and the history's JSON
            existing = _existing(session, spec, rows)
            for row in rows:
                _store_row(spec, row, session, departments, enterprises, existing, now,
                           settings.blacklist_years, result)
            # In the import's own transaction: the rows and their audit event land together.
            audit.record(
                session, "import", actor_name=f"{audit.SHELL_ACTOR_PREFIX}{source.os_user}",
                object_kind=spec.kind,
                summary={"file": source.name, "sha256": source.sha256, "rows": len(rows),
                         "created": result.created, "updated": result.updated,
                         "unchanged": result.unchanged},
            )
            session.commit()
    except IntegrityError as exc:
        session.rollback()
        # Another writer got in between (the same 文号 or code imported at once).
        raise _file_error(f"写入时与数据库中已有数据冲突，未导入任何数据，请重试：{exc.orig}") from None
    except BaseException:
        session.rollback()
        raise
    if result.reindexed:
        search_sync.reindex_all()
    return result


def _store_row(
    spec: KindSpec,
    row: CleanRow,
    session: Session,
    departments: dict[str, Department],
    enterprises: dict[str, Enterprise],
    existing: dict[tuple[Any, ...], Any],
    now: datetime,
    blacklist_years: int,
    result: ImportResult,
) -> None:
    v = row.values
    values = _model_values(spec, v, blacklist_years)
    department = departments[v["department"]]
    enterprise = enterprises.get(v["uscc"]) if v.get("uscc") else None
    published_at = publication_moment(v["published_on"], now) if v.get("published_on") else None
    item = existing.get(row.key(spec))
    if spec.kind == "blacklist" and enterprise is not None:
        for place in ("county", "sector"):
            # Left out: the enterprise's place for a new entry, unchanged for an existing one.
            if (place not in values and item is None) or values.get(place) == "":
                values[place] = getattr(enterprise, place)
    if item is None:
        item = spec.model(**values)
        item.department = department  # type: ignore[attr-defined]
        if spec.kind != "powers":
            item.enterprise = enterprise  # type: ignore[attr-defined]
        item.published_at = published_at or now
        # A historic item was last modified when it was published, not today.
        item.modified_at = item.published_at
        session.add(item)
        existing[row.key(spec)] = item
        result.created += 1
        return
    changes = apply_changes(item, values)
    if item.department is not department:  # type: ignore[attr-defined]
        changes["department"] = [item.department.name, department.name]  # type: ignore[attr-defined]
        item.department = department  # type: ignore[attr-defined]
    if spec.kind != "powers" and "uscc" in v:
        item.enterprise = enterprise  # type: ignore[attr-defined]
    was_published = item.is_published
    if was_published and published_at and local_date(item.published_at) != v["published_on"]:
        changes["published_at"] = [item.published_at.isoformat(), published_at.isoformat()]
        item.published_at = published_at
    # Drafts have no public history; record_version ignores them, so publish only afterwards.
    record_version(session, item, changes, _change_summary(spec, changes, item))
    if not was_published:
        item.published_at = published_at or now
        item.modified_at = now
    if changes or not was_published:
        result.updated += 1
    else:
        result.unchanged += 1


def import_file(kind: str, path: str | Path) -> ImportResult:
    """Import every row of ``path`` (``.jsonl`` or ``.csv``) as items of ``kind``, or none.

    Raises ``ImportInvalid`` listing each problem (line, field, reason) when any row is invalid;
    then nothing is written.  Otherwise creates new items and updates those whose natural key
    (文号, code, title + date, credit code + listing date) already exists.
    """
    if kind not in SPECS:
        raise _file_error(f"未知的数据类型“{kind}”，可选：{'、'.join(KINDS)}。")
    spec = SPECS[kind]
    rows = validate(spec, read_file(path))
    return _store(spec, rows, ImportSource.of(Path(path)))


@dataclass(frozen=True)
class ImportSource:
    """What the audit log keeps of an import: which file (name and SHA-256) and who ran it."""

    name: str
    sha256: str
    os_user: str

    @classmethod
    def of(cls, path: Path) -> ImportSource:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return cls(path.name, digest.hexdigest(), _os_user())


def _os_user() -> str:
    """The operating-system account running the command (imports are run from a shell)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers) and no LOGNAME/USER
        return f"uid {os.getuid()}"


def field_names(kind: str) -> list[tuple[str, str, bool]]:
    """``(name, label, required)`` for each field of ``kind``: for docs and error help."""
    return [(f.name, f.label, f.required) for f in SPECS[kind].fields]


