"""The fixed words of the published pages' interface in the reader's language (issue 16).

The models and the domain rules keep their Chinese words (the back office, the exports and the
official text use them); a page in another language shows each through ``term`` (a word of a
fixed vocabulary: a decision or power type, a 督办 grade, a field's label) or the helpers below.
A word not listed here is shown in Chinese, marked ``lang="zh-CN"``, and tests/test_i18n.py
fails on the page that shows it, so a word added later does not slip through untranslated.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from portal.domain import catalog
from portal.domain import supervision as supervision_rules
from portal.i18n import DEFAULT, current_language, native_digits, official
from portal.translation import gettext as _
from portal.translation import lazy_gettext as _l

# Keyed by the Chinese word as the models and rules hold it.
TERMS: dict[str, Any] = {
    # Power types (catalog.POWER_TYPES) and decision types (catalog.DECISION_TYPES).
    "行政许可": _l("行政许可"),
    "行政处罚": _l("行政处罚"),
    "行政强制": _l("行政强制"),
    "行政征收": _l("行政征收"),
    "行政给付": _l("行政给付"),
    "行政检查": _l("行政检查"),
    "行政确认": _l("行政确认"),
    "行政奖励": _l("行政奖励"),
    "行政裁决": _l("行政裁决"),
    "其他行政权力": _l("其他行政权力"),
    # The published kinds' names (portal.kinds; also portal.templating.TRANSLATED_WORDS).
    "权责清单": _l("权责清单"),
    "事故调查报告": _l("事故调查报告"),
    "严重失信主体名单": _l("严重失信主体名单"),
    "督办事项": _l("督办事项"),
    # Objections (portal.credit.models.OBJECTION_STATES).
    "异议处理中": _l("异议处理中"),
    "未提交": _l("未提交"),
    "异议成立，已更正": _l("异议成立，已更正"),
    "异议不成立": _l("异议不成立"),
    # 信用修复 applications (portal.credit.models): states, steps, documents.
    "已收到，待受理": _l("已收到，待受理"),
    "审核中": _l("审核中"),
    "待申请人补充材料": _l("待申请人补充材料"),
    "已提出审核意见，待批准": _l("已提出审核意见，待批准"),
    "准予信用修复": _l("准予信用修复"),
    "不予信用修复": _l("不予信用修复"),
    "信用修复已撤销（以欺骗手段取得）": _l("信用修复已撤销（以欺骗手段取得）"),
    "提交申请": _l("提交申请"),
    "受理并开始审核": _l("受理并开始审核"),
    "审核人员要求补充材料": _l("审核人员要求补充材料"),
    "申请人补充": _l("申请人补充"),
    "提出审核意见": _l("提出审核意见"),
    "审核意见退回重审": _l("审核意见退回重审"),
    "准予信用修复，移出名单": _l("准予信用修复，移出名单"),
    "撤销信用修复，恢复列入": _l("撤销信用修复，恢复列入"),
    "信用承诺书": _l("信用承诺书"),
    "证明材料": _l("证明材料"),
    # A decision's name and the labels of its fields by type (portal.fieldspec).
    "行政执法决定": _l("行政执法决定"),
    "行政处罚决定": _l("行政处罚决定"),
    "行政许可决定": _l("行政许可决定"),
    "行政检查决定": _l("行政检查决定"),
    "行政强制决定": _l("行政强制决定"),
    "违法事实和证据": _l("违法事实和证据"),
    "违反的规定和处罚依据": _l("违反的规定和处罚依据"),
    "处罚种类和内容": _l("处罚种类和内容"),
    "申请事项和审查情况": _l("申请事项和审查情况"),
    "许可依据": _l("许可依据"),
    "许可决定的内容": _l("许可决定的内容"),
    "检查发现的问题和证据": _l("检查发现的问题和证据"),
    "检查和处理的依据": _l("检查和处理的依据"),
    "处理决定的内容": _l("处理决定的内容"),
    "实施行政强制的事实和证据": _l("实施行政强制的事实和证据"),
    "实施行政强制的依据": _l("实施行政强制的依据"),
    "行政强制措施的种类和内容": _l("行政强制措施的种类和内容"),
    "事实和证据": _l("事实和证据"),
    "依据": _l("依据"),
    "决定内容": _l("决定内容"),
    # 督办 (portal.domain.supervision): types, grades, stages, steps.
    "隐患挂牌督办": _l("隐患挂牌督办"),
    "事故查处挂牌督办": _l("事故查处挂牌督办"),
    "重大": _l("重大"),
    "一般": _l("一般"),
    "已挂牌": _l("已挂牌"),
    "整改中": _l("整改中"),
    "已申请销号，待现场审查": _l("已申请销号，待现场审查"),
    "验收合格，待销号": _l("验收合格，待销号"),
    "已销号": _l("已销号"),
    "逾期未销号": _l("逾期未销号"),
    "挂牌督办": _l("挂牌督办"),
    "开始整改": _l("开始整改"),
    "延期": _l("延期"),
    "申请销号": _l("申请销号"),
    "现场审查合格": _l("现场审查合格"),
    "现场审查不合格，退回整改": _l("现场审查不合格，退回整改"),
    "销号": _l("销号"),
    "群众举报": _l("群众举报"),
    # Blacklist subjects (portal.domain.blacklist.SUBJECT_TYPES).
    "生产经营单位": _l("生产经营单位"),
    "安全评价/认证/检测/检验机构": _l("安全评价/认证/检测/检验机构"),
    "有关人员": _l("有关人员"),
    # Accident levels (portal.domain.accidents).
    "一般事故": _l("一般事故"),
    "较大事故": _l("较大事故"),
    "重大事故": _l("重大事故"),
    "特别重大事故": _l("特别重大事故"),
    # Timeliness filters (portal.services.oversight.compliance).
    "逾期公开": _l("逾期公开"),
    "按期公开": _l("按期公开"),
    "逾期未公开": _l("逾期未公开"),
    "按期撤回": _l("按期撤回"),
    "逾期撤回": _l("逾期撤回"),
    "逾期未撤回": _l("逾期未撤回"),
    # The open data page (portal.fieldspec.CSV_FORMS, FILTER_LABELS; the licence's name).
    "知识共享 署名 4.0 国际许可协议（CC BY 4.0）": _l("知识共享 署名 4.0 国际许可协议（CC BY 4.0）"),
    "文本": _l("文本"),
    "文本（取值见说明）": _l("文本（取值见说明）"),
    "ISO 8601 时间（UTC）": _l("ISO 8601 时间（UTC）"),
    "整数": _l("整数"),
    "金额（元，两位小数）": _l("金额（元，两位小数）"),
    "步骤以“>”连接": _l("步骤以“>”连接"),
    "纯文本（去除标记）": _l("纯文本（去除标记）"),
    "是/否": _l("是/否"),
    "年份（决定或事件日期）": _l("年份（决定或事件日期）"),
    "责任单位编号": _l("责任单位编号"),
    "事故等级 1–4": _l("事故等级 1–4"),
    "公开时效：1 逾期公开，0 按期公开": _l("公开时效：1 逾期公开，0 按期公开"),
    "撤回时效：on_time、late、overdue": _l("撤回时效：on_time、late、overdue"),
    "整改评估：on_time、late、overdue": _l("整改评估：on_time、late、overdue"),
    "督办级别：重大、一般": _l("督办级别：重大、一般"),
    "办理状态：listed、rectifying、applied、passed、closed、overdue（逾期未销号）":
        _l("办理状态：listed、rectifying、applied、passed、closed、overdue（逾期未销号）"),
    # Who investigates an accident of each level (portal.domain.accidents).
    "县级人民政府": _l("县级人民政府"),
    "设区的市级人民政府": _l("设区的市级人民政府"),
    "省级人民政府": _l("省级人民政府"),
    "国务院": _l("国务院"),
}


def term(chinese: Any) -> Any:
    """A fixed word in the reader's language; Chinese (marked) if it has no translation."""
    if chinese is None or current_language() == DEFAULT:
        return chinese
    found = TERMS.get(str(chinese))
    # A translation may keep a legal term in Chinese, marked (<span lang="zh-CN">): the catalog
    # is ours, its markup is meant.
    return Markup(str(found)) if found is not None else official(chinese)  # noqa: S704 - our catalog


def kind_intro(kind: str, settings: Any) -> Any:
    """The text above a kind's list in the reader's language (portal.kinds has the Chinese)."""
    from portal import kinds

    if current_language() == DEFAULT:
        return kinds.get(kind).intro(settings)
    def n(value: int) -> str:
        return native_digits(str(value))

    if kind == "powers":
        return _("本机关依法行使的行政职权及其实施依据、责任事项、追责情形和办理流程。")
    if kind == "decisions":
        groups = "; ".join(
            _("%(types)s决定 %(days)s 个工作日内公开",
              types=" / ".join(str(term(t)) for t in types), days=n(days))
            for days, types in catalog.decision_deadline_groups())
        return _("行政执法决定自作出之日起公开：%(groups)s。决定被变更、撤销或者确认违法、无效的，"
                 "在%(days)s个工作日内撤回并说明理由。",
                 groups=groups, days=n(catalog.WITHDRAWAL_PUBLISH_WORKING_DAYS))
    if kind == "accidents":
        return _("生产安全事故调查报告经人民政府批复后全文公开；批复后%(years)s年内对事故整改和"
                 "防范措施落实情况进行评估并公开。", years=n(catalog.ACCIDENT_ASSESSMENT_YEARS))
    if kind == "blacklist":
        return _("安全生产严重失信主体名单：列入后公示%(years)s年，期满自动移出；列入满%(months)s"
                 "个月后可申请信用修复，提前移出。", years=n(settings.blacklist_years),
                 months=n(settings.blacklist_min_months_before_removal))
    if kind == "supervision":
        return _("重大事故隐患由州政府或州直部门挂牌督办，一般事故隐患由县（市）政府或其部门挂牌督办；"
                 "有影响的一般事故由州安委会挂牌督办查处。挂牌和销号均在%(publish)s个工作日内公开；"
                 "申请销号后%(inspect)s日内现场审查，合格的予以销号，不合格的退回整改。",
                 publish=n(supervision_rules.PUBLISH_WORKING_DAYS),
                 inspect=n(supervision_rules.INSPECTION_DAYS))
    return official(kinds.get(kind).intro(settings))


def supervision_kind(item: Any) -> str:
    """The short type of a 督办事项 in a list: 事故查处, or its grade and 隐患."""
    if item.supervision_type == supervision_rules.ACCIDENT:
        return _("事故查处")
    return _("重大隐患") if item.grade == "重大" else _("一般隐患")


def supervision_grade(item: Any) -> str:
    """The grade of a 督办事项 with what it grades: 重大事故隐患, 一般事故, …"""
    if item.supervision_type == supervision_rules.HAZARD:
        return _("重大事故隐患") if item.grade == "重大" else _("一般事故隐患")
    return _("重大事故") if item.grade == "重大" else _("一般事故")


def _markup(translated: str, **values: Any) -> Markup:
    """A translated message (``_()`` without values: not yet formatted) with marked values
    (``official``) put in, as HTML."""
    return escape(translated) % values


def repair_state_text(outcome: Any) -> Any:
    """Where an entry's 信用修复 stands (repair.PublicOutcome), in the reader's language."""
    from portal.i18n import format_date

    if outcome is None:
        return ""
    if outcome.status == "open":
        return _("信用修复申请审核中")
    if outcome.status == "granted":
        return _markup(_("准予信用修复（%(number)s），已提前移出"),
                       number=official(outcome.decision_no))
    if outcome.status == "refused":
        if current_language() == DEFAULT:  # as the Chinese pages always wrote it
            return f"信用修复申请不予通过（{outcome.decided_on:%Y年%m月%d日}）"
        return _("信用修复申请不予通过（%(date)s）", date=format_date(outcome.decided_on))
    return _("信用修复已撤销，恢复列入")


def init_app(app: Any) -> None:
    app.add_template_global(repair_state_text)
    app.add_template_global(term)
    app.add_template_filter(term, "term")
    app.add_template_global(supervision_kind)
    app.add_template_global(supervision_grade)
    app.add_template_global(Markup, "Markup")
