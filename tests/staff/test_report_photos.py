"""Thumbnails on the staff report page: served by URL (never inlined, never the full photo), one
audit event for the page view rather than one per thumbnail when the thumbnail's link was made
by that audited view for the same viewer minutes ago; audited on its own otherwise."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from PIL import Image

from portal import images
from portal.extensions import db
from portal.models import ReportMessage, ReportPhoto, local_today
from portal.services.reporting import reports as report_service
from tests import factories
from tests.staff.conftest import login
from tests.staff.test_reports import actions, post, take


def _photo(image: images.CleanImage, **owner) -> ReportPhoto:
    return ReportPhoto(media_type=image.media_type, width=image.width, height=image.height,
                       data=image.data, thumbnail=image.thumbnail,
                       thumbnail_media_type=image.thumbnail_media_type, **owner)


@pytest.fixture
def report_with_photos(app):
    out = io.BytesIO()
    Image.effect_noise((1600, 1200), 60).convert("RGB").save(out, format="JPEG", quality=90)
    clean = images.clean(out.getvalue())
    with app.app_context():
        report = factories.report()
        for _ in range(3):
            report.photos.append(_photo(clean))
        message = ReportMessage(sent_on=local_today(), author="reporter", body="补充照片")
        report.messages.append(message)
        db.session.flush()
        report.photos.append(_photo(clean, message_id=message.id))
        other = factories.report()
        db.session.commit()
        return {"report": report.id, "photos": [p.id for p in report.photos],
                "other": other.id, "thumbnail": clean.thumbnail}


def _thumbnails(html: str) -> list[str]:
    return [src.replace("&amp;", "&")
            for src in re.findall(r'<img src="(/staff/reports/\d+/photos/\d+/thumbnail[^"]*)"', html)]


def test_report_page_shows_thumbnails_by_url_and_is_audited_once(app, report_with_photos):
    handler = app.test_client()
    login(handler, roles=("handler",))
    take(handler, report_with_photos["report"])  # need-to-know: the report's handler reads it
    response = handler.get(f"/staff/reports/{report_with_photos['report']}")
    html = response.get_data(as_text=True)
    links = _thumbnails(html)
    assert len(links) == 4 and "data:image" not in html
    for link in links:
        thumbnail = handler.get(link)
        assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
        assert thumbnail.data == report_with_photos["thumbnail"]  # not the 1600 px photo
        assert thumbnail.headers["Cache-Control"] == "no-store"
    # the view, not once more per thumbnail
    assert actions(app) == ["report_take", "report_view"]
    # The full photo, opened from a thumbnail, is audited as before.
    photo_id = report_with_photos["photos"][0]
    assert handler.get(f"/staff/reports/{report_with_photos['report']}/photos/{photo_id}"
                       ).status_code == 200
    assert actions(app) == ["report_take", "report_view", "report_photo_view"]


def test_a_thumbnail_without_a_fresh_link_of_the_same_viewer_is_audited(app, report_with_photos):
    handler = app.test_client()
    login(handler, roles=("handler",))
    take(handler, report_with_photos["report"])
    [link, *_] = _thumbnails(handler.get(f"/staff/reports/{report_with_photos['report']}")
                             .get_data(as_text=True))
    assert handler.get(link).status_code == 200
    assert actions(app) == ["report_take", "report_view"]
    assert handler.get(link.split("?")[0]).status_code == 200  # no link
    assert handler.get(link[:-2] + "xx").status_code == 200  # altered
    colleague = app.test_client()
    other_handler = login(colleague, roles=("handler",), username="colleague")
    assert colleague.get(link).status_code == 403  # not the colleague's case
    # Handed over, the colleague may see it; the first handler's link is still audited.
    post(handler, f"/staff/reports/{report_with_photos['report']}/assign",
         {"handler_id": str(other_handler.id)})
    assert colleague.get(link).status_code == 200  # another viewer's link
    assert actions(app) == ["report_take", "report_view"] + ["report_photo_view"] * 2 + [
        "report_assign", "report_photo_view"]
    take(handler, report_with_photos["other"])
    # A link never opens a photo through another report.
    other = link.replace(f"/reports/{report_with_photos['report']}/",
                         f"/reports/{report_with_photos['other']}/")
    assert handler.get(other).status_code == 404
    later = datetime.now(UTC) + timedelta(seconds=report_service.PHOTO_LINK_SECONDS + 60)
    with time_machine.travel(later, tick=False):
        assert colleague.get(link).status_code == 200  # expired (a page left open)
    assert actions(app)[-1] == "report_photo_view"


@pytest.mark.parametrize("roles", [("editor",), ("admin",)])
def test_thumbnails_are_for_report_readers_only(app, report_with_photos, roles):
    handler = app.test_client()
    login(handler, roles=("handler",))
    take(handler, report_with_photos["report"])
    [link, *_] = _thumbnails(handler.get(f"/staff/reports/{report_with_photos['report']}")
                             .get_data(as_text=True))
    outsider = app.test_client()
    login(outsider, roles=roles, username="outsider")
    response = outsider.get(link)
    assert response.status_code in (403, 404) and response.data != report_with_photos["thumbnail"]
