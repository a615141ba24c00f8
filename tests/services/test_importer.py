"""Bulk import: every kind from JSON Lines and CSV, all rows or none, updates with history."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.domain.accidents import AccidentLevel
from portal.extensions import db
from portal.models import (
    AccidentReport,
    BlacklistEntry,
    Decision,
    Department,
    Enterprise,
    ItemVersion,
    PowerItem,
    utcnow,
)
from portal.services.publication import importer
from portal.services.publication.history import history
from portal.services.publication.importer import ImportInvalid, import_file
from tests import factories

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "import"
MODELS = {"powers": PowerItem, "decisions": Decision, "accidents": AccidentReport,
          "blacklist": BlacklistEntry}

DECISION = {
    "document_no": "西景应急罚〔2026〕101号",
    "decision_type": "行政处罚",
    "enterprise_name": "景洪市测试建材有限公司",
    "uscc": "91532801MA6K3T8R1Q",
    "county": "景洪市",
    "sector": "非煤矿山",
    "facts": "未按照规定对从业人员进行安全生产教育和培训。",
    "legal_basis": "《中华人民共和国安全生产法》第九十七条第（三）项",
    "penalty": "罚款3万元",
    "fine_yuan": "30000",
    "decision_date": "2026-09-28",
    "department": "景洪市应急管理局",
}
POWER = {
    "code": "JH-CF-901",
    "name": "对未按照规定进行安全生产教育和培训的行政处罚",
    "power_type": "行政处罚",
    "legal_basis": "《中华人民共和国安全生产法》第九十七条",
    "department": "景洪市应急管理局",
    "responsibilities": "立案、调查取证、审理、告知、决定、送达、执行",
    "accountability": "不履行或不正确履行职责的，依法追责。",
    "workflow": ["立案", "调查取证", "决定"],
}
ACCIDENT = {
    "title": "勐腊县测试运输有限公司“3·15”道路运输事故调查报告",
    "occurred_on": "2025-03-15",
    "county": "勐腊县",
    "sector": "交通运输",
    "enterprise_name": "勐腊县测试运输有限公司",
    "uscc": "91532823MA6P7Q5W2L",
    "deaths": 1,
    "serious_injuries": 0,
    "direct_loss_yuan": "1200000",
    "summary": "造成1人死亡。",
    "report": "## 一、事故单位基本情况\n\n勐腊县测试运输有限公司。",
    "approved_on": "2025-06-20",
    "department": "勐腊县应急管理局",
}
BLACKLIST = {
    "enterprise_name": "景洪市测试烟花爆竹经营部",
    "uscc": "92532801MA6T9H3K4U",
    "grounds": "瞒报、谎报生产安全事故",
    "basis": "西景应急失信〔2026〕1号",
    "listed_on": "2026-03-01",
    "department": "景洪市应急管理局",
}
BASE = {"decisions": DECISION, "powers": POWER, "accidents": ACCIDENT, "blacklist": BLACKLIST}


def jsonl(tmp_path: Path, *rows: dict | str, name: str = "rows.jsonl") -> Path:
    path = tmp_path / name
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def csv_file(tmp_path: Path, *rows: dict, bom: bool = False, name: str = "rows.csv") -> Path:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [">".join(v) if isinstance(v, list) else v for v in (row.get(c, "") for c in columns)]
        )
    path = tmp_path / name
    path.write_text(out.getvalue(), encoding="utf-8-sig" if bom else "utf-8", newline="")
    return path


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def errors_of(kind: str, path: Path) -> list[importer.RowError]:
    with pytest.raises(ImportInvalid) as exc:
        import_file(kind, path)
    return exc.value.errors


def one_error(kind: str, path: Path) -> importer.RowError:
    errors = errors_of(kind, path)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


# --- happy paths -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_the_documented_examples_import(app_ctx, kind, suffix):
    result = import_file(kind, EXAMPLES / f"{kind}.{suffix}")
    assert (result.created, result.updated) == (2, 0)
    items = db.session.scalars(select(MODELS[kind])).all()
    assert len(items) == 2
    assert all(item.is_published and not item.is_withdrawn for item in items)


@pytest.mark.parametrize("kind", list(MODELS))
def test_csv_and_jsonl_examples_describe_the_same_items(app_ctx, kind):
    import_file(kind, EXAMPLES / f"{kind}.jsonl")
    result = import_file(kind, EXAMPLES / f"{kind}.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)


@pytest.mark.parametrize("bom", [True, False])
def test_csv_with_or_without_byte_order_mark(app_ctx, tmp_path, bom):
    path = csv_file(tmp_path, DECISION, bom=bom)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") is bom
    assert import_file("decisions", path).created == 1
    item = db.session.scalar(select(Decision))
    assert item.document_no == DECISION["document_no"]  # first column not polluted by the BOM


def test_jsonl_with_byte_order_mark(app_ctx, tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_text(json.dumps(POWER, ensure_ascii=False), encoding="utf-8-sig")
    assert import_file("powers", path).created == 1


def test_a_decision_is_stored_with_its_fields_and_derived_deadline(app_ctx, tmp_path):
    import_file("decisions", jsonl(tmp_path, DECISION | {"fine_yuan": 30000.5}))
    item = db.session.scalar(select(Decision))
    assert item.party_name == "景洪市测试建材有限公司"
    assert item.fine_yuan == Decimal("30000.50")
    assert item.publish_due == date(2026, 10, 13)  # 7 working days across 国庆
    assert item.department.name == "景洪市应急管理局"
    assert item.enterprise.uscc == DECISION["uscc"]
    assert item.enterprise.county == "景洪市" and item.enterprise.sector == "非煤矿山"
    assert abs(item.published_at - utcnow()).total_seconds() < 60  # published at import time
    assert item.party_address == "" and item.compliance == ""


def test_a_natural_person_may_have_no_credit_code(app_ctx, tmp_path):
    row = DECISION | {"enterprise_name": "岩某", "uscc": "", "fine_yuan": ""}
    import_file("decisions", csv_file(tmp_path, row))
    item = db.session.scalar(select(Decision))
    assert item.uscc is None and item.enterprise is None and item.fine_yuan is None
    assert count(Enterprise) == 0


def test_power_workflow_from_csv_steps(app_ctx, tmp_path):
    row = POWER | {"workflow": " 受理 > 审查 >决定>送达"}
    import_file("powers", csv_file(tmp_path, row))
    assert db.session.scalar(select(PowerItem)).workflow == ["受理", "审查", "决定", "送达"]


def test_power_workflow_in_jsonl_may_also_be_a_string(app_ctx, tmp_path):
    import_file("powers", jsonl(tmp_path, POWER | {"workflow": "受理>决定"}))
    assert db.session.scalar(select(PowerItem)).workflow == ["受理", "决定"]


def test_accident_report_markdown_is_rendered_and_sanitised(app_ctx, tmp_path):
    report = "## 一、概况\n\n**重点**内容<script>alert(1)</script>\n\n[链接](javascript:alert(1))"
    import_file("accidents", jsonl(tmp_path, ACCIDENT | {"report": report, "deaths": 3}))
    item = db.session.scalar(select(AccidentReport))
    assert "<h2>一、概况</h2>" in item.report_html
    assert "<strong>重点</strong>" in item.report_html
    assert "<script" not in item.report_html and "javascript:" not in item.report_html
    assert item.accident_level is AccidentLevel.LARGER  # derived from 3 deaths
    # 批复 2025-06-20: a year ends Saturday 2026-06-20, moved to Monday 06-22 (民法典 Art. 203).
    assert item.assessment_due == date(2026, 6, 22)


def test_accident_report_html_is_sanitised(app_ctx, tmp_path):
    report = '<h2 onclick="x()">一、概况</h2><p style="color:red">内容</p><iframe src="x"></iframe>'
    import_file("accidents", jsonl(tmp_path, ACCIDENT | {"report": report}))
    html = db.session.scalar(select(AccidentReport)).report_html
    assert html == "<h2>一、概况</h2><p>内容</p>"


@pytest.mark.parametrize(("loss", "level"), [("9999999.99", AccidentLevel.GENERAL),
                                             ("10000000", AccidentLevel.LARGER)])
def test_accident_level_follows_the_loss(app_ctx, tmp_path, loss, level):
    import_file("accidents", jsonl(tmp_path, ACCIDENT | {"direct_loss_yuan": loss, "deaths": 0}))
    assert db.session.scalar(select(AccidentReport)).accident_level is level


def test_blacklist_end_date_and_place_from_the_enterprise(app_ctx, tmp_path):
    factories.enterprise(uscc=BLACKLIST["uscc"], county="勐海县", sector="烟花爆竹")
    db.session.commit()
    import_file("blacklist", jsonl(tmp_path, BLACKLIST))
    entry = db.session.scalar(select(BlacklistEntry))
    assert entry.ends_on == date(2029, 3, 1)  # Settings.blacklist_years = 3
    assert (entry.county, entry.sector) == ("勐海县", "烟花爆竹")
    assert entry.enterprise.name == BLACKLIST["enterprise_name"]  # name updated from the file
    assert count(Enterprise) == 1


@pytest.mark.usefixtures("test_database")
def test_blacklist_duration_is_configurable(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path, blacklist_years=1)
    with app.app_context():
        import_file("blacklist", jsonl(tmp_path, BLACKLIST))
        assert db.session.scalar(select(BlacklistEntry.ends_on)) == date(2027, 3, 1)


def test_historic_items_keep_their_publication_date_in_beijing_time(app_ctx, tmp_path):
    import_file("decisions", jsonl(tmp_path, DECISION | {"published_on": "2026-10-14"}))
    item = db.session.scalar(select(Decision))
    # 09:00 in Beijing is 01:00 UTC.
    assert item.published_at == datetime(2026, 10, 14, 1, 0, tzinfo=UTC)
    assert item.modified_at == item.published_at
    assert item.published_on_time is False  # due 2026-10-13


def test_published_on_the_due_date_is_on_time(app_ctx, tmp_path):
    import_file("decisions", jsonl(tmp_path, DECISION | {"published_on": "2026-10-13"}))
    assert db.session.scalar(select(Decision)).published_on_time is True


def test_departments_are_found_or_created(app_ctx, tmp_path):
    factories.department("景洪市应急管理局")
    db.session.commit()
    second = DECISION | {"document_no": "西应急罚〔2026〕1号", "department": "西双版纳州应急管理局"}
    import_file("decisions", jsonl(tmp_path, DECISION, second))
    assert sorted(db.session.scalars(select(Department.name))) == ["景洪市应急管理局", "西双版纳州应急管理局"]


# --- masking -----------------------------------------------------------------------------------


def test_personal_data_is_masked_on_publication(app_ctx, tmp_path):
    row = DECISION | {
        "enterprise_name": "岩某（身份证号532822198507123450）",
        "uscc": "",
        "facts": "现场负责人岩某，身份证号532822198507123450，电话13987654321。",
        "party_address": "联系电话13987654321",
        "penalty": "罚款3万元",
    }
    import_file("decisions", jsonl(tmp_path, row))
    item = db.session.scalar(select(Decision))
    assert "532822198507123450" not in item.facts and "13987654321" not in item.facts
    assert "5328**************" in item.facts and "139****4321" in item.facts
    # No credit code: a natural person, published by surname, the address to the county.
    assert item.party_name == "岩某"
    assert item.party_address == "景洪市"


def test_a_natural_persons_name_and_address_are_masked_on_import(app_ctx, tmp_path):
    row = DECISION | {"enterprise_name": "张三丰", "uscc": "",
                      "party_address": "景洪市嘎洒镇曼景法村12号",
                      "facts": "张三丰无证经营，手机1381 2345 678。"}
    import_file("decisions", jsonl(tmp_path, row))
    item = db.session.scalar(select(Decision))
    assert (item.party_name, item.party_address) == ("张某", "景洪市")
    assert item.facts == "张某无证经营，手机138****5678。"


def test_report_is_masked_after_markdown_rendering(app_ctx, tmp_path):
    report = "死者岩某，身份证号532822198507123450，家属电话13987654321。"
    summary = "伤者电话13987654321"
    import_file("accidents", jsonl(tmp_path, ACCIDENT | {"report": report, "summary": summary}))
    item = db.session.scalar(select(AccidentReport))
    # The asterisks are text, not Markdown emphasis.
    assert item.report_html == "<p>死者岩某，身份证号5328**************，家属电话139****4321。</p>"
    assert item.summary == "伤者电话139****4321"


# --- invalid files: nothing is imported, every problem is reported --------------------------------


def test_every_bad_row_is_reported_with_its_physical_line(app_ctx, tmp_path):
    bad = DECISION | {"document_no": "西景应急罚〔2026〕102号", "uscc": "91532801MA6K3T8R1A",
                      "decision_date": "2026/09/28"}
    worse = DECISION | {"document_no": "西景应急罚〔2026〕103号", "fine_yuan": "-5"}
    path = jsonl(tmp_path, DECISION, bad, "", worse)  # line 3 is blank
    errors = errors_of("decisions", path)
    assert [(e.line, e.field) for e in errors] == [(2, "uscc"), (2, "decision_date"), (4, "fine_yuan")]
    assert "第 18 位应为" in errors[0].reason
    assert "YYYY-MM-DD" in errors[1].reason
    assert "负数" in errors[2].reason
    assert str(errors[2]) == "第 4 行，字段 fine_yuan（罚款金额）：金额不能为负数。"
    assert count(Decision) == 0 and count(Enterprise) == 0 and count(Department) == 0


def test_csv_line_numbers_count_the_header_and_multiline_cells(app_ctx, tmp_path):
    multiline = DECISION | {"document_no": "西景应急罚〔2026〕104号", "facts": "第一行\n第二行"}
    bad = DECISION | {"document_no": "西景应急罚〔2026〕105号", "county": "景洪"}
    path = csv_file(tmp_path, DECISION, multiline, bad)
    error = one_error("decisions", path)
    assert (error.line, error.field) == (5, "county")  # header 1, rows 2, 3–4, 5
    assert "是否应为“景洪市”" in error.reason


def test_nothing_is_imported_when_one_row_of_many_is_bad(app_ctx, tmp_path):
    rows = [DECISION | {"document_no": f"西景应急罚〔2026〕{n}号"} for n in range(200, 230)]
    rows[17] = rows[17] | {"sector": "餐饮"}
    errors = errors_of("decisions", jsonl(tmp_path, *rows))
    assert [(e.line, e.field) for e in errors] == [(18, "sector")]
    assert count(Decision) == 0


def test_unknown_csv_column_is_reported_once_on_the_header(app_ctx, tmp_path):
    path = csv_file(tmp_path, DECISION | {"fine_yaun": "1"}, DECISION | {"fine_yaun": "2"})
    error = one_error("decisions", path)
    assert (error.line, error.field) == (1, "fine_yaun")
    assert "是否应为“fine_yuan”" in error.reason


def test_missing_csv_column_is_reported_on_the_header(app_ctx, tmp_path):
    row = {k: v for k, v in DECISION.items() if k != "penalty"}
    error = one_error("decisions", csv_file(tmp_path, row))
    assert (error.line, error.field, error.reason) == (1, "penalty", "缺少必填列。")


def test_duplicate_csv_column(app_ctx, tmp_path):
    path = tmp_path / "dup.csv"
    header = ",".join([*DECISION, "county"])
    values = ",".join([*DECISION.values(), "景洪市"])
    path.write_text(f"{header}\n{values}\n", encoding="utf-8")
    assert [(e.line, e.field, e.reason) for e in errors_of("decisions", path)] == [
        (1, "county", "列名重复。")
    ]


def test_unknown_jsonl_key_and_missing_required_key(app_ctx, tmp_path):
    row = {k: v for k, v in POWER.items() if k != "name"} | {"remark": "x"}
    errors = errors_of("powers", jsonl(tmp_path, row))
    assert [(e.line, e.field) for e in errors] == [(1, "remark"), (1, "name")]
    assert "是否应为“remarks”" in errors[0].reason
    assert errors[1].reason == "缺少必填字段。"


@pytest.mark.parametrize(("kind", "field", "value", "reason"), [
    ("decisions", "document_no", "", "必填"),
    ("decisions", "document_no", "文" * 81, "不能超过 80 个字符"),
    ("decisions", "decision_type", "罚款", "不是可用的值"),
    ("decisions", "uscc", "9135010OM000100Y43", "I、O、Z、S、V"),
    ("decisions", "uscc", "91350100M000100Y4", "18 位"),
    ("decisions", "fine_yuan", "3万", "以元为单位的数字"),
    ("decisions", "fine_yuan", "1.234", "两位小数"),
    ("decisions", "decision_date", "2026-02-30", "不是有效的日期"),
    ("decisions", "decision_date", "2099-01-01", "不能晚于今天"),
    ("decisions", "published_on", "2026-09-27", "不能早于决定日期"),
    ("decisions", "facts", ["a"], "应为文本"),
    ("powers", "power_type", "行政处理", "不是可用的值"),
    ("powers", "workflow", ["立案"], "至少应有两个步骤"),
    ("powers", "workflow", ["立案", " "], "空步骤"),
    ("powers", "workflow", 5, "步骤列表"),
    ("accidents", "deaths", -1, "负数"),
    ("accidents", "deaths", 1.5, "整数"),
    ("accidents", "deaths", "两人", "整数"),
    ("accidents", "deaths", True, "整数"),
    ("accidents", "serious_injuries", 10_000_000, "过大"),
    ("accidents", "direct_loss_yuan", "-1", "负数"),
    ("accidents", "approved_on", "2025-03-14", "不能早于事故发生日期"),
    ("accidents", "published_on", "2025-06-19", "不能早于批复日期"),
    ("accidents", "report", "<p> </p><img src=x onerror=alert(1)>", "报告正文为空"),
    ("blacklist", "grounds", "其他", "不是可用的值"),
    ("blacklist", "uscc", "", "必填"),
    ("blacklist", "listed_on", "20260301", "YYYY-MM-DD"),
    ("blacklist", "county", "西双版纳", "不是可用的值"),
])
def test_each_bad_value_is_named(tmp_path, kind, field, value, reason):
    # Validation needs no database: checked here without one, to keep the suite quick.
    path = jsonl(tmp_path, BASE[kind] | {field: value})
    with pytest.raises(ImportInvalid) as exc:
        importer.validate(importer.SPECS[kind], importer.read_file(path))
    (error,) = exc.value.errors
    assert (error.line, error.field) == (1, field)
    assert reason in error.reason, error.reason


def test_the_same_key_twice_in_one_file(app_ctx, tmp_path):
    error = one_error("decisions", jsonl(tmp_path, DECISION, DECISION | {"fine_yuan": "1"}))
    assert (error.line, error.field) == (2, "document_no")
    assert "与第 1 行重复" in error.reason


def test_malformed_json_lines_are_reported_with_the_other_errors(app_ctx, tmp_path):
    path = jsonl(tmp_path, "{'document_no': 1}", "[1, 2]", DECISION | {"county": "x"}, '{"a": 1,}')
    errors = errors_of("decisions", path)
    assert [(e.line, e.field) for e in errors[:3]] == [(1, ""), (2, ""), (3, "county")]
    assert "键名应使用英文双引号" in errors[0].reason
    assert "JSON 对象" in errors[1].reason
    assert errors[3].line == 4 and "不是有效的 JSON" in errors[3].reason


def test_a_file_that_is_not_utf8(app_ctx, tmp_path):
    path = tmp_path / "gbk.csv"
    text = ",".join(DECISION) + "\n" + ",".join(DECISION.values()) + "\n"
    path.write_bytes(text.encode("gbk"))
    error = one_error("decisions", path)
    assert error.line == 2 and "不是 UTF-8 编码" in error.reason  # the header is ASCII


def test_the_gbk_sample_points_at_the_first_bad_line(app_ctx):
    error = one_error("decisions", Path(__file__).parents[1] / "data" / "decisions_gbk.csv")
    assert error.line == 2 and "UTF-8" in str(error)


@pytest.mark.parametrize("content", ["", "   \n\n", "\ufeff"])
@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_an_empty_file(app_ctx, tmp_path, content, suffix):
    path = tmp_path / f"empty.{suffix}"
    path.write_text(content, encoding="utf-8")
    error = one_error("decisions", path)
    assert error.line is None and error.reason == "文件是空的。"
    assert str(error) == "文件：文件是空的。"


def test_a_csv_with_only_a_header(app_ctx, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",".join(DECISION) + "\n", encoding="utf-8")
    assert one_error("decisions", path).reason == "文件中没有数据行。"


def test_a_csv_row_with_the_wrong_number_of_cells(app_ctx, tmp_path):
    path = tmp_path / "cells.csv"
    good = ",".join(DECISION.values())
    path.write_text(f"{','.join(DECISION)}\n{good}\n{good},extra\n{good},,\n", encoding="utf-8")
    errors = errors_of("decisions", path)
    # Line 4's trailing empty cells are what spreadsheets write: tolerated.  Line 2 and 4 are
    # the same 文号, which is reported too.
    assert [(e.line, e.field) for e in errors] == [(3, ""), (4, "document_no")]
    assert "本行有 13 列，表头有 12 列" in errors[0].reason


def test_a_csv_with_a_broken_quote(app_ctx, tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text(f'{",".join(DECISION)}\n"abc"def,x\n', encoding="utf-8")
    error = one_error("decisions", path)
    assert error.line == 2 and "引号" in error.reason


def test_a_wrong_extension(app_ctx, tmp_path):
    path = tmp_path / "rows.xlsx"
    path.write_bytes(b"PK")
    assert ".jsonl 或 .csv" in one_error("decisions", path).reason


def test_an_unknown_kind(app_ctx, tmp_path):
    assert "未知的数据类型" in one_error("reports", jsonl(tmp_path, DECISION)).reason


# --- re-import ---------------------------------------------------------------------------------


def test_reimport_updates_the_item_and_keeps_the_old_version(app_ctx, tmp_path):
    import_file("decisions", jsonl(tmp_path, DECISION))
    item = db.session.scalar(select(Decision))
    first_id, first_modified = item.id, item.modified_at
    changed = DECISION | {"fine_yuan": "35000", "facts": "更正后的违法事实。"}
    result = import_file("decisions", jsonl(tmp_path, changed, name="again.jsonl"))
    assert (result.created, result.updated) == (0, 1)
    db.session.expire_all()
    item = db.session.scalar(select(Decision))
    assert item.id == first_id and count(Decision) == 1
    assert item.fine_yuan == Decimal("35000") and item.facts == "更正后的违法事实。"
    assert item.modified_at > first_modified
    (version,) = history(db.session, item)
    assert version.changes["fine_yuan"] == ["30000.00", "35000"]
    assert version.changes["facts"][1] == "更正后的违法事实。"
    assert version.summary == "导入更新：违法事实和证据、罚款金额"


def test_reimporting_the_same_file_changes_nothing(app_ctx, tmp_path):
    path = jsonl(tmp_path, DECISION)
    import_file("decisions", path)
    result = import_file("decisions", path)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert count(ItemVersion) == 0


@pytest.mark.parametrize("kind", list(MODELS))
def test_reimport_by_natural_key_for_every_kind(app_ctx, tmp_path, kind):
    import_file(kind, jsonl(tmp_path, BASE[kind]))
    text_field = {"powers": "accountability", "decisions": "penalty", "accidents": "summary",
                  "blacklist": "basis"}[kind]
    result = import_file(kind, jsonl(tmp_path, BASE[kind] | {text_field: "新内容"}, name="b.jsonl"))
    assert (result.created, result.updated) == (0, 1)
    assert count(MODELS[kind]) == 1
    assert db.session.scalar(select(func.count()).select_from(ItemVersion)
                             .where(ItemVersion.kind == kind)) == 1


@pytest.mark.parametrize(("kind", "field", "value"), [
    ("accidents", "occurred_on", "2025-03-16"),  # same title, another day: another accident
    ("blacklist", "listed_on", "2026-04-01"),  # listed again later: a new entry
    ("decisions", "document_no", "西景应急罚〔2026〕999号"),
    ("powers", "code", "JH-CF-902"),
])
def test_a_different_key_creates_a_new_item(app_ctx, tmp_path, kind, field, value):
    import_file(kind, jsonl(tmp_path, BASE[kind]))
    result = import_file(kind, jsonl(tmp_path, BASE[kind] | {field: value}, name="b.jsonl"))
    assert (result.created, result.updated) == (1, 0)
    assert count(MODELS[kind]) == 2


def test_a_department_change_is_in_the_history(app_ctx, tmp_path):
    import_file("powers", jsonl(tmp_path, POWER))
    import_file("powers", jsonl(tmp_path, POWER | {"department": "勐海县应急管理局"}, name="b.jsonl"))
    item = db.session.scalar(select(PowerItem))
    assert item.department.name == "勐海县应急管理局"
    (version,) = history(db.session, item)
    assert version.changes == {"department": ["景洪市应急管理局", "勐海县应急管理局"]}


def test_an_absent_optional_field_is_left_unchanged(app_ctx, tmp_path):
    import_file("decisions", jsonl(tmp_path, DECISION | {"party_address": "景洪市嘎洒镇"}))
    import_file("decisions", jsonl(tmp_path, DECISION, name="b.jsonl"))
    assert db.session.scalar(select(Decision.party_address)) == "景洪市嘎洒镇"
    # An empty value clears it.
    import_file("decisions", jsonl(tmp_path, DECISION | {"party_address": ""}, name="c.jsonl"))
    assert db.session.scalar(select(Decision.party_address)) == ""


def test_reimport_publishes_a_draft_without_history(app_ctx, tmp_path):
    draft = factories.decision(published=False, document_no=DECISION["document_no"])
    db.session.commit()
    result = import_file("decisions", jsonl(tmp_path, DECISION))
    assert (result.created, result.updated) == (0, 1)
    assert draft.is_published
    assert count(ItemVersion) == 0
    assert count(Decision) == 1


def test_a_new_published_on_moves_the_publication_date(app_ctx, tmp_path):
    import_file("decisions", jsonl(tmp_path, DECISION | {"published_on": "2026-10-09"}))
    import_file("decisions", jsonl(tmp_path, DECISION | {"published_on": "2026-10-12"}, name="b.jsonl"))
    item = db.session.scalar(select(Decision))
    assert item.published_at == datetime(2026, 10, 12, 1, 0, tzinfo=UTC)
    assert list(history(db.session, item)[0].changes) == ["published_at"]


def test_a_withdrawn_item_stays_withdrawn_when_reimported(app_ctx, tmp_path):
    import_file("decisions", jsonl(tmp_path, DECISION))
    item = db.session.scalar(select(Decision))
    item.withdrawn_at, item.withdrawn_reason = utcnow(), "经复议撤销"
    db.session.commit()
    import_file("decisions", jsonl(tmp_path, DECISION | {"penalty": "罚款2万元"}, name="b.jsonl"))
    assert item.is_withdrawn and item.penalty == "罚款2万元"


def test_enterprise_details_follow_the_latest_import(app_ctx, tmp_path):
    import_file("decisions", jsonl(tmp_path, DECISION))
    renamed = DECISION | {"document_no": "西景应急罚〔2026〕110号", "enterprise_name": "景洪市新名称有限公司",
                          "county": "景洪工业园区管委会", "sector": "工贸"}
    import_file("decisions", jsonl(tmp_path, renamed, name="b.jsonl"))
    (enterprise,) = db.session.scalars(select(Enterprise)).all()
    assert (enterprise.name, enterprise.county, enterprise.sector) == (
        "景洪市新名称有限公司", "景洪工业园区管委会", "工贸")
    # The earlier decision keeps the name it was published under.
    assert db.session.scalar(select(Decision.party_name).where(
        Decision.document_no == DECISION["document_no"])) == "景洪市测试建材有限公司"


# --- indexing ----------------------------------------------------------------------------------


def _index_calls(app, monkeypatch) -> dict[str, int]:
    """Count the search index's updates and rebuilds; each still runs for real."""
    index = app.extensions["search_index"]
    counts = {"update": 0, "rebuild": 0}

    def spy(name: str):
        real = getattr(index, name)

        def counted(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)

        return counted

    for name in counts:
        monkeypatch.setattr(index, name, spy(name))
    return counts


def _found(q: str) -> set[int]:
    from portal.search_sync import search_index
    from search_index import SearchQuery

    return {hit.id for hit in search_index().search(SearchQuery(q=q, per_page=100)).hits}


def test_a_small_import_is_indexed_by_the_commit_hook(app, app_ctx, tmp_path, monkeypatch):
    calls = _index_calls(app, monkeypatch)
    result = import_file("decisions", jsonl(tmp_path, DECISION | {"facts": "勐仑镇砖厂粉尘超标。"}))
    assert not result.reindexed and calls["rebuild"] == 0
    ids = set(db.session.scalars(select(Decision.id)))
    assert len(ids) == 1 and _found("勐仑镇砖厂") == ids


def test_a_large_import_is_found_after_one_rebuild_with_the_hook_paused(
        app, app_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "BULK_REINDEX_MIN_ROWS", 3)
    factories.decision(facts="勐仑镇砖厂早先的决定。")
    db.session.commit()
    calls = _index_calls(app, monkeypatch)
    rows = [DECISION | {"document_no": f"西景应急罚〔2026〕{n}号", "facts": f"勐仑镇砖厂第{n}号。"}
            for n in range(300, 305)]
    result = import_file("decisions", jsonl(tmp_path, *rows))
    assert result.reindexed and result.created == 5
    # One rebuild, and no item indexed one by one on the way (the hook was paused).
    assert calls == {"update": 0, "rebuild": 1}
    ids = set(db.session.scalars(select(Decision.id)))
    assert len(ids) == 6 and _found("勐仑镇砖厂") == ids  # the earlier item kept too
    assert _found("勐仑镇砖厂第302号") == set(db.session.scalars(
        select(Decision.id).where(Decision.document_no == "西景应急罚〔2026〕302号")))


# --- the command -------------------------------------------------------------------------------


# The `flask` executable pushes an app context for every command; the test runner needs one.


def test_import_command_reports_counts(runner, app_ctx):
    result = runner.invoke(args=["import", "decisions", str(EXAMPLES / "decisions.csv")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "导入完成：新增 2 条，更新 0 条。"
    result = runner.invoke(args=["import", "decisions", str(EXAMPLES / "decisions.jsonl")])
    assert result.stdout.strip() == "导入完成：新增 0 条，更新 0 条。"


def test_import_command_prints_each_error_and_fails(runner, app_ctx):
    path = Path(__file__).parents[1] / "data" / "decisions_with_errors.csv"
    result = runner.invoke(args=["import", "decisions", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "第 3 行，字段 uscc（统一社会信用代码）：校验位不符：按前 17 位计算，第 18 位应为“Q”，"
        "您输入的是“P”。请核对是否有一位输错或两位颠倒。",
        "第 6 行，字段 county（县（市、区））：“勐海”不是可用的值。是否应为“勐海县”？"
        "可选：景洪市、勐海县、勐腊县、西双版纳旅游度假区管委会、磨憨经济开发区管委会、景洪工业园区管委会。",
        "第 6 行，字段 fine_yuan（罚款金额）：应为以元为单位的数字，如 50000 或 12345.67，不是“五千”。",
        "导入失败：3 处错误，未导入任何数据。",
    ]
    assert result.stdout == ""
    assert count(Decision) == 0


def test_import_command_rejects_an_unknown_kind_and_a_missing_file(runner, app_ctx, tmp_path):
    result = runner.invoke(args=["import", "reports", str(EXAMPLES / "decisions.csv")])
    assert result.exit_code == 2 and "reports" in result.output
    result = runner.invoke(args=["import", "decisions", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2


def test_a_blacklist_update_without_place_keeps_the_entrys_place(app_ctx, tmp_path):
    import_file("blacklist", jsonl(tmp_path, BLACKLIST | {"county": "勐腊县", "sector": "烟花爆竹"}))
    enterprise = db.session.scalar(select(Enterprise))
    enterprise.county = "景洪市"
    db.session.commit()
    import_file("blacklist", jsonl(tmp_path, BLACKLIST | {"basis": "更正"}, name="b.jsonl"))
    entry = db.session.scalar(select(BlacklistEntry))
    assert (entry.county, entry.basis) == ("勐腊县", "更正")


def test_every_import_run_is_an_audit_event(app, tmp_path, monkeypatch):
    """Security review finding 3: an import left no trail.  Now each run is one audit event
    with the kind, rows created and updated, the file's SHA-256 and the OS user."""
    import hashlib
    import shutil

    from portal import audit
    from portal.audit import AuditEvent

    monkeypatch.setenv("USER", "ops.wang")
    monkeypatch.setenv("LOGNAME", "ops.wang")
    source = tmp_path / "decisions.csv"
    shutil.copyfile(Path(__file__).resolve().parents[2] / "docs/import/decisions.csv", source)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["import", "decisions", str(source)])
    again = runner.invoke(args=["import", "decisions", str(source)])
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("document_no\nX\n", encoding="utf-8")
    assert runner.invoke(args=["import", "decisions", str(bad)]).exit_code == 1
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "import").order_by(AuditEvent.seq)
        ).all()
        assert len(events) == 2  # the refused file imported nothing, so it logged nothing
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        for event, created in zip(events, (True, False), strict=True):
            assert event.actor == "shell:ops.wang" and event.object_kind == "decisions"
            assert event.summary["sha256"] == digest and event.summary["file"] == "decisions.csv"
            rows = event.summary["rows"]
            assert rows > 0
            assert event.summary["created"] == (rows if created else 0)
            assert event.summary["unchanged"] == (0 if created else rows)
        assert audit.verify(db.session).intact


@pytest.mark.parametrize("decision_type", ["行政许可", "行政检查", "行政强制"])
def test_only_a_penalty_is_imported_with_a_fine(app_ctx, tmp_path, decision_type):
    from portal.domain.catalog import FINE_ONLY_ON_PENALTY

    error = one_error("decisions", jsonl(tmp_path, DECISION | {"decision_type": decision_type,
                                                               "fine_yuan": 3000}))
    assert error.field == "fine_yuan" and FINE_ONLY_ON_PENALTY in str(error)
    import_file("decisions", jsonl(tmp_path, DECISION | {"decision_type": decision_type,
                                                         "fine_yuan": ""}, name="ok.jsonl"))
