"""Test data factories: published items with plausible defaults; override any field."""

from __future__ import annotations

import itertools
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from portal.domain.blacklist import listing_end
from portal.domain.credit_code import complete
from portal.extensions import db
from portal.models import (
    AccidentReport,
    BlacklistEntry,
    Decision,
    Department,
    Enterprise,
    PowerItem,
    Report,
    SupervisionItem,
    utcnow,
)

_seq = itertools.count(1)


def credit_code(n: int | None = None) -> str:
    """A valid 统一社会信用代码 in 西双版纳 (area 532801), distinct per ``n``."""
    n = next(_seq) if n is None else n
    return complete(f"91532801MA{n:07d}")


def department(name: str = "西双版纳州应急管理局") -> Department:
    existing = db.session.query(Department).filter_by(name=name).one_or_none()
    if existing:
        return existing
    dept = Department(name=name)
    db.session.add(dept)
    return dept


def enterprise(**fields: Any) -> Enterprise:
    n = next(_seq)
    values = {
        "name": f"西双版纳测试矿业有限公司{n}",
        "uscc": credit_code(n),
        "county": "景洪市",
        "sector": "非煤矿山",
    } | fields
    ent = Enterprise(**values)
    db.session.add(ent)
    return ent


def _published(fields: dict[str, Any], published: bool) -> dict[str, Any]:
    if published and "published_at" not in fields:
        fields = fields | {"published_at": utcnow()}
    return fields


def power(published: bool = True, **fields: Any) -> PowerItem:
    n = next(_seq)
    values = {
        "code": f"XSBN-CF-{n:04d}",
        "name": "对非煤矿山企业未按规定排查治理事故隐患的行政处罚",
        "power_type": "行政处罚",
        "legal_basis": "《中华人民共和国安全生产法》第一百零二条",
        "department": department(),
        "responsibilities": "立案、调查取证、审理、告知、决定、送达、执行",
        "accountability": "因不履行或不正确履行行政职责，有下列情形的，行政机关及相关工作人员应承担相应责任",
        "workflow": ["立案", "调查取证", "审理", "告知", "决定", "送达", "执行"],
    } | fields
    item = PowerItem(**_published(values, published))
    db.session.add(item)
    return item


def decision(published: bool = True, **fields: Any) -> Decision:
    n = next(_seq)
    ent = fields.pop("enterprise", None) or enterprise()
    values = {
        "document_no": f"西应急罚〔2026〕{n}号",
        "decision_type": "行政处罚",
        "enterprise": ent,
        "party_name": ent.name,
        "uscc": ent.uscc,
        "county": ent.county,
        "sector": ent.sector,
        "facts": "经查，该公司未按规定对非煤矿山重大事故隐患进行排查治理。",
        "legal_basis": "《中华人民共和国安全生产法》第一百零二条",
        "penalty": "罚款",
        "fine_yuan": Decimal("50000"),
        "decision_date": date(2026, 9, 28),
        "department": department(),
    } | fields
    item = Decision(**_published(values, published))
    db.session.add(item)
    return item


def accident(published: bool = True, **fields: Any) -> AccidentReport:
    ent = fields.pop("enterprise", None) or enterprise()
    values = {
        "title_text": f"{ent.name}“6·12”坍塌事故调查报告",
        "occurred_on": date(2026, 6, 12),
        "county": ent.county,
        "sector": ent.sector,
        "enterprise": ent,
        "enterprise_name": ent.name,
        "uscc": ent.uscc,
        "deaths": 1,
        "serious_injuries": 0,
        "direct_loss_yuan": Decimal("1200000"),
        "summary": "2026年6月12日，该公司采场发生一起坍塌事故，造成1人死亡。",
        "report_html": "<h2>一、事故单位概况</h2><p>该公司位于景洪市。</p>",
        "approved_on": date(2026, 8, 20),
        "department": department(),
    } | fields
    item = AccidentReport(**_published(values, published))
    db.session.add(item)
    return item


def blacklist_entry(published: bool = True, years: int = 3, **fields: Any) -> BlacklistEntry:
    ent = fields.pop("enterprise", None) or enterprise()
    listed_on = fields.pop("listed_on", date(2026, 3, 1))
    values = {
        "enterprise": ent,
        "enterprise_name": ent.name,
        "uscc": ent.uscc,
        "county": ent.county,
        "sector": ent.sector,
        "grounds": "瞒报、谎报生产安全事故",
        "basis": "西应急罚〔2026〕3号",
        "listed_on": listed_on,
        "ends_on": listing_end(listed_on, years),
        "department": department(),
    } | fields
    item = BlacklistEntry(**_published(values, published))
    db.session.add(item)
    return item


def supervision_item(published: bool = True, **fields: Any) -> SupervisionItem:
    """A 督办事项 of a hazard at an enterprise, listed on 1 September 2026, under rectification
    until the end of the year."""
    n = next(_seq)
    ent = fields.pop("enterprise", None) or enterprise()
    values = {
        "notice_no": f"西安督〔2026〕{n}号",
        "supervision_type": "隐患挂牌督办",
        "grade": "重大",
        "title_text": f"{ent.name}储罐区重大事故隐患",
        "enterprise": ent,
        "enterprise_name": ent.name,
        "uscc": ent.uscc,
        "county": ent.county,
        "sector": ent.sector,
        "responsible_unit": ent.name,
        "requirements_html": "<p>立即停用储罐区。</p>",
        "requirements_source": "立即停用储罐区。",
        "lifting": "整改完成后申请销号。",
        "listed_on": date(2026, 9, 1),
        "deadline": date(2026, 12, 31),
        "department": department(),
    } | fields
    item = SupervisionItem(**_published(values, published))
    db.session.add(item)
    return item


def report(**fields: Any) -> Report:
    """A report as the citizen side stores it, received today unless told otherwise.

    ``receipt_digest`` is any unique string here (the receipt code is the citizen side's);
    ``uscc_digest`` and ``name_digest`` are set directly when a test needs duplicates.
    """
    from portal.domain.catalog import REPORT_ACCEPTANCE_WORKING_DAYS
    from portal.models import local_today
    from portal.working_days import working_calendar

    received_on = fields.pop("received_on", None) or local_today()
    values = {
        "receipt_digest": secrets.token_hex(32),
        "kind": "hazard",
        "received_on": received_on,
        "county": "景洪市",
        "enterprise_name": "景洪市举报测试矿业有限公司",
        "place": "景洪市嘎洒镇某采石场",
        "description": "采场边坡出现裂缝，仍在下方作业，未设置警戒。",
        "seen_since": "约两周前",
        "acceptance_due": working_calendar().add_working_days(
            received_on, REPORT_ACCEPTANCE_WORKING_DAYS).due,
    } | fields
    item = Report(**values)
    item.add_event("received", received_on)
    db.session.add(item)
    return item


def accepted_report(accepted_on: date | None = None, **fields: Any) -> Report:
    """A report accepted on ``accepted_on`` (default: its receipt date), its verification
    deadlines set by the service's own rule (tests of that rule use hand-computed dates)."""
    from portal.services.reporting.cases import start_verification

    item = report(**({"status": "accepted"} | fields))
    item.accepted_on = accepted_on or item.received_on
    start_verification(item, item.accepted_on)
    item.add_event("accepted", item.accepted_on)
    return item
