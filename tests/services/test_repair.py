"""信用修复 rules: eligibility at its boundaries, the deadline in working days (调休), four eyes,
grant through the blacklist's removal, fraud revocation, purge after retention, timeliness."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from sqlalchemy import select

from portal import audit, pdfs
from portal.credit.models import RepairApplication
from portal.domain.blacklist import BlacklistStatus
from portal.extensions import db
from portal.models import ItemVersion
from portal.services.enterprises import repair
from tests.credit.repair_helpers import listed, pdf_bytes, pdf_with_compressed_javascript
from tests.staff.conftest import make_staff

VALUES = {"applicant_name": "岩温罕", "applicant_role": "法定代表人", "contact": "13988776655",
          "penalty_done": "罚款已缴清。", "rectification": "整改已验收。"}


def _doc(kind: str = "commitment") -> repair.CleanDocument:
    return repair.clean_document(repair.Upload(pdf_bytes(), kind))


def submitted(entry) -> RepairApplication:
    draft = repair.save_draft(None, {"uscc": entry.uscc, **VALUES}, [_doc()])
    application, _ = repair.submit(draft)
    return application


@pytest.mark.parametrize(("listed_on", "today", "eligible", "from_date"), [
    # 11 months and 30 days: not yet; the 12-month period ends on 2026-01-01 (民法典).
    (date(2025, 1, 1), date(2025, 12, 31), False, date(2026, 1, 2)),
    (date(2025, 1, 1), date(2026, 1, 1), False, date(2026, 1, 2)),
    (date(2025, 1, 1), date(2026, 1, 2), True, date(2026, 1, 2)),
    # A leap day: 12 months after 2024-02-29 end on 2025-02-28.
    (date(2024, 2, 29), date(2025, 2, 28), False, date(2025, 3, 1)),
    (date(2024, 2, 29), date(2025, 3, 1), True, date(2025, 3, 1)),
    # Listed on 2025-02-28 (no leap day in 2026): from 2026-03-01.
    (date(2025, 2, 28), date(2026, 2, 28), False, date(2026, 3, 1)),
])
def test_eligibility_boundaries(app_ctx, listed_on, today, eligible, from_date):
    entry = listed(listed_on=listed_on)
    verdict = repair.eligibility(entry, today)
    assert (verdict.eligible, verdict.from_date) == (eligible, from_date)


def test_eligibility_follows_the_configured_months(app_ctx):
    app_ctx.config["SETTINGS"] = app_ctx.config["SETTINGS"].__class__(
        **{**app_ctx.config["SETTINGS"].__dict__, "blacklist_min_months_before_removal": 6})
    entry = listed(listed_on=date(2025, 1, 1))
    assert repair.eligibility(entry, date(2025, 7, 2)).eligible
    assert not repair.eligibility(entry, date(2025, 7, 1)).eligible


def test_an_expired_or_removed_entry_is_not_eligible(app_ctx):
    entry = listed(listed_on=date(2022, 1, 1))
    assert not repair.eligibility(entry, date(2026, 3, 2)).eligible


@time_machine.travel("2026-02-13 10:00 +0800", tick=False)
def test_deadline_counts_working_days_with_swapped_weekends(app_ctx):
    # 20 working days after Friday 2026-02-13: the Spring Festival (16–20, 23 Feb) is off, the
    # swapped Saturdays 14 and 28 February are working days → 19 March (23 March without 调休).
    application = submitted(listed(listed_on=date(2025, 1, 10)))
    assert application.received_on == date(2026, 2, 13)
    assert application.due_on == date(2026, 3, 19)
    assert not application.due_provisional


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_one_open_application_per_entry(app_ctx):
    entry = listed()
    submitted(entry)
    assert repair.public_state(entry) == "信用修复申请审核中"
    with pytest.raises(repair.ApplicationInvalid):
        repair.save_draft(None, {"uscc": entry.uscc, **VALUES}, [_doc()])


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_grant_needs_four_eyes_and_removes_through_the_blacklist(app_ctx):
    entry = listed()
    editor, approver = make_staff("editor", "approver"), make_staff("approver")
    application = submitted(entry)
    repair.accept(application, actor=editor)
    repair.propose(application, actor=editor, outcome="grant", decision_no="西应急信修〔2026〕1号",
                   reasons="罚款已缴清，整改经验收合格。")
    with pytest.raises(repair.StepRefused, match="另一位"):
        repair.approve(application, actor=editor)
    assert entry.removed_on is None
    repair.approve(application, actor=approver)
    assert application.status == "granted" and application.decided_on_time
    assert entry.status(date(2026, 3, 2)) is BlacklistStatus.REMOVED
    history = db.session.scalars(select(ItemVersion).where(ItemVersion.kind == "blacklist",
                                                           ItemVersion.item_id == entry.id)).all()
    assert any("信用修复" in v.summary and "西应急信修〔2026〕1号" in v.summary for v in history)
    actions = [e.action for e in db.session.scalars(select(audit.AuditEvent))]
    for action in ("repair_submit", "repair_accept", "repair_propose", "remove", "repair_decide"):
        assert action in actions
    assert repair.public_state(entry).startswith("准予信用修复（西应急信修〔2026〕1号）")


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_fraud_revocation_restores_the_listing(app_ctx):
    entry = listed()
    editor, approver = make_staff("editor"), make_staff("approver")
    application = submitted(entry)
    repair.accept(application, actor=editor)
    repair.propose(application, actor=editor, outcome="grant", decision_no="信修1号",
                   reasons="材料齐全，予以修复。")
    repair.approve(application, actor=approver)
    assert entry.status(date(2026, 3, 2)) is BlacklistStatus.REMOVED
    repair.revoke(application, actor=approver, reason="缴款凭证系伪造，经银行核实无此笔缴款。")
    assert application.status == "revoked"
    assert entry.removed_on is None and entry.status(date(2026, 3, 2)) is BlacklistStatus.ACTIVE
    summaries = [v.summary for v in db.session.scalars(select(ItemVersion).where(
        ItemVersion.item_id == entry.id, ItemVersion.kind == "blacklist"))]
    assert any("撤销信用修复" in s for s in summaries)


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_refusal_keeps_the_listing_and_tells_the_applicant(app_ctx):
    entry = listed()
    editor, approver = make_staff("editor"), make_staff("approver")
    application = submitted(entry)
    repair.accept(application, actor=editor)
    repair.ask_more(application, actor=editor, question="请补充罚款缴纳凭证。")
    assert application.status == "more_requested"
    repair.add_reply(application, "已补充。", [_doc("evidence")])
    assert application.status == "under_review"
    repair.propose(application, actor=editor, outcome="refuse", decision_no="信修2号",
                   reasons="整改尚未验收。")
    repair.return_proposal(application, actor=approver, note="请核实验收情况。")
    assert application.status == "under_review"
    repair.propose(application, actor=editor, outcome="refuse", decision_no="信修2号",
                   reasons="整改尚未验收。")
    repair.approve(application, actor=approver)
    assert application.status == "refused" and entry.removed_on is None
    assert application.events[-1].note == "整改尚未验收。"
    assert repair.public_state(entry).startswith("信用修复申请不予通过")


def test_purge_erases_personal_content_after_retention(app_ctx):
    with time_machine.travel("2026-03-02 10:00 +0800", tick=False):
        entry = listed()
        editor, approver = make_staff("editor"), make_staff("approver")
        application = submitted(entry)
        repair.accept(application, actor=editor)
        repair.propose(application, actor=editor, outcome="refuse", decision_no="信修3号",
                       reasons="材料不全。")
        repair.approve(application, actor=approver)
        abandoned = repair.save_draft(None, {"uscc": listed().uscc, **VALUES}, [_doc()])
        abandoned_id = abandoned.id
    # A day later the draft goes; the closed application is kept for two years.
    first = repair.purge(now=datetime.fromisoformat("2026-03-04T10:00:00+08:00"))
    assert (first.drafts, first.applications) == (1, 0)
    assert db.session.get(RepairApplication, abandoned_id) is None
    assert repair.purge(now=datetime.fromisoformat("2028-03-02T10:00:00+08:00")).applications == 0
    result = repair.purge(now=datetime.fromisoformat("2028-03-03T10:00:00+08:00"))
    assert result.applications == 1
    db.session.expire_all()
    purged = db.session.get(RepairApplication, application.id)
    assert purged.applicant_name == "" and purged.contact is None and purged.documents == []
    assert purged.access_digest is None and all(e.note is None for e in purged.events)
    assert purged.status == "refused" and purged.decision_no == "信修3号"  # statistics stay


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_timeliness_per_department(app_ctx):
    entry = listed()
    editor, approver = make_staff("editor"), make_staff("approver")
    application = submitted(entry)
    repair.accept(application, actor=editor)
    repair.propose(application, actor=editor, outcome="refuse", decision_no="信修4号",
                   reasons="材料不全。")
    repair.approve(application, actor=approver)
    [row] = repair.timeliness()
    assert (row.decided, row.on_time, row.open_overdue) == (1, 1, 0)


def test_pdf_checks():
    assert pdfs.check(pdf_bytes(pages=2)).pages == 2
    for bad in (pdf_bytes(b"/OpenAction << /S /JavaScript /JS (x) >>"),
                pdf_bytes(b"/Names << /J#61vaScript 9 0 R >>"),
                pdf_bytes(b"/Names << /EmbeddedFiles 9 0 R >>"),
                pdf_bytes(b"/AA << /O << /S /Launch /F (calc.exe) >> >>"),
                pdf_with_compressed_javascript()):
        with pytest.raises(pdfs.PdfRejected, match="脚本"):
            pdfs.check(bad)
    # An action run on opening is refused; a destination (page and zoom) is not an action.
    with pytest.raises(pdfs.PdfRejected, match="脚本"):
        pdfs.check(pdf_bytes(b"/OpenAction << /S /GoTo /D [3 0 R /Fit] >>"))
    assert pdfs.check(pdf_bytes(b"/OpenAction [3 0 R /FitH null]")).pages == 1
    with pytest.raises(pdfs.PdfRejected, match="不是 PDF"):
        pdfs.check(b"GIF89a....")
    with pytest.raises(pdfs.PdfRejected, match="MB"):
        pdfs.check(b"%PDF-1.4\n" + b"0" * pdfs.MAX_PDF_BYTES + b"%%EOF")
    with pytest.raises(pdfs.PdfRejected, match="损坏"):
        pdfs.check(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage\n%%EOF\n")


def test_purge_reports_command_purges_applications_too(app_ctx, runner):
    with time_machine.travel("2026-03-02 10:00 +0800", tick=False):
        repair.save_draft(None, {"uscc": listed().uscc, **VALUES}, [_doc()])
    with time_machine.travel("2026-03-05 10:00 +0800", tick=False):
        result = runner.invoke(args=["purge-reports"])
    assert result.exit_code == 0, result.output
    assert "已删除未提交的信用修复申请 1 份" in result.output
    assert db.session.scalar(select(db.func.count()).select_from(RepairApplication)) == 0


def test_demo_applications_cover_every_state(app_ctx):
    from portal.services.demo.repair import SCRIPT, load_demo_repairs

    with time_machine.travel("2026-03-02 10:00 +0800", tick=False):
        for _ in SCRIPT:
            listed(listed_on=date(2024, 6, 1))
        assert load_demo_repairs() == len(SCRIPT)
        assert load_demo_repairs() == len(SCRIPT)  # once only
        states = {a.status for a in db.session.scalars(select(RepairApplication))}
        assert states == {"submitted", "under_review", "more_requested", "proposed", "granted",
                          "refused", "revoked"}
        assert any(row.overdue for row in repair.queue())
