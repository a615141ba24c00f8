"""``flask --app portal remask``: what was stored before a masking rule existed is masked by it,
on the published page, in the public history and in search."""

from __future__ import annotations

from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from portal.models import ItemVersion
from tests import factories


def test_remask_masks_stored_items_and_their_history(app, client, runner):
    with app.app_context():
        # Stored by an earlier version: a mobile with dots, a natural person's full name and
        # home address, an ID with a typo in its check digit, a phone split by markup.
        decision = factories.decision(
            enterprise=None, uscc=None, party_name="张三丰",
            party_address="景洪市嘎洒镇曼景法村12号", county="景洪市",
            facts="张三丰，手机138.1234.5678，身份证号532801198503121230。")
        decision.enterprise = None
        company = factories.decision(facts="经查，该公司未按规定排查治理隐患。")
        accident = factories.accident(report_html="<p>家属电话138<strong>1234</strong>5678</p>")
        db.session.flush()
        db.session.add(ItemVersion(kind="decisions", item_id=decision.id, number=1,
                                   summary="修改：当事人", changes={
                                       "party_name": ["张三丰", "张三丰"],
                                       "facts": ["电话 139 1234 5678", "x"]}))
        db.session.commit()
        ids = decision.id, company.id, accident.id

    result = runner.invoke(args=["remask"])
    assert result.exit_code == 0, result.output
    assert "decisions 1 条" in result.output and "修改记录 1 条" in result.output

    page = client.get(f"/decisions/{ids[0]}").get_data(as_text=True)
    for secret in ("张三丰", "曼景法村", "13812345678", "138.1234.5678", "532801198503121230",
                   "139 1234 5678"):
        assert secret not in page
    assert "张某" in page and "138****5678" in page and "5328**************" in page
    report = client.get(f"/accidents/{ids[2]}").get_data(as_text=True)
    assert "<strong>1234</strong>" not in report and "138****5678" in report
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "remask")).all()
        assert sorted(e.object_kind for e in events) == ["accidents", "decisions"]
        assert all("张三丰" not in str(e.summary) for e in events)
        [version] = db.session.scalars(select(ItemVersion)).all()
        assert version.changes["party_name"] == ["张某", "张某"]
    found = client.get("/api/v1/search", query_string={"q": "张三丰"}).get_json()
    assert found["count"] == 0
    assert client.get("/api/v1/search", query_string={"q": "张某"}).get_json()["count"] >= 1
    # A second run finds nothing left to do.
    again = runner.invoke(args=["remask"])
    assert "decisions 0 条" in again.output and "修改记录 0 条" in again.output
