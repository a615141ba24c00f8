"""The back office's report pages: queue, report page, photos, every step through its form
(CSRF on), rewards, audit events for each step and each view, and who may do what."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.domain.workdays import MAX_REST_DAYS_IN_A_ROW
from portal.extensions import db
from portal.models import (
    REWARD_REJECTED_NOTE,
    Report,
    ReportMessage,
    ReportPhoto,
    Reward,
    local_today,
)
from tests import factories
from tests.staff.conftest import csrf_token, login

SECRET_WORDS = "边坡裂缝宽约十厘米"


def post(client, url: str, data: dict | None = None, token: bool = True):
    payload = dict(data or {})
    if token:
        payload["csrf_token"] = csrf_token(client, "/staff/")
    return client.post(url, data=payload)


def take(client, report_id: int) -> None:
    """Take the report as ``client``'s handler: only then is its content theirs to read."""
    assert post(client, f"/staff/reports/{report_id}/take").status_code == 303


def make_report(app, **fields) -> int:
    with app.app_context():
        report = factories.report(description=SECRET_WORDS, **fields)
        db.session.commit()
        return report.id


def load(app, report_id: int) -> Report:
    with app.app_context():
        report = db.session.get(Report, report_id)
        db.session.expunge(report)
        return report


def actions(app, kind: str = "report") -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_kind == kind)
            .order_by(AuditEvent.seq)
        ))


def events(app, report_id: int) -> list[tuple[str, str | None]]:
    with app.app_context():
        report = db.session.get(Report, report_id)
        return [(e.kind, e.note) for e in report.events]


@pytest.fixture
def handler(app):
    client = app.test_client()
    client.user = login(client, roles=("handler",))
    return client


@pytest.fixture
def approver(app):
    client = app.test_client()
    client.user = login(client, roles=("approver",))
    return client


# ---------------------------------------------------------------- the queue


FROZEN = datetime(2026, 11, 20, 2, tzinfo=UTC)  # a Friday, 10:00 in Beijing


@time_machine.travel(FROZEN, tick=False)
def test_the_queue_is_ordered_by_deadline_overdue_first(app):
    handler = app.test_client()
    login(handler, roles=("handler",))  # signed in at the frozen time, so not idle
    today = date(2026, 11, 20)
    with app.app_context():
        closed = factories.report(status="closed", closed_as="rectified", received_on=date(2026, 6, 1))
        later = factories.accepted_report(accepted_on=today - timedelta(days=10))  # due in 50 days
        overdue_acceptance = factories.report(received_on=date(2026, 10, 1))
        # Accepted 09-23: 60 days end Sunday 11-22, moved to Monday 11-23: due in 3 days.
        soon = factories.accepted_report(accepted_on=date(2026, 9, 23))
        # Accepted 09-18: 60 days end Tuesday 11-17, 3 days before the frozen Friday 11-20.
        overdue_verification = factories.accepted_report(accepted_on=date(2026, 9, 18))
        fresh = factories.report(received_on=today)  # due in 15 working days
        reopened = factories.accepted_report(status="reopened",
                                             accepted_on=today - timedelta(days=30))
        db.session.commit()
        expected = [overdue_acceptance, overdue_verification, soon, fresh, reopened, later, closed]
        numbers = [r.number for r in expected]
        overdue_acceptance_id = overdue_acceptance.id
    response = handler.get("/staff/reports/")
    assert response.status_code == 200, response.headers.get("Location")
    html = response.get_data(as_text=True)
    shown = re.findall(r">(JB\d{4}-\d{6})</a>", html)
    assert shown == numbers
    # Received on 1 October: 15 working days after the National Day holiday (with 调休).
    late = (today - load(app, overdue_acceptance_id).acceptance_due).days
    assert late == 24
    assert f"逾期 {late} 天" in html and "逾期 3 天" in html and "剩 3 天" in html
    assert html.count('class="overdue"') == 2
    assert SECRET_WORDS not in html  # the queue shows no report content


def test_the_queue_filters_by_status_and_kind_and_pages(app, handler):
    with app.app_context():
        hazard = factories.report(kind="hazard")
        concealed = factories.report(kind="concealed_accident")
        accepted = factories.accepted_report(kind="violation")
        closed = factories.report(status="closed")
        db.session.commit()
        numbers = {r.id: r.number for r in (hazard, concealed, accepted, closed)}

    def shown(query: str) -> set[str]:
        response = handler.get("/staff/reports/" + query)
        assert response.status_code == 200
        return set(re.findall(r">(JB\d{4}-\d{6})</a>", response.get_data(as_text=True)))

    assert shown("?kind=concealed_accident") == {numbers[concealed.id]}
    assert shown("?status=accepted") == {numbers[accepted.id]}
    assert shown("?status=open") == {numbers[i] for i in (hazard.id, concealed.id, accepted.id)}
    assert shown("?status=nonsense&kind=x") == set(numbers.values())  # ignored, not an error
    app.config["SETTINGS"] = dataclasses.replace(app.config["SETTINGS"], page_size=3)
    first, second = shown("?page=1"), shown("?page=2")
    assert len(first) == 3 and len(second) == 1 and not first & second
    assert "第 1 / 2 页" in handler.get("/staff/reports/").get_data(as_text=True)
    assert shown("?page=abc") == first


# ---------------------------------------------------------------- the report page and photos


def test_opening_a_report_shows_everything_and_is_audited(app, handler):
    with app.app_context():
        report = factories.report(description=SECRET_WORDS, uscc_digest="d1", contact="13800000000")
        report.photos.append(ReportPhoto(media_type="image/png", width=4, height=3, data=b"\x89PNG"))
        report.messages.append(ReportMessage(sent_on=local_today(), author="reporter",
                                             body="裂缝在西侧"))
        other = factories.report(uscc_digest="d1")
        db.session.commit()
        report_id, photo_id, other_number = report.id, report.photos[0].id, other.number
    take(handler, report_id)
    html = handler.get(f"/staff/reports/{report_id}").get_data(as_text=True)
    for text in (SECRET_WORDS, "景洪市举报测试矿业有限公司", "13800000000", "裂缝在西侧",
                 other_number, f"/staff/reports/{report_id}/photos/{photo_id}", "举报已收到"):
        assert text in html
    assert actions(app) == ["report_take", "report_view"]
    handler.get(f"/staff/reports/{report_id}")
    assert actions(app) == ["report_take", "report_view", "report_view"]  # every time


def test_photos_stream_decrypted_uncached_and_audited(app, handler):
    with app.app_context():
        report = factories.report()
        report.photos.append(ReportPhoto(media_type="image/jpeg", width=1, height=1,
                                         data=b"\xff\xd8jpeg-bytes"))
        elsewhere = factories.report()
        db.session.commit()
        ids = report.id, report.photos[0].id, elsewhere.id
    take(handler, ids[0])
    take(handler, ids[2])
    response = handler.get(f"/staff/reports/{ids[0]}/photos/{ids[1]}")
    assert response.status_code == 200
    assert response.data == b"\xff\xd8jpeg-bytes"
    assert response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "no-store"
    # Opened on its own, not from the report's page: audited by itself.
    assert [a for a in actions(app) if a != "report_take"] == ["report_photo_view"]
    assert handler.get(f"/staff/reports/{ids[2]}/photos/{ids[1]}").status_code == 404
    assert handler.get(f"/staff/reports/{ids[0]}/photos/99999").status_code == 404
    assert handler.get("/staff/reports/99999").status_code == 404


def test_editors_see_no_report(app):
    report_id = make_report(app)
    client = app.test_client()
    login(client, roles=("editor",))
    for url in ("/staff/reports/", f"/staff/reports/{report_id}", "/staff/rewards/"):
        response = client.get(url)
        assert response.status_code == 403
        assert SECRET_WORDS not in response.get_data(as_text=True)
    home = client.get("/staff/").get_data(as_text=True)
    assert "/staff/reports/" not in home


def test_administrators_see_queue_lines_but_no_report_content(app):
    report_id = make_report(app)
    client = app.test_client()
    login(client, roles=("admin",))
    for url in ("/staff/reports/", f"/staff/reports/{report_id}"):
        response = client.get(url)
        assert response.status_code == 200
        assert SECRET_WORDS not in response.get_data(as_text=True)
    assert client.get("/staff/rewards/").status_code == 403
    assert actions(app) == []  # no content seen, nothing to audit as a view


def test_home_links_handlers_and_approvers_to_their_work(app, handler, approver):
    with app.app_context():
        factories.report(received_on=date(2026, 1, 5))  # long overdue
        db.session.commit()
    for client in (handler, approver):
        html = client.get("/staff/").get_data(as_text=True)
        assert "待办举报 1 件" in html and "逾期 1 件" in html and "待审批奖励 0 项" in html
        assert 'href="/staff/reports/"' in html and 'href="/staff/rewards/"' in html


# ---------------------------------------------------------------- steps through the pages


@time_machine.travel(datetime(2026, 8, 4, 2, tzinfo=UTC), tick=False)  # 10:00 in Beijing
def test_accept_through_the_page(app):
    handler = app.test_client()
    login(handler, roles=("handler",))  # signed in at the frozen time, so not idle
    report_id = make_report(app)
    response = post(handler, f"/staff/reports/{report_id}/accept")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/reports/{report_id}")
    page = handler.get(response.headers["Location"]).get_data(as_text=True)
    assert "已受理，核查期限为" in page
    report = load(app, report_id)
    assert report.status == "accepted"
    # 60 days after 2026-08-04: Saturday 10-03, in the National Day holiday → Thursday 10-08.
    assert report.verification_due == date(2026, 10, 8)
    # Accepting again is refused with a message, not an error page.
    again = post(handler, f"/staff/reports/{report_id}/accept")
    assert again.status_code == 303
    assert "不能受理" in handler.get(again.headers["Location"]).get_data(as_text=True)
    assert actions(app).count("report_accept") == 1


def test_csrf_is_required(app, handler):
    report_id = make_report(app)
    response = post(handler, f"/staff/reports/{report_id}/accept", token=False)
    assert response.status_code == 303  # the blueprint's CSRF handler: "页面已过期"
    assert "页面已过期" in handler.get(response.headers["Location"]).get_data(as_text=True)
    assert load(app, report_id).status == "received"


def test_decline_errors_link_to_the_field_and_keep_the_input(app, handler):
    report_id = make_report(app)
    take(handler, report_id)
    response = post(handler, f"/staff/reports/{report_id}/decline", {"decline_reason": "短"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html and 'href="#decline_reason"' in html
    assert re.search(r'<textarea[^>]*id="decline_reason"[^>]*>\s*短</textarea>', html)
    assert "<details class=\"step\" open>" in html
    assert load(app, report_id).status == "received"
    response = post(handler, f"/staff/reports/{report_id}/decline",
                    {"decline_reason": "不属于安全生产举报范围，请向市场监管部门反映。"})
    assert response.status_code == 303
    assert load(app, report_id).status == "declined"
    assert events(app, report_id)[-1] == ("declined", "不属于安全生产举报范围，请向市场监管部门反映。")
    assert "report_decline" in actions(app)


def test_message_extend_verify_link_close_through_the_pages(app, handler):
    with app.app_context():
        report = factories.accepted_report()
        factories.decision(document_no="西应急罚〔2026〕501号", fine_yuan=Decimal(80000),
                           party_name=report.enterprise_name)
        db.session.commit()
        report_id = report.id
    base = f"/staff/reports/{report_id}"
    take(handler, report_id)
    page = handler.get(base).get_data(as_text=True)
    assert '<option value="西应急罚〔2026〕501号">' in page  # the 文号 picker suggests it

    assert post(handler, base + "/message", {"message_body": ""}).status_code == 400
    assert post(handler, base + "/message", {"message_body": "请问裂缝在哪一侧？"}).status_code == 303
    bad = post(handler, base + "/extend", {"extend_days": "31", "extend_reason": "需要检测"})
    assert bad.status_code == 400 and 'href="#extend_days"' in bad.get_data(as_text=True)
    assert post(handler, base + "/extend",
                {"extend_days": "30", "extend_reason": "需要委托检测机构检测"}).status_code == 303
    refused = post(handler, base + "/extend", {"extend_days": "5", "extend_reason": "再延一次"})
    assert "只能延长一次" in handler.get(refused.headers["Location"]).get_data(as_text=True)
    assert post(handler, base + "/verify", {"result": ""}).status_code == 400
    assert post(handler, base + "/verify", {"result": "true"}).status_code == 303
    unknown = post(handler, base + "/decision", {"document_no": "西应急罚〔2026〕9999号"})
    assert unknown.status_code == 400 and "没有这个文号" in unknown.get_data(as_text=True)
    assert post(handler, base + "/decision",
                {"document_no": "西应急罚〔2026〕501号"}).status_code == 303
    wrong = post(handler, base + "/close", {"closed_as": "unfounded"})
    assert wrong.status_code == 400 and 'href="#closed_as"' in wrong.get_data(as_text=True)
    assert post(handler, base + "/close",
                {"closed_as": "rectified", "close_note": "已完成整改"}).status_code == 303
    report = load(app, report_id)
    assert (report.status, report.closed_as, report.extension_reason) == (
        "closed", "rectified", "需要委托检测机构检测")
    kinds = [kind for kind, _ in events(app, report_id)]
    assert kinds == ["received", "accepted", "extended", "verified", "decision_linked", "closed"]
    steps = [a for a in actions(app) if a != "report_view"]
    assert steps == ["report_take", "report_message", "report_extend", "report_verify", "report_link_decision",
                     "report_close"]


def test_a_hazard_and_a_concealed_part_recorded_through_the_pages(app, handler):
    with app.app_context():
        report = factories.accepted_report(kind="hazard")
        factories.decision(document_no="西应急罚〔2026〕502号", fine_yuan=Decimal(500_000))
        db.session.commit()
        report_id = report.id
    take(handler, report_id)
    base = f"/staff/reports/{report_id}"
    # Deaths without the level: the error at its field, what was typed kept.
    bad = post(handler, base + "/verify", {"result": "true", "concealed_deaths": "2"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'href="#confirmed_level"' in html
    assert 'name="concealed_deaths"' in html and 'value="2"' in html
    assert post(handler, base + "/verify", {"result": "true", "concealed_deaths": "2",
                                            "confirmed_level": "2"}).status_code == 303
    # The decision also punished the concealment: the hazard part's fine is recorded apart.
    for typed, message in (("abc", None), ("500000.01", "不能超过该决定的罚款金额")):
        bad = post(handler, base + "/decision",
                   {"document_no": "西应急罚〔2026〕502号", "hazard_fine_yuan": typed})
        html = bad.get_data(as_text=True)
        assert bad.status_code == 400 and 'href="#hazard_fine_yuan"' in html
        assert f'value="{typed}"' in html and (message is None or message in html)
    assert post(handler, base + "/decision", {"document_no": "西应急罚〔2026〕502号",
                                              "hazard_fine_yuan": "40000"}).status_code == 303
    page = handler.get(base).get_data(as_text=True)
    # 15 % of ¥40,000 = ¥6,000; 2 × ¥40,000 (较大) = ¥80,000; ¥86,000 in all.
    assert "按奖励办法可奖励 <strong>8.6 万元</strong>" in page
    assert "其中对隐患或违法行为 4 万元" in page and "瞒报死亡人数" in page
    response = post(handler, base + "/reward")
    assert response.status_code == 303
    with app.app_context():
        reward = db.session.get(Report, report_id).reward
        assert reward.amount_yuan == 86_000
        assert reward.basis == ("隐患或违法行为：罚款 ¥40,000 × 15% = ¥6,000；瞒报事故：瞒报死亡 2 人 × "
                                "¥40,000（较大事故）= ¥80,000；合计 ¥86,000")


def test_duplicate_and_reopening_through_the_pages(app, handler):
    with app.app_context():
        first = factories.accepted_report(uscc_digest="same")
        second = factories.report(uscc_digest="same")
        reopened = factories.accepted_report(status="reopened", closed_as="rectified")
        db.session.commit()
        ids = first.id, second.id, reopened.id
        first_number = first.number
    for report_id in ids:
        take(handler, report_id)
    later = post(handler, f"/staff/reports/{ids[0]}/duplicate", {"original_number": f"JB2026-{ids[1]:06d}"})
    assert later.status_code == 400 and "只能合并到先收到的举报" in later.get_data(as_text=True)
    assert post(handler, f"/staff/reports/{ids[1]}/duplicate",
                {"original_number": "no number"}).status_code == 400
    response = post(handler, f"/staff/reports/{ids[1]}/duplicate", {"original_number": first_number})
    assert response.status_code == 303
    second = load(app, ids[1])
    assert (second.status, second.closed_as, second.duplicate_of_id) == ("closed", "duplicate", ids[0])
    assert "只奖励最先受理的举报" in events(app, ids[1])[-1][1]

    assert post(handler, f"/staff/reports/{ids[2]}/reopen",
                {"reopen_outcome": "accept", "reopen_note": ""}).status_code == 400
    assert post(handler, f"/staff/reports/{ids[2]}/reopen",
                {"reopen_outcome": "accept", "reopen_note": "安排重新核查"}).status_code == 303
    assert load(app, ids[2]).status == "accepted"
    assert [a for a in actions(app) if a not in ("report_view", "report_take")] == [
        "report_duplicate", "report_reopen"]


@pytest.mark.parametrize("step", ["accept", "decline", "message", "extend", "verify", "decision",
                                  "duplicate", "close", "reopen", "reward"])
def test_approvers_cannot_work_reports(app, approver, step):
    report_id = make_report(app)
    assert post(approver, f"/staff/reports/{report_id}/{step}").status_code == 403
    assert approver.get(f"/staff/reports/{report_id}").status_code == 200  # but may read them


# ---------------------------------------------------------------- rewards through the pages


def verified_report(app, fine: int = 52_000) -> int:
    with app.app_context():
        report = factories.accepted_report(status="verified", verification_result="true",
                                           verified_on=local_today())
        report.decision = factories.decision(fine_yuan=Decimal(fine))
        db.session.commit()
        return report.id


def test_propose_approve_claim_and_pay_through_the_pages(app, handler, approver):
    report_id = verified_report(app)
    take(handler, report_id)
    assert "按奖励办法可奖励" in handler.get(f"/staff/reports/{report_id}").get_data(as_text=True)
    response = post(handler, f"/staff/reports/{report_id}/reward")
    assert response.status_code == 303
    reward_url = response.headers["Location"]
    reward_id = int(reward_url.rsplit("/", 1)[1])
    # The proposer cannot approve; an approver sees it waiting.
    assert "须由其他审批人员审批" in handler.get(reward_url).get_data(as_text=True)
    assert post(handler, f"/staff/rewards/{reward_id}/approve").status_code == 403
    waiting = approver.get("/staff/rewards/?status=proposed").get_data(as_text=True)
    assert f"/staff/rewards/{reward_id}" in waiting and "7,800 元" in waiting
    assert post(approver, f"/staff/rewards/{reward_id}/approve").status_code == 303
    with app.app_context():
        reward = db.session.get(Reward, reward_id)
        assert reward.status == "approved"
        # 60 days, the last moved off rest days (the exact dates: tests/services/test_rewards.py).
        assert 60 <= (reward.claim_due - local_today()).days <= 60 + MAX_REST_DAYS_IN_A_ROW
        # The reporter claims by transfer (citizen side).
        reward.status, reward.claimed_on, reward.claim_method = "claimed", local_today(), "transfer"
        reward.payment_details = "农业银行 6228480000000000000 张某"
        db.session.commit()
    page = handler.get(reward_url).get_data(as_text=True)
    assert "6228480000000000000" in page
    assert actions(app)[-1] == "report_view"  # seeing payment details is a view of the report
    bad = post(handler, f"/staff/rewards/{reward_id}/pay",
               {"paid_on": (local_today() + timedelta(days=1)).isoformat(), "payment_reference": ""})
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert 'href="#paid_on"' in html and 'href="#payment_reference"' in html
    assert post(handler, f"/staff/rewards/{reward_id}/pay",
                {"paid_on": local_today().isoformat(),
                 "payment_reference": "NX-0042"}).status_code == 303
    assert [a for a in actions(app, "reward")] == ["reward_propose", "reward_approve", "reward_pay"]
    assert [kind for kind, _ in events(app, report_id)][-2:] == ["reward_approved", "reward_paid"]


def test_reject_through_the_page_needs_a_reason(app, handler, approver):
    report_id = verified_report(app)
    reward_url = post(handler, f"/staff/reports/{report_id}/reward").headers["Location"]
    reward_id = int(reward_url.rsplit("/", 1)[1])
    bad = post(approver, f"/staff/rewards/{reward_id}/reject", {"reject_reason": ""})
    assert bad.status_code == 400 and 'href="#reject_reason"' in bad.get_data(as_text=True)
    assert post(approver, f"/staff/rewards/{reward_id}/reject",
                {"reject_reason": "举报人系该企业安全管理人员"}).status_code == 303
    # The reason is between staff: the reporter's timeline gets no note, staff see the reason.
    assert events(app, report_id)[-1] == ("reward_rejected", None)
    assert "举报人系该企业安全管理人员" in approver.get(reward_url).get_data(as_text=True)
    report_page = handler.get(f"/staff/reports/{report_id}").get_data(as_text=True)
    assert REWARD_REJECTED_NOTE in report_page  # what the reporter sees, on the timeline
    refused = post(approver, f"/staff/rewards/{reward_id}/approve")
    assert "不能审批" in approver.get(refused.headers["Location"]).get_data(as_text=True)
    # Proposed again: the same reward, and its page still shows the rejection and its reason.
    assert post(handler, f"/staff/reports/{report_id}/reward").headers["Location"] == reward_url
    page = approver.get(reward_url).get_data(as_text=True)
    assert "驳回记录" in page and "举报人系该企业安全管理人员" in page


def test_someone_with_both_roles_cannot_approve_their_own_proposal(app):
    both = app.test_client()
    login(both, roles=("handler", "approver"))
    report_id = verified_report(app)
    reward_url = post(both, f"/staff/reports/{report_id}/reward").headers["Location"]
    reward_id = int(reward_url.rsplit("/", 1)[1])
    refused = post(both, f"/staff/rewards/{reward_id}/approve")
    assert refused.status_code == 303
    assert "提出人以外" in both.get(refused.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Reward, reward_id).status == "proposed"


def test_a_duplicate_accepted_later_is_not_offered_a_reward(app, handler):
    with app.app_context():
        first = factories.accepted_report(accepted_on=date(2026, 10, 5), status="verified",
                                          verification_result="true",
                                          decision=factories.decision(fine_yuan=Decimal(52_000)))
        second = factories.accepted_report(accepted_on=date(2026, 10, 9), status="closed",
                                           closed_as="duplicate", duplicate_of=first)
        db.session.commit()
        first_id, first_number, second_id = first.id, first.number, second.id
    take(handler, second_id)
    assert f"同一事项的举报 {first_number} 受理在先" in handler.get(
        f"/staff/reports/{second_id}").get_data(as_text=True)
    refused = post(handler, f"/staff/reports/{second_id}/reward")
    assert refused.status_code == 303
    with app.app_context():
        assert db.session.get(Report, second_id).reward is None
    take(handler, first_id)
    assert "按奖励办法可奖励 <strong>7,800 元</strong>" in handler.get(
        f"/staff/reports/{first_id}").get_data(as_text=True)


def test_a_duplicate_accepted_first_is_offered_the_reward(app, handler):
    # Received later, accepted first, merged into the earlier report that was verified.
    with app.app_context():
        first = factories.accepted_report(accepted_on=date(2026, 10, 9), status="verified",
                                          verification_result="true",
                                          decision=factories.decision(fine_yuan=Decimal(52_000)))
        second = factories.accepted_report(accepted_on=date(2026, 10, 2), status="closed",
                                           closed_as="duplicate", duplicate_of=first)
        db.session.commit()
        first_id, second_id, second_number = first.id, second.id, second.number
    take(handler, first_id)
    take(handler, second_id)
    assert f"同一事项的举报 {second_number} 受理在先" in handler.get(
        f"/staff/reports/{first_id}").get_data(as_text=True)
    assert "按奖励办法可奖励 <strong>7,800 元</strong>" in handler.get(
        f"/staff/reports/{second_id}").get_data(as_text=True)
    assert post(handler, f"/staff/reports/{second_id}/reward").status_code == 303
    with app.app_context():
        assert db.session.get(Report, second_id).reward.amount_yuan == 7_800


def test_payment_is_refused_before_the_claim(app, handler, approver):
    report_id = verified_report(app)
    reward_url = post(handler, f"/staff/reports/{report_id}/reward").headers["Location"]
    reward_id = int(reward_url.rsplit("/", 1)[1])
    post(approver, f"/staff/rewards/{reward_id}/approve")
    refused = post(handler, f"/staff/rewards/{reward_id}/pay",
                   {"paid_on": local_today().isoformat(), "payment_reference": "NX-1"})
    assert refused.status_code == 303
    assert "申领后才能登记发放" in handler.get(refused.headers["Location"]).get_data(as_text=True)


def test_expired_rewards_are_marked(app, handler, approver):
    report_id = verified_report(app)
    reward_url = post(handler, f"/staff/reports/{report_id}/reward").headers["Location"]
    reward_id = int(reward_url.rsplit("/", 1)[1])
    post(approver, f"/staff/rewards/{reward_id}/approve")
    with app.app_context():
        db.session.get(Reward, reward_id).claim_due = local_today() - timedelta(days=1)
        db.session.commit()
    assert "已过申领期限" in handler.get("/staff/rewards/").get_data(as_text=True)
    assert "已过申领期限" in handler.get(reward_url).get_data(as_text=True)


# ---------------------------------------------------------------- hostile input


HOSTILE = ["NaN", "-1", "99999999999999999999999", "9999-12-31", "2026-02-30", "a\x00b",
           "x" * 20_000, "<script>alert(1)</script>", "JB2026-000000", "％＿\\%_"]
STEPS = {
    # step: (state the report is in, its fields with valid values)
    "decline": ("received", {"decline_reason": "不属于受理范围"}),
    "message": ("accepted", {"message_body": "请补充照片"}),
    "extend": ("accepted", {"extend_days": "10", "extend_reason": "需要检测"}),
    "verify": ("accepted", {"result": "true", "concealed_deaths": "", "confirmed_level": ""}),
    "decision": ("accepted", {"document_no": "西应急罚〔2026〕1号"}),
    "duplicate": ("received", {"original_number": "JB2026-000001"}),
    "close": ("verified", {"closed_as": "rectified", "close_note": ""}),
    "reopen": ("reopened", {"reopen_outcome": "close", "reopen_note": "维持办结"}),
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_report_steps_survive_hostile_values(app, handler, step):
    state, baseline = STEPS[step]
    token = csrf_token(handler, "/staff/")
    for field in baseline:
        for value in HOSTILE:
            with app.app_context():
                report = factories.accepted_report(status=state, verification_result="true")
                db.session.commit()
                report_id = report.id
            data = baseline | {"csrf_token": token, field: value}
            response = handler.post(f"/staff/reports/{report_id}/{step}", data=data)
            assert response.status_code < 500, (step, field, value[:20])


def test_reward_forms_and_filters_survive_hostile_values(app, handler, approver):
    report_id = verified_report(app)
    reward_id = int(post(handler, f"/staff/reports/{report_id}/reward")
                    .headers["Location"].rsplit("/", 1)[1])
    token = csrf_token(approver, "/staff/")
    for value in HOSTILE:
        response = approver.post(f"/staff/rewards/{reward_id}/reject",
                                 data={"csrf_token": token, "reject_reason": value})
        assert response.status_code < 500
        for field in ("paid_on", "payment_reference"):
            data = {"csrf_token": token, "paid_on": local_today().isoformat(),
                    "payment_reference": "NX-1", field: value}
            assert approver.post(f"/staff/rewards/{reward_id}/pay", data=data).status_code < 500
        for url in ("/staff/reports/?status={v}&kind={v}&page={v}", "/staff/rewards/?status={v}&page={v}"):
            assert handler.get(url.format(v=value[:3000])).status_code < 500


def test_report_text_never_reaches_the_search_index(app, handler):
    report_id = make_report(app)
    post(handler, f"/staff/reports/{report_id}/accept")
    post(handler, f"/staff/reports/{report_id}/message", {"message_body": "关于" + SECRET_WORDS})
    handler.get(f"/staff/reports/{report_id}")
    found = app.test_client().get("/api/v1/search", query_string={"q": SECRET_WORDS}).get_json()
    assert found["count"] == 0
