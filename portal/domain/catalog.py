"""Fixed vocabularies (DOMAIN.md §1, §6) and the deadlines tied to them, as named constants."""

from __future__ import annotations

COUNTIES = (
    "景洪市",
    "勐海县",
    "勐腊县",
    "西双版纳旅游度假区管委会",
    "磨憨经济开发区管委会",
    "景洪工业园区管委会",
)

SECTORS = (
    "非煤矿山",
    "危险化学品",
    "烟花爆竹",
    "交通运输",
    "建筑施工",
    "民用爆炸物品",
    "特种设备",
    "冶金",
    "金属冶炼",
    "工贸",
)

POWER_TYPES = (
    "行政许可",
    "行政处罚",
    "行政强制",
    "行政征收",
    "行政给付",
    "行政检查",
    "行政确认",
    "行政奖励",
    "行政裁决",
    "其他行政权力",
)

PENALTY_DECISION = "行政处罚"
LICENCE_DECISION = "行政许可"
# Working days to publish a decision after it is made: 国办发〔2018〕118号 (7 for 行政处罚 and
# 行政许可; 20 for the other enforcement decisions).
DECISION_PUBLISH_WORKING_DAYS = {
    PENALTY_DECISION: 7,
    "行政强制": 20,
    "行政检查": 20,
    LICENCE_DECISION: 7,
}
DECISION_TYPES = tuple(DECISION_PUBLISH_WORKING_DAYS)
# A fine (罚款) is a kind of administrative penalty (行政处罚法 Art. 9): a licence, an inspection
# or a coercive measure carries none.  The form, the services, the importer and /stats hold to it.
FINE_ONLY_ON_PENALTY = "只有行政处罚决定可以处以罚款；其他类型的决定请将罚款金额留空。"


def fine_allowed(decision_type: str | None) -> bool:
    """Whether a decision of ``decision_type`` may carry a fine (only a 行政处罚)."""
    return decision_type == PENALTY_DECISION

# Working days to publish a withdrawal after the decision is changed or revoked (行政处罚法 Art. 48).
WITHDRAWAL_PUBLISH_WORKING_DAYS = 3
# Power list changes are published within this many working days (local practice).
POWER_CHANGE_PUBLISH_WORKING_DAYS = 10
# Remedial measures of an accident are assessed within this many years after 批复.
ACCIDENT_ASSESSMENT_YEARS = 1

# 严重失信主体名单 listing grounds (应急管理部令第11号).
BLACKLIST_GROUNDS = (
    "发生特别重大或者重大生产安全事故",
    "12个月内发生2起以上较大生产安全事故",
    "依照安全生产法第一百一十四条被处以2倍以上5倍以下罚款",
    "瞒报、谎报生产安全事故",
    "主要负责人逃逸或者不立即组织抢救",
    "未依法取得安全生产许可或者在暂扣、吊销期间擅自生产经营",
    "安全评价检测检验机构出租出借资质或者出具虚假报告",
)

# Reports (DOMAIN.md §3).  Acceptance within 15 working days of receipt is local practice
# (unverified: 信访/举报 rules commonly use 15 days); verification within 60 days of acceptance,
# one extension of up to 30 days with the reporter told why (2012 text).
REPORT_ACCEPTANCE_WORKING_DAYS = 15
REPORT_VERIFICATION_DAYS = 60
REPORT_EXTENSION_DAYS = 30


def decision_deadline_groups() -> list[tuple[int, tuple[str, ...]]]:
    """The decision types grouped by their publication deadline, shortest first:
    ``[(7, ("行政处罚", "行政许可")), (20, ("行政强制", "行政检查"))]``."""
    groups: dict[int, list[str]] = {}
    for kind, days in DECISION_PUBLISH_WORKING_DAYS.items():
        groups.setdefault(days, []).append(kind)
    return [(days, tuple(kinds)) for days, kinds in sorted(groups.items())]


def decision_deadline_text() -> str:
    """The publication deadlines as one sentence for UI text, from the constants above."""
    return "，".join(
        f"{'、'.join(kinds)}决定 {days} 个工作日内公开" for days, kinds in decision_deadline_groups()
    ) + "。"


def decision_deadline_figures() -> str:
    """The distinct deadlines in working days, e.g. ``7 / 20``, for short titles."""
    return " / ".join(str(days) for days, _ in decision_deadline_groups())
