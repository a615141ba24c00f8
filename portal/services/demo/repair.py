"""Demo 信用修复 applications, one in each state, made through the real services.

They are for entries listed 12 months or more ago (the rules allow nothing else); each carries a
small generated PDF as its signed commitment.  The services date every step today; the demo then
moves the receipt and deadline of the "overdue" one into the past so the staff queue shows one.
"""

from __future__ import annotations

from datetime import timedelta

from fpdf import FPDF
from sqlalchemy import func, select

from portal.credit.models import RepairApplication
from portal.domain.blacklist import BlacklistStatus
from portal.extensions import db
from portal.models import BlacklistEntry, local_today
from portal.services.demo.published import DEMO_MARK
from portal.services.demo.reports import _staff
from portal.services.enterprises import repair
from portal.staff.models import APPROVER, EDITOR

EDITOR_NAME, APPROVER_NAME = "demo-repair-editor", "demo-repair-approver"
# The states shown, in the order they are made (each on its own entry).
SCRIPT = ("submitted", "under_review", "more_requested", "proposed", "granted", "refused",
          "revoked", "overdue")


def _commitment_pdf() -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text="Demo credit commitment (DEMO DATA)")
    return bytes(pdf.output())


def load_demo_repairs() -> int:
    """Add the demo applications once (none if any exist); returns how many there are."""
    existing = db.session.scalar(select(func.count()).select_from(RepairApplication)) or 0
    if existing:
        return existing
    today = local_today()
    candidates = [e for e in db.session.scalars(
        select(BlacklistEntry).where(
            BlacklistEntry.published_at.is_not(None), BlacklistEntry.withdrawn_at.is_(None),
            BlacklistEntry.status_clause(BlacklistStatus.ACTIVE, today))
        .order_by(BlacklistEntry.listed_on, BlacklistEntry.id)).unique()
        if not e.is_person and repair.eligibility(e, today).eligible
        # The form finds an entry by its credit code: the code's newest active listing.
        and repair.active_entry_for(e.uscc, today).id == e.id]
    editor = _staff(EDITOR_NAME, EDITOR, "演示审核人员")
    approver = _staff(APPROVER_NAME, APPROVER, "演示批准人员")
    document = repair.clean_document(repair.Upload(_commitment_pdf(), "commitment"))
    made = 0
    for step, entry in zip(SCRIPT, candidates, strict=False):
        draft = repair.save_draft(None, {
            "uscc": entry.uscc, "applicant_name": f"{DEMO_MARK}申请人", "applicant_role": "法定代表人",
            "contact": f"{DEMO_MARK}0691-0000000",
            "penalty_done": f"{DEMO_MARK}罚款已全额缴纳，责令停产整顿措施已执行完毕。",
            "rectification": f"{DEMO_MARK}已完成隐患整改，经主管部门现场验收合格。",
        }, [document])
        application, _ = repair.submit(draft)
        made += 1
        # Only staff of the department that listed the entry take the steps: the two demo
        # accounts (disabled; they only sign the demo's steps) join it for this application.
        editor.department_id = approver.department_id = application.department_id
        db.session.flush()
        if step == "overdue":
            application.received_on = today - timedelta(days=40)
            application.due_on = today - timedelta(days=10)
            application.events[0].occurred_on = application.received_on
            db.session.commit()
            continue
        if step == "submitted":
            continue
        repair.accept(application, actor=editor)
        if step == "more_requested":
            repair.ask_more(application, actor=editor, question=f"{DEMO_MARK}请补充罚款缴纳凭证。")
            continue
        if step == "under_review":
            continue
        outcome = "refuse" if step == "refused" else "grant"
        repair.propose(application, actor=editor, outcome=outcome,
                       decision_no=f"西应急信修〔{today.year}〕{made}号（演示）",
                       reasons=f"{DEMO_MARK}" + ("整改尚未经验收，不予信用修复。" if outcome == "refuse"
                                                  else "已履行处罚、完成整改并作出信用承诺。"))
        if step == "proposed":
            continue
        repair.approve(application, actor=approver)
        if step == "revoked":
            repair.revoke(application, actor=approver,
                          reason=f"{DEMO_MARK}经核实，所附缴款凭证系伪造。")
    return made
