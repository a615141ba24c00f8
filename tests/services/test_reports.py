"""services/reports.py outside a request: submission, lookup, digests, follow-up steps, purge."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal import audit, images
from portal.extensions import db
from portal.models import (
    Report,
    ReportDraft,
    ReportMessage,
    ReportPhoto,
    Reward,
    RewardRejection,
    local_today,
    utcnow,
)
from portal.services.reporting import reports
from tests.factories import credit_code
from tests.reports.conftest import REPORT_FIELDS, jpeg_bytes


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_submit_and_find_outside_a_request(app_ctx):
    photo = images.clean(jpeg_bytes())
    report, code = reports.submit(REPORT_FIELDS, [photo], today=date(2026, 9, 30))
    assert report.received_on == date(2026, 9, 30)
    # 15 working days across the National Day holiday (1–8 October 2026, 调休 on 9/10 Oct).
    assert report.acceptance_due > date(2026, 10, 21)
    assert reports.find_by_receipt(code).id == report.id
    assert reports.find_by_receipt(code.lower().replace("-", " ")).id == report.id
    assert len(report.photos) == 1


@pytest.mark.parametrize("bad", ["", "garbage", "0" * 28])
def test_find_refuses_wrong_codes(app_ctx, bad):
    reports.submit(REPORT_FIELDS)
    with pytest.raises(reports.ReceiptNotFound):
        reports.find_by_receipt(bad)


def test_submit_checks_fields(app_ctx):
    with pytest.raises(reports.ReportInvalid) as error:
        reports.submit(REPORT_FIELDS | {"kind": "other", "county": "昆明市", "uscc": "123"})
    assert set(error.value.errors) == {"kind", "county", "uscc"}
    assert _count(Report) == 0


def test_enterprise_digests_normalise(app_ctx):
    code = credit_code(7)
    name, uscc = reports.enterprise_digests("景洪市 示例矿业 有限公司", code.lower())
    assert (name, uscc) == reports.enterprise_digests("景洪市示例矿业有限公司", " " + code)
    assert reports.enterprise_digests("ＡＢＣ矿业", None)[0] == reports.enterprise_digests("abc矿业", "")[0]
    assert reports.enterprise_digests("", None) == (None, None)
    report, _ = reports.submit(REPORT_FIELDS | {"uscc": code})
    assert (report.name_digest, report.uscc_digest) == reports.enterprise_digests(
        REPORT_FIELDS["enterprise_name"], code)


def test_draft_keeps_typed_values_and_photos(app_ctx):
    draft = reports.save_draft(None, {"place": "半句", "callback": True},
                               [images.clean(jpeg_bytes())])
    assert reports.draft_fields(draft)["place"] == "半句"
    assert reports.draft_fields(draft)["callback"] is True
    with pytest.raises(reports.TooManyPhotos):
        reports.save_draft(draft, {}, [images.clean(jpeg_bytes())] * 5)
    assert len(reports.draft_photos(reports.get_draft(draft.id))) == 1


def test_submit_draft_moves_photos_and_deletes_draft(app_ctx):
    draft = reports.save_draft(None, REPORT_FIELDS | {"contact": "x"},
                               [images.clean(jpeg_bytes())])
    report, code = reports.submit_draft(draft)
    assert report.contact is None  # no 请回电
    assert _count(ReportDraft) == 0
    photo = db.session.scalar(select(ReportPhoto))
    assert photo.report_id == report.id and photo.draft_id is None


def test_reply_and_reopen_rules(app_ctx):
    report, _ = reports.submit(REPORT_FIELDS)
    with pytest.raises(reports.ReportInvalid):
        reports.add_reply(report, "  ")
    reports.add_reply(report, "补充", [images.clean(jpeg_bytes())])
    assert report.messages[-1].author == "reporter" and len(report.messages[-1].photos) == 1
    for status, closed_as in (("received", None), ("closed", "handled"), ("declined", None)):
        report.status, report.closed_as = status, closed_as
        assert not reports.can_reopen(report)
        with pytest.raises(reports.StepRefused):
            reports.reopen(report, "仍未整改")
    report.status, report.closed_as = "closed", "rectified"
    reports.reopen(report, "仍未整改")
    assert report.status == "reopened" and report.events[-1].kind == "reopened"


def test_retention_cutoff():
    assert reports.retention_cutoff(date(2028, 2, 29), 2) == date(2026, 2, 28)
    assert reports.retention_cutoff(date(2026, 12, 1), 2) == date(2024, 12, 1)


def test_purge_drafts_older_than_a_day(app_ctx):
    old = reports.save_draft(None, REPORT_FIELDS, [images.clean(jpeg_bytes())])
    old.created_hour = utcnow() - timedelta(hours=25)
    db.session.commit()
    fresh = reports.save_draft(None, REPORT_FIELDS, [images.clean(jpeg_bytes())])
    old_id, fresh_id = old.id, fresh.id
    result = reports.purge_reports()
    assert (result.drafts, result.reports) == (1, 0)
    db.session.expire_all()
    assert reports.get_draft(old_id) is None and reports.get_draft(fresh_id) is not None
    assert _count(ReportPhoto) == 1


def test_purge_erases_content_keeps_statistics(app_ctx):
    today = local_today()
    years = app_ctx.config["SETTINGS"].report_retention_years
    old, old_code = reports.submit(REPORT_FIELDS | {"uscc": credit_code(3), "contact": "电话"},
                                   [images.clean(jpeg_bytes())])
    old.status, old.closed_as = "closed", "rectified"
    old.closed_on = reports.retention_cutoff(today, years) - timedelta(days=1)
    old.add_event("closed", old.closed_on, note="企业已整改")
    old.messages.append(ReportMessage(sent_on=old.closed_on, author="staff", body="谢谢"))
    old.reward = Reward(amount_yuan=3000, status="paid", proposed_on=old.closed_on,
                        payment_details="账号", payment_reference="转账凭证 1",
                        rejection_reason="举报人与企业有纠纷")
    old.reward.rejections.append(RewardRejection(
        amount_yuan=5000, proposed_on=old.closed_on, rejected_on=old.closed_on,
        reason="举报人与企业有纠纷"))
    recent, _ = reports.submit(REPORT_FIELDS)
    recent.status, recent.closed_on = "closed", today - timedelta(days=30)
    db.session.commit()

    result = reports.purge_reports()
    assert result.reports == 1
    db.session.expire_all()
    old = db.session.get(Report, old.id)
    assert old.purged_on == today
    assert old.description == old.place == old.enterprise_name == old.seen_since == ""
    assert old.uscc is None and old.contact is None and old.uscc_digest is None
    assert all(e.note is None for e in old.events)
    assert all(m.body == "" for m in old.messages)
    assert old.photos == [] and old.reward.payment_details is None
    assert old.reward.rejection_reason == "" and old.reward.rejections[0].reason == ""
    # What the statistics need stays.
    assert (old.kind, old.county, old.status, old.closed_as, old.reward.amount_yuan) == (
        "hazard", "景洪市", "closed", "rectified", 3000)
    # The reporter can still look it up and see that it was purged.
    assert reports.find_by_receipt(old_code).id == old.id
    assert db.session.get(Report, recent.id).description == REPORT_FIELDS["description"]
    events = [e for e in audit.iter_events(db.session) if e.action == "reports_purge"]
    assert len(events) == 1 and events[0].actor == audit.SYSTEM_ACTOR
    assert events[0].summary["reports"] == 1
    # Idempotent.
    assert reports.purge_reports().reports == 0


def test_purge_command(runner, app):
    with app.app_context():
        reports.submit(REPORT_FIELDS)
    result = runner.invoke(args=["purge-reports"])
    assert result.exit_code == 0 and "已清除超过保存期限的举报内容 0 件" in result.output


def test_a_draft_sent_twice_at_once_stores_one_report(app_ctx):
    from types import SimpleNamespace

    draft = reports.save_draft(None, REPORT_FIELDS, [images.clean(jpeg_bytes())])
    same_draft_seen_by_a_second_request = SimpleNamespace(id=draft.id)
    reports.submit_draft(draft)
    with pytest.raises(reports.DraftNotFound):
        reports.submit(REPORT_FIELDS, draft=same_draft_seen_by_a_second_request)
    assert _count(Report) == 1 and _count(ReportPhoto) == 1
