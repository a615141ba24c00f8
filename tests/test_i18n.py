"""The citizen's and enterprise's pages in English, Lao and Burmese (issue 16).

* Every translated page, in every language, shows no Han character outside the places meant for
  them: elements marked ``lang="zh-CN"`` (official Chinese text, published names, the switcher's
  中文) or ``translate="no"`` (what a person typed, shown as typed).  The pages are listed here
  explicitly (``TRANSLATED_PAGES`` and the journeys below): a page that other work adds arrives
  untranslated and is not served under a language prefix until it is translated and listed.
* The catalogs: nothing untranslated or fuzzy, placeholders as in the source, and every string
  the code asks for is in them.
* The URL prefixes, the switcher, hreflang, the cache, ETag and Vary, the offer on Chinese pages.
* A report in Lao: stored with its language, Lao and Burmese text in every field, limits counted
  in characters, the receipt code working in every language, the office seeing the language.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from portal.domain.masking import mask_personal_data
from portal.extensions import db
from portal.i18n import LANGUAGES, PREFIXED, TRANSLATED_ENDPOINTS
from portal.models import Report, Reward, local_today
from portal.services.reporting import reports as report_service
from tests import factories
from tests.reports.conftest import (
    REPORT_FIELDS,
    csrf_from,
    jpeg_bytes,
    receipt_code,
)
from tests.staff.conftest import login

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "portal" / "translations"
# Han ideographs and the CJK punctuation and full-width forms that come with Chinese text.
HAN = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")

# Lao and Burmese text as a worker might type it (Lao: "the scaffold on the third floor is
# broken, workers are still working under it"; Burmese: the same).
LAO = "ໂຄງນັ່ງຮ້ານຊັ້ນສາມຫັກ, ຄົນງານຍັງເຮັດວຽກຢູ່ກ້ອງ"
BURMESE = "တတိယထပ်ရှိ ငြမ်းကျိုးနေသည်၊ အလုပ်သမားများ အောက်တွင် ဆက်လုပ်နေဆဲ"


@pytest.fixture
def app_settings() -> dict:
    return {"REPORT_FOLLOWUP_MIN_SECONDS": 0.01}


@pytest.fixture
def client(app):
    return app.test_client()


class _Visible(HTMLParser):
    """The text a reader sees (and the attributes read aloud), minus marked elements."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
            "source", "track", "wbr"}
    READ = ("alt", "placeholder", "title", "aria-label")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.hidden = 0
        self.texts: list[str] = []
        self.marked: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        # A text area holds what the visitor typed, kept after an error, as typed.
        marked = (values.get("lang") == "zh-CN" or values.get("translate") == "no"
                  or tag in ("script", "style", "template", "textarea"))
        if not self.hidden and not marked:
            self.texts += [values[name] for name in self.READ if values.get(name)]
            if tag == "input" and values.get("type") in ("submit", "button"):
                self.texts.append(values.get("value") or "")
        if tag == "input" and values.get("type") in ("search", "text") and values.get("value"):
            # What the visitor typed, kept in its box (a search page's title repeats it).
            self.marked.append(values["value"])
        if tag in self.VOID:
            return
        self.stack.append(marked)
        self.hidden += marked

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID or not self.stack:
            return
        self.hidden -= self.stack.pop()

    def handle_data(self, data):
        (self.marked if self.hidden else self.texts).append(data)


def han_outside_marked_places(html: str) -> list[str]:
    """Pieces of text with Han characters that no marked element holds.  The title and the
    description in <head> (what a search engine shows) count too, less the data that the body
    shows marked (a company's name in the title of its credit page)."""
    parser = _Visible()
    head, body = html.split("<body", 1)
    parser.feed("<body" + body)
    found = [t.strip() for t in parser.texts if HAN.search(t)]
    data = sorted({t.strip() for t in parser.marked if len(t.strip()) > 1}, key=len, reverse=True)
    for pieces in re.findall(
            r"<title>(.*?)</title>|<meta name=\"description\" content=\"([^\"]*)\"", head, re.S):
        for piece in pieces:
            piece = unescape(piece)
            for text in data:
                piece = piece.replace(text, "")
            if HAN.search(piece):
                found.append(piece)
    return found


def assert_translated(response, where: str) -> str:
    html = response.get_data(as_text=True)
    leftover = han_outside_marked_places(html)
    assert not leftover, f"{where}: Chinese left in the interface: {leftover[:8]}"
    return html


def _published(app) -> dict[str, str]:
    with app.app_context():
        listed = factories.blacklist_entry()
        factories.decision(enterprise=listed.enterprise)
        factories.accident()
        factories.power()
        db.session.commit()
        return {"uscc": listed.uscc, "name": listed.enterprise.name[:4]}


# ---------------------------------------------------------------- every page, every language

# Pages reached by a GET, in every language.  A page added to portal.i18n.TRANSLATED_ENDPOINTS
# is added here too (README: "How to add a language / translate a new page").
TRANSLATED_PAGES = (
    "/",
    "/report",
    "/report/followup",
    "/credit",
    "/credit?code={uscc}",
    "/credit?code=91532800MA6K00000X",
    "/credit?code=12345",
    "/credit?name={name}",
    "/credit?name=不存在的企业名称",
    "/credit/verify",
    "/credit/verify?code=XSBN-0000-0000",
    "/credit/certificate",
    "/data",
    "/credit/repair",
    "/credit/repair/followup",
    "/credit/objection/followup",
    "/stats",
    "/stats?year=2026",
    "/stats?year=1999",
    "/compliance",
    "/no-such-page",
)


@pytest.mark.parametrize("lang", PREFIXED)
def test_every_translated_page_has_no_chinese_left_in_the_interface(app, client, lang):
    data = _published(app)
    for path in TRANSLATED_PAGES:
        response = client.get(f"/{lang}" + path.format(**data))
        assert response.status_code in (200, 400, 404), path
        assert_translated(response, f"/{lang}{path}")
        assert f'<html lang="{LANGUAGES[lang][1]}">' in response.get_data(as_text=True)


@pytest.mark.parametrize("lang", PREFIXED)
def test_every_translated_route_answers_in_its_language(app, client, lang):
    """Every GET route served under a prefix (portal.i18n.TRANSLATED_ENDPOINTS), with an
    existing item where it takes one and with no parameters: an HTML page in ``lang`` has no
    Chinese outside the marked places (a page reached without its usual parameters, such as
    /credit/certificate without a number, was still Chinese)."""
    ids = _published_of_every_kind(app)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in TRANSLATED_ENDPOINTS or "GET" not in rule.methods:
            continue
        path = re.sub(r"<any\([^)]*\):kind>", "decisions", rule.rule)
        path = re.sub(r"<id:item_id>", str(ids["decisions"]), path)
        path = re.sub(r"<[^>]+>", "1", path)
        response = client.get(f"/{lang}{path}")
        if response.mimetype == "text/html" and not 300 <= response.status_code < 400:
            checked += 1
            assert_translated(response, f"/{lang}{path}")
    assert checked > 15


@pytest.mark.parametrize("lang", PREFIXED)
def test_the_statistics_charts_are_drawn_in_the_pages_language(app, client, lang):
    """A chart on /lo/stats is /lo/stats/<key>.svg: its words (units, accident levels, the
    axis's digits) in the page's language; the root's chart stays Chinese."""
    _published(app)
    html = client.get(f"/{lang}/stats").get_data(as_text=True)
    assert f'<img src="/{lang}/stats/accidents-by-level.svg"' in html
    assert 'href="/stats/accidents-by-level.csv"' in html  # the data: Chinese, at the root
    svg = client.get(f"/{lang}/stats/accidents-by-level.svg").get_data(as_text=True)
    words = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    assert words and not HAN.search(words), words
    if lang != "en":
        assert re.search("[\u0e80-\u0eff]" if lang == "lo" else "[\u1000-\u109f]", words)
    root = client.get("/stats/accidents-by-level.svg").get_data(as_text=True)
    assert "一般事故" in root and "起" in root


def _published_of_every_kind(app) -> dict[str, int]:
    """One published item of each kind and the variants that show other words: a withdrawn
    decision, a person on the blacklist, an overdue 督办 with an extension and a step, a
    督办 of an accident, a decision changed after publication (its history)."""
    from datetime import date

    from portal.domain import supervision as rules
    from portal.models import utcnow
    from portal.services.publication import supervision

    with app.app_context():
        listed = factories.blacklist_entry()
        decision = factories.decision(enterprise=listed.enterprise, fine_yuan=20000)
        withdrawn = factories.decision(withdrawn_at=utcnow(), withdrawn_reason="决定已被撤销")
        licence = factories.decision(decision_type="行政许可", fine_yuan=None)
        accident = factories.accident()
        power = factories.power(workflow=["受理", "审查", "决定"])
        person = factories.blacklist_entry(subject_type="person", person_name="张某",
                                           person_role="主要负责人",
                                           person_id_masked="5328************")
        hazard = factories.supervision_item(deadline=date(2026, 9, 30), from_report=True)
        accident_case = factories.supervision_item(
            supervision_type=rules.ACCIDENT, grade="一般", accident=accident)
        db.session.commit()
        supervision.record_step(hazard, rules.Step.RECTIFYING, on=date(2026, 9, 5),
                                note="已停产整改")
        db.session.commit()
        return {"decisions": decision.id, "withdrawn": withdrawn.id, "licence": licence.id,
                "accidents": accident.id, "powers": power.id, "blacklist": listed.id,
                "person": person.id, "supervision": hazard.id, "accident_case": accident_case.id}


@pytest.mark.parametrize("lang", PREFIXED)
def test_published_lists_details_and_search_are_translated(app, client, lang):
    """Every kind's list (with filters, a bad filter, a page out of range), every kind's
    detail page and its variants, and the search page (results, none, bad input)."""
    ids = _published_of_every_kind(app)
    kind_of = {"withdrawn": "decisions", "licence": "decisions", "person": "blacklist",
               "accident_case": "supervision"}
    paths = []
    for kind in ("powers", "decisions", "accidents", "blacklist", "supervision"):
        paths += [f"/{kind}", f"/{kind}?page=99", f"/{kind}?page=x&county=nowhere"]
    paths += ["/decisions?decision_type=行政处罚&late=0&withdrawal=late&year=2026",
              "/accidents?level=1&assessment=overdue", "/blacklist?status=active",
              "/supervision?stage=overdue&grade=重大&supervision_type=隐患挂牌督办",
              "/powers?power_type=行政许可"]
    paths += [f"/{kind_of.get(name, name)}/{item_id}" for name, item_id in ids.items()]
    paths += ["/search", "/search?q=有限公司", "/search?q=有限公司&sort=date&kind=decisions",
              "/search?q=找不到的词语&county=景洪市", "/search?q=有限公司&year=20x6&sort=nonsense",
              "/search?q=%22未配对", "/search?q=有限公司&page=999"]
    for path in paths:
        response = client.get(f"/{lang}" + path)
        assert response.status_code in (200, 400), path
        html = assert_translated(response, f"/{lang}{path}")
        assert f'<html lang="{LANGUAGES[lang][1]}">' in html
    # The official text is said to be Chinese, once, near the top of a page that shows it.
    detail = client.get(f"/{lang}/decisions/{ids['decisions']}").get_data(as_text=True)
    assert detail.count('class="official-note"') == 1
    assert detail.index('class="official-note"') < detail.index("facts-heading")
    # Dates in the reader's language, and no "(Chinese)" mark left on the navigation.
    listing = client.get(f"/{lang}/decisions").get_data(as_text=True)
    assert "2026年" not in listing
    nav = listing.split('class="site-nav"')[1].split("</nav>")[0]
    for kind in ("powers", "decisions", "accidents", "blacklist", "supervision"):
        link = re.search(rf'<a href="/{lang}/{kind}"[^>]*>', nav)
        assert link and "hreflang" not in link.group(0), kind


@pytest.mark.parametrize("lang", PREFIXED)
def test_credit_repair_and_objection_pages_are_translated(app, client, lang):
    """信用修复: the form (empty, eligible, too early, with errors, a refused file), check,
    sent, follow-up (wrong code, the case, a reply refused and sent); 异议: the form (empty,
    with errors), check, sent, follow-up and the case.  Typed text is shown as typed."""
    import io

    from tests.credit.repair_helpers import APPLICANT, listed, pdf_bytes

    prefix = f"/{lang}"
    with app.app_context():
        entry = listed()
        early = listed(listed_on=local_today() - timedelta(days=30))
        decision = factories.decision(enterprise=entry.enterprise)
        db.session.commit()
        uscc, early_uscc, decision_id = entry.uscc, early.uscc, decision.id

    def page(path, **data):
        response = client.post(prefix + path, data=data, content_type="multipart/form-data") \
            if data else client.get(prefix + path)
        assert response.status_code in (200, 303, 400), (path, response.status_code)
        if response.status_code != 303:
            assert_translated(response, f"{prefix}{path}")
        return response

    form = page("/credit/repair").get_data(as_text=True)
    page(f"/credit/repair?code={uscc}")
    page(f"/credit/repair?code={early_uscc}")
    page("/credit/repair?code=91532800MA6K00000X")
    refused = page("/credit/repair", csrf_token=csrf_from(form), uscc=uscc,
                   **{**APPLICANT, "applicant_name": ""},
                   commitment=[(io.BytesIO(b"MZ not a pdf"), "x.pdf")])
    assert refused.status_code == 400
    page("/credit/repair", csrf_token=csrf_from(form), uscc=early_uscc, **APPLICANT,
         commitment=[(io.BytesIO(pdf_bytes()), "c.pdf")])
    sent = page("/credit/repair", csrf_token=csrf_from(form), uscc=uscc, **APPLICANT,
                commitment=[(io.BytesIO(pdf_bytes()), "c.pdf")])
    assert sent.status_code == 303 and sent.headers["Location"].startswith(prefix + "/")
    check = page("/credit/repair/check").get_data(as_text=True)
    assert APPLICANT["penalty_done"] in check
    receipt = page("/credit/repair/send", csrf_token=csrf_from(check)).get_data(as_text=True)
    code = "".join(re.findall(r'class="code-group">([0-9A-Z]{4})', receipt))
    assert len(code) == 28
    follow = page("/credit/repair/followup").get_data(as_text=True)
    assert page("/credit/repair/followup", csrf_token=csrf_from(follow),
                code="0000").status_code == 400
    case = page("/credit/repair/followup", csrf_token=csrf_from(follow), code=code)
    token = csrf_from(case.get_data(as_text=True))
    assert page("/credit/repair/followup/reply", csrf_token=token, code=code,
                body="").status_code == 400
    page("/credit/repair/followup/reply", csrf_token=token, code=code, body=LAO)

    form = page(f"/credit/objection/decisions/{decision_id}").get_data(as_text=True)
    assert page(f"/credit/objection/decisions/{decision_id}", csrf_token=csrf_from(form),
                applicant_name="").status_code == 400
    assert page(f"/credit/objection/decisions/{decision_id}", csrf_token=csrf_from(form),
                applicant_name=LAO[:20], contact="020 5555 1234", what_is_wrong=BURMESE,
                should_read=LAO).status_code == 303
    check = page("/credit/objection/check").get_data(as_text=True)
    receipt = page("/credit/objection/send", csrf_token=csrf_from(check)).get_data(as_text=True)
    code = "".join(re.findall(r'class="code-group">([0-9A-Z]{4})', receipt))
    follow = page("/credit/objection/followup").get_data(as_text=True)
    page("/credit/objection/followup", csrf_token=csrf_from(follow), code="0000")
    page("/credit/objection/followup", csrf_token=csrf_from(follow), code=code)
    # The record's page says an objection is being checked, in the reader's language.
    page(f"/decisions/{decision_id}")


@pytest.mark.parametrize("lang", PREFIXED)
def test_report_journey_pages_are_translated(app, client, lang):
    """Form with errors, check your answers, receipt, receipt download, case page, a reply
    refused and one sent, reopen, reward claim, claim slip and its print page, erasure."""
    prefix = f"/{lang}"
    form = client.get(prefix + "/report").get_data(as_text=True)
    refused = client.post(prefix + "/report", data={"csrf_token": csrf_from(form),
                                                    "uscc": "123", "county": "北京"})
    assert refused.status_code == 400
    html = assert_translated(refused, "report form with errors")
    assert 'class="error-summary"' in html

    fields = {**REPORT_FIELDS, "enterprise_name": LAO[:20], "place": BURMESE[:30],
              "description": LAO + " " + BURMESE, "seen_since": LAO[:10],
              "callback": "y", "contact": "ໂທ 020 5555 1234"}
    sent = client.post(prefix + "/report", data={"csrf_token": csrf_from(form), **fields})
    assert sent.status_code == 303 and sent.headers["Location"].startswith(prefix + "/report/")
    check = client.get(prefix + "/report/check")
    assert_translated(check, "check your answers")
    receipt = client.post(prefix + "/report/send",
                          data={"csrf_token": csrf_from(check.get_data(as_text=True))})
    html = assert_translated(receipt, "receipt")
    code = receipt_code(html)
    text = client.post(prefix + "/report/receipt.txt",
                       data={"csrf_token": csrf_from(html), "code": code})
    assert text.status_code == 200 and code in text.get_data(as_text=True)
    assert not HAN.search(text.get_data(as_text=True)), "receipt download"

    wrong = client.post(prefix + "/report/followup",
                        data={"csrf_token": csrf_from(html), "code": "0000-0000"})
    assert wrong.status_code == 400
    assert_translated(wrong, "wrong receipt code")
    with app.app_context():
        report = db.session.scalar(select(Report))
        report.status, report.closed_as = "closed", "rectified"
        report.add_event("closed", local_today(), note="办结：已整改。脚手架已更换。")
        report.reward = Reward(amount_yuan=3000, status="approved", proposed_on=local_today(),
                               decided_on=local_today(),
                               claim_due=local_today() + timedelta(days=60))
        report.add_event("reward_approved", local_today())
        db.session.commit()
    case = client.post(prefix + "/report/followup",
                       data={"csrf_token": csrf_from(html), "code": code})
    page = assert_translated(case, "case page")
    assert LAO in page  # what the reporter wrote, as written

    def action(path, form_prefix, **values):
        data = {f"{form_prefix}-csrf_token": csrf_from(page), f"{form_prefix}-code": code}
        data.update({f"{form_prefix}-{k}": v for k, v in values.items()})
        return client.post(prefix + path, data=data, content_type="multipart/form-data")

    assert_translated(action("/report/followup/reply", "reply", body=""), "reply refused")
    replied = action("/report/followup/reply", "reply", body=BURMESE,
                     photos=[(__import__("io").BytesIO(b"not a picture"), "x.jpg")])
    assert replied.status_code == 400
    assert_translated(replied, "reply with a bad photo")
    assert_translated(action("/report/followup/reply", "reply", body=LAO), "reply sent")
    assert_translated(action("/report/followup/reopen", "reopen", reason=""), "reopen refused")
    assert_translated(action("/report/followup/claim-transfer", "transfer", payment_details=""),
                      "claim refused")
    slip_page = action("/report/followup/claim-slip", "slip")
    html = assert_translated(slip_page, "claim slip")
    slip = re.search(r'name="slip" value="([^"]+)"', html).group(1)
    copy = {"csrf_token": csrf_from(html), "code": code, "slip": slip}
    printed = client.post(prefix + "/report/followup/claim-slip/print", data=copy)
    assert_translated(printed, "claim slip, print page")
    download = client.post(prefix + "/report/followup/claim-slip.txt", data=copy)
    assert download.status_code == 200 and not HAN.search(download.get_data(as_text=True))
    assert_translated(action("/report/followup/erase", "erase"), "erase refused")


@pytest.mark.parametrize("lang", PREFIXED)
def test_certificate_pages_keep_the_chinese_text_with_translated_labels(app, client, lang):
    data = _published(app)
    result = client.get(f"/{lang}/credit?code={data['uscc']}").get_data(as_text=True)
    issued = client.post(f"/{lang}/credit/certificate",
                         data={"csrf_token": csrf_from(result), "code": data["uscc"]})
    assert issued.status_code in (302, 303)
    certificate = client.get(issued.headers["Location"])
    html = assert_translated(certificate, "certificate page")
    assert 'lang="zh-CN">企业名称</span>' in html  # the official label, with its translation
    number = re.search(r"XSBN-[0-9A-Z]{4}-[0-9A-Z]{4}", html).group(0)
    assert_translated(client.get(f"/{lang}/credit/verify?code={number}"), "verification")


def test_error_pages_are_translated(app, client):
    from werkzeug.exceptions import InternalServerError, TooManyRequests

    @app.get("/boom-i18n")
    def boom():
        raise InternalServerError()

    @app.get("/busy-i18n")
    def busy():
        raise TooManyRequests()

    from portal import i18n

    i18n.TRANSLATED_ENDPOINTS = TRANSLATED_ENDPOINTS | {"boom", "busy"}
    try:
        for lang in PREFIXED:
            assert_translated(client.get(f"/{lang}/boom-i18n"), "500")
            assert_translated(client.get(f"/{lang}/busy-i18n"), "429")
            expired = client.post(f"/{lang}/report", data={"csrf_token": "stale"})
            assert expired.status_code == 400
            html = assert_translated(expired, "CSRF expiry")
            assert "/report" in html or "<h1>" in html
    finally:
        i18n.TRANSLATED_ENDPOINTS = TRANSLATED_ENDPOINTS


def test_the_chinese_pages_are_unchanged(client):
    html = client.get("/report").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "<h1>我要举报</h1>" in html
    assert "被举报单位名称" in html and "请回电：我愿意留下联系方式" in html
    home = client.get("/").get_data(as_text=True)
    assert "official-note" not in home and "language-switcher" in home


# ---------------------------------------------------------------- catalogs

PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%d|\{\w*\}")


def _catalogs():
    return sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def test_a_catalog_for_every_language():
    assert {p.parts[-3] for p in _catalogs()} == set(PREFIXED)


@pytest.mark.parametrize("path", _catalogs(), ids=lambda p: p.parts[-3])
def test_catalogs_are_complete_and_keep_the_placeholders(path):
    catalog = read_po(path.open("rb"))
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]}")
        if not all(strings):
            problems.append(f"untranslated: {ids[0]}")
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if sorted(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {ids[0]!r} → {string!r}")
            # Markup in a message is kept tag for tag (links, emphasis, code).
            if sorted(re.findall(r"</?(?:a|strong|span)\b", ids[-1])) != sorted(
                    re.findall(r"</?(?:a|strong|span)\b", string.replace('<span lang="zh-CN">', "")
                               .replace("</span>", "", string.count('<span lang="zh-CN">')))):
                problems.append(f"markup differs: {ids[0]!r}")
    assert not problems, "\n".join(problems)


def test_catalogs_hold_every_string_the_code_asks_for(tmp_path):
    """The sources extracted now (babel.cfg) against the catalogs: a string added to a
    translated page without a translation fails here, naming it."""
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "-q", "extract",
                    "-F", "babel.cfg", "-k", "lazy_gettext", "-k", "_l", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    wanted = {(m.context, m.id if isinstance(m.id, str) else m.id[0])
              for m in read_po(pot.open("rb")) if m.id}
    for path in _catalogs():
        have = {(m.context, m.id if isinstance(m.id, str) else m.id[0])
                for m in read_po(path.open("rb")) if m.id}
        missing = sorted(str(id_) for _, id_ in wanted - have)
        assert not missing, f"{path.parts[-3]} lacks: {missing[:10]}"


def test_compiled_catalogs_are_current():
    """`make install` compiles them; a .po edited since then would be served stale."""
    for path in _catalogs():
        compiled = path.with_suffix(".mo")
        assert compiled.exists(), f"{compiled} missing: run make install"
        assert compiled.stat().st_mtime >= path.stat().st_mtime, f"{compiled} is older"


# ---------------------------------------------------------------- URLs, switcher, cache


def test_prefixes_serve_only_translated_pages(client):
    for path in ("/en/staff/login", "/lo/api/v1/decisions", "/my/decisions.csv",
                 "/en/feeds/decisions.atom", "/lo/static/style.css", "/my/stats/accidents-by-month.csv",
                 "/en/sitemap.xml", "/fr/report", "/english/report"):
        assert client.get(path).status_code == 404, path
    assert client.get("/en").status_code == 200
    assert client.get("/lo/report").status_code == 200


def test_links_on_a_translated_page_stay_in_its_language_or_lead_to_the_root(client):
    html = client.get("/lo/report").get_data(as_text=True)
    assert 'href="/lo/credit"' in html and 'action="/lo/report"' in html
    assert 'href="/lo/stats"' in html
    # Not translated (data in Chinese): the root's, said so.
    data = client.get("/lo/stats").get_data(as_text=True)
    assert re.search(r'href="/stats/accidents-by-month\.csv" download hreflang="zh-CN"', data)
    assert re.search(r'href="/static/style\.css\?v=\w+"', html)
    assert "/lo/static" not in html and "/lo/staff" not in html


def test_switcher_and_alternates_keep_the_page_and_its_query(client):
    html = client.get("/my/credit?code=915328001234567890").get_data(as_text=True)
    for code, (name, lang, hreflang) in LANGUAGES.items():
        href = ("" if code == "zh" else f"/{code}") + "/credit?code=915328001234567890"
        assert f'<link rel="alternate" hreflang="{hreflang}" href="{href}">' in html
        assert f'<a href="{href}" lang="{lang}" hreflang="{hreflang}"' in html
        assert f">{name}</a>" in html
    assert 'hreflang="x-default" href="/credit?code=915328001234567890"' in html
    assert 'lang="my" hreflang="my" aria-current="true"' in html


def test_the_back_office_has_no_switcher_and_chinese_only_pages_link_the_homes(client):
    assert "language-switcher" not in client.get("/staff/login").get_data(as_text=True)
    # (Every public page is translated now; a page not found is in no language of its own.)
    stats = client.get("/no-such-page").get_data(as_text=True)
    assert '<a href="/lo/" lang="lo" hreflang="lo">ລາວ</a>' in stats
    assert 'rel="alternate" hreflang' not in stats  # no other language version of this page


def test_each_language_is_cached_apart_and_says_so(client):
    pages = {lang: client.get(("" if lang == "zh" else f"/{lang}") + "/") for lang in LANGUAGES}
    etags = {r.headers["ETag"] for r in pages.values()}
    assert len(etags) == 4
    assert "首页" in pages["zh"].get_data(as_text=True)
    assert ">Home<" in pages["en"].get_data(as_text=True)
    assert ">ໜ້າຫຼັກ<" in pages["lo"].get_data(as_text=True)
    for lang in PREFIXED:  # the language is in the URL: no Vary on Accept-Language
        assert pages[lang].headers["Vary"] == "Cookie, Accept-Encoding"
        again = client.get(f"/{lang}/", headers={"If-None-Match": pages[lang].headers["ETag"],
                                                 "Accept-Language": "zh-CN"})
        assert again.status_code == 304
    assert pages["zh"].headers["Vary"] == "Cookie, Accept-Language, Accept-Encoding"


def test_the_chinese_page_offers_the_browsers_language_without_breaking_the_cache(client):
    plain = client.get("/")
    lao = client.get("/", headers={"Accept-Language": "lo-LA,lo;q=0.9,en;q=0.5"})
    english = client.get("/", headers={"Accept-Language": "en-US,en;q=0.8"})
    chinese = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert 'class="language-offer"' not in plain.get_data(as_text=True)
    assert 'class="language-offer"' not in chinese.get_data(as_text=True)
    assert '<a href="/lo/" hreflang="lo">ໜ້ານີ້ມີເປັນພາສາລາວ</a>' in lao.get_data(as_text=True)
    assert "This page is available in English" in english.get_data(as_text=True)
    # One cached body; the offer is put in as the page leaves, and the ETag follows it.
    assert len({plain.headers["ETag"], lao.headers["ETag"], english.headers["ETag"]}) == 3
    assert plain.headers["ETag"] == chinese.headers["ETag"]
    stale = client.get("/", headers={"If-None-Match": plain.headers["ETag"],
                                     "Accept-Language": "lo"})
    assert stale.status_code == 200 and "language-offer" in stale.get_data(as_text=True)
    # Not on the pages in a language, and not a redirect.
    assert "language-offer" not in client.get(
        "/lo/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert lao.status_code == 200


def test_sitemap_lists_the_alternates(client, app):
    with app.app_context():
        factories.decision()
        db.session.commit()
    xml = client.get("/sitemap.xml").get_data(as_text=True)
    assert 'xmlns:xhtml="http://www.w3.org/1999/xhtml"' in xml
    assert '<xhtml:link rel="alternate" hreflang="lo" href="http://localhost/lo/credit"/>' in xml
    assert 'hreflang="x-default" href="http://localhost/credit"' in xml
    # The statistics are translated too (the CSV and chart files they link are not pages).
    stats = xml.split("<loc>http://localhost/stats</loc>", 1)[1].split("</url>", 1)[0]
    assert 'hreflang="my" href="http://localhost/my/stats"' in stats


def test_dates_and_numbers_follow_the_locale(app):
    from datetime import date

    from portal.i18n import format_date, format_yuan

    day = date(2026, 10, 3)
    expected = {"zh": "2026年10月3日", "en": "October 3, 2026", "lo": "3 ຕຸລາ 2026",
                "my": "၂၀၂၆ အောက်တိုဘာ ၃"}

    def in_language(code: str):
        return app.test_request_context("/", environ_overrides={"portal.lang": code})

    for code, text in expected.items():
        with in_language(code):
            assert format_date(day) == text
    with in_language("my"):
        assert format_yuan(12000) == "၁၂,၀၀၀ ယွမ်"
    with in_language("en"):
        assert format_yuan(12000) == "12,000 yuan"
    with in_language("zh"):
        assert format_yuan(12000) == "1.2 万元"


# ---------------------------------------------------------------- the report in Lao and Burmese


def _journey(client, prefix: str, **fields) -> tuple[str, str]:
    form = client.get(prefix + "/report").get_data(as_text=True)
    sent = client.post(prefix + "/report",
                       data={"csrf_token": csrf_from(form), **REPORT_FIELDS, **fields})
    assert sent.status_code == 303, sent.get_data(as_text=True)
    check = client.get(prefix + "/report/check").get_data(as_text=True)
    receipt = client.post(prefix + "/report/send", data={"csrf_token": csrf_from(check)})
    html = receipt.get_data(as_text=True)
    return re.search(r"(JB\d{4}-\d{6})", html).group(1), receipt_code(html)


def test_lao_and_burmese_in_every_field_are_stored_encrypted_and_shown_as_written(app, client):
    fields = {"enterprise_name": "ບໍລິສັດ ກໍ່ສ້າງ ສາມັກຄີ", "place": "ဘိုတင် နယ်စပ်ဂိတ်အနီး",
              "description": LAO + "\n" + BURMESE, "seen_since": "ແຕ່ອາທິດແລ້ວ",
              "callback": "y", "contact": "ဖုန်း ၀၉၄၅၆၇၈၉၀၁၂"}
    number, code = _journey(client, "/lo", **fields)
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.language == "lo"
        for name, value in fields.items():
            if name != "callback":
                assert getattr(report, name) == value
        raw = db.session.execute(db.text(
            "SELECT description, place, contact FROM reports")).one()
        for column in raw:  # ciphertext: no Lao, Burmese or Latin letters of the text survive
            assert "ສາມັກຄີ" not in column and "ငြမ်း" not in column and "၀၉၄" not in column


def test_limits_count_characters_not_bytes_burmese_marks_included(app, client):
    """A Burmese syllable is several code points (base, medial, vowel sign, tone mark, virama):
    the limits count code points, as the browser's maxlength does for these scripts, so a
    description of exactly DESCRIPTION_MAX code points (three bytes each in UTF-8) is taken and
    one more is refused, with the message in Burmese."""
    limit = report_service.DESCRIPTION_MAX
    text = ("မြန်မာ" * limit)[:limit]
    assert len(text.encode()) == 3 * limit
    number, code = _journey(client, "/my", description=text)
    with app.app_context():
        assert db.session.scalar(select(Report)).description == text
    form = client.get("/my/report").get_data(as_text=True)
    refused = client.post("/my/report", data={"csrf_token": csrf_from(form), **REPORT_FIELDS,
                                              "description": text + "ာ"})
    assert refused.status_code == 400
    assert f"စာလုံး {limit} လုံးထက် မပိုရ။" in refused.get_data(as_text=True)
    # The same limit for Lao with its combining vowels and tone marks.
    lao = ("ນ້ຳ" * limit)[:report_service.NAME_MAX + 1]
    with pytest.raises(report_service.ReportInvalid) as refused_name:
        report_service.clean_fields({**REPORT_FIELDS, "enterprise_name": lao})
    assert "enterprise_name" in refused_name.value.errors


def test_masking_finds_numbers_written_in_lao_and_burmese_digits():
    assert mask_personal_data("ເບີໂທ ໑໓໘໑໒໓໔໕໖໗໘ ຂອງຜູ້ຈັດການ") == "ເບີໂທ 138****5678 ຂອງຜູ້ຈັດການ"
    assert mask_personal_data("ဖုန်း ၁၃၈ ၁၂၃၄ ၅၆၇၈ ကို") == "ဖုန်း 138****5678 ကို"
    # Lao and Burmese letters around a number do not hide it, and are kept as they are.
    assert mask_personal_data("ບັດ110101199003074578ແລະ") == "ບັດ1101**************ແລະ"


def test_a_receipt_code_from_lao_opens_the_case_in_every_language(app, client):
    number, code = _journey(client, "/lo", description=LAO)
    for prefix in ("", "/en", "/lo", "/my"):
        token = csrf_from(client.get(prefix + "/report/followup").get_data(as_text=True))
        case = client.post(prefix + "/report/followup", data={"csrf_token": token, "code": code})
        html = case.get_data(as_text=True)
        assert case.status_code == 200 and number in html and LAO in html


def test_the_office_sees_the_language_in_the_queue_and_the_case(app, client):
    _journey(client, "/lo", county="勐腊县", description=LAO)
    _journey(client, "/my", county="勐腊县", description=BURMESE)
    _journey(client, "", county="勐腊县")
    staff = client.application.test_client()
    with app.app_context():
        lao_id = db.session.scalar(select(Report.id).where(Report.language == "lo"))
    login(staff, ("handler",), username="handler.lao")
    queue = staff.get("/staff/reports/").get_data(as_text=True)
    assert queue.count("语言：") == 2
    assert '语言：<span lang="lo">ລາວ</span>' in queue
    assert '语言：<span lang="my">မြန်မာ</span>' in queue
    line = staff.get(f"/staff/reports/{lao_id}").get_data(as_text=True)
    assert '<span lang="lo">ລາວ</span>' in line


def test_reports_made_before_the_language_column_are_chinese(app):
    with app.app_context():
        assert Report.__table__.c.language.server_default.arg == "zh"


def test_translated_endpoints_exist(app):
    """Every endpoint named translated is a route of the app (a renamed view would otherwise
    silently drop out of every language)."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert TRANSLATED_ENDPOINTS <= endpoints, TRANSLATED_ENDPOINTS - endpoints


def test_a_photo_upload_in_lao_keeps_the_journey(app, client):
    form = client.get("/lo/report").get_data(as_text=True)
    import io

    response = client.post("/lo/report", data={
        "csrf_token": csrf_from(form), **REPORT_FIELDS, "description": LAO,
        "photos": [(io.BytesIO(jpeg_bytes()), "ຮູບ.jpg")]}, content_type="multipart/form-data")
    assert response.status_code == 303
    check = client.get("/lo/report/check")
    html = assert_translated(check, "check page with a photo")
    assert "1 ຮູບ" in html


def test_the_pdf_certificate_keeps_its_chinese_and_adds_the_labels(app, client):
    from portal.credit import pdf

    if not pdf.available():
        pytest.skip("no CJK font for the PDF (fonts-noto-cjk)")
    data = _published(app)
    fonts = {"zh": [], "en": [], "lo": [b"NotoSansLao"], "my": [b"NotoSansMyanmar"]}
    for lang, wanted in fonts.items():
        prefix = "" if lang == "zh" else f"/{lang}"
        result = client.get(f"{prefix}/credit?code={data['uscc']}").get_data(as_text=True)
        issued = client.post(f"{prefix}/credit/certificate",
                             data={"csrf_token": csrf_from(result), "code": data["uscc"]})
        number = re.search(r"number=([\w-]+)", issued.headers["Location"]).group(1)
        body = client.get(f"{prefix}/credit/certificate.pdf?number={number}").data
        assert body.startswith(b"%PDF")
        for font in (b"NotoSansLao", b"NotoSansMyanmar"):
            assert (font in body) == (font in wanted), (lang, font)


def test_every_step_note_the_services_write_reads_in_the_reporters_language(app):
    """The demo runs every step through the real services (acceptance, extension, verification,
    duplicates, closing, a linked decision, rewards approved, rejected and paid, the 督办 loop):
    each note a reporter can see is told in their language, with nothing but what a person typed
    and official numbers left in Chinese; in Chinese it reads as the services wrote it."""
    from flask import render_template_string

    from portal.models import REPORT_EVENT_KINDS, ReportEvent
    from portal.services.demo import reports as demo_reports
    from portal.services.demo.published import load_demo
    from portal.services.demo.supervision import load_demo_supervision

    with app.app_context():
        load_demo(size=120)
        demo_reports.load_demo_reports(len(demo_reports.SCRIPT))
        load_demo_supervision(12)
        events = db.session.scalars(select(ReportEvent)).all()
        notes = {(e.kind, e.reporter_note) for e in events if e.reporter_note}
    kinds = {kind for kind, _ in notes}
    assert {"accepted", "verified", "closed", "duplicate", "decision_linked", "reward_approved",
            "reward_paid", "supervision_opened", "supervision_listed",
            "supervision_rectifying"} <= kinds, kinds
    # Words a handler typed follow the system's words; the demo marks them 【演示数据】.
    typed = re.compile(r"【演示数据】.*", re.S)
    template = "{{ reporter_note(note) }}|{{ word('event', kind, label) }}"
    for lang in (*PREFIXED, None):
        with app.test_request_context(environ_base={"portal.lang": lang} if lang else {}):
            for kind, note in sorted(notes):
                shown = render_template_string(template, note=note, kind=kind,
                                               label=REPORT_EVENT_KINDS[kind])
                if lang is None:  # Chinese: as the services wrote it (amounts in the page's style)
                    text = re.sub(r"<[^>]+>", "", shown.split("|")[0]).replace("&amp;", "&")
                    assert text == note or kind.startswith("reward_"), (text, note)
                    continue
                # Official numbers stay Chinese (marked); what is left "as written" must be what
                # a person typed; everything else is in the reader's language.
                rest = re.sub(r'<span lang="zh-CN">[^<]*</span>', "", shown)
                as_written = re.findall(r'<span translate="no">([^<]*)</span>', rest)
                assert all(typed.fullmatch(t.strip()) for t in as_written), (lang, note, shown)
                rest = re.sub(r'<span translate="no">[^<]*</span>', "", rest)
                assert not HAN.search(rest), (lang, kind, note, shown)
