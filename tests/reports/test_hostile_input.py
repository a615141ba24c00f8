"""No input gives a 500 on the report pages: odd, oversized and malformed values."""

from __future__ import annotations

import io

import pytest

from tests.reports.conftest import REPORT_FIELDS, csrf_from, fill_form, jpeg_bytes, submit_report

ODD = ["\x00", "A" * 100_000, "\u202e反向文字", "<script>alert(1)</script>", "' OR 1=1 --", "😀" * 500]


@pytest.mark.parametrize("value", ODD)
def test_report_form_survives(client, value):
    token = csrf_from(client.get("/report").get_data(as_text=True))
    data = {"csrf_token": token, **{k: value for k in REPORT_FIELDS}, "callback": value,
            "contact": value, "remove_photo": [value, "999999"]}
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert response.status_code in (303, 400)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_photo_field_given_text_or_odd_files(client):
    token = csrf_from(client.get("/report").get_data(as_text=True))
    for photos in ("not a file", [(io.BytesIO(b""), "")], [(io.BytesIO(jpeg_bytes()), "x" * 5000)]):
        data = {"csrf_token": token, **REPORT_FIELDS, "photos": photos}
        response = client.post("/report", data=data, content_type="multipart/form-data")
        assert response.status_code in (303, 400)


@pytest.mark.parametrize("value", ODD + ["", "0" * 28])
def test_followup_and_actions_survive(client, value):
    token = csrf_from(client.get("/report/followup").get_data(as_text=True))
    assert client.post("/report/followup", data={"csrf_token": token, "code": value}).status_code == 400
    for path, prefix in (("reply", "reply"), ("reopen", "reopen"), ("claim-transfer", "transfer"),
                         ("claim-slip", "slip"), ("erase", "erase")):
        response = client.post(f"/report/followup/{path}",
                               data={f"{prefix}-csrf_token": token, f"{prefix}-code": value})
        assert response.status_code in (400, 429)


def test_actions_on_a_real_case_with_odd_values(client):
    number, code = submit_report(client)
    token = csrf_from(client.get("/report/followup").get_data(as_text=True))
    for value in ODD:
        for path, prefix, field in (("reply", "reply", "body"), ("reopen", "reopen", "reason"),
                                    ("claim-transfer", "transfer", "payment_details")):
            response = client.post(f"/report/followup/{path}", data={
                f"{prefix}-csrf_token": token, f"{prefix}-code": code, f"{prefix}-{field}": value})
            assert response.status_code in (200, 400, 429)


def test_draft_photo_of_nobody(client):
    assert client.get("/report/draft-photo/1").status_code == 404
    fill_form(client, [jpeg_bytes()])  # a draft in the session: the id reaches the lookup
    assert client.get("/report/draft-photo/99999999999999999999").status_code == 404
    assert client.get("/report/draft-photo/0").status_code == 404


def test_removal_ids_that_are_not_plain_numbers(client):
    fill_form(client, [jpeg_bytes()])
    token = csrf_from(client.get("/report").get_data(as_text=True))
    data = {"csrf_token": token, **REPORT_FIELDS, "remove_photo": ["²", "-1", "1e3", "99999999999999999999"]}
    assert client.post("/report", data=data, content_type="multipart/form-data").status_code == 303


def test_receipt_download_with_a_wrong_code(client):
    token = csrf_from(client.get("/report").get_data(as_text=True))
    response = client.post("/report/receipt.txt", data={"csrf_token": token, "code": "nope"})
    assert response.status_code == 400 and response.mimetype == "text/html"
