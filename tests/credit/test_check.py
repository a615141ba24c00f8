"""``/credit``: the credit check by code or name, typo suggestions, the record, the limit."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
import time_machine

from portal.domain.credit import BLACKLIST_RESTRICTIONS
from portal.domain.credit_code import check_character
from portal.extensions import db
from portal.models import utcnow
from portal.services.enterprises import credit as service
from portal.services.publication.history import apply_changes, record_version
from portal.templating import format_datetime
from tests import factories
from tests.conftest import make_app

TODAY = date(2026, 11, 30)
# Noon in Beijing on TODAY: the blacklist status and "today" are Beijing dates.
FROZEN = "2026-11-30T04:00:00+00:00"


def text_of(response) -> str:
    """The page's visible text, tags dropped, whitespace collapsed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def mistyped(code: str) -> str:
    """``code`` with its check character changed to a wrong one."""
    wrong = "0" if code[17] != "0" else "1"
    assert check_character(code[:17]) != wrong
    return code[:17] + wrong


@pytest.fixture
def listed(app_ctx):
    """An enterprise listed now, with a past listing, an early removal, a withdrawn listing,
    two decisions (one withdrawn), an accident, and a draft decision that must not show."""
    ent = factories.enterprise(name="勐海县信用测试建材有限公司")
    active = factories.blacklist_entry(enterprise=ent, listed_on=date(2026, 3, 1),
                                       grounds="瞒报、谎报生产安全事故")
    factories.blacklist_entry(enterprise=ent, listed_on=date(2021, 5, 10),
                              grounds="12个月内发生2起以上较大生产安全事故")
    factories.blacklist_entry(enterprise=ent, listed_on=date(2024, 1, 15),
                              removed_on=date(2025, 2, 1), removal_reason="已完成整改，信用修复")
    factories.blacklist_entry(enterprise=ent, listed_on=date(2025, 6, 1),
                              withdrawn_at=utcnow(), withdrawn_reason="认定有误")
    decision = factories.decision(enterprise=ent, document_no="西应急罚〔2026〕501号")
    factories.decision(enterprise=ent, document_no="西应急罚〔2026〕502号",
                       withdrawn_at=utcnow(), withdrawn_reason="已被撤销")
    factories.decision(enterprise=ent, published=False, document_no="西应急罚〔2026〕503号")
    accident = factories.accident(enterprise=ent)
    db.session.commit()
    return {"code": ent.uscc, "name": ent.name, "active": active.id, "decision": decision.id,
            "accident": accident.id}


@time_machine.travel(FROZEN, tick=False)
def test_the_record_shows_the_listing_its_restrictions_history_and_links(client, listed):
    response = client.get(f"/credit?code={listed['code']}")
    assert response.status_code == 200
    text = text_of(response)
    html = response.get_data(as_text=True)
    assert "列入严重失信主体名单，公示期内" in text
    assert listed["name"] in text
    # since, until, grounds of the active listing, and its permalink
    assert "列入日期 2026年3月1日" in text
    assert "公示期满日期 2029年3月1日" in text or "公示期满日期 2029年3月2日" in text
    assert "瞒报、谎报生产安全事故" in text
    assert f'href="/blacklist/{listed["active"]}"' in html
    for restriction in BLACKLIST_RESTRICTIONS:
        assert restriction in text
    # past listing, early removal with its reason, withdrawn listing marked
    assert "已期满移出" in text
    assert "2025年2月1日提前移出（信用修复）：已完成整改，信用修复" in text
    assert "已于" in text and "撤回，不计入状态" in text
    # decisions and accidents with links; the withdrawn one marked; the draft absent
    assert f'href="/decisions/{listed["decision"]}"' in html
    assert f'href="/accidents/{listed["accident"]}"' in html
    assert "西应急罚〔2026〕502号 已撤回" in text
    assert "503号" not in text
    assert "行政执法决定（2 条）" in text
    record = service.record_for(listed["code"])
    items = [*record.listings, *record.decisions, *record.accidents]
    assert record.last_changed == max(max(filter(None, (i.published_at, i.modified_at, i.withdrawn_at)))
                                      for i in items)
    assert f"记录最后更新：{format_datetime(record.last_changed)}" in text
    assert "出具信用记录查询证明" in text


@time_machine.travel(FROZEN, tick=False)
def test_restrictions_are_not_listed_once_the_listing_has_ended(client, app_ctx):
    entry = factories.blacklist_entry(listed_on=date(2020, 1, 2))
    db.session.commit()
    text = text_of(client.get(f"/credit?code={entry.uscc}"))
    assert "未在严重失信主体名单公示期内" in text
    assert "曾被列入" in text
    assert "公示期内依法依规受到的限制" not in text


@pytest.mark.parametrize("typed", [
    "{code_lower}",
    " {spaced} ",
    "{fullwidth}",
])
def test_the_code_is_normalised_before_it_is_looked_up(client, listed, typed):
    code = listed["code"]
    raw = typed.format(
        code_lower=code.lower(),
        spaced=" ".join(code[i:i + 6] for i in range(0, 18, 6)),
        fullwidth="".join(chr(ord(c) + 0xFEE0) for c in code),
    )
    response = client.get("/credit", query_string={"code": raw})
    assert response.status_code == 200
    assert listed["name"] in text_of(response)


def test_a_wrong_check_character_says_so_and_suggests_the_code_on_record(client, listed):
    typed = mistyped(listed["code"])
    response = client.get(f"/credit?code={typed}")
    assert response.status_code == 400
    text = text_of(response)
    assert "校验码不符" in text
    assert f"第 18 位应为“{listed['code'][17]}”" in text
    html = response.get_data(as_text=True)
    assert f'href="/credit?code={listed["code"]}"' in html
    assert "您要查询的是不是" in text and listed["name"] in text
    # the error summary links to the field, which keeps what was typed
    assert 'href="#code"' in html
    assert f'value="{typed}"' in html


def test_a_mistyped_body_character_is_suggested_too(client, listed):
    code = listed["code"]
    position = 12
    replacement = "7" if code[position] != "7" else "8"
    typed = code[:position] + replacement + code[position + 1:]
    response = client.get(f"/credit?code={typed}")
    assert "校验码不符" in text_of(response)
    assert f'href="/credit?code={code}"' in response.get_data(as_text=True)


def test_no_suggestion_points_at_a_draft(client, app_ctx):
    draft = factories.decision(published=False)
    db.session.commit()
    response = client.get(f"/credit?code={mistyped(draft.uscc)}")
    text = text_of(response)
    assert "校验码不符" in text
    assert "您要查询的是不是" not in text
    assert draft.uscc not in text


def test_no_suggestion_when_nothing_on_record_is_near(client, app_ctx):
    response = client.get("/credit?code=91350100M000100Y44")
    assert "校验码不符" in text_of(response)
    assert "您要查询的是不是" not in text_of(response)


@pytest.mark.parametrize(("typed", "message"), [
    ("9153280", "统一社会信用代码应为 18 位，您输入了 7 位"),
    ("91532801MA000000189", "您输入了 19 位"),
    ("9153280IMA00000018", "第 8 位“I”不是统一社会信用代码可用的字符（是否应为“1”？）"),
    ("91532801MA0000001S", "第 18 位“S”"),
    ("91532801MA00000*18", "第 16 位“*”"),
    ("x" * 61, "输入过长"),
])
def test_malformed_input_gets_a_clear_message(client, app_ctx, typed, message):
    response = client.get("/credit", query_string={"code": typed})
    assert response.status_code == 400
    assert message in text_of(response)


def test_a_look_alike_letter_suggests_the_code_on_record(client, listed):
    code = listed["code"]
    zero = code.index("0")
    typed = code[:zero] + "O" + code[zero + 1:]
    response = client.get(f"/credit?code={typed}")
    assert "是否应为“0”" in text_of(response)
    assert f'href="/credit?code={code}"' in response.get_data(as_text=True)


def test_no_record_is_a_neutral_statement_of_what_was_searched(client, app_ctx):
    response = client.get("/credit?code=91350100M000100Y43")
    assert response.status_code == 200
    text = text_of(response)
    assert "本平台没有统一社会信用代码为 91350100M000100Y43 的企业的公开记录" in text
    assert "不证明该企业没有失信或违法记录" in text
    assert "严重失信主体名单、行政执法决定和生产安全事故调查报告" in text
    assert "公示期内" not in text.split("本平台没有")[1].split("出具")[0]


def test_an_enterprise_with_only_drafts_has_no_record(client, app_ctx):
    draft = factories.decision(published=False, party_name="勐腊县未公开测试有限公司")
    db.session.commit()
    text = text_of(client.get(f"/credit?code={draft.uscc}"))
    assert "的企业的公开记录" in text
    assert "勐腊县未公开测试有限公司" not in text


def test_a_name_finds_enterprises_by_substring(client, listed, app_ctx):
    other = factories.accident(enterprise=factories.enterprise(name="景洪市（测试）建材厂"))
    factories.decision(published=False, party_name="勐海县草稿建材有限公司",
                       enterprise=factories.enterprise(name="勐海县草稿建材有限公司"))
    db.session.commit()
    response = client.get("/credit", query_string={"name": "建材"})
    assert response.status_code == 200
    text = text_of(response)
    html = response.get_data(as_text=True)
    assert "共 2 家" in text
    assert f'href="/credit?code={listed["code"]}"' in html
    assert f'href="/credit?code={other.uscc}"' in html
    assert "草稿建材" not in text
    # half-width brackets, spaces and full-width letters still match
    assert other.uscc in text_of(client.get("/credit", query_string={"name": "(测试) 建材"}))


def test_a_name_finds_an_enterprise_known_only_through_a_supervision_item(client, app_ctx):
    """Issue 15 §4: a 督办事项 puts its enterprise on the record, so its name finds it (and a
    typo in its code is suggested); a draft, and an item closed more than 3 years ago (off the
    record), do not."""
    known = factories.supervision_item(
        enterprise=factories.enterprise(name="景洪市督办测试橡胶有限公司"))
    factories.supervision_item(published=False,
                               enterprise=factories.enterprise(name="勐腊县督办测试草稿有限公司"))
    factories.supervision_item(
        enterprise=factories.enterprise(name="勐海县督办测试旧案有限公司"), stage="closed",
        listed_on=date(2021, 1, 4), deadline=date(2021, 6, 30), closed_on=date(2021, 6, 1))
    db.session.commit()
    response = client.get("/credit", query_string={"name": "督办测试"})
    text = text_of(response)
    assert response.status_code == 200
    assert "共 1 家" in text and "景洪市督办测试橡胶有限公司" in text
    assert f'href="/credit?code={known.uscc}"' in response.get_data(as_text=True)
    assert "草稿" not in text and "旧案" not in text
    # The record it leads to lists the item.
    assert known.notice_no in text_of(client.get(f"/credit?code={known.uscc}"))
    # A mistyped code finds it among the suggestions.
    assert "景洪市督办测试橡胶有限公司" in text_of(client.get(f"/credit?code={mistyped(known.uscc)}"))


def test_name_results_are_paged(app, client):
    with app.app_context():
        for n in range(5):
            factories.decision(enterprise=factories.enterprise(name=f"分页测试化工有限公司{n}"))
        db.session.commit()
        page_size = app.config["SETTINGS"].page_size
    app.config["SETTINGS"] = app.config["SETTINGS"].__class__(
        **{**app.config["SETTINGS"].__dict__, "page_size": 2}
    )
    try:
        first = text_of(client.get("/credit?name=分页测试"))
        third = client.get("/credit?name=分页测试&page=3")
        beyond = text_of(client.get("/credit?name=分页测试&page=9"))
    finally:
        app.config["SETTINGS"] = app.config["SETTINGS"].__class__(
            **{**app.config["SETTINGS"].__dict__, "page_size": page_size}
        )
    assert "共 5 家" in first and "第 1 / 3 页" in first
    assert "分页测试化工有限公司0" in first and "分页测试化工有限公司2" not in first
    assert "分页测试化工有限公司4" in text_of(third)
    assert "没有第 9 页，共 3 页" in beyond and "分页测试化工有限公司4" in beyond


@pytest.mark.parametrize(("name", "message"), [("矿", "请至少输入企业名称中的 2 个字"),
                                               ("矿" * 201, "输入过长")])
def test_a_name_too_short_or_too_long_is_refused(client, app_ctx, name, message):
    response = client.get("/credit", query_string={"name": name})
    assert response.status_code == 400
    assert message in text_of(response)
    assert 'href="#name"' in response.get_data(as_text=True)


def test_a_name_with_like_wildcards_matches_them_literally(client, listed):
    assert "共 0 家" in text_of(client.get("/credit", query_string={"name": "%_%"}))


def test_hostile_input_is_escaped_and_never_a_500(client, app_ctx):
    for raw in ("<script>alert(1)</script>", "\x00" * 5, "'; DROP TABLE enterprises; --"):
        for field in ("code", "name"):
            response = client.get("/credit", query_string={field: raw})
            assert response.status_code in (200, 400)
            assert "<script>alert" not in response.get_data(as_text=True)


def test_the_empty_page_offers_both_forms_and_explains(client, app_ctx):
    response = client.get("/credit")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="code"' in html and 'name="name"' in html
    assert 'href="/credit/verify"' in html


@time_machine.travel(FROZEN, tick=False)
def test_the_last_change_is_the_latest_of_any_item(client, app_ctx):
    entry = factories.blacklist_entry(listed_on=date(2026, 3, 1))
    db.session.commit()
    with time_machine.travel("2026-12-05T02:00:00+00:00", tick=False):
        record_version(db.session, entry, apply_changes(entry, {"basis": "西应急罚〔2026〕9号"}),
                       "更正列入依据")
        db.session.commit()
        assert "记录最后更新：2026年12月5日 10:00" in text_of(client.get(f"/credit?code={entry.uscc}"))


def test_record_for_ignores_items_of_other_codes(app_ctx):
    mine = factories.decision()
    factories.decision()
    db.session.commit()
    record = service.record_for(mine.uscc, TODAY)
    assert [d.id for d in record.decisions] == [mine.id]


def test_a_pending_listing_is_shown_but_not_active(app_ctx):
    entry = factories.blacklist_entry(listed_on=TODAY + timedelta(days=3))
    db.session.commit()
    record = service.record_for(entry.uscc, TODAY)
    assert record.pending_listings == [entry]
    assert record.status == service.STATUS_NOT_LISTED


@pytest.mark.usefixtures("test_database")
def test_the_credit_pages_are_rate_limited(tmp_path):
    app = make_app(tmp_path, ratelimit_credit="3 per minute")
    client = app.test_client()
    with app.app_context():
        statuses = [client.get("/credit?code=91350100M000100Y43").status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        # one limit for every credit page
        limited = client.get("/credit/verify?code=XSBN-7KQ2-XM9D")
        assert limited.status_code == 429
        assert "请求过于频繁" in limited.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
    app.extensions["search_index"].close()
