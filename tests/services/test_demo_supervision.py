"""Demo 督办事项: every stage through the real services, plausible dates, the loop from a demo
report, and the third printable receipt code."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import Report, SupervisionItem, local_date, local_today, utcnow
from portal.services.demo import reports as demo_reports
from portal.services.demo.published import load_demo
from portal.services.demo.supervision import load_demo_supervision
from portal.services.reporting import reports


def test_demo_supervision_covers_every_stage_with_plausible_dates(app_ctx):
    load_demo(size=300)
    demo_reports.load_demo_reports(2 * len(demo_reports.SCRIPT))
    assert load_demo_supervision(36) == 36
    items = db.session.scalars(select(SupervisionItem)).all()
    today = local_today()
    assert {i.stage for i in items} == {"listed", "rectifying", "applied", "passed", "closed"}
    assert any(i.extended_deadline for i in items)
    assert any(i.accident_id for i in items)
    assert any(i.overdue(today) for i in items)
    assert not all(i.overdue(today) for i in items if i.stage != "closed")
    assert any(not i.is_published for i in items)
    # The closed hazards have a 整改前 and a 整改后 picture, through the image pipeline.
    pictured = [i for i in items if i.photos]
    assert pictured and all(i.stage == "closed" and not i.accident_id for i in pictured)
    assert all(sorted(p.phase for p in i.photos) == ["after", "before"] for i in pictured)
    assert all(p.caption.startswith("【演示数据】") and p.thumbnail_width == 640
               for i in pictured for p in i.photos)
    for item in items:
        days = [item.listed_on, *(s.occurred_on for s in item.steps)]
        assert days == sorted(days) and days[-1] <= today, item.notice_no
        if item.published_at:
            assert item.listed_on <= local_date(item.published_at) <= today
            assert item.published_at <= utcnow() + timedelta(seconds=1)
        assert item.title.startswith(item.enterprise_name[:2]) or item.accident_id
    linked = db.session.scalars(select(Report).where(Report.supervision_id.is_not(None))).all()
    assert linked and all(r.verification_result in ("true", "partly") for r in linked)
    for report in linked:
        days = [e.occurred_on for e in report.events]
        assert days == sorted(days), report.number

    codes = demo_reports.demo_receipt_codes()
    assert [c.what for c in codes][:2] == ["办理人员提了问题", "奖励已批准，可申领"]
    assert len(codes) == 3
    report = reports.find_by_receipt(codes[2].code)
    assert report.supervision is not None and report.supervision.stage == "closed"
    assert reports.can_reopen(report)
    assert load_demo_supervision(36) == 36  # idempotent
