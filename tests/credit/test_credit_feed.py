"""The per-credit-code Atom feed: everything published about one code, removals included."""

from __future__ import annotations

from datetime import date
from xml.etree import ElementTree

import time_machine

from portal.extensions import db
from portal.services.enterprises import blacklist_admin
from tests import factories

ATOM = "{http://www.w3.org/2005/Atom}"


@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_the_feed_lists_every_kind_about_the_code_and_removals(app, app_ctx, client):
    ent = factories.enterprise(name="勐腊县订阅测试矿业有限公司")
    entry = factories.blacklist_entry(enterprise=ent, listed_on=date(2025, 1, 10))
    factories.blacklist_entry(enterprise=ent, subject_type="person", person_name="岩某",
                              person_role="主要负责人", person_id_masked="5328" + "*" * 14,
                              listed_on=date(2025, 1, 10))
    factories.decision(enterprise=ent, document_no="西应急罚〔2026〕901号")
    factories.accident(enterprise=ent)
    factories.supervision_item(enterprise=ent, notice_no="西安督〔2026〕903号")
    factories.decision(document_no="西应急罚〔2026〕902号")  # another enterprise's
    db.session.commit()
    blacklist_admin.remove_early(entry, removed_on=date(2026, 11, 20),
                                 reason="信用修复，决定文号 信修5号")
    response = client.get(f"/credit/feed.atom?code={ent.uscc.lower()}")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = ElementTree.fromstring(response.data)
    titles = [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")]
    ids = [e.findtext(f"{ATOM}id") for e in feed.iter(f"{ATOM}entry")]
    assert len(ids) == len(set(ids)) == 6
    assert any("901号" in t for t in titles) and not any("902号" in t for t in titles)
    assert sum("/supervision/" in i for i in ids) == 1  # the 督办 item about the code
    assert any("提前移出名单（信用修复）" in t for t in titles)
    assert any(t.startswith("岩某") for t in titles)
    page = client.get(f"/credit?code={ent.uscc}").get_data(as_text=True)
    assert f"/credit/feed.atom?code={ent.uscc}" in page


def test_a_wrong_code_is_a_400(client):
    assert client.get("/credit/feed.atom?code=91350100M000100Y44").status_code == 400
    assert client.get("/credit/feed.atom").status_code == 400
