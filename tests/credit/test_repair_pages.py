"""信用修复, the applicant's pages: form, check, send, follow-up, reply; refusals."""

from __future__ import annotations

from datetime import date

import time_machine

from portal.credit.models import RepairApplication
from portal.extensions import db
from tests.credit.repair_helpers import (
    APPLICANT,
    apply,
    csrf_from,
    fill_form,
    listed,
    pdf_bytes,
    pdf_with_compressed_javascript,
)
from tests.reports.conftest import jpeg_bytes

TODAY = date(2026, 3, 2)


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_the_whole_journey_gives_a_number_and_a_code_that_opens_the_case(client, app_ctx):
    entry = listed()
    number, code = apply(client, entry.uscc)
    application = db.session.scalars(db.select(RepairApplication)).one()
    assert application.number == number and application.status == "submitted"
    assert application.due_on == date(2026, 3, 30)  # 20 working days
    assert code not in str(application.access_digest)
    token = csrf_from(client.get("/credit/repair/followup").get_data(as_text=True))
    page = client.post("/credit/repair/followup", data={"csrf_token": token, "code": code.lower()})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and number in html and "已收到，待受理" in html
    wrong = client.post("/credit/repair/followup",
                        data={"csrf_token": token, "code": code[:-1] + ("A" if code[-1] != "A" else "B")})
    assert wrong.status_code == 400 and number not in wrong.get_data(as_text=True)


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_reply_with_a_document_reaches_the_case(client, app_ctx):
    entry = listed()
    _, code = apply(client, entry.uscc)
    token = csrf_from(client.get("/credit/repair/followup").get_data(as_text=True))
    import io
    page = client.post("/credit/repair/followup/reply", data={
        "csrf_token": token, "code": code, "body": "补充缴款凭证。",
        "evidence": [(io.BytesIO(jpeg_bytes()), "receipt.jpg")]}, content_type="multipart/form-data")
    assert page.status_code == 200, page.get_data(as_text=True)
    application = db.session.scalars(db.select(RepairApplication)).one()
    db.session.refresh(application)
    assert [d.media_type for d in application.documents] == ["application/pdf", "image/jpeg"]
    assert application.events[-1].kind == "reply"


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_form_errors_are_listed_and_input_kept(client, app_ctx):
    entry = listed()
    response = fill_form(client, entry.uscc, commitment=None, applicant_name="")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请修正以下问题" in html and "请填写申请人姓名" in html and "请上传签署的信用承诺书" in html
    assert APPLICANT["penalty_done"] in html


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_a_code_not_on_the_list_or_mistyped_is_refused(client, app_ctx):
    listed()
    response = fill_form(client, "91350100M000100Y43", commitment=pdf_bytes())
    assert response.status_code == 400
    assert "不在公示中的严重失信主体名单上" in response.get_data(as_text=True)
    response = fill_form(client, "91350100M000100Y44", commitment=pdf_bytes())
    assert response.status_code == 400 and "校验" in response.get_data(as_text=True)


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_too_early_says_from_which_date(client, app_ctx):
    entry = listed(listed_on=date(2025, 6, 1))
    response = fill_form(client, entry.uscc, commitment=pdf_bytes())
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "2026年06月02日" in html
    page = client.get(f"/credit/repair?code={entry.uscc}").get_data(as_text=True)
    assert "2026年6月2日" in page


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_attachments_of_the_wrong_kind_are_refused(client, app_ctx):
    entry = listed()
    for bad, expected in [(b"MZ\x90\x00 not a pdf", "只接受 PDF 或图片"),
                          (pdf_bytes(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "脚本"),
                          (pdf_with_compressed_javascript(), "脚本"),
                          (pdf_bytes()[:-30], "不完整")]:
        response = fill_form(client, entry.uscc, commitment=bad)
        assert response.status_code == 400
        assert expected in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(
        db.select(RepairApplication).join(RepairApplication.documents).subquery())) == 0


def test_csrf_is_required(client, app_ctx):
    assert client.post("/credit/repair", data={"uscc": "x"}).status_code == 400
