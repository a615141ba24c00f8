"""Chinese labels of the published kinds' fields: one map for the public pages, the staff
forms' history and the audit log."""

from __future__ import annotations

# Field → label, per kind, in the order the staff detail page shows them.
FIELD_LABELS: dict[str, dict[str, str]] = {
    "powers": {
        "code": "编码",
        "name": "职权名称",
        "power_type": "职权类型",
        "legal_basis": "实施依据",
        "department": "实施主体",
        "responsibilities": "责任事项",
        "accountability": "追责情形",
        "workflow": "办理流程",
        "remarks": "备注",
    },
    "decisions": {
        "document_no": "文号",
        "decision_type": "决定类型",
        "party_name": "当事人",
        "uscc": "统一社会信用代码",
        "party_address": "当事人地址",
        "county": "县（市、区）",
        "sector": "行业领域",
        "facts": "违法事实和证据",
        "legal_basis": "违反的规定和处罚依据",
        "penalty": "处罚种类和内容",
        "fine_yuan": "罚款金额",
        "compliance": "履行方式和期限",
        "remedy": "救济途径和期限",
        "decision_date": "决定日期",
        "department": "作出决定机关",
        "publish_due": "公开期限",
    },
    "accidents": {
        "title_text": "标题",
        "occurred_on": "事故发生日期",
        "county": "县（市、区）",
        "sector": "行业领域",
        "enterprise_name": "事故单位",
        "uscc": "统一社会信用代码",
        "deaths": "死亡人数",
        "serious_injuries": "重伤人数",
        "direct_loss_yuan": "直接经济损失",
        "level": "事故等级",
        "summary": "事故概要",
        "report_html": "调查报告全文",
        "approved_on": "批复日期",
        "assessment_due": "整改评估期限",
        "assessment_published_on": "整改评估公开日期",
        "department": "发布单位",
    },
    "blacklist": {
        "enterprise_name": "企业名称",
        "uscc": "统一社会信用代码",
        "county": "县（市、区）",
        "sector": "行业领域",
        "grounds": "列入事由",
        "basis": "列入依据（决定文书）",
        "listed_on": "列入日期",
        "ends_on": "届满日期",
        "removed_on": "移出日期",
        "removal_reason": "移出理由",
        "department": "认定部门",
    },
}
# State fields every kind shares.
COMMON_LABELS = {
    "published_at": "公开时间",
    "withdrawn_at": "撤回时间",
    "withdrawn_reason": "撤回理由",
    "department_id": "责任单位",
    "enterprise_id": "企业",
    "title": "标题",
}


def field_label(kind: str, name: str) -> str:
    """The Chinese label of a field of ``kind``; the name itself if none is known."""
    return FIELD_LABELS.get(kind, {}).get(name) or COMMON_LABELS.get(name) or name
