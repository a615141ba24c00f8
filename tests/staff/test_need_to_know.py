"""Every staff report and reward URL × role × assignment state (issue 13 §4): only the assigned
handler reads a report's content, photos and messages; an approver sees what the reward decision
needs; payment details only the handler who pays; everyone else the queue line.  Plus finding a
report by its number, and one audit event per view of a report's page (issue 14 §7)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from portal.models import Report, ReportMessage, ReportPhoto, Reward, local_today
from tests import factories
from tests.staff.conftest import csrf_token, login, make_staff

DESCRIPTION = "边坡裂缝宽约十厘米仍在坡下作业"
CONTACT = "回访电话13912345678"
MESSAGE = "裂缝在采场西侧靠近道路"
PAYMENT = "农业银行6228480000000000000张某"
ENTERPRISE = "景洪市举报测试矿业有限公司"
PHOTO = b"\x89PNG-photo-bytes"


@dataclass
class Case:
    report_id: int
    photo_id: int
    reward_id: int
    number: str


def make_case(app, handler_id: int | None) -> Case:
    """A verified report with a photo, a message, contact details and a claimed reward."""
    with app.app_context():
        proposer = make_staff("handler")
        report = factories.accepted_report(
            status="verified", verification_result="true", verified_on=local_today(),
            description=DESCRIPTION, contact=CONTACT, handler_id=handler_id)
        report.decision = factories.decision(fine_yuan=Decimal(52_000))
        report.photos.append(ReportPhoto(media_type="image/png", width=1, height=1, data=PHOTO))
        report.messages.append(ReportMessage(sent_on=local_today(), author="reporter",
                                             body=MESSAGE))
        report.reward = Reward(status="claimed", amount_yuan=7_800, basis="罚款 × 15%",
                               proposed_by_id=proposer.id, proposed_on=local_today(),
                               decided_on=local_today(), claim_due=local_today(),
                               claimed_on=local_today(), claim_method="transfer",
                               payment_details=PAYMENT)
        db.session.commit()
        return Case(report.id, report.photos[0].id, report.reward.id, report.number)


# Who looks, and how the report stands to them.
ACTORS = {
    "assigned handler": (("handler",), "self"),
    "other handler": (("handler",), "other"),
    "handler, case unassigned": (("handler",), None),
    "approver": (("approver",), "other"),
    "approver, case unassigned": (("approver",), None),
    "administrator": (("admin",), "other"),
    "editor": (("editor",), "other"),
}


def client_for(app, who: str) -> tuple[object, Case]:
    roles, assignment = ACTORS[who]
    client = app.test_client()
    user = login(client, roles=roles)
    if assignment == "self":
        handler_id = user.id
    elif assignment == "other":
        with app.app_context():
            handler_id = make_staff("handler").id
    else:
        handler_id = None
    return client, make_case(app, handler_id)


# (what it is, url, who gets 200; the rest get 403)
PAGES = [
    ("queue", "/staff/reports/", {"assigned handler", "other handler", "handler, case unassigned",
                                  "approver", "approver, case unassigned", "administrator"}),
    ("report", "/staff/reports/{report_id}", {
        "assigned handler", "other handler", "handler, case unassigned", "approver",
        "approver, case unassigned", "administrator"}),
    ("photo", "/staff/reports/{report_id}/photos/{photo_id}", {"assigned handler"}),
    ("thumbnail", "/staff/reports/{report_id}/photos/{photo_id}/thumbnail", {"assigned handler"}),
    ("rewards", "/staff/rewards/", {"assigned handler", "other handler",
                                    "handler, case unassigned", "approver",
                                    "approver, case unassigned"}),
    ("reward", "/staff/rewards/{reward_id}", {"assigned handler", "approver",
                                              "approver, case unassigned"}),
]
# What each one may read on the report's and reward's pages.
CONTENT_READERS = {"assigned handler"}
SUMMARY_READERS = {"assigned handler", "approver", "approver, case unassigned"}
PAYMENT_READERS = {"assigned handler"}


@pytest.mark.parametrize("who", sorted(ACTORS))
@pytest.mark.parametrize("what, url, allowed", PAGES, ids=[p[0] for p in PAGES])
def test_who_sees_what_on_every_page(app, who, what, url, allowed):
    client, case = client_for(app, who)
    response = client.get(url.format(**vars(case)))
    assert response.status_code == (200 if who in allowed else 403)
    body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    if what == "photo" and response.status_code == 200:
        assert response.data == PHOTO
    for secret in (DESCRIPTION, CONTACT, MESSAGE):
        assert (secret in body) == (who in CONTENT_READERS and what == "report"), secret
    assert (PAYMENT in body) == (who in PAYMENT_READERS and what == "reward")
    assert (ENTERPRISE in body) == (who in SUMMARY_READERS and what == "report")
    if what in ("queue", "report") and who in allowed:
        assert case.number in body  # the queue line is everyone's


# Steps on a report or reward: (url, form data).  The assigned handler's own steps are tested in
# test_reports.py; here nobody else gets anything done.
STEPS = [
    ("/staff/reports/{report_id}/accept", {}),
    ("/staff/reports/{report_id}/decline", {"decline_reason": "不属于安全生产领域的问题"}),
    ("/staff/reports/{report_id}/message", {"message_body": "请补充照片"}),
    ("/staff/reports/{report_id}/extend", {"extend_days": "10", "extend_reason": "需要联合检查"}),
    ("/staff/reports/{report_id}/verify", {"result": "true"}),
    ("/staff/reports/{report_id}/decision", {"document_no": "西应急罚〔2026〕1号"}),
    ("/staff/reports/{report_id}/duplicate", {"original_number": "JB2026-000001"}),
    ("/staff/reports/{report_id}/close", {"closed_as": "rectified"}),
    ("/staff/reports/{report_id}/reopen", {"reopen_outcome": "close", "reopen_note": "维持办结"}),
    ("/staff/reports/{report_id}/reward", {}),
    ("/staff/reports/{report_id}/take", {}),
    ("/staff/rewards/{reward_id}/pay", {"paid_on": "2026-12-01", "payment_reference": "NX-1"}),
]


def state(app, case: Case) -> tuple:
    with app.app_context():
        report = db.session.get(Report, case.report_id)
        return (report.status, report.handler_id, len(report.messages), report.reward.status,
                report.decision_id)


@pytest.mark.parametrize("who", ["other handler", "approver", "administrator", "editor"])
@pytest.mark.parametrize("url, data", STEPS, ids=[s[0].rsplit("/", 1)[1] for s in STEPS])
def test_nobody_but_the_assigned_handler_works_the_case(app, who, url, data):
    client, case = client_for(app, who)
    before = state(app, case)
    token = csrf_token(client, "/staff/")
    response = client.post(url.format(**vars(case)), data={"csrf_token": token, **data})
    assert response.status_code in (303, 403)
    if response.status_code == 303:  # refused with a message, on the page the account may see
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert DESCRIPTION not in page and PAYMENT not in page
    assert state(app, case) == before


# ---------------------------------------------------------------- take and reassign


def actions(app, report_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_kind == "report",
                                            AuditEvent.object_id == str(report_id))
            .order_by(AuditEvent.seq)))


def test_a_handler_takes_an_unassigned_case_and_then_reads_it(app):
    client, case = client_for(app, "handler, case unassigned")
    url = f"/staff/reports/{case.report_id}"
    before = client.get(url).get_data(as_text=True)
    assert "承办此举报" in before and DESCRIPTION not in before
    token = csrf_token(client, "/staff/")
    assert client.post(f"{url}/take", data={"csrf_token": token}).status_code == 303
    assert DESCRIPTION in client.get(url).get_data(as_text=True)
    assert actions(app, case.report_id) == ["report_take", "report_view"]


def test_an_administrator_reassigns_without_reading(app):
    admin, case = client_for(app, "administrator")
    with app.app_context():
        target = make_staff("handler", username="handler.new")
        target_id = target.id
    url = f"/staff/reports/{case.report_id}"
    page = admin.get(url).get_data(as_text=True)
    assert "改派" in page and DESCRIPTION not in page
    token = csrf_token(admin, "/staff/")
    bad = admin.post(f"{url}/assign", data={"csrf_token": token, "handler_id": "abc"})
    assert bad.status_code == 400
    assert admin.post(f"{url}/assign", data={"csrf_token": token,
                                             "handler_id": str(target_id)}).status_code == 303
    with app.app_context():
        assert db.session.get(Report, case.report_id).handler_id == target_id
    assert actions(app, case.report_id) == ["report_assign"]


def test_the_handler_hands_the_case_over_and_loses_it(app):
    client, case = client_for(app, "assigned handler")
    with app.app_context():
        colleague_id = make_staff("handler", username="handler.colleague").id
    url = f"/staff/reports/{case.report_id}"
    token = csrf_token(client, "/staff/")
    assert client.post(f"{url}/assign", data={"csrf_token": token,
                                              "handler_id": str(colleague_id)}).status_code == 303
    assert DESCRIPTION not in client.get(url).get_data(as_text=True)


# ---------------------------------------------------------------- one event per view


def test_one_audit_event_per_view_of_a_report_whatever_its_photos(app):
    client, case = client_for(app, "assigned handler")
    with app.app_context():
        report = db.session.get(Report, case.report_id)
        for _ in range(4):
            report.photos.append(ReportPhoto(media_type="image/png", width=1, height=1,
                                             data=PHOTO))
        db.session.commit()
        photo_ids = [p.id for p in report.photos]
    for _ in range(2):
        page = client.get(f"/staff/reports/{case.report_id}").get_data(as_text=True)
        # What the browser fetches for the page: its thumbnails, one per photo.
        fetched = [html.unescape(u) for u in re.findall(r'<img src="([^"]+)"', page)]
        assert len(fetched) == len(photo_ids)
        for url in fetched:
            assert client.get(url).status_code == 200, url
    assert actions(app, case.report_id) == ["report_view", "report_view"]
    # Opening a full photo from the page is a step of its own.
    assert f"/staff/reports/{case.report_id}/photos/{photo_ids[0]}" in page
    client.get(f"/staff/reports/{case.report_id}/photos/{photo_ids[0]}")
    assert actions(app, case.report_id) == ["report_view", "report_view", "report_photo_view"]


def test_a_photo_opened_without_its_page_is_audited_by_itself(app):
    client, case = client_for(app, "assigned handler")
    client.get(f"/staff/reports/{case.report_id}/photos/{case.photo_id}")
    assert actions(app, case.report_id) == ["report_photo_view"]


# ---------------------------------------------------------------- find by number


def test_find_a_report_by_its_number_from_the_queue(app):
    client, case = client_for(app, "other handler")
    queue = client.get("/staff/reports/").get_data(as_text=True)
    assert 'action="/staff/reports/find"' in queue and 'name="number"' in queue
    found = client.get("/staff/reports/find", query_string={"number": case.number.lower()})
    assert found.status_code == 303
    assert found.headers["Location"].endswith(f"/staff/reports/{case.report_id}")
    # The case page then shows what this account may see: the line, not the content.
    page = client.get(found.headers["Location"]).get_data(as_text=True)
    assert case.number in page and DESCRIPTION not in page
    unknown = client.get("/staff/reports/find", query_string={"number": "JB2026-999999"})
    assert unknown.status_code == 404
    html = unknown.get_data(as_text=True)
    assert "没有编号为 JB2026-999999 的举报" in html and 'value="JB2026-999999"' in html
    junk = client.get("/staff/reports/find", query_string={"number": "x\x1fy" * 50})
    assert junk.status_code == 400 and "举报编号的格式为" in junk.get_data(as_text=True)
    empty = client.get("/staff/reports/find", query_string={"number": "  "})
    assert empty.status_code == 200 and "举报编号的格式" not in empty.get_data(as_text=True)
