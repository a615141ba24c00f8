"""Follow-up with the receipt code: the case page, messages, reopening, reward claims, erasure,
one answer for every wrong code, rate limits and a fixed answer time."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import receipts
from portal.extensions import db
from portal.models import REWARD_REJECTED_NOTE, Report, ReportMessage, Reward, local_today
from portal.services.reporting import reward_claims
from tests.reports.conftest import csrf_from, followup, jpeg_bytes, mistyped, submit_report


def _report(app) -> Report:
    return db.session.scalar(select(Report))


def _action(client, page_html: str, path: str, prefix: str, **fields):
    code = re.search(rf'name="{prefix}-code" type="hidden" value="([^"]+)"', page_html).group(1)
    data = {f"{prefix}-csrf_token": csrf_from(page_html), f"{prefix}-code": code}
    data.update({f"{prefix}-{k}": v for k, v in fields.items()})
    return client.post(path, data=data, content_type="multipart/form-data")


def test_code_opens_case_in_any_case_and_spacing(client):
    number, code = submit_report(client)
    for typed in (code, code.lower(), code.replace("-", ""), " " + code.replace("-", " ") + " "):
        response = followup(client, typed)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and number in html and "举报已收到" in html


def test_every_wrong_code_gets_the_same_answer(client, app):
    number, code = submit_report(client)
    with app.app_context():
        other_valid = receipts.grouped(receipts.new_code(app.config["SECRET_KEY"]))  # no report
    mistyped = code[:-1] + ("0" if code[-1] != "0" else "1")
    answers = set()
    for wrong in (mistyped, other_valid, code[:-5], "hello", "X" * 28):
        response = followup(client, wrong)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert number not in html and wrong not in html
        answers.add(re.sub(r'value="[^"]*"', "", html))
    assert len(answers) == 1


def test_case_page_never_puts_code_in_url_or_cookie(client):
    number, code = submit_report(client)
    response = followup(client, code)
    assert response.status_code == 200 and not response.headers.get("Location")
    assert code not in (response.headers.get("Set-Cookie") or "")
    cookie = client.get_cookie("session")
    assert cookie is None or code.replace("-", "") not in cookie.value


def test_timeline_shows_steps_with_notes_and_deadlines(client, app):
    number, code = submit_report(client)
    with app.app_context():
        report = _report(app)
        report.status = "accepted"
        report.verification_due = local_today() + timedelta(days=60)
        report.add_event("accepted", local_today())
        report.add_event("extended", local_today(), note="需要调取企业三个月的用工记录")
        db.session.commit()
    html = followup(client, code).get_data(as_text=True)
    assert "已受理，进入核查" in html and "需要调取企业三个月的用工记录" in html
    assert "核查期限" in html


def test_reasons_shown_even_without_a_timeline_note(client, app):
    number, code = submit_report(client)
    with app.app_context():
        report = _report(app)
        report.status, report.decline_reason = "declined", "所反映问题不属于安全生产监管职责"
        report.add_event("declined", local_today())
        db.session.commit()
    html = followup(client, code).get_data(as_text=True)
    assert "不予受理的理由" in html and "所反映问题不属于安全生产监管职责" in html
    with app.app_context():
        _report(app).events[-1].note = "所反映问题不属于安全生产监管职责"
        db.session.commit()
    html = followup(client, code).get_data(as_text=True)
    assert html.count("所反映问题不属于安全生产监管职责") == 1


def test_read_staff_message_and_reply_with_photo(client, app):
    number, code = submit_report(client)
    with app.app_context():
        report = _report(app)
        report.messages.append(ReportMessage(sent_on=local_today(), author="staff",
                                             body="请问裂缝大约有多长？"))
        db.session.commit()
    page = followup(client, code).get_data(as_text=True)
    assert "请问裂缝大约有多长？" in page and "承办人员" in page
    data = {"reply-body": "大约三米，照片附上。",
            "reply-photos": [(io.BytesIO(jpeg_bytes()), "crack.jpg")]}
    response = _action(client, page, "/report/followup/reply", "reply", **{})
    assert response.status_code == 400  # empty reply: refused, page shown again
    code_value = re.search(r'name="reply-code" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/report/followup/reply", data={
        "reply-csrf_token": csrf_from(page), "reply-code": code_value, **data},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "大约三米，照片附上。" in html
    assert 'alt="消息照片 1"' in html and "data:image" not in html
    src = re.search(r'<img src="(/report/photo/[^"]+)" alt="消息照片 1"', html).group(1)
    thumbnail = client.get(src)
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    with app.app_context():
        message = db.session.scalars(select(ReportMessage).order_by(ReportMessage.id)).all()[-1]
        assert message.author == "reporter" and len(message.photos) == 1


def test_action_with_wrong_code_is_refused(client, app):
    number, code = submit_report(client)
    page = followup(client, code).get_data(as_text=True)
    response = client.post("/report/followup/reply", data={
        "reply-csrf_token": csrf_from(page), "reply-code": mistyped(code), "reply-body": "x"},
        content_type="multipart/form-data")
    assert response.status_code == 400 and "回执码无效" in response.get_data(as_text=True)
    with app.app_context():
        assert not _report(app).messages


def test_reopen_only_when_closed_as_rectified(client, app):
    number, code = submit_report(client)
    page = followup(client, code).get_data(as_text=True)
    assert "仍未整改？" not in page
    with app.app_context():
        report = _report(app)
        report.status, report.closed_as, report.closed_on = "closed", "rectified", local_today()
        report.add_event("closed", local_today(), note="企业已加固边坡")
        db.session.commit()
    page = followup(client, code).get_data(as_text=True)
    assert "仍未整改？" in page
    response = _action(client, page, "/report/followup/reopen", "reopen", reason="")
    assert response.status_code == 400 and "请填写仍未整改的情况" in response.get_data(as_text=True)
    response = _action(client, page, "/report/followup/reopen", "reopen",
                       reason="周末又在坡下作业")
    assert response.status_code == 200
    with app.app_context():
        report = _report(app)
        assert report.status == "reopened"
        assert report.events[-1].kind == "reopened" and report.events[-1].note == "周末又在坡下作业"


def _approve_reward(app, amount=3000, due_in_days=60, basis="") -> None:
    with app.app_context():
        report = _report(app)
        report.status, report.verification_result = "verified", "true"
        report.reward = Reward(amount_yuan=amount, basis=basis, status="approved",
                               proposed_on=local_today(),
                               decided_on=local_today(),
                               claim_due=local_today() + timedelta(days=due_in_days))
        report.add_event("reward_approved", local_today())
        db.session.commit()


def test_a_rejected_reward_shows_the_reporter_no_internal_reason(client, app):
    from portal.services.reporting import rewards
    from tests.staff.conftest import make_staff

    number, code = submit_report(client)
    with app.app_context():
        report = _report(app)
        report.status, report.verification_result = "verified", "true"
        report.reward = Reward(amount_yuan=3000, status="proposed", proposed_on=local_today())
        # A step written before the reason became internal still carries it as its note.
        report.add_event("reward_rejected", local_today() - timedelta(days=1),
                         note="旧驳回理由：审批人认为证据不足")
        db.session.commit()
        rewards.reject(report.reward, actor=make_staff("approver"),
                       reason="内部意见：举报前执法大队已立案查处")
        assert report.reward.rejection_reason == "内部意见：举报前执法大队已立案查处"
    html = followup(client, code).get_data(as_text=True)
    assert "执法大队" not in html and "证据不足" not in html
    assert html.count(REWARD_REJECTED_NOTE) == 2 and "奖励未获批准" in html


def test_the_reporter_sees_how_the_reward_was_computed(client, app):
    number, code = submit_report(client)
    basis = ("隐患或违法行为：罚款 ¥20,000 × 15% = ¥3,000；瞒报事故：瞒报死亡 2 人 × "
             "¥40,000（较大事故）= ¥80,000；合计 ¥83,000")
    _approve_reward(app, amount=83_000, basis=basis)
    page = followup(client, code).get_data(as_text=True)
    assert "8.3 万元" in page and "计算依据" in page and basis in page


def test_reward_claim_by_transfer(client, app):
    number, code = submit_report(client)
    _approve_reward(app, amount=12000)
    page = followup(client, code).get_data(as_text=True)
    assert "1.2 万元" in page and "申领期限" in page
    response = _action(client, page, "/report/followup/claim-transfer", "transfer",
                       payment_details="农业银行 6228 0000 1111 2222")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "已申领，待发放" in html
    with app.app_context():
        reward = _report(app).reward
        assert reward.status == "claimed" and reward.claim_method == "transfer"
        assert reward.payment_details == "农业银行 6228 0000 1111 2222"
        assert _report(app).events[-1].kind == "reward_claimed"


def test_reward_claim_slip_shown_and_checkable(client, app):
    number, code = submit_report(client)
    _approve_reward(app)
    page = followup(client, code).get_data(as_text=True)
    html = _action(client, page, "/report/followup/claim-slip", "slip").get_data(as_text=True)
    slip = _slip_on(html)
    with app.app_context(), app.test_request_context():
        assert reward_claims.check_claim_slip(slip).id == _report(app).reward.id
    # A new slip voids the first.
    page = followup(client, code).get_data(as_text=True)
    assert "重新生成领奖凭证" in page
    _action(client, page, "/report/followup/claim-slip", "slip")
    with app.app_context(), app.test_request_context():
        from portal.tokens import TokenInvalid

        with pytest.raises(TokenInvalid):
            reward_claims.check_claim_slip(slip)


def _slip_on(html: str) -> str:
    return re.search(r'name="slip" value="([^"]+)"', html).group(1)


def _copy(client, html: str, path: str, slip: str | None = None):
    code = re.search(r'name="code" value="([^"]+)"', html).group(1)
    return client.post(path, data={"csrf_token": csrf_from(html), "code": code,
                                   "slip": slip if slip is not None else _slip_on(html)})


def test_the_slip_is_short_and_can_be_downloaded_and_printed(client, app):
    number, code = submit_report(client)
    _approve_reward(app)
    page = followup(client, code).get_data(as_text=True)
    html = _action(client, page, "/report/followup/claim-slip", "slip").get_data(as_text=True)
    slip = _slip_on(html)
    # Written like the receipt code: 5 groups of 4, no I, L, O or U, shown group by group.
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){4}", slip)
    assert "".join(re.findall(r'<span class="code-group">([^<]+)</span>', html)) == slip
    with app.app_context():
        due = _report(app).reward.claim_due
    download = _copy(client, html, "/report/followup/claim-slip.txt")
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert "attachment" in download.headers["Content-Disposition"]
    text = download.get_data(as_text=True)
    assert slip in text and f"{due.year}年{due.month}月{due.day}日" in text
    assert not re.search(r"\d{1,2}:\d{2}", text)  # a date, never a time
    printed = _copy(client, html, "/report/followup/claim-slip/print")
    body = printed.get_data(as_text=True)
    assert printed.status_code == 200 and slip.split("-")[0] in body
    assert 'media="print"' in body and "举报奖励领奖凭证" in body
    assert "noindex" in body and 'name="slip"' not in body  # nothing to send on from here
    # Only the current slip is written out again, and only to the holder of the receipt code.
    forged = slip[:-1] + ("0" if slip[-1] != "0" else "1")
    assert _copy(client, html, "/report/followup/claim-slip.txt", forged).status_code == 400
    _action(client, followup(client, code).get_data(as_text=True),
            "/report/followup/claim-slip", "slip")
    refused = _copy(client, html, "/report/followup/claim-slip/print")
    assert refused.status_code == 400 and "已作废" in refused.get_data(as_text=True)


def test_expired_claimed_paid_are_shown(client, app):
    number, code = submit_report(client)
    _approve_reward(app)
    stale_page = followup(client, code).get_data(as_text=True)
    with app.app_context():
        _report(app).reward.claim_due = local_today() - timedelta(days=1)
        db.session.commit()
    page = followup(client, code).get_data(as_text=True)
    assert "已过申领期限" in page and "提交收款信息" not in page
    # A claim sent from a page opened before the deadline is refused, visibly.
    response = _action(client, stale_page, "/report/followup/claim-transfer", "transfer",
                       payment_details="账号")
    assert response.status_code == 400 and "此奖励当前不能申领" in response.get_data(as_text=True)
    with app.app_context():
        reward = _report(app).reward
        reward.status, reward.paid_on = "paid", local_today()
        db.session.commit()
    page = followup(client, code).get_data(as_text=True)
    assert "已发放" in page and "发放日期" in page


def test_erase_contact_and_payment_details(client, app):
    number, code = submit_report(client, callback="y", contact="13800001111")
    _approve_reward(app)
    page = followup(client, code).get_data(as_text=True)
    page = _action(client, page, "/report/followup/claim-transfer", "transfer",
                   payment_details="账号 123").get_data(as_text=True)
    response = _action(client, page, "/report/followup/erase", "erase")
    assert response.status_code == 400 and "请勾选确认" in response.get_data(as_text=True)
    response = _action(client, page, "/report/followup/erase", "erase", confirm="y")
    assert response.status_code == 200 and "已删除您的联系方式和收款信息" in response.get_data(as_text=True)
    with app.app_context():
        report = _report(app)
        assert report.contact is None and report.reward.payment_details is None
        assert report.reward.status == "approved"  # not paid yet: can claim again


def test_brute_force_is_rate_limited(client, app):
    submit_report(client)
    limit = int(app.config["SETTINGS"].ratelimit_followup.split()[0])
    token = csrf_from(client.get("/report/followup").get_data(as_text=True))
    statuses = [client.post("/report/followup", data={"csrf_token": token, "code": "X" * 28})
                .status_code for _ in range(limit + 2)]
    assert statuses[:limit] == [400] * limit and statuses[-1] == 429
    # Another client is not affected.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert followup(other, "X" * 28).status_code == 400


def test_report_submission_is_rate_limited(app):
    client = app.test_client()
    limit = int(app.config["SETTINGS"].ratelimit_report.split()[0])
    token = csrf_from(client.get("/report").get_data(as_text=True))
    statuses = [client.post("/report", data={"csrf_token": token},
                            content_type="multipart/form-data").status_code
                for _ in range(limit + 1)]
    assert statuses[-1] == 429 and 429 not in statuses[:limit]


def test_right_and_wrong_codes_cost_the_same_work_and_wrong_ones_get_one_answer(
        app, client, monkeypatch):
    """What the answer time could leak, told apart by behaviour: each code, right or wrong (a
    well-formed unknown one, a bad check part), costs exactly one Argon2id hash,
    and every wrong code gets the same answer.  The padding that evens out the rest of the time
    (``REPORT_FOLLOWUP_MIN_SECONDS``) is measured by ``bench/timings.py``, which prints the
    answer time of each kind of code; a wall-clock assert here failed on a loaded machine."""
    number, code = submit_report(client)
    with app.app_context():
        unused_valid = receipts.grouped(receipts.new_code(app.config["SECRET_KEY"]))
    hashes: list[bytes] = []
    real = receipts.hash_secret_raw
    monkeypatch.setattr(receipts, "hash_secret_raw",
                        lambda **kw: hashes.append(kw["secret"]) or real(**kw))
    answers = {}
    for label, typed in (("right", code), ("valid-unknown", unused_valid),
                         ("bad-check", "X" * 28)):
        hashes.clear()
        response = followup(client, typed)
        assert len(hashes) == 1, (label, hashes)
        html = response.get_data(as_text=True)
        answers[label] = (response.status_code, re.sub(r'value="[^"]*"', "", html))
    assert answers["right"][0] == 200 and number in answers["right"][1]
    assert answers["valid-unknown"] == answers["bad-check"]
    assert answers["bad-check"][0] == 400 and number not in answers["bad-check"][1]



def test_erasure_is_offered_only_when_something_is_left_to_erase(client, app):
    number, code = submit_report(client)  # no contact details left
    page = followup(client, code).get_data(as_text=True)
    assert "没有留" in page and "/report/followup/erase" not in page
    _approve_reward(app)
    page = followup(client, code).get_data(as_text=True)
    assert "/report/followup/erase" not in page  # approved, nothing claimed yet
    page = _action(client, page, "/report/followup/claim-slip", "slip").get_data(as_text=True)
    assert "/report/followup/erase" in page  # a slip can be voided

    other = app.test_client()
    number, code = submit_report(other, callback="y", contact="13800001111")
    assert "/report/followup/erase" in followup(other, code).get_data(as_text=True)
