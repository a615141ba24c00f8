"""A deterministic generated corpus of Chinese disclosures, and the brute-force oracle.

The texts are built to contain the traps of Chinese search: 2-character words inside longer ones
(矿山 in 非煤矿山), place names inside longer ones (磨憨 in 磨憨镇), the same characters split by
punctuation or a line break (矿，山), 文号 with every bracket style, credit codes, full-width
digits, mixed-case Latin, and lone characters.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from search_index.analyzer import TOKEN_RUN, normalize
from search_index.types import KINDS, Document

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

COUNTIES = ("景洪市", "勐海县", "勐腊县", "西双版纳旅游度假区管委会", "磨憨经济开发区管委会",
            "景洪工业园区管委会")
SECTORS = ("非煤矿山", "危险化学品", "烟花爆竹", "交通运输", "建筑施工", "民用爆炸物品", "特种设备",
           "冶金", "金属冶炼", "工贸")
TOWNS = ("嘎洒镇", "勐罕镇", "勐龙镇", "勐养镇", "普文镇", "大渡岗乡", "基诺山乡", "勐遮镇", "勐混镇",
         "打洛镇", "勐满镇", "磨憨镇", "勐仑镇", "勐捧镇", "关累镇", "易武镇", "尚勇镇", "磨憨口岸")
PREFIXES = ("西双版纳", "景洪", "勐海", "勐腊", "磨憨", "版纳", "")
CORES = ("金象", "澜沧江", "孔雀", "天成", "鑫源", "宏达", "雨林", "曼听", "傣乡", "森海", "南腊",
         "勐泰", "Lanmei", "ABC", "新矿山", "山水")
TRADES = ("矿业", "石材", "建材", "化工", "燃气", "物流", "运输", "建筑工程", "烟花爆竹", "民爆器材",
          "电梯", "钢铁", "冶炼", "茶叶加工", "橡胶制品", "LNG储运", "PE管材")
SITES = ("采场", "矿山", "井下", "仓库", "储罐区", "施工现场", "车间", "码头", "加气站", "隧道")
HAZARDS = ("重大事故隐患", "一般事故隐患", "安全风险", "违章作业", "超能力生产", "非法储存", "无证经营")
ACTIONS = ("排查治理", "整改", "报告", "登记", "监测", "培训")
LATIN = ("LNG", "lng", "Ltd.", "PE", "GB 50016", "ISO9001", "CO", "No.5", "Ⅱ级")
LAWS = ("《中华人民共和国安全生产法》", "《生产安全事故报告和调查处理条例》", "《危险化学品安全管理条例》",
        "《烟花爆竹安全管理条例》", "《民用爆炸物品安全管理条例》")
NUMS = "一二三四五六七八九十"


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code(rng: random.Random) -> str:
    body = "91532801" + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


def cn_number(n: int) -> str:
    if n <= 10:
        return NUMS[n - 1]
    tens, ones = divmod(n, 10)
    return (NUMS[tens - 1] if tens > 1 else "") + "十" + (NUMS[ones - 1] if ones else "")


def document_no(rng: random.Random, year: int, n: int) -> str:
    prefix = rng.choice(("西应急罚", "景应急罚", "勐海应急罚", "勐腊应急罚", "磨憨应急罚"))
    left, right = rng.choice((("〔", "〕"), ("〔", "〕"), ("[", "]"), ("（", "）"), ("【", "】")))
    return f"{prefix}{left}{year}{right}{n}号"


class Corpus:
    def __init__(self, size: int, seed: int = 20261128) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        self.enterprises = [
            (rng.choice(PREFIXES) + rng.choice(CORES) + rng.choice(TRADES) + "有限公司",
             credit_code(rng), rng.choice(COUNTIES), rng.choice(SECTORS))
            for _ in range(max(10, size // 6))
        ]
        self.document_numbers: list[str] = []
        self.documents = [self._document(i) for i in range(size)]

    def _sentence(self, enterprise: str) -> str:
        rng = self.rng
        choice = rng.randrange(9)
        town, site = rng.choice(TOWNS), rng.choice(SITES)
        if choice == 0:
            return (f"经查，{enterprise}在{town}{site}作业时，未按规定对{rng.choice(SECTORS)}"
                    f"{rng.choice(HAZARDS)}进行{rng.choice(ACTIONS)}。")
        if choice == 1:
            return (f"违反了{rng.choice(LAWS)}第{cn_number(rng.randint(1, 99))}条的规定，"
                    f"依据同法第{rng.randint(90, 120)}条，决定罚款人民币{rng.randint(1, 90) * 1000}元。")
        if choice == 2:
            return f"该{site}位于{town}，距{rng.choice(TOWNS)}约{rng.randint(2, 60)}公里。"
        if choice == 3:
            return f"现场检查发现{rng.choice(LATIN)}设备{rng.choice(HAZARDS)}，责令限期{rng.choice(ACTIONS)}。"
        if choice == 4:
            # The characters of a word split by punctuation or a line break: not the word.
            return rng.choice(("矿，山体滑坡风险已消除。", "采矿\n山坡加固完成。", "磨，憨厚老实。",
                               "隐，患未除。", "罚\n款已缴纳。"))
        if choice == 5:
            day = date(2020, 1, 1) + timedelta(days=rng.randrange(2500))
            digits = f"{day.year}年{day.month}月{day.day}日"
            if rng.random() < 0.2:  # full-width digits, as some sources type them
                digits = digits.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
            return f"{digits}，{enterprise}发生一起{rng.choice(('坍塌', '爆炸', '火灾', '中毒窒息', '车辆伤害'))}事故。"
        if choice == 6:
            return f"相关文书：{rng.choice(self.document_numbers) if self.document_numbers else '无'}。"
        if choice == 7:
            return f"统一社会信用代码：{rng.choice(self.enterprises)[1]}。"
        return f"{rng.choice(('山', '矿', '号', '憨', '罚'))}{rng.choice(('区', '场', '。', '、'))}整改到位。"

    def _document(self, i: int) -> Document:
        rng = self.rng
        kind = KINDS[i % len(KINDS)]
        name, code, county, sector = rng.choice(self.enterprises)
        day = date(2019, 1, 1) + timedelta(days=rng.randrange(2900))
        if kind == "decisions":
            number = document_no(rng, day.year, rng.randint(1, 400))
            self.document_numbers.append(number)
            title = f"{name}行政处罚决定（{number}）"
            head = [number, name, code]
        elif kind == "accidents":
            title = f"{name}“{day.month}·{day.day}”{rng.choice(('坍塌', '爆炸', '火灾'))}事故调查报告"
            head = [name, code]
        elif kind == "blacklist":
            title = f"{name}（{code}）"
            head = [name, code, rng.choice(("瞒报、谎报生产安全事故", "未依法取得安全生产许可"))]
        else:
            title = f"对{rng.choice(SECTORS)}企业未按规定{rng.choice(ACTIONS)}{rng.choice(HAZARDS)}的行政处罚"
            head = [f"XSBN-CF-{i:05d}"]
        body = [self._sentence(name) for _ in range(rng.randint(3, 12))]
        text = "\n".join([title, *head, *body, county, sector, "西双版纳州应急管理局"])
        return Document(
            kind=kind,
            id=i + 1,
            title=title,
            text=text,
            date=day,
            county=county,
            sector=sector,
            department="西双版纳州应急管理局",
            withdrawn=rng.random() < 0.03,
        )

    def queries(self, count: int = 150) -> list[list[str]]:
        """Queries as lists of raw terms (each term one substring to find)."""
        rng = random.Random(7)
        fixed = [
            ["矿山"], ["磨憨"], ["隐患"], ["罚款"], ["景洪"], ["勐腊"], ["化工"], ["爆竹"], ["山水"],
            ["磨憨镇"], ["勐仑镇"], ["基诺山乡"], ["磨憨口岸"], ["非煤矿山"],
            ["非煤矿山重大事故隐患"], ["安全生产法"], ["罚款人民币"], ["未按规定对"],
            ["矿山", "罚款"], ["磨憨", "燃气"], ["景洪", "隐患", "排查"], ["勐海", "化工", "2026"],
            ["矿"], ["山"], ["号"], ["憨"], ["罚"], ["区"],
            ["lng"], ["LNG"], ["Ltd"], ["pe管"], ["GB 50016"], ["50016"], ["iso"], ["ⅱ级"],
            ["2026"], ["12号"], ["5000"], ["１２"], ["〔2026〕"], ["[2026]"], ["(2025)1"],
            ["矿，山"], ["采矿 山坡"], ["采矿", "山坡"], ["“6·12”"], ["6·1"],
        ]
        queries = [list(q) for q in fixed]
        for _ in range(12):  # document numbers: exact, and with another bracket style
            number = rng.choice(self.document_numbers)
            queries.append([number])
            queries.append([number.replace("〔", "[").replace("〕", "]")])
        for _ in range(12):  # credit codes: whole, lower case, fragments of 3–10 characters
            code = rng.choice(self.enterprises)[1]
            queries.append([code])
            queries.append([code.lower()])
            a = rng.randrange(0, 15)
            queries.append([code[a : a + rng.randint(3, 10)]])
        for _ in range(6):
            name = rng.choice(self.enterprises)[0]
            queries.append([name])
            queries.append([name[: rng.randint(2, 6)], "有限公司"])
        while len(queries) < count:  # random substrings of random documents
            text = rng.choice(self.documents).text
            a = rng.randrange(len(text))
            piece = text[a : a + rng.randint(1, 9)].strip()
            if TOKEN_RUN.search(piece) and not any(c in piece for c in '"“”「」'):
                queries.append([" ".join(piece.split())])
        return queries[:count] if count >= len(fixed) else queries


def quote(terms: list[str]) -> str:
    """The query string of a list of terms: a term with white space goes in quotes."""
    return " ".join(f'"{t}"' if any(c.isspace() or c in "“”「」" for c in t) else t
                    for t in terms)


_normalised: dict[int, tuple[Document, str]] = {}


def brute_force(documents: list[Document], terms: list[str], **filters: object) -> set[tuple[str, int]]:
    """Every document whose normalised text contains every term: the definition of a match."""
    wanted = [" ".join(normalize(t).split()) for t in terms]
    hits = set()
    for d in documents:
        cached = _normalised.get(id(d))
        if cached is None or cached[0] is not d:
            cached = _normalised[id(d)] = (d, normalize(d.text))
        text = cached[1]
        if all(t in text for t in wanted) and _passes(d, filters):
            hits.add((d.kind, d.id))
    return hits


def _passes(d: Document, filters: dict[str, object]) -> bool:
    kinds = filters.get("kinds")
    if kinds and d.kind not in kinds:  # type: ignore[operator]
        return False
    if filters.get("county") and d.county != filters["county"]:
        return False
    if filters.get("sector") and d.sector != filters["sector"]:
        return False
    return not (filters.get("year") and (d.date is None or d.date.year != filters["year"]))
