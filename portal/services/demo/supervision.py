"""Demo 督办事项: about 60 items in every stage, through the real services.

Some are overdue, some extended, some accident investigations (linked to a published demo
accident report), the closed hazards with a drawn 整改前 / 整改后 picture each (through the real
image pipeline), and a few opened from verified demo reports — among them demo report
``SUPERVISION_REPORT``, whose receipt code ``make run`` prints so that the loop can be followed
from both ends.  Every text starts with 【演示数据】; notice numbers carry （演示）.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from portal import images
from portal.domain import supervision as rules
from portal.domain.accidents import AccidentLevel
from portal.domain.catalog import COUNTIES, SECTORS
from portal.extensions import db
from portal.models import (
    AccidentReport,
    Enterprise,
    Report,
    ReportEvent,
    SupervisionItem,
    local_today,
)
from portal.services.demo.published import DEFAULT_SEED, DEMO_MARK, DEMO_SUFFIX, PREFECTURE
from portal.services.demo.reports import HANDLER_NAME, SUPERVISION_REPORT, _staff
from portal.services.publication import publishing, supervision, supervision_photos
from portal.staff.models import EDITOR, HANDLER
from portal.working_days import working_calendar

DEMO_SUPERVISION = 60
# A larger data set (``flask demo --size N``, the benches) gets one 督办事项 per this many items,
# so the fifth kind keeps its share of pages and search documents as the others grow.
ITEMS_PER_SUPERVISION = 100


def supervision_count(size: int | None) -> int:
    """How many demo 督办事项 go with a demo data set of ``size`` items (None: the default)."""
    return max(DEMO_SUPERVISION, (size or 0) // ITEMS_PER_SUPERVISION)
EDITOR_NAME = "demo-editor"
# What becomes of each item, in turn.
SCRIPT = (
    "listed", "rectifying", "extended", "applied", "failed", "passed", "closed", "closed",
    "overdue", "rectifying", "closed_late", "draft",
)
HAZARDS = ("液氨储罐区未设置有效围堰", "尾矿库排洪设施堵塞", "高边坡未按设计分级开挖", "有限空间作业未检测气体",
           "危险化学品仓库超量储存", "粉尘涉爆车间除尘系统失效", "脚手架连墙件缺失", "烟花爆竹仓库防雷设施损坏")
ACCIDENT_TYPES = ("一般生产安全事故查处", "较大影响事故查处")


def _department(county: str, grade: str) -> str:
    """The 挂牌单位: the prefecture for a 重大隐患, the county for a 一般隐患 (DOMAIN §7)."""
    from portal.services.demo.published import DEPARTMENTS

    if grade == "重大" or county not in DEPARTMENTS:
        return DEPARTMENTS[PREFECTURE][0]
    return DEPARTMENTS[county][0]


def load_demo_supervision(count: int = DEMO_SUPERVISION, *, seed: int = DEFAULT_SEED,
                          today: date | None = None) -> int:
    """Add ``count`` demo 督办事项 (once: none if some exist); returns how many there are."""
    existing = db.session.scalar(select(func.count()).select_from(SupervisionItem)) or 0
    if existing:
        return existing
    today = today or local_today()
    rng = random.Random(seed + 15)
    editor = _staff(EDITOR_NAME, EDITOR, "演示编辑")
    handler = _staff(HANDLER_NAME, HANDLER, "演示办理人员")
    enterprises = list(db.session.scalars(
        select(Enterprise).where(Enterprise.name.like("%" + DEMO_SUFFIX)).order_by(Enterprise.id)
        .limit(400)))
    accidents = list(db.session.scalars(
        select(AccidentReport).where(AccidentReport.published_at.is_not(None),
                                     AccidentReport.level == int(AccidentLevel.GENERAL))
        .order_by(AccidentReport.id)))
    reports = _reports_to_supervise()
    made = 0
    for position in range(count):
        step = SCRIPT[position % len(SCRIPT)]
        accident = (accidents[position % len(accidents)]
                    if accidents and position % 5 == 4 else None)
        report = reports.pop(0) if reports and position % 6 == 0 and position else None
        if report is not None and report.kind == "concealed_accident" and accidents:
            accident = accidents[position % len(accidents)]
        ent = rng.choice(enterprises) if enterprises else None
        _one(position, step, rng, today, editor, handler, ent, accident, report)
        made += 1
    return made


def _reports_to_supervise() -> list[Report]:
    """Verified demo reports (属实 or 部分属实) from which a 督办 may be opened, the printed one
    first."""
    found = [r for r in db.session.scalars(select(Report).order_by(Report.id))
             if supervision.may_open_from(r)]
    wanted = next((r for r in found if r.id == SUPERVISION_REPORT + 1), None)
    rest = [r for r in found if r is not wanted][:8]
    return ([wanted] if wanted else []) + rest


def _one(position: int, step: str, rng: random.Random, today: date, editor: object,
         handler: object, ent: Enterprise | None, accident: AccidentReport | None,
         report: Report | None) -> None:
    calendar = working_calendar()
    is_accident = accident is not None
    grade = "一般" if is_accident else ("重大" if position % 3 == 0 else "一般")
    county = (accident.county if accident else (ent.county if ent else "")) or rng.choice(COUNTIES)
    if county not in COUNTIES:
        county = rng.choice(COUNTIES)
    age = {"listed": rng.randint(3, 20), "draft": rng.randint(0, 6), "overdue": rng.randint(200, 300),
           "closed_late": rng.randint(300, 420)}.get(step, rng.randint(60, 330))
    listed_on = today - timedelta(days=age)
    if report is not None:
        # Opened after everything already on the report's timeline (its reporter reads it).
        listed_on = min(today, max(listed_on, *(e.occurred_on for e in report.events)))
    if is_accident:
        deadline = rules.default_deadline(calendar, rules.ACCIDENT, listed_on)
        title = f"{accident.title.removesuffix('调查报告')}查处"
    else:
        months = 2 if step in ("overdue", "closed_late") else rng.choice((3, 4, 6, 9))
        deadline = listed_on + timedelta(days=30 * months)
        if step in ("listed", "rectifying", "failed", "applied", "passed"):
            # Still open and not overdue: the deadline is ahead.
            deadline = max(deadline, today + timedelta(days=rng.randint(10, 90)))
        deadline = min(deadline, rules.latest_deadline(listed_on))
        title = f"{(ent.name if ent else '演示企业（演示）')}{rng.choice(HAZARDS)}"
    if step == "extended":
        deadline = today + timedelta(days=rng.randint(5, 12))
    year = listed_on.year
    prefix = "西安委督" if is_accident else ("西安督" if grade == "重大" else "西县安督")
    values = {
        "notice_no": f"{prefix}〔{year}〕{position + 1}号（演示）",
        "supervision_type": rules.ACCIDENT if is_accident else rules.HAZARD,
        "grade": grade,
        "title_text": title[:200],
        "enterprise_name": (accident.enterprise_name if accident else (ent.name if ent else "")),
        "uscc": (accident.uscc if accident else (ent.uscc if ent else None)) or "",
        "accident_id": accident.id if accident else None,
        "county": county,
        "sector": (accident.sector if accident else (ent.sector if ent else "")) or rng.choice(SECTORS),
        "responsible_unit": (f"{county}人民政府（演示）" if is_accident
                             else (ent.name if ent else "演示企业（演示）")),
        "requirements_source": (
            f"{DEMO_MARK}\n\n1. 立即落实隐患整改措施，整改期间采取可靠的防范措施；\n"
            "2. 制定整改方案，明确责任人、资金、时限和应急预案；\n"
            "3. 整改完成后组织自查，向挂牌单位书面申请销号。"
            if not is_accident else
            f"{DEMO_MARK}\n\n1. 依法依规组织事故调查，查明原因，认定责任；\n"
            "2. 按期形成调查报告并报请批复；\n3. 批复后全文公开，落实责任追究和整改措施。"),
        "lifting": (f"{DEMO_MARK}整改完成后由责任单位提出销号申请，挂牌单位在 10 日内组织现场审查，"
                    "合格的予以销号并在 5 个工作日内公开。" if not is_accident else
                    f"{DEMO_MARK}事故调查报告经批复并公开、责任追究落实后，由州安委会办公室审核解除督办。"),
        "listed_on": listed_on,
        "deadline": deadline,
        "department_name": _department(county, grade),
    }
    if report is not None:
        # What a report carries over (enterprise, credit code, county); the rest typed by staff.
        carried = supervision.defaults_from_report(report)
        values |= {k: v for k, v in carried.items() if k != "supervision_type" and v}
        if not is_accident:
            values["title_text"] = f"{values['enterprise_name']}{rng.choice(HAZARDS)}"[:200]
            values["responsible_unit"] = values["enterprise_name"]
        item = supervision.open_from_report(report, values, actor=handler, on=listed_on)
    else:
        item = publishing.create_item("supervision", values).item
    assert isinstance(item, SupervisionItem)
    if step == "draft":
        return
    publishing.publish_item(item)
    # Published within the 5 working days (a few late), as the demo's other kinds.
    days = rng.randint(1, 4) if position % 9 else rng.randint(8, 12)
    item.published_at = min(datetime.combine(
        calendar.add_working_days(listed_on, days).due, time(2, 0), UTC), item.published_at)
    item.modified_at = item.published_at
    for event in db.session.scalars(select(ReportEvent).join(Report).where(
            Report.supervision_id == item.id, ReportEvent.kind == "supervision_listed")):
        event.occurred_on = item.published_at.date()
    db.session.commit()

    def record(kind: rules.Step, on: date, **extra: object) -> None:
        on = min(on, today)
        supervision.record_step(item, kind, on=on, actor=editor, today=today,
                                note=f"{DEMO_MARK}{kind.label}。", **extra)  # type: ignore[arg-type]

    if step in ("listed", "overdue"):
        return
    # Steps are recorded on the published item, so none is dated before its publication.
    start = max(listed_on + timedelta(days=rng.randint(3, 10)), item.published_at.date())
    record(rules.Step.RECTIFYING, start)
    if step == "rectifying":
        return
    if step == "extended":
        window = rules.earliest_extension_application(calendar, item.deadline)
        applied = max(window, start)
        record(rules.Step.EXTENDED, min(applied + timedelta(days=2), today), applied_on=applied,
               new_deadline=item.deadline + timedelta(days=60),
               reason=f"{DEMO_MARK}整改工程量大，雨季无法施工。")
        return
    finish = item.deadline - timedelta(days=rng.randint(3, 20))
    if step == "closed_late":
        finish = item.deadline + timedelta(days=rng.randint(10, 40))
    applied_on = max(start + timedelta(days=5), min(finish, today - timedelta(days=2)))
    if step in ("applied", "passed"):
        # Still waiting for the regulator: applied (or passed) a few days ago, within its time.
        applied_on = max(start + timedelta(days=1), today - timedelta(days=rng.randint(5, 8)))
    record(rules.Step.APPLIED, applied_on)
    if step == "applied":
        return
    inspected = applied_on + timedelta(days=rng.randint(2, 4 if step == "passed" else 9))
    if step == "failed":
        record(rules.Step.FAILED, inspected)
        return
    record(rules.Step.PASSED, inspected)
    if step == "passed":
        return
    record(rules.Step.CLOSED, inspected + timedelta(days=rng.randint(1, 4)))
    if not is_accident:
        # Before and after: one on the listing, one on the passed inspection.
        passed = next(s for s in item.steps if s.step == rules.Step.PASSED.value)
        _demo_photo(item, "before", supervision_photos.LISTING, position, editor)
        _demo_photo(item, "after", str(passed.id), position, editor)


def _demo_picture(phase: str, position: int) -> bytes:
    """A drawn picture (not a photo) for a demo item: a site with a tank, a crack before and a
    new wall after, marked DEMO; it goes through the real image pipeline like an upload."""
    import io

    from PIL import Image, ImageDraw

    width, height = 960, 720
    picture = Image.new("RGB", (width, height), (176, 206, 230))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 430, width, height), fill=(150, 130, 100))  # the ground
    left = 200 + (position * 37) % 200
    draw.rectangle((left, 180, left + 360, 470), fill=(200, 200, 196), outline=(90, 90, 90), width=6)
    draw.ellipse((left, 140, left + 360, 220), fill=(215, 215, 210), outline=(90, 90, 90), width=6)
    if phase == "before":
        draw.line((left + 60, 470, left + 140, 330, left + 110, 250), fill=(170, 30, 30), width=10)
        draw.rectangle((0, 560, width, 600), fill=(230, 190, 40))  # a warning tape
    else:
        draw.rectangle((left - 80, 400, left + 440, 500), fill=(120, 120, 118),
                       outline=(60, 60, 60), width=4)  # the new bund wall
    draw.text((24, 24), "DEMO", fill=(20, 20, 20))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _demo_photo(item: SupervisionItem, phase: str, stage: str, position: int,
                editor: object) -> None:
    image = images.clean(_demo_picture(phase, position))
    caption = (f"{DEMO_MARK}储罐区现场，整改前（演示图片）" if phase == "before"
               else f"{DEMO_MARK}新建的围堰，整改后（演示图片）")
    supervision_photos.add_photo(item, image, phase=phase, stage=stage, caption=caption,
                                 actor=editor)
