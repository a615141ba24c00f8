"""Report test helpers: an app with a short fixed answer time, photos, and a client journey."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

# The follow-up's fixed answer time, shortened for the suite (its own test uses the real one).
FAST_SECONDS = 0.02
CLIENT_ADDRESS = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (ReporterPhone; distinctive-agent-4711)"


@pytest.fixture
def app_settings() -> dict:
    return {"REPORT_FOLLOWUP_MIN_SECONDS": FAST_SECONDS}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=CLIENT_ADDRESS, HTTP_USER_AGENT=USER_AGENT)
    return client


def jpeg_bytes(size=(800, 600), color=(200, 30, 30), exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", **({"exif": exif} if exif else {}))
    return out.getvalue()


def csrf_from(html: str) -> str:
    match = re.search(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


REPORT_FIELDS = {
    "kind": "hazard",
    "enterprise_name": "景洪市示例矿业有限公司",
    "uscc": "",
    "county": "景洪市",
    "place": "嘎洒镇曼某村后山采区",
    "description": "采区边坡有明显裂缝，雨后仍安排工人在坡下作业，紫色蜻蜓飞过坡顶。",
    "seen_since": "2026年10月起",
}


def fill_form(client: FlaskClient, photos: list[bytes] = (), **fields) -> object:
    """POST the report form (after a GET for the CSRF token); returns the response."""
    token = csrf_from(client.get("/report").get_data(as_text=True))
    data = {"csrf_token": token, **REPORT_FIELDS, **fields}
    if photos:
        data["photos"] = [(io.BytesIO(p), f"photo{i}.jpg") for i, p in enumerate(photos, 1)]
    return client.post("/report", data=data, content_type="multipart/form-data")


def submit_report(client: FlaskClient, photos: list[bytes] = (), **fields) -> tuple[str, str]:
    """The whole citizen journey up to the receipt: (report number, receipt code)."""
    response = fill_form(client, photos, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    check = client.get("/report/check")
    assert check.status_code == 200
    html = client.post("/report/send", data={"csrf_token": csrf_from(check.get_data(as_text=True))})
    assert html.status_code == 200, html.get_data(as_text=True)
    page = html.get_data(as_text=True)
    code = receipt_code(page)
    number = re.search(r"(JB\d{4}-\d{6})", page).group(1)
    return number, code


def receipt_code(page: str) -> str:
    """The receipt code shown on a receipt page (its groups are separate spans)."""
    shown = re.search(r'id="receipt-code">(.*?)</p>', page).group(1)
    return re.sub(r"<[^>]+>", "", shown)


def followup(client: FlaskClient, code: str):
    token = csrf_from(client.get("/report/followup").get_data(as_text=True))
    return client.post("/report/followup", data={"csrf_token": token, "code": code})


def mistyped(code: str) -> str:
    """``code`` with its last character changed (always to another one: a fixed replacement
    would leave one code in 32 unchanged, and the test would pass it as a wrong code)."""
    return code[:-1] + ("Y" if code[-1] == "Z" else "Z")
