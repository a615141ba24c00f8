"""Nothing about a 信用修复 applicant (name, role, contact, what they wrote, documents) appears on
any public page, feed, export or search result, before or after the decision."""

from __future__ import annotations

import time_machine

from portal.credit.models import RepairApplication
from portal.extensions import db
from portal.services.enterprises import repair
from tests.credit.repair_helpers import APPLICANT, apply, listed
from tests.staff.conftest import make_staff

SECRETS = [APPLICANT["applicant_name"], APPLICANT["contact"], "紫藤标记", "法定代表人"]


def public_texts(client, entry_id: int, uscc: str) -> dict[str, str]:
    paths = [
        "/", "/blacklist", f"/blacklist/{entry_id}", f"/credit?code={uscc}",
        "/credit?name=测试矿业", "/blacklist.csv", "/api/v1/blacklist",
        f"/api/v1/blacklist/{entry_id}", "/feeds/blacklist.atom", "/compliance", "/stats",
        "/sitemap.xml", "/data",
    ] + [f"/search?q={q}" for q in SECRETS] + [f"/api/v1/search?q={q}" for q in SECRETS]
    texts = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 400), (path, response.status_code)
        texts[path] = response.get_data(as_text=True)
    return texts


def assert_nothing_shown(texts: dict[str, str]) -> None:
    for path, text in texts.items():
        for secret in SECRETS:
            if path.startswith(("/search?q=", "/api/v1/search?q=")) and secret in path:
                # The page repeats the query itself: it must find nothing.
                assert "没有找到包含" in text or '"count":0' in text, path
                continue
            assert secret not in text, (path, secret)


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_no_public_page_feed_export_or_search_shows_the_applicant(app, runner):
    with app.app_context():
        entry = listed()
        entry_id, uscc = entry.id, entry.uscc
    apply(app.test_client(), uscc)
    runner.invoke(args=["reindex"])
    client = app.test_client()
    under_review = public_texts(client, entry_id, uscc)
    assert "信用修复申请审核中" in under_review[f"/blacklist/{entry_id}"]
    assert_nothing_shown(under_review)
    with app.app_context():
        application = db.session.scalars(db.select(RepairApplication)).one()
        editor, approver = make_staff("editor"), make_staff("approver")
        repair.accept(application, actor=editor)
        repair.propose(application, actor=editor, outcome="grant", decision_no="信修9号",
                       reasons="紫藤标记丙：材料齐全。")
        repair.approve(application, actor=approver)
    runner.invoke(args=["reindex"])
    decided = public_texts(client, entry_id, uscc)
    assert "准予信用修复（信修9号）" in decided[f"/blacklist/{entry_id}"]
    assert_nothing_shown(decided)
