"""Photos on the report pages: a busy decoder keeps the text and stores nothing, a cap on the
photos of a report, thumbnails served by short-lived links (never inlined), limited draft
thumbnails."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal import images, tokens
from portal.extensions import db
from portal.models import Report, ReportDraft, ReportMessage, ReportPhoto
from portal.services.reporting import reports as service
from tests.reports.conftest import (
    FAST_SECONDS,
    REPORT_FIELDS,
    csrf_from,
    fill_form,
    followup,
    jpeg_bytes,
    submit_report,
)

PHOTO_LIMIT = "6 per day"


@pytest.fixture
def app_settings() -> dict:
    return {"REPORT_FOLLOWUP_MIN_SECONDS": FAST_SECONDS, "ratelimit_report_photo": PHOTO_LIMIT}


def _noisy_jpeg(size=(1280, 960)) -> bytes:
    """A photo-like JPEG (noise does not compress away), so thumbnails have a real size."""
    grey = Image.effect_noise(size, 60)
    image = Image.merge("RGB", [grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                                grey.transpose(Image.Transpose.FLIP_TOP_BOTTOM)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _reply(client, page: str, body: str, photos: list[bytes]):
    code = re.search(r'name="reply-code" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/report/followup/reply", data={
        "reply-csrf_token": csrf_from(page), "reply-code": code, "reply-body": body,
        "reply-photos": [(io.BytesIO(p), f"p{i}.jpg") for i, p in enumerate(photos, 1)]},
        content_type="multipart/form-data")


def _fill_report_with_photos(app, code: str, total: int) -> None:
    """Bring the report to ``total`` photos through the service, a reply at a time."""
    photo = images.clean(_noisy_jpeg())
    with app.app_context():
        report = service.find_by_receipt(code)
        while (have := service.MAX_PHOTOS_PER_REPORT - service.photos_left(report)) < total:
            service.add_reply(report, "补充照片。", [photo] * min(service.MAX_PHOTOS, total - have))


# ---------------------------------------------------------------- a busy decoder


def test_busy_decoder_answers_at_once_keeps_the_text_and_stores_nothing(client, app):
    with images.decode_slot():  # every slot of this process is taken
        response = fill_form(client, [jpeg_bytes()], description="坡下有人作业，裂缝约三米长。")
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "服务器正忙，请稍后再试" in html and "重新选择照片" in html
    assert "坡下有人作业，裂缝约三米长。" in html and REPORT_FIELDS["enterprise_name"] in html
    with app.app_context():
        assert _count(ReportPhoto) == 0 and _count(ReportDraft) == 0 and _count(Report) == 0
    # Once the slot is free the same form goes through.
    assert fill_form(client, [jpeg_bytes()]).status_code == 303


def test_busy_decoder_on_a_reply_keeps_the_text(client, app):
    number, code = submit_report(client)
    page = followup(client, code).get_data(as_text=True)
    with images.decode_slot():
        response = _reply(client, page, "裂缝又变宽了，附照片。", [jpeg_bytes()])
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "服务器正忙，请稍后再试" in html
    assert "裂缝又变宽了，附照片。" in html and "重新选择照片" in html
    with app.app_context():
        assert _count(ReportMessage) == 0 and _count(ReportPhoto) == 0


def test_a_forms_photos_are_decoded_under_one_slot(client, app, monkeypatch):
    """Another upload cannot take the decode slot between two photos of a form: it did, and
    under a flood most requests ended busy after decoding some of their photos, the work
    thrown away (bench/abuse.py).  Asked between the photos, the slot is taken."""
    import threading

    original = images.clean
    free_between = []

    def clean(data, **kwargs):
        if free_between or len(calls) == 0:
            calls.append(1)
            return original(data, **kwargs)
        got = []

        def another_upload():
            try:
                with images.decode_slot(timeout=0):
                    got.append(True)
            except images.DecoderBusy:
                got.append(False)

        other = threading.Thread(target=another_upload)
        other.start()
        other.join()
        free_between.append(got[0])
        return original(data, **kwargs)

    calls: list[int] = []
    monkeypatch.setattr(images, "clean", clean)
    response = fill_form(client, [jpeg_bytes(), jpeg_bytes(), jpeg_bytes()])
    assert response.status_code == 303  # all three stored
    assert free_between == [False]  # the second photo's turn: the slot still this form's
    with app.app_context():
        assert _count(ReportPhoto) == 3


# ---------------------------------------------------------------- photos per report


def test_replies_cannot_add_photos_past_the_cap(client, app):
    number, code = submit_report(client, [jpeg_bytes()] * service.MAX_PHOTOS)
    _fill_report_with_photos(app, code, service.MAX_PHOTOS_PER_REPORT - 1)
    page = followup(client, code).get_data(as_text=True)

    response = _reply(client, page, "最后两张照片。", [jpeg_bytes(), jpeg_bytes()])
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "最多还能上传 1 张照片" in html
    assert "最后两张照片。" in html  # the text is kept

    assert _reply(client, page, "最后一张照片。", [jpeg_bytes()]).status_code == 200
    response = _reply(client, page, "再来一张。", [jpeg_bytes()])
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "不能再添加" in html and "再来一张。" in html
    assert _reply(client, page, "只有文字也可以。", []).status_code == 200
    with app.app_context():
        assert _count(ReportPhoto) == service.MAX_PHOTOS_PER_REPORT


def test_the_service_enforces_the_cap_for_every_caller(client, app):
    number, code = submit_report(client)
    _fill_report_with_photos(app, code, service.MAX_PHOTOS_PER_REPORT)
    with app.app_context():
        report = service.find_by_receipt(code)
        with pytest.raises(service.TooManyPhotos):
            service.add_reply(report, "多一张。", [images.clean(jpeg_bytes())])
        assert _count(ReportPhoto) == service.MAX_PHOTOS_PER_REPORT
        with pytest.raises(service.TooManyPhotos):
            service.submit(REPORT_FIELDS, [images.clean(jpeg_bytes())] * (service.MAX_PHOTOS + 1))


# ---------------------------------------------------------------- thumbnails by link


def _thumbnail_links(html: str) -> list[str]:
    return re.findall(r'<img src="(/report/photo/[^"]+)"', html)


def test_case_page_with_many_photos_stays_small(client, app):
    number, code = submit_report(client, [_noisy_jpeg()] * service.MAX_PHOTOS)
    _fill_report_with_photos(app, code, service.MAX_PHOTOS_PER_REPORT)
    response = followup(client, code)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "data:image" not in html and "base64," not in html
    assert len(_thumbnail_links(html)) == service.MAX_PHOTOS_PER_REPORT
    assert len(response.data) < 60_000  # twenty inlined thumbnails made it megabytes


def test_thumbnail_links_work_for_minutes_and_for_their_photo_only(client, app):
    import time_machine

    number, code = submit_report(client, [_noisy_jpeg()])
    html = followup(client, code).get_data(as_text=True)
    [link] = _thumbnail_links(html)
    assert code.replace("-", "") not in link.replace("-", "")

    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert "no-store" in response.headers["Cache-Control"]
    thumbnail = Image.open(io.BytesIO(response.data))
    assert max(thumbnail.size) <= images.THUMBNAIL_SIDE and not thumbnail.getexif()
    with app.app_context():
        stored = db.session.scalar(select(ReportPhoto))
        assert response.data == stored.thumbnail  # served as stored: no decode per view

    token = link.rsplit("/", 1)[1]
    later = datetime.now(UTC) + timedelta(seconds=service.PHOTO_LINK_SECONDS + 60)
    with time_machine.travel(later, tick=False):
        assert client.get(link).status_code == 404  # expired
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get(f"/report/photo/{forged}").status_code == 404
    assert client.get("/report/photo/not-a-token").status_code == 404


def test_another_reports_photo_cannot_be_reached(client, app):
    number_a, code_a = submit_report(client, [_noisy_jpeg()])
    number_b, code_b = submit_report(client, [jpeg_bytes()])
    [link_a] = _thumbnail_links(followup(client, code_a).get_data(as_text=True))
    with app.app_context():
        report_a = service.find_by_receipt(code_a)
        photo_b = db.session.scalar(select(ReportPhoto).where(ReportPhoto.report_id != report_a.id))
        with app.test_request_context():
            # Signed for the other side (staff), or naming a photo with another report's id.
            staff_token = tokens.sign("staff_report_photo", [photo_b.report_id, photo_b.id])
            mixed = tokens.sign("report_photo", [report_a.id, photo_b.id])
    assert client.get(f"/report/photo/{staff_token}").status_code == 404
    assert client.get(f"/report/photo/{mixed}").status_code == 404
    # Editing the payload of a real link breaks its signature.
    payload, rest = link_a.rsplit("/", 1)[1].split(".", 1)
    assert client.get(f"/report/photo/{payload[:-1]}x.{rest}").status_code == 404


def test_a_purged_reports_photos_are_gone(client, app):
    number, code = submit_report(client, [jpeg_bytes()])
    [link] = _thumbnail_links(followup(client, code).get_data(as_text=True))
    with app.app_context():
        db.session.execute(ReportPhoto.__table__.delete())
        db.session.commit()
    assert client.get(link).status_code == 404


# ---------------------------------------------------------------- draft thumbnails


def test_draft_thumbnail_is_the_stored_one_and_rate_limited(client, app):
    assert fill_form(client, [_noisy_jpeg()]).status_code == 303
    page = client.get("/report/check").get_data(as_text=True)
    src = re.search(r'<img src="(/report/draft-photo/\d+)"', page).group(1)
    response = client.get(src)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    with app.app_context():
        stored = db.session.scalar(select(ReportPhoto))
        assert stored.thumbnail and response.data == stored.thumbnail

    limit = int(PHOTO_LIMIT.split()[0])
    statuses = [client.get(src).status_code for _ in range(limit)]
    assert statuses[:limit - 1] == [200] * (limit - 1) and statuses[-1] == 429
    # Another client is not affected (it has no draft: 404, not 429).
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert other.get(src).status_code == 404


def test_photos_stored_before_thumbnails_were_kept_still_show(client, app):
    number, code = submit_report(client, [jpeg_bytes()])
    with app.app_context():
        db.session.execute(ReportPhoto.__table__.update().values(
            thumbnail=None, thumbnail_media_type=None))
        db.session.commit()
    [link] = _thumbnail_links(followup(client, code).get_data(as_text=True))
    response = client.get(link)
    assert response.status_code == 200
    assert max(Image.open(io.BytesIO(response.data)).size) <= images.THUMBNAIL_SIDE


def test_busy_decoder_on_a_reply_is_answered_before_the_code_is_checked(client, app, monkeypatch):
    """A reply with photos that finds the decoder taken gets the busy page (its text kept)
    before its code is checked: no Argon2 hash and no case page for each refused one, the
    same answer whatever the code."""
    number, code = submit_report(client)
    page = followup(client, code).get_data(as_text=True)

    def no_lookup(raw):
        raise AssertionError("the code was checked for a request that found the decoder busy")

    monkeypatch.setattr(service, "find_by_receipt", no_lookup)
    with images.decode_slot():
        response = _reply(client, page, "又发现一处裂缝。", [jpeg_bytes()])
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "服务器正忙，请稍后再试" in html and "又发现一处裂缝。" in html
    assert "再次选择照片" in html  # the photos must be chosen again
    assert number not in html  # not the case page: nothing about the report
