"""The report form, the check-your-answers step, sending and the receipt."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Report, ReportDraft, ReportPhoto
from tests.factories import credit_code
from tests.reports.conftest import (
    REPORT_FIELDS,
    csrf_from,
    fill_form,
    jpeg_bytes,
    receipt_code,
    submit_report,
)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_form_page_explains_kinds_and_has_a_hidden_honeypot(client):
    html = client.get("/report").get_data(as_text=True)
    for label in ("重大事故隐患", "安全生产非法违法行为", "瞒报谎报事故"):
        assert label in html
    assert 'enctype="multipart/form-data"' in html
    assert "<script" not in html


HONEYPOT = "extra_comment"
# Words in a field's name, id or label that browsers and password managers take as something to
# autofill (Chromium's and Safari's heuristics include a contact card's homepage and fax).
AUTOFILL_WORDS = re.compile(
    r"url|web|site|home|email|mail|phone|tel|fax|name|nick|user|addr|city|zip|postal|company|"
    r"网址|网站|主页|邮箱|电话|手机|姓名|地址|单位", re.I)


def test_honeypot_is_hidden_unfocusable_and_not_autofilled(client):
    html = client.get("/report").get_data(as_text=True)
    wrapper = re.search(r'<div class="hp"[^>]*>(.*?)</div>', html, re.S)
    assert wrapper, "no honeypot on the form"
    # Hidden by the HTML itself (no stylesheet needed) and from screen readers.
    assert " hidden" in wrapper.group(0) and 'aria-hidden="true"' in wrapper.group(0)
    field = re.search(r"<input[^>]*>", wrapper.group(1)).group(0)
    assert f'name="{HONEYPOT}"' in field
    assert 'autocomplete="off"' in field and 'tabindex="-1"' in field
    label = re.sub(r"<[^>]+>", "", wrapper.group(1)).strip()
    assert not AUTOFILL_WORDS.search(HONEYPOT + " " + label), label


def test_errors_are_summarised_linked_and_input_kept(client):
    response = fill_form(client, kind="", enterprise_name="", county="", description="")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    assert 'href="#kind"' in summary and 'href="#enterprise_name"' in summary
    assert summary.index("#kind") < summary.index("#enterprise_name") < summary.index("#county")
    assert REPORT_FIELDS["place"] in html  # kept


def test_credit_code_typo_named(client, app):
    good = credit_code(12)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    html = fill_form(client, uscc=wrong).get_data(as_text=True)
    assert "校验位不符" in html and f"应为“{good[17]}”" in html
    response = fill_form(client, uscc=good.lower())
    assert response.status_code == 303


def test_contact_only_with_callback(client, app):
    html = fill_form(client, callback="y", contact="").get_data(as_text=True)
    assert "请填写联系方式" in html
    # A contact typed without 请回电 is dropped, not stored.
    number, code = submit_report(client, contact="13800001111")
    with app.app_context():
        assert db.session.scalar(select(Report)).contact is None


def test_callback_contact_is_stored(client, app):
    submit_report(client, callback="y", contact="微信 xsbn-reporter")
    with app.app_context():
        assert db.session.scalar(select(Report)).contact == "微信 xsbn-reporter"


def test_a_filled_honeypot_gives_the_form_back_with_the_input_kept(client, app):
    # A citizen whose browser filled the hidden field loses nothing: the form comes back with
    # what was typed, the hidden field emptied and a neutral request to check and send again.
    response = fill_form(client, **{HONEYPOT: "http://spam.example"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "请核对所填内容" in html and 'class="error-summary"' in html
    for name in ("enterprise_name", "place", "seen_since"):
        assert REPORT_FIELDS[name] in html
    assert REPORT_FIELDS["description"] in html
    assert "spam.example" not in html
    # Nothing is kept for a robot, and nothing moves on to the check page.
    with app.app_context():
        assert _count(ReportDraft) == 0
    assert client.get("/report/check").status_code == 303
    # Sent again as the page now stands (the hidden field empty), it goes through.
    assert fill_form(client, **{HONEYPOT: ""}).status_code == 303


def test_a_filled_honeypot_names_other_problems_and_lost_photos(client, app):
    response = fill_form(client, [jpeg_bytes()], enterprise_name="", **{HONEYPOT: "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'href="#enterprise_name"' in html and "请重新选择照片" in html
    with app.app_context():
        assert _count(ReportPhoto) == 0 and _count(ReportDraft) == 0


def test_bad_photo_named_by_number_and_valid_photos_kept(client, app):
    token = csrf_from(client.get("/report").get_data(as_text=True))
    data = {"csrf_token": token, **REPORT_FIELDS, "enterprise_name": "",
            "photos": [(io.BytesIO(jpeg_bytes()), "a.jpg"),
                       (io.BytesIO(b"%PDF-1.4"), "b.jpg")]}
    html = client.post("/report", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "第 2 张照片（b.jpg）" in html
    # One bad photo: none of this selection is kept (the message says so).
    with app.app_context():
        assert _count(ReportPhoto) == 0
    data = {"csrf_token": token, **REPORT_FIELDS, "enterprise_name": "",
            "photos": [(io.BytesIO(jpeg_bytes()), "a.jpg")]}
    html = client.post("/report", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "已上传的照片（1 张" in html  # kept although the name was missing
    with app.app_context():
        photo = db.session.scalar(select(ReportPhoto))
        assert photo.draft_id is not None and photo.report_id is None


def test_at_most_five_photos(client, app):
    response = fill_form(client, [jpeg_bytes()] * 6)
    assert response.status_code == 400 and "最多还能上传 5 张" in response.get_data(as_text=True)
    assert fill_form(client, [jpeg_bytes()] * 3).status_code == 303
    response = fill_form(client, [jpeg_bytes()] * 3)
    assert "最多还能上传 2 张" in response.get_data(as_text=True)


def test_check_page_shows_everything_and_who_sees_what(client):
    fill_form(client, [jpeg_bytes()], callback="y", contact="13800001111")
    html = client.get("/report/check").get_data(as_text=True)
    for value in REPORT_FIELDS.values():
        if value and value != "hazard":
            assert value in html
    assert "重大事故隐患" in html and "13800001111" in html
    assert "谁能看到什么" in html and "被举报单位" in html
    photo_url = re.search(r'src="(/report/draft-photo/\d+)"', html).group(1)
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"


def test_draft_photos_only_for_their_own_session(app, client):
    fill_form(client, [jpeg_bytes()])
    html = client.get("/report/check").get_data(as_text=True)
    photo_url = re.search(r'src="(/report/draft-photo/\d+)"', html).group(1)
    stranger = app.test_client()
    assert stranger.get(photo_url).status_code == 404


def test_edit_keeps_input_and_photos_and_can_remove_one(client, app):
    fill_form(client, [jpeg_bytes(), jpeg_bytes()])
    html = client.get("/report").get_data(as_text=True)  # 修改
    assert REPORT_FIELDS["description"] in html and "已上传的照片（2 张" in html
    ids = re.findall(r'name="remove_photo" value="(\d+)"', html)
    token = csrf_from(html)
    response = client.post("/report", data={"csrf_token": token, **REPORT_FIELDS,
                                            "place": "改为：勐罕镇", "remove_photo": ids[0]},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    check = client.get("/report/check").get_data(as_text=True)
    assert "改为：勐罕镇" in check and check.count('src="/report/draft-photo/') == 1


def test_send_stores_report_with_deadline_event_and_photos(client, app):
    number, code = submit_report(client, [jpeg_bytes()], uscc=credit_code(5))
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.number == number and report.status == "received"
        assert report.acceptance_due > report.received_on
        assert [e.kind for e in report.events] == ["received"]
        assert len(report.photos) == 1 and report.photos[0].draft_id is None
        assert _count(ReportDraft) == 0
        assert report.name_digest and report.uscc_digest
        assert code.replace("-", "") not in report.receipt_digest


def test_receipt_page_and_download(client):
    fill_form(client)
    check = client.get("/report/check").get_data(as_text=True)
    response = client.post("/report/send", data={"csrf_token": csrf_from(check)})
    html = response.get_data(as_text=True)
    code = receipt_code(html)
    assert "只显示这一次" in html and "离线保存" in html and "前（15 个工作日内）" in html
    assert "Set-Cookie" not in response.headers or code not in response.headers["Set-Cookie"]
    download = client.post("/report/receipt.txt", data={"csrf_token": csrf_from(html), "code": code})
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    text = download.get_data(as_text=True)
    assert code in text and "JB" in text and "/report/followup" in text


def test_sending_twice_stores_one_report(client, app):
    fill_form(client)
    token = csrf_from(client.get("/report/check").get_data(as_text=True))
    assert client.post("/report/send", data={"csrf_token": token}).status_code == 200
    again = client.post("/report/send", data={"csrf_token": token})
    assert again.status_code == 303
    with app.app_context():
        assert _count(Report) == 1


def test_failure_says_not_stored_and_keeps_the_draft(client, app, monkeypatch):
    fill_form(client, [jpeg_bytes()])
    token = csrf_from(client.get("/report/check").get_data(as_text=True))
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    real_commit = Session.commit
    calls = []

    def commit_fails_once(self):
        if not calls:
            calls.append(1)
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        return real_commit(self)

    monkeypatch.setattr(Session, "commit", commit_fails_once)
    response = client.post("/report/send", data={"csrf_token": token})
    monkeypatch.undo()
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "举报没有保存成功" in html and "receipt-code" not in html
    with app.app_context():
        assert _count(Report) == 0 and _count(ReportDraft) == 1
    # Trying again works.
    assert client.post("/report/send", data={"csrf_token": token}).status_code == 200


def test_database_gone_while_sending_says_not_stored(client, app, monkeypatch):
    """The commit fails because the database went away, and it stays away while the answer
    is made (bench/faults.py restarting PostgreSQL found a 500 here): still the 503 page that
    says nothing was stored, with the answers and photos shown, and no receipt."""
    fill_form(client, [jpeg_bytes()], callback="y", contact="13800001111")
    token = csrf_from(client.get("/report/check").get_data(as_text=True))
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    down = []

    def commit_fails(self):
        down.append(1)
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    def refuse(*args):
        if down:
            raise OperationalError("SELECT", {}, Exception("connection refused"))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", refuse)
    monkeypatch.setattr(Session, "commit", commit_fails)
    try:
        response = client.post("/report/send", data={"csrf_token": token})
    finally:
        monkeypatch.undo()
        event.remove(engine, "before_cursor_execute", refuse)
    html = response.get_data(as_text=True)
    assert down and response.status_code == 503
    assert "举报没有保存成功" in html and "receipt-code" not in html
    assert REPORT_FIELDS["place"] in html and "13800001111" in html and "1 张" in html
    with app.app_context():
        assert _count(Report) == 0 and _count(ReportDraft) == 1
    assert client.post("/report/send", data={"csrf_token": token}).status_code == 200


def test_discard_deletes_draft_and_photos(client, app):
    fill_form(client, [jpeg_bytes()])
    token = csrf_from(client.get("/report/check").get_data(as_text=True))
    assert client.post("/report/discard", data={"csrf_token": token}).status_code == 303
    with app.app_context():
        assert _count(ReportDraft) == 0 and _count(ReportPhoto) == 0


def test_check_without_draft_goes_back_to_form(client):
    response = client.get("/report/check")
    assert response.status_code == 303 and response.headers["Location"].endswith("/report")


def test_csrf_required(client):
    response = client.post("/report", data=REPORT_FIELDS, content_type="multipart/form-data")
    assert response.status_code == 400


def test_large_uploads_allowed_up_to_five_photos_and_413_is_clear(client, app):
    # Above the app-wide 12 MB, within 5 × 10 MB: accepted for the size (and refused by content).
    big = b"\xff\xd8" + b"\x00" * (9 * 1024 * 1024)
    response = fill_form(client, [big, big])
    assert response.status_code == 400 and "第 1 张照片" in response.get_data(as_text=True)
    token = csrf_from(client.get("/report").get_data(as_text=True))
    huge = {"csrf_token": token, **REPORT_FIELDS,
            "photos": [(io.BytesIO(b"\x00" * (11 * 1024 * 1024)), f"{i}.jpg") for i in range(5)]}
    response = client.post("/report", data=huge, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "每张照片不超过 10 MB" in response.get_data(as_text=True)
