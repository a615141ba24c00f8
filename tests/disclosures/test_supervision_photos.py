"""Rectification photos (整改前 / 整改后) of a 督办事项 (issue 15 §1): staff upload them on the
item's stages through ``portal.images`` (metadata gone), within limits; the public page shows
thumbnails linking to the full image with the caption as alt text; a draft's photos stay in the
back office; and a citizen's report's photos never reach the item."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal import images
from portal.audit import AuditEvent
from portal.extensions import db
from portal.models import (
    ItemVersion,
    ReportPhoto,
    SupervisionItem,
    SupervisionPhoto,
    local_today,
)
from portal.page_cache import SHARED_MAX_AGE
from portal.services.publication import publishing, supervision_photos
from tests.disclosures.test_supervision_pages import make
from tests.staff.conftest import csrf_token, login

CAMERA = b"PhoneModel-XSBN-42"


def jpeg_with_gps(size=(1600, 1200), colour=(200, 60, 40)) -> bytes:
    """A phone-like JPEG carrying a camera model and a GPS position."""
    exif = Image.Exif()
    exif[0x0110] = CAMERA.decode()
    exif[0x8825] = {1: "N", 2: (21.0, 59.0, 30.5), 3: "E", 4: (100.0, 47.0, 52.1)}
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert CAMERA in data and b"Exif" in data
    return data


def upload(editor, item_id, data=None, *, phase="before", stage="listing",
           caption="储罐区防火堤破损处，整改前", filename="p.jpg"):
    page = f"/staff/supervision/{item_id}/photos"
    token = csrf_token(editor, page)
    fields = {"csrf_token": token, "phase": phase, "stage": stage, "caption": caption}
    if data is not None:
        fields["photo"] = (io.BytesIO(data), filename)
    return editor.post(page, data=fields, content_type="multipart/form-data")


@pytest.fixture
def editor(app):
    client = app.test_client()
    login(client, roles=("editor",))
    return client


def photo_urls(html: str) -> list[tuple[str, str, str]]:
    """(link, thumbnail src, alt) of each photo on a public page."""
    return re.findall(r'<a href="(/supervision/\d+/photos/\d+)"><img src="([^"]+)" alt="([^"]*)"',
                      html)


def test_staff_upload_before_and_after_and_the_public_page_shows_them(client, app, editor):
    item_id = make(app)
    assert upload(editor, item_id, jpeg_with_gps()).status_code == 303
    _post_step(editor, item_id, "rectifying")
    _post_step(editor, item_id, "applied")
    with app.app_context():
        applied = db.session.get(SupervisionItem, item_id).steps[-1].id
    response = upload(editor, item_id, jpeg_with_gps(colour=(40, 160, 60)), phase="after",
                      stage=str(applied), caption="防火堤已修复，整改后")
    assert response.status_code == 303

    html = client.get(f"/supervision/{item_id}").get_data(as_text=True)
    assert "整改照片" in html and "整改前" in html and "整改后" in html
    shown = photo_urls(html)
    assert [alt for _link, _src, alt in shown] == ["储罐区防火堤破损处，整改前", "防火堤已修复，整改后"]
    assert "<script" not in html.split('id="photos-heading"')[1]
    for link, src, _alt in shown:
        assert src == f"{link}/thumbnail"
        full, thumb = client.get(link), client.get(src)
        assert full.status_code == thumb.status_code == 200
        assert full.mimetype == thumb.mimetype == "image/jpeg"
        for body in (full.data, thumb.data):
            # Pixels only: the camera and the position are gone.
            assert CAMERA not in body and b"Exif" not in body
            assert not Image.open(io.BytesIO(body)).getexif()
        assert max(Image.open(io.BytesIO(thumb.data)).size) <= images.THUMBNAIL_SIDE
        assert Image.open(io.BytesIO(full.data)).size == (1600, 1200)
        # The bytes never change: a browser revalidates with the ETag and gets a bodiless 304.
        again = client.get(link, headers={"If-None-Match": full.headers["ETag"]})
        assert again.status_code == 304 and not again.data
        assert f"s-maxage={SHARED_MAX_AGE}," in full.headers["Cache-Control"]
    # Each photo is dated by its stage, and the width/height attributes are the thumbnail's.
    img = re.search(r'<img src="[^"]+/thumbnail" alt="[^"]*" width="(\d+)" height="(\d+)"', html)
    assert (int(img.group(1)), int(img.group(2))) == (640, 480)
    with app.app_context():
        versions = db.session.scalars(select(ItemVersion.summary).where(
            ItemVersion.kind == "supervision", ItemVersion.item_id == item_id)).all()
        assert "新增整改前照片：储罐区防火堤破损处，整改前" in versions
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert actions.count("supervision_photo_add") == 2


def _post_step(editor, item_id, page):
    url = f"/staff/supervision/{item_id}/step/{page}"
    response = editor.post(url, data={"csrf_token": csrf_token(editor, url),
                                      "on": local_today().isoformat()})
    assert response.status_code == 303, response.get_data(as_text=True)


@pytest.mark.parametrize(("data", "fields", "message"), [
    (None, {}, "请选择一张照片"),
    (b"%PDF-1.4 not an image", {}, "无法识别为图片"),
    (b"\xff\xd8\xff" + b"\x00" * 100, {}, "图片"),
    ("big", {}, "文件超过 10 MB"),
    ("ok", {"caption": "太短"}, "至少 4 个字"),
    ("ok", {"caption": "长" * 101}, "最多 100 个字"),
    ("ok", {"phase": "during"}, "整改前或整改后"),
    ("ok", {"stage": "999999"}, "所属办理环节"),
])
def test_a_refused_upload_says_why_keeps_the_input_and_stores_nothing(app, editor, data, fields,
                                                                      message):
    item_id = make(app)
    if data == "ok":
        data = jpeg_with_gps((300, 200))
    elif data == "big":
        data = b"\xff\xd8" + b"\x00" * (images.MAX_UPLOAD_BYTES + 10)
    response = upload(editor, item_id, data, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in html and message in html
    if "caption" not in fields:
        assert 'value="储罐区防火堤破损处，整改前"' in html  # the caption typed is kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SupervisionPhoto)) == 0


def test_the_count_is_limited(app, editor, monkeypatch):
    monkeypatch.setattr(supervision_photos, "MAX_PHOTOS_PER_ITEM", 2)
    item_id = make(app)
    small = jpeg_with_gps((200, 150))
    assert upload(editor, item_id, small).status_code == 303
    assert upload(editor, item_id, small).status_code == 303
    page = editor.get(f"/staff/supervision/{item_id}/photos").get_data(as_text=True)
    assert "不能再添加" in page and 'type="file"' not in page
    refused = upload(editor, item_id, small)
    assert refused.status_code == 400 and "最多 2 张照片" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SupervisionPhoto)) == 2


def test_removal_takes_it_off_the_public_page_and_the_id_is_never_reused(client, app, editor):
    item_id = make(app)
    upload(editor, item_id, jpeg_with_gps((300, 200)))
    link = photo_urls(client.get(f"/supervision/{item_id}").get_data(as_text=True))[0][0]
    photo_id = int(link.rsplit("/", 1)[1])
    page = f"/staff/supervision/{item_id}/photos"
    response = editor.post(f"{page}/{photo_id}/remove", data={"csrf_token": csrf_token(editor, page)})
    assert response.status_code == 303
    assert client.get(link).status_code == 404
    assert 'id="photos-heading"' not in client.get(f"/supervision/{item_id}").get_data(as_text=True)
    upload(editor, item_id, jpeg_with_gps((300, 200)))
    with app.app_context():
        assert db.session.scalar(select(SupervisionPhoto.id)) > photo_id
        assert "删除整改前照片" in " ".join(db.session.scalars(select(ItemVersion.summary)))


def test_a_drafts_photos_are_seen_by_staff_only(client, app, editor):
    with app.app_context():
        item = publishing.create_item("supervision", {
            "notice_no": "西安督〔2026〕9号", "supervision_type": "隐患挂牌督办", "grade": "一般",
            "title_text": "草稿的隐患", "enterprise_name": "", "uscc": "", "accident_id": None,
            "county": "景洪市", "sector": "非煤矿山", "responsible_unit": "某单位",
            "requirements_source": "整改。", "lifting": "销号。",
            "listed_on": local_today() - timedelta(days=3),
            "deadline": local_today() + timedelta(days=30),
            "department_name": "西双版纳州应急管理局"}).item
        item_id = item.id
    assert upload(editor, item_id, jpeg_with_gps((300, 200))).status_code == 303
    with app.app_context():
        photo_id = db.session.scalar(select(SupervisionPhoto.id))
    assert client.get(f"/supervision/{item_id}/photos/{photo_id}").status_code == 404
    assert client.get(f"/supervision/{item_id}/photos/{photo_id}/thumbnail").status_code == 404
    staff = editor.get(f"/staff/supervision/{item_id}/photos/{photo_id}/full")
    assert staff.status_code == 200 and staff.mimetype == "image/jpeg"
    # Another item's id in the address finds nothing.
    other = make(app)
    assert client.get(f"/supervision/{other}/photos/{photo_id}").status_code == 404
    # Nobody signed out reaches the staff address.
    assert client.get(f"/staff/supervision/{item_id}/photos/{photo_id}/full").status_code in (302, 303, 401, 403)


def test_the_staff_page_needs_the_editor_role_and_csrf(app, editor):
    item_id = make(app)
    handler = app.test_client()
    login(handler, roles=("handler",))
    assert handler.get(f"/staff/supervision/{item_id}/photos").status_code == 403
    no_token = editor.post(f"/staff/supervision/{item_id}/photos", data={
        "phase": "before", "stage": "listing", "caption": "没有令牌的上传",
        "photo": (io.BytesIO(jpeg_with_gps((200, 150))), "p.jpg")},
        content_type="multipart/form-data")
    # Refused like any staff form without its token: back to the page, "页面已过期".
    assert no_token.status_code == 303
    assert "页面已过期" in editor.get(no_token.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SupervisionPhoto)) == 0


def test_a_reports_photos_never_reach_the_item_opened_from_it(client, app):
    """The loop from a report carries no photo over: the item opened from a report with photos
    has none, and its public page shows none of the report's."""
    from tests.reports.test_supervision_loop import _open_and_publish

    report_photo = jpeg_with_gps((640, 480), colour=(1, 2, 3))
    _number, _code, report_id, handler = _verified_report_with_photo(client, app, report_photo)
    item_id, _editor = _open_and_publish(app, handler, report_id)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReportPhoto)) == 1
        assert db.session.scalar(select(func.count()).select_from(SupervisionPhoto)) == 0
        stored = db.session.scalar(select(ReportPhoto)).id
    html = client.get(f"/supervision/{item_id}").get_data(as_text=True)
    assert 'id="photos-heading"' not in html and "<img" not in html.split("<main", 1)[-1]
    assert f"/photos/{stored}" not in html


def _verified_report_with_photo(client, app, photo: bytes):
    """``_verified_report`` of the loop's tests, the report sent with one photo."""
    from tests.reports import test_supervision_loop as loop

    original = loop.submit_report

    def with_photo(c, **fields):
        return original(c, photos=[photo], **fields)

    loop.submit_report = with_photo
    try:
        return loop._verified_report(client, app)
    finally:
        loop.submit_report = original
