"""The demo data set for 西双版纳: realistic, clearly labelled, deterministic with a seed.

Every item is visibly demo data: each department's name ends with （演示）, each enterprise's name
ends with （演示）, and each free text (facts, summary, report, grounds, remarks) starts with
【演示数据】.  Enterprise names are made up but their 统一社会信用代码 are valid (GB 32100-2015) with
西双版纳 area codes; places are the prefecture's real counties and towns (DOMAIN.md §6); the legal
bases are real articles of the 安全生产法 (2021).  Derived fields (accident level, a decision's
publication deadline) come from the same domain functions the models use.

:func:`generate` is pure (no database, no Flask app needed) and :func:`demo_documents` turns its
output into search documents for the benchmark.  :func:`load_demo` writes it with bulk inserts,
the search index paused, and rebuilds the index once at the end.  Running it again when demo data
already exist loads nothing and reports what is there (idempotent, never a duplicate).
"""

from __future__ import annotations

import html
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from portal.domain import catalog
from portal.domain.accidents import AccidentLevel, classify
from portal.domain.blacklist import earliest_removal, listing_end
from portal.domain.credit_code import ALPHABET, complete
from portal.domain.masking import id_check_character, mask_html, mask_personal_data
from portal.fieldspec import SPECS
from portal.kinds import KINDS
from portal.sanitize import markdown_to_html

DEFAULT_SIZE = 3000
# Below this every kind and every blacklist state could not be present; smaller sizes are raised.
MIN_SIZE = 20
DEFAULT_SEED = 2026
DEMO_SUFFIX = "（演示）"
DEMO_MARK = "【演示数据】"
YEARS_OF_HISTORY = 7
BATCH_SIZE = 2000
BEIJING = ZoneInfo("Asia/Shanghai")

# Shares of the total; decisions take the rest.
POWER_SHARE = 0.05
ACCIDENT_SHARE = 0.06
BLACKLIST_SHARE = 0.06
ENTERPRISES_PER_ITEM = 1 / 8
LATE_SHARE_EARLY_YEARS = 0.25  # decisions published after their deadline, in the oldest years
LATE_SHARE_RECENT = 0.06
WITHDRAWN_SHARE = 0.015
# Of the withdrawals (行政处罚法 Art. 48: within 3 working days of the change), those made late;
# and changed decisions not yet withdrawn though due, as a share of the withdrawals.
WITHDRAWN_LATE_SHARE = 0.15
WITHDRAWAL_OVERDUE_SHARE = 0.1
REMOVED_EARLY_SHARE = 0.15
CORRECTIONS = 10  # published decisions given a public history entry

# --- places -------------------------------------------------------------------------------------

# Each county or zone (catalog.COUNTIES) with its towns, credit-code area, and the
# administrative county its places belong to (the zones lie inside the three counties).
AREA_CODES = {"景洪市": "532801", "勐海县": "532822", "勐腊县": "532823"}
PLACES: dict[str, tuple[str, tuple[str, ...]]] = {
    "景洪市": ("景洪市", ("允景洪街道", "嘎洒镇", "勐龙镇", "勐罕镇", "勐养镇", "普文镇", "景讷乡",
                        "大渡岗乡", "基诺山基诺族乡", "勐旺乡")),
    "勐海县": ("勐海县", ("勐海镇", "打洛镇", "勐混镇", "勐遮镇", "勐满镇", "勐阿镇", "勐往乡",
                        "西定乡", "格朗和哈尼族乡", "布朗山布朗族乡", "勐宋乡")),
    "勐腊县": ("勐腊县", ("勐腊镇", "勐捧镇", "勐满镇", "关累镇", "易武镇", "勐仑镇", "勐伴镇",
                        "瑶区瑶族乡", "象明彝族乡")),
    "西双版纳旅游度假区管委会": ("景洪市", ("嘎洒镇", "允景洪街道")),
    "磨憨经济开发区管委会": ("勐腊县", ("磨憨镇",)),
    "景洪工业园区管委会": ("景洪市", ("勐养镇", "勐罕镇", "嘎洒镇")),
}
COUNTY_WEIGHTS = {"景洪市": 40, "勐海县": 22, "勐腊县": 20, "西双版纳旅游度假区管委会": 5,
                  "磨憨经济开发区管委会": 7, "景洪工业园区管委会": 6}
COURTS = {"景洪市": "景洪市人民法院", "勐海县": "勐海县人民法院", "勐腊县": "勐腊县人民法院"}
GOVERNMENTS = {"景洪市": "景洪市人民政府", "勐海县": "勐海县人民政府", "勐腊县": "勐腊县人民政府"}

PREFECTURE = "州"
# (department, its short code for power codes, its 文号 prefix)
DEPARTMENTS: dict[str, tuple[str, str, str]] = {
    PREFECTURE: ("西双版纳州应急管理局" + DEMO_SUFFIX, "XSBN", "西应急"),
    "景洪市": ("景洪市应急管理局" + DEMO_SUFFIX, "JH", "西景应急"),
    "勐海县": ("勐海县应急管理局" + DEMO_SUFFIX, "MH", "西海应急"),
    "勐腊县": ("勐腊县应急管理局" + DEMO_SUFFIX, "ML", "西腊应急"),
    "西双版纳旅游度假区管委会": ("西双版纳旅游度假区应急管理局" + DEMO_SUFFIX, "DJQ", "西度假应急"),
    "磨憨经济开发区管委会": ("磨憨经济开发区应急管理局" + DEMO_SUFFIX, "MHKF", "西磨憨应急"),
    "景洪工业园区管委会": ("景洪工业园区应急管理局" + DEMO_SUFFIX, "GYYQ", "西园区应急"),
}
DOCUMENT_TYPE_CODES = {"行政处罚": "罚", "行政强制": "强", "行政检查": "责改", "行政许可": "许"}

# --- enterprises --------------------------------------------------------------------------------

SECTOR_WEIGHTS = {"建筑施工": 20, "工贸": 22, "交通运输": 14, "危险化学品": 12, "非煤矿山": 10,
                  "特种设备": 8, "烟花爆竹": 6, "民用爆炸物品": 2, "冶金": 3, "金属冶炼": 3}
BRANDS = ("恒达", "鑫源", "兴邦", "宏远", "金象", "澜沧", "雨林", "孔雀", "瑞丰", "华坤", "南糯",
          "勐巴拉", "版纳", "曼听", "告庄", "昌盛", "永丰", "天越", "鸿运", "顺通", "凯旋", "益康",
          "盛世", "远航", "众诚", "诚信", "协力", "新纪元", "东方", "大象", "绿野", "云岭", "滇南",
          "傣乡", "金孔雀", "橄榄坝", "湄公", "南腊", "坤鹏", "佳和", "恒通", "润达", "聚丰", "明珠",
          "金穗", "嘉禾", "安泰", "祥瑞", "福满", "百川")
BUSINESSES: dict[str, tuple[str, ...]] = {
    "非煤矿山": ("采石场", "砂石料有限公司", "矿业有限公司", "建材有限公司"),
    "危险化学品": ("化工有限公司", "石油经营部", "燃气有限公司", "加油站"),
    "烟花爆竹": ("烟花爆竹经营部", "烟花爆竹批发有限公司", "烟花爆竹零售店"),
    "交通运输": ("运输有限公司", "客运有限公司", "物流有限公司", "危险货物运输有限公司"),
    "建筑施工": ("建筑工程有限公司", "建设集团有限公司", "路桥工程有限公司", "市政工程有限公司"),
    "民用爆炸物品": ("民爆器材有限公司", "爆破工程有限公司"),
    "特种设备": ("电梯工程有限公司", "起重机械安装有限公司", "锅炉安装有限公司"),
    "冶金": ("铁合金有限公司", "钢铁有限公司"),
    "金属冶炼": ("冶炼有限公司", "铝业有限公司", "有色金属有限公司"),
    "工贸": ("橡胶加工厂", "茶叶加工有限公司", "制糖有限公司", "木材加工厂", "食品有限公司",
           "普洱茶厂", "咖啡加工有限公司"),
}
# Shops run by one person register as 个体工商户: credit code 92…
SOLE_TRADER_SUFFIXES = ("经营部", "零售店", "加油站", "采石场", "加工厂")
SITES = {"非煤矿山": "采石场", "危险化学品": "储存仓库", "烟花爆竹": "经营场所",
         "交通运输": "车辆停放场", "建筑施工": "施工现场", "民用爆炸物品": "爆破作业现场",
         "特种设备": "作业现场", "冶金": "冶炼车间", "金属冶炼": "冶炼车间", "工贸": "生产车间"}
SURNAMES = ("岩", "玉", "刀", "李", "张", "王", "杨", "罗")  # 岩/玉: Dai given-name prefixes

# --- enforcement --------------------------------------------------------------------------------

LAW = "《中华人民共和国安全生产法》"


@dataclass(frozen=True)
class Violation:
    text: str
    violated: str  # provision of 安全生产法 violated
    penalised_by: str  # provision that sets the penalty
    fine_min: int
    fine_max: int
    sectors: tuple[str, ...] = ()  # empty: any sector


HAZARDOUS = ("危险化学品", "烟花爆竹", "民用爆炸物品")
VIOLATIONS = (
    Violation("未按照规定对从业人员进行安全生产教育和培训", "第二十八条第一款", "第九十七条第（三）项", 10_000, 50_000),
    Violation("未如实记录安全生产教育和培训情况", "第二十八条第四款", "第九十七条第（四）项", 5_000, 30_000),
    Violation("特种作业人员未按照规定经专门的安全作业培训并取得相应资格即上岗作业", "第三十条第一款",
              "第九十七条第（七）项", 10_000, 60_000),
    Violation("未将事故隐患排查治理情况如实记录", "第四十一条第二款", "第九十七条第（五）项", 5_000, 30_000),
    Violation("未按照规定制定生产安全事故应急救援预案或者未定期组织演练", "第八十一条",
              "第九十七条第（六）项", 10_000, 50_000),
    Violation("未按照规定配备专职安全生产管理人员", "第二十四条第一款", "第九十七条第（一）项", 10_000, 50_000),
    Violation("未在有较大危险因素的生产经营场所和有关设施、设备上设置明显的安全警示标志", "第三十五条",
              "第九十九条第（一）项", 5_000, 30_000),
    Violation("未对安全设备进行经常性维护、保养和定期检测", "第三十六条第二款", "第九十九条第（三）项",
              10_000, 50_000),
    Violation("未为从业人员提供符合国家标准或者行业标准的劳动防护用品", "第四十五条", "第九十九条第（五）项",
              5_000, 30_000),
    Violation("进行动火作业，未安排专门人员进行现场安全管理", "第四十三条", "第一百零一条第（三）项",
              20_000, 80_000),
    Violation("对重大危险源未登记建档，未进行定期检测、评估、监控", "第四十条第一款", "第一百零一条第（二）项",
              30_000, 100_000, HAZARDOUS),
    Violation("未建立安全风险分级管控制度", "第四十一条第一款", "第一百零一条第（四）项", 10_000, 50_000),
    Violation("未采取措施消除已发现的事故隐患", "第四十一条第二款", "第一百零二条", 10_000, 50_000),
    Violation("占用、锁闭生产经营场所的安全出口和疏散通道", "第四十二条第二款", "第一百零五条第（二）项",
              5_000, 50_000),
    Violation("储存、使用危险物品，未建立专门安全管理制度、未采取可靠的安全措施", "第三十九条第二款",
              "第一百零一条第（一）项", 20_000, 100_000, HAZARDOUS),
)
HAZARDS = ("配电箱未设置漏电保护装置", "消防器材过期未更换", "安全出口指示标志损坏",
           "有限空间作业场所未设置警示标识", "危险作业审批手续不全", "临边洞口防护栏杆缺失",
           "特种设备未按期检验", "应急照明灯损坏", "可燃气体报警器故障", "作业人员未佩戴安全帽")
# 罚款 for the enterprise responsible for an accident (安全生产法 Art. 114), by level.
ACCIDENT_FINES = {AccidentLevel.GENERAL: (300_000, 1_000_000),
                  AccidentLevel.LARGER: (1_000_000, 2_000_000),
                  AccidentLevel.MAJOR: (2_000_000, 10_000_000)}
ACCIDENT_FINE_ITEM = {AccidentLevel.GENERAL: "（一）", AccidentLevel.LARGER: "（二）",
                      AccidentLevel.MAJOR: "（三）"}
WITHDRAWAL_REASONS = (
    "经行政复议，复议机关决定撤销本决定。",  # of any type, not a penalty alone
    "本机关发现原决定适用依据错误，依法撤销并重新作出处理。",
    "经人民法院判决确认违法，本机关依法撤回。",
    "当事人违法事实认定有误，经复核予以撤销。",
)
COMPLIANCE = ("自收到本决定书之日起十五日内，将罚款缴至指定银行或者通过电子支付系统缴纳。"
              "到期不缴纳罚款的，每日按罚款数额的百分之三加处罚款。")

# --- accidents ----------------------------------------------------------------------------------

ACCIDENT_TYPES = {
    "非煤矿山": ("坍塌", "物体打击", "放炮", "车辆伤害"),
    "危险化学品": ("火灾", "爆炸", "中毒和窒息"),
    "烟花爆竹": ("爆炸", "火灾"),
    "交通运输": ("道路运输", "车辆伤害"),
    "建筑施工": ("高处坠落", "坍塌", "起重伤害", "物体打击", "触电"),
    "民用爆炸物品": ("爆炸", "放炮"),
    "特种设备": ("起重伤害", "锅炉爆炸", "触电"),
    "冶金": ("灼烫", "煤气中毒", "机械伤害"),
    "金属冶炼": ("灼烫", "爆炸", "中毒和窒息"),
    "工贸": ("机械伤害", "中毒和窒息", "触电", "火灾"),
}
LEVEL_WORDS = {AccidentLevel.GENERAL: "", AccidentLevel.LARGER: "较大", AccidentLevel.MAJOR: "重大",
               AccidentLevel.EXTRAORDINARY: "特别重大"}

# --- powers -------------------------------------------------------------------------------------

POWER_TYPE_CODES = {"行政许可": "XK", "行政处罚": "CF", "行政强制": "QZ", "行政征收": "ZS",
                    "行政给付": "JF", "行政检查": "JC", "行政确认": "QR", "行政奖励": "JL",
                    "行政裁决": "CJ", "其他行政权力": "QT"}
POWER_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("行政许可", "危险化学品经营许可（不带储存设施）", "《危险化学品安全管理条例》第三十三条、第三十五条"),
    ("行政许可", "烟花爆竹经营（零售）许可", "《烟花爆竹安全管理条例》第三条、第十九条"),
    ("行政许可", "非煤矿矿山建设项目安全设施设计审查", LAW + "第三十二条、第三十三条"),
    ("行政许可", "危险化学品生产、储存建设项目安全条件审查", "《危险化学品安全管理条例》第十二条"),
    ("行政许可", "金属冶炼建设项目安全设施设计审查", LAW + "第三十三条"),
    ("行政强制", "对不符合保障安全生产的国家标准或者行业标准的设施、设备、器材以及违法生产、储存、使用、"
              "经营、运输的危险物品予以查封或者扣押", LAW + "第六十五条第一款第（四）项"),
    ("行政强制", "对违法生产、储存、使用、经营危险物品的作业场所予以查封", LAW + "第六十五条第一款第（四）项"),
    ("行政强制", "对拒不执行停产停业决定、有发生生产安全事故现实危险的生产经营单位停止供电、"
              "停止供应民用爆炸物品", LAW + "第七十条"),
    ("行政检查", "对生产经营单位执行安全生产法律法规和国家标准或者行业标准情况的监督检查",
     LAW + "第六十二条、第六十五条"),
    ("行政检查", "对危险化学品经营单位的监督检查", "《危险化学品安全管理条例》第六条、第七条"),
    ("行政检查", "对烟花爆竹经营单位的监督检查", "《烟花爆竹安全管理条例》第四条"),
    ("行政检查", "对非煤矿山企业的监督检查", LAW + "第六十五条"),
    ("行政检查", "对工贸企业有限空间作业安全的监督检查", "《工贸企业有限空间作业安全规定》"),
    ("行政检查", "对生产经营单位安全生产教育和培训情况的监督检查", "《生产经营单位安全培训规定》"),
    ("行政奖励", "对报告重大事故隐患或者举报安全生产违法行为的有功人员给予奖励",
     LAW + "第七十六条；《安全生产领域举报奖励办法》"),
    ("其他行政权力", "生产安全事故调查处理", LAW + "第八十六条；《生产安全事故报告和调查处理条例》第十九条"),
    ("其他行政权力", "生产经营单位生产安全事故应急预案备案", "《生产安全事故应急预案管理办法》"),
    ("其他行政权力", "安全生产严重失信主体名单的列入和移出", "《安全生产严重失信主体名单管理办法》"),
) + tuple(("行政处罚", f"对生产经营单位{v.text}的行政处罚", LAW + v.penalised_by) for v in VIOLATIONS)
WORKFLOWS = {
    "行政处罚": ("立案", "调查取证", "审理", "告知", "决定", "送达", "执行"),
    "行政许可": ("受理", "审查", "现场核查", "决定", "送达"),
    "行政强制": ("报告审批", "告知当事人", "听取陈述申辩", "制作现场笔录", "实施强制", "送达决定书", "解除或处理"),
    "行政检查": ("制定检查计划", "检查准备", "实施检查", "作出处理", "督促整改", "立卷归档"),
    "行政奖励": ("受理举报", "核查", "拟定奖励", "审批", "公示", "兑现"),
    "其他行政权力": ("受理", "审查", "决定", "公开"),
}
STEP_DUTIES = {
    "立案": "对发现的违法行为进行初步审查，符合立案条件的，报请负责人批准立案",
    "调查取证": "两名以上执法人员出示执法证件，全面、客观、公正地调查取证",
    "审理": "对案件事实、证据、适用依据和程序进行审查，提出处理意见",
    "告知": "作出决定前告知当事人拟作出的决定及其事实、理由、依据和依法享有的权利",
    "决定": "依法作出决定并制作法律文书",
    "送达": "依法将法律文书送达当事人",
    "执行": "监督当事人履行决定，逾期不履行的依法强制执行",
    "受理": "公示依法应当提交的材料，一次性告知补正材料，依法受理或不予受理",
    "审查": "对申请材料进行审查，提出审查意见",
    "现场核查": "需要现场核查的，组织人员进行现场核查",
}
ACCOUNTABILITY = (
    "因不履行或不正确履行行政职责，有下列情形的，行政机关及相关工作人员应承担相应责任："
    "1.对符合法定条件的申请不予受理或者不在法定期限内作出决定的；2.没有法律和事实依据实施行政行为的；"
    "3.违反法定程序实施行政行为的；4.在履行职责过程中滥用职权、玩忽职守、徇私舞弊的；"
    "5.其他违反法律法规规章规定的行为。"
)

# --- blacklist ----------------------------------------------------------------------------------

BLACKLIST_RULES_2023 = date(2023, 10, 1)  # 应急管理部令第11号 in force


# --- the generator ------------------------------------------------------------------------------


@dataclass
class DemoSet:
    """What :func:`generate` makes: plain values, ready for the database or the search index.

    Item dicts carry model column values, plus ``department`` (a name) in place of the
    department id; the enterprise is found by the row's ``uscc``.
    """

    departments: list[str]
    enterprises: list[dict[str, Any]]
    items: dict[str, list[dict[str, Any]]]
    # (document_no, {field: new value}, summary): corrections kept in the public history.
    corrections: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {kind: len(rows) for kind, rows in self.items.items()} | {
            "enterprises": len(self.enterprises)
        }


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def yuan(amount: int | Decimal) -> str:
    wan = Decimal(amount) / 10_000
    return f"{wan.normalize():f}万元" if amount >= 10_000 else f"{amount}元"


class _Generator:
    def __init__(self, size: int, seed: int, today: date, now: datetime,
                 blacklist_years: int, min_removal_months: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.size = max(size, MIN_SIZE)
        self.today = today
        self.now = now
        self.start = today - timedelta(days=365 * YEARS_OF_HISTORY)
        self.blacklist_years = blacklist_years
        self.min_removal_months = min_removal_months
        self.deadlines: dict[tuple[str, date], Any] = {}
        self.document_numbers: Counter[tuple[str, int]] = Counter()

    # helpers

    def pick(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def day_between(self, first: date, last: date, recent_bias: bool = False) -> date:
        span = max((last - first).days, 0)
        offset = self.rng.triangular(0, span, span) if recent_bias else self.rng.uniform(0, span)
        return first + timedelta(days=round(offset))

    def office_moment(self, day: date) -> datetime:
        """A moment in office hours (Beijing) on ``day``, as UTC, never after now."""
        clock = time(self.rng.randint(9, 17), self.rng.randint(0, 59))
        return min(datetime.combine(day, clock, tzinfo=BEIJING).astimezone(UTC), self.now)

    def fine(self, low: int, high: int, step: int = 1000) -> Decimal:
        return Decimal(self.rng.randrange(low // step, high // step + 1) * step)

    def deadline(self, decision_type: str, day: date) -> Any:
        from portal.working_days import decision_publish_deadline

        key = (decision_type, day)
        if key not in self.deadlines:
            self.deadlines[key] = decision_publish_deadline(decision_type, day)
        return self.deadlines[key]

    # enterprises

    def enterprises(self, count: int) -> list[dict[str, Any]]:
        names: set[str] = set()
        result = []
        for index in range(count):
            county = self.pick(COUNTY_WEIGHTS)
            admin_county, towns = PLACES[county]
            town = self.rng.choice(towns)
            sector = self.pick(SECTOR_WEIGHTS)
            business = self.rng.choice(BUSINESSES[sector])
            for attempt in range(20):
                prefix = self.rng.choice((admin_county, admin_county + _short(town), "西双版纳"))
                name = f"{prefix}{self.rng.choice(BRANDS)}{business}"
                if attempt >= 10:
                    name = f"{prefix}{self.rng.choice(BRANDS)}{self.rng.choice(BRANDS)}{business}"
                if name not in names:
                    break
            else:
                name = f"{name}第{index}分公司"
            names.add(name)
            sole_trader = business.endswith(SOLE_TRADER_SUFFIXES) and self.rng.random() < 0.6
            uscc = complete(("92" if sole_trader else "91") + AREA_CODES[admin_county]
                            + _organisation_code(index))
            result.append({
                "name": name + DEMO_SUFFIX,
                "uscc": uscc,
                "county": county,
                "sector": sector,
                "address": f"云南省西双版纳傣族自治州{admin_county}{town}（演示地址）",
                "town": town,
            })
        return result

    # decisions

    def document_no(self, county_key: str, decision_type: str, day: date) -> str:
        prefix = DEPARTMENTS[county_key][2] + DOCUMENT_TYPE_CODES[decision_type]
        self.document_numbers[(prefix, day.year)] += 1
        return f"{prefix}〔{day.year}〕{self.document_numbers[(prefix, day.year)]}号"

    def decision(self, ent: dict[str, Any], day: date, decision_type: str,
                 accident: dict[str, Any] | None = None) -> dict[str, Any]:
        county = ent["county"]
        admin_county = PLACES[county][0]
        county_key = PREFECTURE if (accident and accident["level"] > AccidentLevel.GENERAL) else (
            PREFECTURE if self.rng.random() < 0.15 else county)
        department = DEPARTMENTS[county_key][0]
        reviewer = "西双版纳傣族自治州人民政府" if county_key == PREFECTURE else GOVERNMENTS[admin_county]
        site = SITES[ent["sector"]]
        fine: Decimal | None = None
        if accident is not None:
            level = AccidentLevel(accident["level"])
            fine = self.fine(*ACCIDENT_FINES[level], step=10_000)
            event = accident["title_text"].removeprefix(ent["name"]).removesuffix("调查报告")
            facts = (f"{DEMO_MARK}经事故调查组调查认定，{cn_date(accident['occurred_on'])}"
                     f"{ent['name']}{site}发生的{event}"
                     f"是一起{level.label.removesuffix('事故')}生产安全责任事故，该单位未依法履行安全生产主体责任，"
                     "对事故发生负有责任。以上事实有事故调查报告及其批复等证据为证。")
            legal_basis = (f"违反了{LAW}第四条第一款的规定，依据{LAW}第一百一十四条第一款"
                           f"第{ACCIDENT_FINE_ITEM[level]}项的规定")
            penalty = f"处罚款人民币{yuan(fine)}。"
        elif decision_type == catalog.PENALTY_DECISION:
            violation = self.rng.choice(
                [v for v in VIOLATIONS if not v.sectors or ent["sector"] in v.sectors])
            fine = self.fine(violation.fine_min, violation.fine_max)
            facts = (f"{DEMO_MARK}{cn_date(day)}，本局执法人员对{ent['name']}位于{ent['town']}的{site}"
                     f"进行监督检查时发现，该单位{violation.text}。"
                     f"{self.person_on_site()}"
                     "以上事实有现场检查记录、询问笔录、现场照片等证据为证。")
            legal_basis = (f"该单位的行为违反了{LAW}{violation.violated}的规定，"
                           f"依据{LAW}{violation.penalised_by}的规定")
            penalty = f"责令限期改正，处罚款人民币{yuan(fine)}。"
        elif decision_type == "行政强制":
            facts = (f"{DEMO_MARK}{cn_date(day)}，本局执法人员在对{ent['name']}的{site}检查时发现，"
                     "该单位违法储存、使用不符合国家标准的危险物品和设备，有发生生产安全事故的现实危险。")
            legal_basis = f"依据{LAW}第六十五条第一款第（四）项的规定"
            penalty = f"对{site}内的相关设施、设备、器材予以查封，查封期限为三十日。"
        elif decision_type == catalog.LICENCE_DECISION:
            applied = day - timedelta(days=self.rng.randint(10, 40))
            facts = (f"{DEMO_MARK}{ent['name']}于{cn_date(applied)}申请安全生产许可（{site}），"
                     "经审查，申请材料齐全，现场核查符合安全生产条件。")
            legal_basis = "依据《安全生产许可证条例》第二条、第六条、第七条的规定"
            penalty = "准予行政许可，颁发安全生产许可证，有效期三年。"
        else:
            hazards = self.rng.sample(HAZARDS, 2)
            due = day + timedelta(days=self.rng.choice((7, 15, 30)))
            facts = (f"{DEMO_MARK}{cn_date(day)}，本局执法人员对{ent['name']}的{site}进行现场检查，"
                     f"发现以下事故隐患：1.{hazards[0]}；2.{hazards[1]}。")
            legal_basis = f"依据{LAW}第六十五条第一款第（二）项、第（三）项的规定"
            penalty = f"责令于{cn_date(due)}前整改完毕，并将整改情况书面报告本局。"
        deadline = self.deadline(decision_type, day)
        return {
            "document_no": self.document_no(county_key, decision_type, day),
            "decision_type": decision_type,
            "party_name": ent["name"],
            "uscc": ent["uscc"],
            "party_address": ent["address"],
            "county": county,
            "sector": ent["sector"],
            "facts": mask_personal_data(facts),
            "legal_basis": legal_basis,
            "penalty": penalty,
            "fine_yuan": fine,
            "compliance": COMPLIANCE if fine else "",
            "remedy": (f"如不服本决定，可以在收到本决定书之日起六十日内向{reviewer}申请行政复议，"
                       f"或者在六个月内依法向{COURTS[admin_county]}提起行政诉讼。"),
            "decision_date": day,
            "department": department,
            "publish_due": deadline.due,
            "publish_due_provisional": deadline.provisional,
        }

    def person_on_site(self) -> str:
        """Now and then a natural person's ID and phone number, masked on publication."""
        if self.rng.random() >= 0.03:
            return ""
        birth = date(1965, 1, 1) + timedelta(days=self.rng.randrange(12_000))
        first17 = f"532822{birth:%Y%m%d}{self.rng.randrange(1000):03d}"
        # A real ID carries its check character; the draw stays so the rest of the set is as before.
        self.rng.choice("0123456789X")
        id_number = first17 + id_check_character(first17)
        phone = f"139{self.rng.randrange(10**8):08d}"
        return (f"现场负责人{self.rng.choice(SURNAMES)}某（身份证号{id_number}，"
                f"联系电话{phone}）在场并在检查记录上签字。")

    def publish_decision(self, row: dict[str, Any]) -> None:
        day, due = row["decision_date"], row["publish_due"]
        years_ago = (self.today - day).days / 365
        late_share = LATE_SHARE_EARLY_YEARS if years_ago > YEARS_OF_HISTORY / 2 else LATE_SHARE_RECENT
        if (self.today - day).days <= 3 and self.rng.random() < 0.5:
            published_on = None  # still a draft, waiting for an editor
        elif self.rng.random() < late_share and due + timedelta(days=1) < self.today:
            published_on = min(due + timedelta(days=self.rng.randint(1, 45)), self.today)
        else:
            published_on = min(day + timedelta(days=self.rng.randint(1, max((due - day).days, 1))),
                               self.today)
        published_at = self.office_moment(published_on) if published_on else None
        row.update(created_at=published_at or self.now, published_at=published_at,
                   modified_at=published_at or self.now, withdrawn_at=None, withdrawn_reason=None,
                   withdrawal_requested_on=None, withdrawal_request_reason=None)

    # accidents

    def accident(self, ent: dict[str, Any], target: AccidentLevel, titles: set[tuple[str, date]]
                 ) -> dict[str, Any]:
        rng = self.rng
        sector = ent["sector"]
        if target is AccidentLevel.MAJOR:
            deaths, injuries = rng.randint(10, 13), rng.randint(5, 30)
            loss = rng.randint(15, 45) * 1_000_000
        elif target is AccidentLevel.LARGER:
            shape = rng.random()
            if shape < 0.7:
                deaths, injuries = rng.randint(3, 6), rng.randint(0, 8)
                loss = rng.randint(20, 90) * 100_000
            elif shape < 0.85:
                deaths, injuries = rng.randint(0, 2), rng.randint(10, 25)
                loss = rng.randint(20, 90) * 100_000
            else:
                deaths, injuries = rng.randint(0, 2), rng.randint(0, 5)
                loss = rng.randint(100, 300) * 100_000  # ¥10m to ¥30m: 较大 by the loss alone
        else:
            deaths = rng.choices((0, 1, 2), weights=(25, 60, 15))[0]
            injuries = rng.randint(0 if deaths else 1, 6)
            loss = rng.randint(5, 90) * 100_000 + rng.randint(0, 99_999)
        level = classify(deaths=deaths, serious_injuries=injuries, direct_loss_yuan=loss)
        accident_type = rng.choice(ACCIDENT_TYPES[sector])
        for _ in range(50):
            occurred = self.day_between(self.start, self.today - timedelta(days=120))
            title = (f"{ent['name']}“{occurred.month}·{occurred.day}”{LEVEL_WORDS[level]}"
                     f"{accident_type}事故调查报告")
            if (title, occurred) not in titles:
                break
        titles.add((title, occurred))
        approval_days = rng.randint(60, 110) if level is AccidentLevel.GENERAL else rng.randint(90, 118)
        approved = min(occurred + timedelta(days=approval_days), self.today - timedelta(days=1))
        published_on = min(approved + timedelta(days=rng.randint(1, 15)), self.today)
        published_at = self.office_moment(published_on)
        from portal.working_days import assessment_due as assessment_deadline

        assessment_due = assessment_deadline(approved)
        assessed = None
        if assessment_due <= self.today and rng.random() < 0.85:
            assessed = assessment_due - timedelta(days=rng.randint(0, 60))
        moment = f"{cn_date(occurred)}{rng.randint(0, 23)}时{rng.randint(0, 59)}分许"
        casualties = _casualties(deaths, injuries)
        place = f"{PLACES[ent['county']][0]}{ent['town']}"
        if sector == "交通运输":
            what = f"{moment}，{ent['name']}一辆营运车辆行驶至{place}境内时发生一起{accident_type}事故"
        else:
            what = f"{moment}，{ent['name']}位于{place}的{SITES[sector]}发生一起{accident_type}事故"
        summary = f"{DEMO_MARK}{what}，造成{casualties}，直接经济损失{yuan(loss)}。"
        report = _report_html({"name": ent["name"], "uscc": ent["uscc"], "address": ent["address"],
                               "sector": sector, "what": what, "casualties": casualties,
                               "loss": yuan(loss), "level": level.label})
        county_key = PREFECTURE if level > AccidentLevel.GENERAL else ent["county"]
        return {
            "title_text": title,
            "occurred_on": occurred,
            "county": ent["county"],
            "sector": sector,
            "enterprise_name": ent["name"],
            "uscc": ent["uscc"],
            "deaths": deaths,
            "serious_injuries": injuries,
            "direct_loss_yuan": Decimal(loss),
            "level": int(level),
            "summary": summary,
            "report_html": mask_html(report),
            "approved_on": approved,
            "assessment_due": assessment_due,
            "assessment_published_on": assessed,
            "department": DEPARTMENTS[county_key][0],
            "created_at": published_at,
            "published_at": published_at,
            "modified_at": published_at,
            "withdrawn_at": None,
            "withdrawn_reason": None,
        }

    # blacklist

    def blacklist_entry(self, ent: dict[str, Any], state: str, listed: date | None = None,
                        grounds: str | None = None) -> dict[str, Any]:
        rng = self.rng
        years = self.blacklist_years
        if listed is None:
            if state == "expired":
                listed = self.today - timedelta(days=365 * years + rng.randint(10, 700))
            elif state == "removed":
                listed = self.today - timedelta(days=365 * self.min_removal_months // 12 + rng.randint(30, 700))
            elif state == "active":
                listed = self.today - timedelta(days=rng.randint(1, 365 * years - 30))
            else:
                listed = self.day_between(self.start, self.today - timedelta(days=1), recent_bias=True)
        removed = reason = None
        first_removal = earliest_removal(listed, self.min_removal_months)
        ends = listing_end(listed, years)
        last = min(ends - timedelta(days=1), self.today - timedelta(days=1))
        if first_removal <= last and (
            state == "removed" or (state == "any" and rng.random() < REMOVED_EARLY_SHARE)
        ):
            removed = self.day_between(first_removal, last)
            reason = (f"{DEMO_MARK}该单位已完成整改并履行相关义务，经申请和核查，"
                      "准予信用修复，提前移出名单。")
        grounds = grounds or rng.choice(catalog.BLACKLIST_GROUNDS[2:])
        county_key = ent["county"] if rng.random() < 0.6 else PREFECTURE
        prefix = DEPARTMENTS[county_key][2]
        self.document_numbers[(prefix + "失信", listed.year)] += 1
        number = f"{prefix}失信〔{listed.year}〕{self.document_numbers[(prefix + '失信', listed.year)]}号"
        rules = ("《安全生产严重失信主体名单管理办法》（应急管理部令第11号）"
                 if listed >= BLACKLIST_RULES_2023
                 else "《对安全生产领域失信行为开展联合惩戒的实施办法》（安监总办〔2017〕49号）")
        published_at = self.office_moment(listed)
        return {
            "enterprise_name": ent["name"],
            "uscc": ent["uscc"],
            "county": ent["county"],
            "sector": ent["sector"],
            "grounds": grounds,
            "basis": f"{DEMO_MARK}依据{rules}，经告知和陈述申辩，作出列入决定（{number}）。",
            "listed_on": listed,
            "ends_on": ends,
            "removed_on": removed,
            "removal_reason": reason,
            "department": DEPARTMENTS[county_key][0],
            "created_at": published_at,
            "published_at": published_at,
            "modified_at": self.office_moment(removed) if removed else published_at,
            "withdrawn_at": None,
            "withdrawn_reason": None,
        }

    # powers

    def powers(self, count: int) -> list[dict[str, Any]]:
        combos = [(key, t) for key in DEPARTMENTS for t in POWER_TEMPLATES]
        self.rng.shuffle(combos)
        # Keep each department's list in template order, as a published list reads.
        chosen = sorted(combos[:count], key=lambda c: (list(DEPARTMENTS).index(c[0]),
                                                       POWER_TEMPLATES.index(c[1])))
        numbers: Counter[tuple[str, str]] = Counter()
        list_dates = {key: self.day_between(self.start, self.today - timedelta(days=200))
                      for key in DEPARTMENTS}
        rows = []
        for key, (power_type, name, basis) in chosen:
            department, code, _ = DEPARTMENTS[key]
            numbers[(code, power_type)] += 1
            steps = WORKFLOWS.get(power_type, WORKFLOWS["其他行政权力"])
            published_on = list_dates[key] + timedelta(days=self.rng.choice((0, 0, 0, 30, 200)))
            published_at = self.office_moment(min(published_on, self.today))
            rows.append({
                "code": f"{code}-{POWER_TYPE_CODES[power_type]}-{numbers[(code, power_type)]:03d}",
                "name": name,
                "power_type": power_type,
                "legal_basis": basis,
                "responsibilities": "；".join(
                    f"{i}.{step}责任：{STEP_DUTIES.get(step, '依法依规履行' + step + '职责')}"
                    for i, step in enumerate(steps, start=1)) + "。",
                "accountability": ACCOUNTABILITY,
                "workflow": list(steps),
                "remarks": f"{DEMO_MARK}本事项为演示用权责清单条目。",
                "department": department,
                "created_at": published_at,
                "published_at": published_at,
                "modified_at": published_at,
                "withdrawn_at": None,
                "withdrawn_reason": None,
            })
        return rows

    # everything

    def run(self) -> DemoSet:
        rng = self.rng
        n_powers = max(3, min(round(self.size * POWER_SHARE), len(DEPARTMENTS) * len(POWER_TEMPLATES)))
        n_accidents = max(4, round(self.size * ACCIDENT_SHARE))
        n_blacklist = max(4, round(self.size * BLACKLIST_SHARE))
        n_decisions = self.size - n_powers - n_accidents - n_blacklist
        enterprises = self.enterprises(max(10, round(self.size * ENTERPRISES_PER_ITEM)))
        by_sector: dict[str, list[dict[str, Any]]] = {}
        for ent in enterprises:
            by_sector.setdefault(ent["sector"], []).append(ent)
        transport = by_sector.get("交通运输") or enterprises

        # Accidents: at least one 重大 and two 较大; the level always follows from the figures.
        n_major = max(1, n_accidents // 400)
        n_larger = max(2, round(n_accidents * 0.05))
        targets = ([AccidentLevel.MAJOR] * n_major + [AccidentLevel.LARGER] * n_larger
                   + [AccidentLevel.GENERAL] * (n_accidents - n_major - n_larger))
        titles: set[tuple[str, date]] = set()
        accidents = [
            self.accident(rng.choice(transport if t is AccidentLevel.MAJOR else enterprises), t, titles)
            for t in targets
        ]
        ent_by_uscc = {e["uscc"]: e for e in enterprises}

        # Decisions: first those that follow accidents (安全生产法 Art. 114), then inspections.
        decisions = []
        for accident in accidents[: n_decisions // 5]:
            day = accident["approved_on"] + timedelta(days=rng.randint(10, 40))
            if day < self.today:
                decisions.append(self.decision(ent_by_uscc[accident["uscc"]], day,
                                               catalog.PENALTY_DECISION, accident))
        type_weights = {catalog.PENALTY_DECISION: 80, "行政检查": 12, "行政强制": 8,
                        catalog.LICENCE_DECISION: 4}
        dated = sorted(
            (self.day_between(self.start, self.today - timedelta(days=1), recent_bias=True),
             self.pick(type_weights), rng.randrange(len(enterprises)))
            for _ in range(n_decisions - len(decisions))
        )
        # Generated in date order so that 文号 numbers rise through each year.
        decisions += [self.decision(enterprises[i], day, kind) for day, kind, i in dated]
        decisions.sort(key=lambda d: d["decision_date"])
        for row in decisions:
            self.publish_decision(row)
        self._withdraw_some(decisions)

        # Blacklist: one entry in each state for certain, the enterprise of each 重大 accident,
        # then entries spread over the years.
        blacklist = []
        keys: set[tuple[str, date]] = set()

        def add(entry: dict[str, Any]) -> None:
            if (entry["uscc"], entry["listed_on"]) not in keys and len(blacklist) < n_blacklist:
                keys.add((entry["uscc"], entry["listed_on"]))
                blacklist.append(entry)

        for state in ("expired", "removed", "active"):
            add(self.blacklist_entry(rng.choice(enterprises), state))
        for accident in accidents:
            if accident["level"] >= AccidentLevel.MAJOR:
                listed = min(accident["approved_on"] + timedelta(days=30),
                             self.today - timedelta(days=1))
                add(self.blacklist_entry(ent_by_uscc[accident["uscc"]], "any", listed,
                                         catalog.BLACKLIST_GROUNDS[0]))
        while len(blacklist) < n_blacklist:
            add(self.blacklist_entry(rng.choice(enterprises), "any"))

        powers = self.powers(n_powers)
        if len(powers) >= 10:
            withdrawn = powers[len(powers) // 2]
            withdrawn["withdrawn_at"] = self.office_moment(
                self.day_between(withdrawn["published_at"].date(), self.today))
            withdrawn["withdrawn_reason"] = f"{DEMO_MARK}该事项已依法取消，不再实施。"
            withdrawn["modified_at"] = withdrawn["withdrawn_at"]

        corrections = [
            (row["document_no"],
             {"party_address": row["party_address"].replace("（演示地址）", "（演示地址，已更正）")},
             "更正：当事人地址")
            for row in decisions[:: max(1, len(decisions) // CORRECTIONS)][:CORRECTIONS]
            if row["published_at"] is not None
        ]
        for ent in enterprises:
            ent.pop("town")
        return DemoSet(
            departments=[d[0] for d in DEPARTMENTS.values()],
            enterprises=enterprises,
            items={"powers": powers, "decisions": decisions, "accidents": accidents,
                   "blacklist": blacklist},
            corrections=corrections,
        )

    def _withdraw_some(self, decisions: list[dict[str, Any]]) -> None:
        """Withdraw some published decisions as the rules say (compliance.withdrawal_state):
        each was changed or revoked on a day after its publication and withdrawn within 3
        working days of that day, a few late; a few more are changed and overdue."""
        from portal.working_days import working_calendar

        published = [d for d in decisions if d["published_at"] is not None
                     and d["published_at"].date() < self.today - timedelta(days=30)]
        count = min(len(published), max(2, round(len(decisions) * WITHDRAWN_SHARE)))
        # The timing draws come from a generator of their own, so that the rest of the data
        # set stays what it was before withdrawals had a change day.
        timing = random.Random(f"{self.seed}:{self.size}:{self.today}:withdrawals")
        calendar = working_calendar()
        chosen = self.rng.sample(published, count)
        for index, row in enumerate(chosen):
            changed = self.day_between(row["published_at"].date() + timedelta(days=7), self.today)
            due = calendar.add_working_days(changed, catalog.WITHDRAWAL_PUBLISH_WORKING_DAYS).due
            # At least one late withdrawal, so that every state has an example to show.
            late = index == 0 or timing.random() < WITHDRAWN_LATE_SHARE
            if late and due + timedelta(days=1) < self.today:
                day = min(due + timedelta(days=timing.randint(1, 20)), self.today)
            else:
                day = min(changed + timedelta(days=timing.randint(0, (due - changed).days)),
                          self.today)
            reason = DEMO_MARK + self.rng.choice(WITHDRAWAL_REASONS)
            row["withdrawal_requested_on"] = changed
            row["withdrawal_request_reason"] = reason
            row["withdrawn_at"] = self.office_moment(day)
            row["withdrawn_reason"] = reason
            row["modified_at"] = row["withdrawn_at"]
        left = [d for d in published if d["withdrawn_at"] is None]
        for row in timing.sample(left, min(len(left), max(1, round(count * WITHDRAWAL_OVERDUE_SHARE)))):
            # Changed at least a week ago and still not withdrawn: overdue.
            row["withdrawal_requested_on"] = self.today - timedelta(days=timing.randint(7, 30))
            if row["withdrawal_requested_on"] <= row["published_at"].date():
                row["withdrawal_requested_on"] = None
                continue
            row["withdrawal_request_reason"] = DEMO_MARK + timing.choice(WITHDRAWAL_REASONS)


def _short(town: str) -> str:
    for suffix in ("基诺族乡", "布朗族乡", "哈尼族乡", "瑶族乡", "彝族乡", "街道", "镇", "乡"):
        if town.endswith(suffix):
            return town.removesuffix(suffix)
    return town


def _organisation_code(index: int) -> str:
    """Positions 9–17: "MA" and 7 characters, distinct for each index, random-looking."""
    space = len(ALPHABET) ** 7
    value = (index * 7_777_777 + 1_234_567) % space  # 7,777,777 is coprime with 31: a bijection
    chars = []
    for _ in range(7):
        value, digit = divmod(value, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "MA" + "".join(reversed(chars))


def _casualties(deaths: int, injuries: int) -> str:
    parts = []
    if deaths:
        parts.append(f"{deaths}人死亡")
    if injuries:
        parts.append(f"{injuries}人重伤")
    return "、".join(parts) if parts else "无人员伤亡"


# The report's Markdown, with ⟦slots⟧ for the accident's own values.  Rendering and sanitising
# ~10 ms per report would dominate a large demo set, so the template is rendered once and the
# HTML-escaped values are put into the sanitised result: the same output, safe by construction.
REPORT_TEMPLATE = f"""> {DEMO_MARK}本报告为演示数据，所述单位和事故均为虚构。

## 一、事故单位基本情况

⟦name⟧，统一社会信用代码⟦uscc⟧，注册地址⟦address⟧，属⟦sector⟧行业。

## 二、事故发生经过和事故救援情况

⟦what⟧。事故发生后，现场人员立即报告，当地政府及应急管理、消防救援、卫生健康等部门迅速赶赴现场组织救援。

## 三、事故造成的人员伤亡和直接经济损失

事故造成⟦casualties⟧，直接经济损失⟦loss⟧。依据《生产安全事故报告和调查处理条例》第三条，该事故为**⟦level⟧**。

## 四、事故发生的原因和事故性质

1. 直接原因：作业人员违章作业，现场安全防护措施缺失。
2. 间接原因：企业安全生产主体责任落实不到位，安全教育培训和隐患排查治理流于形式。

经调查认定，该事故是一起生产安全责任事故。

## 五、事故责任的认定以及对事故责任者的处理建议

建议由应急管理部门依据《中华人民共和国安全生产法》对事故单位及其主要负责人依法给予行政处罚。

## 六、事故防范和整改措施建议

1. 严格落实企业安全生产主体责任，健全全员安全生产责任制。
2. 加强从业人员安全教育培训，严格执行危险作业审批制度。
3. 深入开展隐患排查治理，确保隐患整改到位。
"""
_SLOT = re.compile(r"⟦(\w+)⟧")


@lru_cache(maxsize=1)
def _report_template_html() -> str:
    return markdown_to_html(REPORT_TEMPLATE)


def _report_html(values: dict[str, str]) -> str:
    return _SLOT.sub(lambda m: html.escape(values[m.group(1)]), _report_template_html())


def generate(
    size: int = DEFAULT_SIZE,
    *,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
    now: datetime | None = None,
    blacklist_years: int = 3,
    min_removal_months: int = 12,
) -> DemoSet:
    """Make the demo data set of about ``size`` items (at least ``MIN_SIZE``), without a database.

    The same ``size``, ``seed`` and ``today`` give the same data; dates are relative to ``today``
    so blacklist states and on-time flags are realistic on any day.
    """
    from portal.models import local_date, utcnow

    now = now or utcnow()
    today = today or local_date(now)
    if local_date(now) < today:
        raise ValueError("now must not be before today")
    return _Generator(size, seed, today, now, blacklist_years, min_removal_months).run()


def demo_documents(size: int = DEFAULT_SIZE, *, seed: int = DEFAULT_SEED,
                   today: date | None = None) -> Iterator[Any]:
    """Search documents for the generated items, numbered from 1 per kind: no database needed.

    Built with the same ``document_for`` the search sync uses, on unsaved model objects.
    """
    from portal.models import DISCLOSURE_MODELS, Department
    from portal.search_sync import document_for

    data = generate(size, seed=seed, today=today)
    departments = {name: Department(name=name) for name in data.departments}
    for kind, rows in data.items.items():
        model = DISCLOSURE_MODELS[kind]
        for number, row in enumerate(rows, start=1):
            if row["published_at"] is None:
                continue
            values = {k: v for k, v in row.items() if k != "department"}
            item = model(id=number, department=departments[row["department"]], **values)
            yield document_for(item)


# --- loading ------------------------------------------------------------------------------------


def demo_counts(session: Any) -> dict[str, int] | None:
    """Counts of the demo items already in the database, or None when there are none."""
    from portal.models import DISCLOSURE_MODELS, Department, Enterprise

    demo_departments = select(Department.id).where(Department.name.like(f"%{DEMO_SUFFIX}"))
    if session.scalar(select(func.count()).select_from(demo_departments.subquery())) == 0:
        return None
    counts = {
        kind: session.scalar(select(func.count()).select_from(model)
                             .where(model.department_id.in_(demo_departments)))  # type: ignore[attr-defined]
        for kind, model in DISCLOSURE_MODELS.items()
    }
    counts["enterprises"] = session.scalar(
        select(func.count()).select_from(Enterprise).where(Enterprise.name.like(f"%{DEMO_SUFFIX}")))
    return counts


def load_demo(size: int | None = None, *, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Load the demo data set (about ``size`` items, default ``DEFAULT_SIZE``) and rebuild the index.

    Idempotent: when demo data are already there nothing is loaded (a warning says so) and the
    counts of what is there are returned.  Returns counts per kind and of enterprises.
    """
    from flask import current_app

    from portal import search_sync
    from portal.extensions import db
    from portal.models import (
        DISCLOSURE_MODELS,
        Decision,
        Department,
    )
    from portal.services.publication.history import apply_changes, record_version

    session = db.session
    existing = demo_counts(session)
    if existing is not None:
        current_app.logger.warning("演示数据已存在，未重复载入（如需重新载入，请使用新的数据库）。")
        return existing
    settings = current_app.config["SETTINGS"]
    data = generate(size or DEFAULT_SIZE, seed=seed, blacklist_years=settings.blacklist_years,
                    min_removal_months=settings.blacklist_min_months_before_removal)
    with search_sync.suspended():
        try:
            departments = {}
            for name in data.departments:
                dept = session.scalar(select(Department).where(Department.name == name))
                if dept is None:
                    dept = Department(name=name)
                    session.add(dept)
                departments[name] = dept
            session.flush()
            department_ids = {name: d.id for name, d in departments.items()}
            enterprise_ids = _insert_enterprises(session, data.enterprises)
            for kind, rows in data.items.items():
                model = DISCLOSURE_MODELS[kind]
                for start in range(0, len(rows), BATCH_SIZE):
                    batch = []
                    for row in rows[start : start + BATCH_SIZE]:
                        values = {k: v for k, v in row.items() if k != "department"}
                        values["department_id"] = department_ids[row["department"]]
                        if kind != "powers":
                            values["enterprise_id"] = enterprise_ids.get(row["uscc"])
                        batch.append(values)
                    session.execute(insert(model), batch)
            for document_no, values, summary in data.corrections:
                item = session.scalar(select(Decision).where(Decision.document_no == document_no))
                if item is not None:
                    record_version(session, item, apply_changes(item, values), summary)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    search_sync.reindex_all()
    return data.counts()


def _insert_enterprises(session: Any, enterprises: list[dict[str, Any]]) -> dict[str, int]:
    """Insert the demo enterprises (reusing any already registered under the same code)."""
    from portal.models import Enterprise

    ids: dict[str, int] = {}
    codes = [e["uscc"] for e in enterprises]

    def lookup() -> None:
        for start in range(0, len(codes), 500):
            chunk = codes[start : start + 500]
            rows = session.execute(
                select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.in_(chunk)))
            ids.update((uscc, id_) for uscc, id_ in rows)

    lookup()
    new = [e for e in enterprises if e["uscc"] not in ids]
    for start in range(0, len(new), BATCH_SIZE):
        session.execute(insert(Enterprise), new[start : start + BATCH_SIZE])
    lookup()
    return ids


# Import column → field, per importable kind, from the field spec's ``import_name``s.
IMPORT_FIELDS = {
    k.key: {f.import_name: f.name for f in SPECS[k.key].fields if f.import_name}
    for k in KINDS if k.importable
}


def import_records(data: DemoSet, kind: str) -> Iterator[dict[str, Any]]:
    """The published items of ``kind`` as rows for ``flask import`` (JSON-ready values).

    Useful to make realistic import files of any size, e.g. to time the importer.
    """
    from portal.models import local_date

    for row in data.items[kind]:
        if row["published_at"] is None:
            continue
        record = {}
        for name, column in IMPORT_FIELDS[kind].items():
            value = row[column]
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            record[name] = "" if value is None else value
        record["published_on"] = local_date(row["published_at"]).isoformat()
        yield record
