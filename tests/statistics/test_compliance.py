"""/compliance: figures checked against counts worked out by hand from the dates below (on the
2026 calendar: no holiday in November), and every linked figure against the list it opens."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import time_machine

from portal.extensions import db
from portal.models import VERIFICATION_RESULTS, Report
from tests import factories

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 2026-11-25, Beijing 10:00
_digests = itertools.count(1)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def on(day: date) -> datetime:
    """10:00 Beijing time on ``day``."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


NOV = lambda d: date(2026, 11, d)  # noqa: E731


@pytest.fixture
def data(app_ctx):
    a, b = factories.department("甲局"), factories.department("乙局")
    # 甲局 decisions.  行政处罚 and 行政许可 of 11-02 are due 11-11 (7 working days), the
    # 行政检查 of 11-02 on 11-30 (20 working days).
    factories.decision(department=a, decision_date=NOV(2), published_at=on(NOV(10)))  # 6 wd
    factories.decision(department=a, decision_date=NOV(2), published_at=on(NOV(13)))  # late, 9
    factories.decision(department=a, decision_type="行政检查", decision_date=NOV(2),
                       published_at=on(NOV(20)))  # on time, 14
    factories.decision(department=a, decision_type="行政许可", decision_date=NOV(2),
                       published=False)  # overdue, not published
    factories.decision(department=a, decision_date=NOV(20), published=False)  # due 12-01
    # 乙局: all published on time; withdrawals due 3 working days after the change.
    factories.decision(department=b, decision_date=NOV(16), published_at=on(NOV(17)))  # 1
    factories.decision(department=b, decision_date=NOV(2), published_at=on(NOV(5)),  # 3
                       withdrawal_requested_on=NOV(16), withdrawal_request_reason="复议撤销",
                       withdrawn_at=on(NOV(18)), withdrawn_reason="已撤销")  # due 11-19
    factories.decision(department=b, decision_date=NOV(2), published_at=on(NOV(3)),  # 1
                       withdrawal_requested_on=NOV(9), withdrawal_request_reason="复议撤销",
                       withdrawn_at=on(NOV(16)), withdrawn_reason="已撤销")  # due 11-12: late
    factories.decision(department=b, decision_date=NOV(2), published_at=on(NOV(3)),  # 1
                       withdrawal_requested_on=NOV(18),
                       withdrawal_request_reason="复议撤销")  # due 11-23: overdue
    factories.decision(department=b, decision_date=NOV(2), published_at=on(NOV(3)),  # 1
                       withdrawal_requested_on=NOV(24),
                       withdrawal_request_reason="复议撤销")  # due 11-27: not yet
    # Power-list changes: 10 working days from 11-02 run out on 11-16.
    factories.power(department=a, created_at=on(NOV(2)), published_at=on(NOV(16)))
    factories.power(department=a, created_at=on(NOV(2)), published_at=on(NOV(17)))  # late
    factories.power(department=a, created_at=on(NOV(2)), published=False)  # overdue draft
    factories.power(department=b, created_at=on(NOV(20)), published=False)  # due 12-04
    # Accident assessments (甲局): due one year after 批复.
    factories.accident(department=a, approved_on=date(2025, 11, 20))  # due 2026-11-20: overdue
    factories.accident(department=a, approved_on=date(2025, 10, 1),
                       assessment_published_on=date(2026, 9, 30))  # on time
    # Due 2026-10-01, in the National Day holiday, so 10-08 (民法典 Art. 203): 10-09 is late.
    factories.accident(department=a, approved_on=date(2025, 10, 1),
                       assessment_published_on=date(2026, 10, 9))  # late
    factories.accident(department=a, approved_on=date(2026, 1, 10))  # due 2027: not yet
    # Reports (the whole office).
    for status, due, verified in (("accepted", NOV(20), None), ("accepted", date(2026, 12, 20), None),
                                  ("verified", date(2026, 10, 10), date(2026, 10, 1)),
                                  ("verified", date(2026, 10, 10), date(2026, 10, 15)),
                                  ("declined", None, None)):
        db.session.add(Report(
            receipt_digest=f"d{next(_digests)}", kind="hazard", status=status,
            received_on=date(2026, 9, 1), enterprise_name="某公司", place="某地",
            description="某事", seen_since="近期", verification_due=due, verified_on=verified))
    db.session.commit()
    return {"a": a.id, "b": b.id}


def cells(html: str, section: str, name: str) -> dict[str, tuple[str, str | None]]:
    """{column label: (text, link)} of the row ``name`` in the table under heading ``section``."""
    part = html[html.index(f">{section}</h2>"):]
    part = part[:part.index("</section>")]
    row = re.search(rf'<th scope="row">{name}</th>(.*?)</tr>', part, re.S).group(1)
    found = {}
    for label, body in re.findall(r'<td class="num" data-label="([^"]+)">(.*?)</td>', row, re.S):
        link = re.search(r'href="([^"]+)"', body)
        found[label] = (re.sub(r"<[^>]+>", "", body).strip(), unescape(link.group(1)) if link else None)
    return found


def listed(client, url: str) -> int:
    html = client.get(url).get_data(as_text=True)
    assert "已忽略" not in html, url  # every filter of the link is understood
    return int(re.search(r"共 <strong>(\d+)</strong> 条", html).group(1))


def test_decision_figures_per_department(client, data):
    html = client.get("/compliance").get_data(as_text=True)
    a = cells(html, "执法决定的公开", "甲局")
    assert {k: v[0] for k, v in a.items()} == {
        "已公开": "3", "按期公开": "2", "逾期公开": "1", "逾期未公开": "1",
        "按期公开率": "50.0%", "公开用时中位数（工作日）": "9"}
    b = cells(html, "执法决定的公开", "乙局")
    assert {k: v[0] for k, v in b.items()} == {
        "已公开": "5", "按期公开": "5", "逾期公开": "0", "逾期未公开": "0",
        "按期公开率": "100.0%", "公开用时中位数（工作日）": "1"}
    total = cells(html, "执法决定的公开", "合计")
    assert total["已公开"][0] == "8" and total["按期公开率"][0] == "77.8%"  # 7 of 9
    assert total["公开用时中位数（工作日）"][0] == "2"  # of 1, 1, 1, 1, 3, 6, 9, 14
    assert a["逾期未公开"][1] is None  # drafts are not public: no link


def test_withdrawal_power_and_assessment_figures(client, data):
    html = client.get("/compliance").get_data(as_text=True)
    w = cells(html, "决定的撤回", "乙局")
    assert {k: v[0] for k, v in w.items()} == {"按期撤回": "1", "逾期撤回": "1", "逾期未撤回": "1"}
    assert "甲局" not in html[html.index(">决定的撤回</h2>"):html.index(">权责清单调整的公开</h2>")]
    p = cells(html, "权责清单调整的公开", "甲局")
    assert {k: v[0] for k, v in p.items()} == {"已公开": "2", "按期公开": "1", "逾期公开": "1",
                                               "逾期未公开": "1"}
    s = cells(html, "事故整改评估的公开", "甲局")
    assert {k: v[0] for k, v in s.items()} == {"按期公开": "1", "逾期公开": "1", "逾期未公开": "1"}
    reports = html[html.index(">举报核查</h2>"):]
    assert re.search(r"核查中</dt><dd>2 件", reports)
    assert re.search(r"仍未核查完毕</dt><dd><span[^>]*>1 件", reports)
    assert re.search(r"按期核查完毕</dt><dd>1 件", reports)
    assert re.search(r"逾期核查完毕</dt><dd>1 件", reports)
    assert "某公司" not in html


def test_every_linked_figure_opens_a_list_of_that_many_items(client, data):
    html = client.get("/compliance").get_data(as_text=True)
    checked = 0
    for section, names in (("执法决定的公开", ("甲局", "乙局", "合计")),
                           ("决定的撤回", ("乙局",)), ("权责清单调整的公开", ("甲局",)),
                           ("事故整改评估的公开", ("甲局",))):
        for name in names:
            for label, (text, link) in cells(html, section, name).items():
                if link:
                    assert listed(client, link) == int(text), (section, name, label, link)
                    checked += 1
    assert checked >= 15


def test_list_filters_behind_the_figures(client, data):
    a, b = data["a"], data["b"]
    assert listed(client, f"/decisions?department={a}&late=1") == 1
    assert listed(client, "/decisions?late=0") == 7
    assert listed(client, f"/decisions?department={b}&withdrawal=late") == 1
    assert listed(client, "/decisions?withdrawal=overdue") == 1
    assert listed(client, f"/powers?department={a}&late=1") == 1
    assert listed(client, "/accidents?assessment=overdue") == 1
    page = client.get("/decisions?late=maybe").get_data(as_text=True)
    assert "筛选条件「公开时效」的值无效，已忽略。" in page


def test_an_empty_portal_has_a_compliance_page(client, app_ctx):
    response = client.get("/compliance")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "暂无执法决定。" in html and "核查中</dt><dd>0 件" in html


def test_a_withdrawal_without_a_recorded_change_day_is_counted_everywhere(client, app_ctx):
    """Withdrawn decisions were in the CSV and the API, but /compliance said none was withdrawn
    and both timeliness filters listed none: a withdrawal counts from the day of the change, or
    from its own day where that was not recorded."""
    dept = factories.department("丙局")
    factories.decision(department=dept, decision_date=NOV(2), published_at=on(NOV(3)),
                       withdrawn_at=on(NOV(10)), withdrawn_reason="复议撤销")
    factories.decision(department=dept, decision_date=NOV(2), published_at=on(NOV(3)),
                       withdrawal_requested_on=NOV(4), withdrawal_request_reason="复议撤销",
                       withdrawn_at=on(NOV(20)), withdrawn_reason="复议撤销")  # due 11-09: late
    db.session.commit()
    html = client.get("/compliance").get_data(as_text=True)
    assert "没有登记变更或撤销的决定" not in html
    w = cells(html, "决定的撤回", "丙局")
    assert {k: v[0] for k, v in w.items()} == {"按期撤回": "1", "逾期撤回": "1", "逾期未撤回": "0"}
    assert listed(client, "/decisions?withdrawal=on_time") == 1
    assert listed(client, "/decisions?withdrawal=late") == 1
    api = client.get("/api/v1/decisions").get_json()["results"]
    assert sum(r["withdrawn"] for r in api) == 2
    on_time = client.get("/api/v1/decisions?withdrawal=on_time").get_json()
    assert on_time["count"] == 1


def test_withdrawing_a_decision_records_the_day_it_counts_from(app_ctx):
    from flask import current_app

    from portal.services.oversight import compliance
    from portal.services.publication import publishing

    item = factories.decision(published_at=on(NOV(3)))
    db.session.commit()
    with current_app.test_request_context():
        publishing.withdraw_item(item, reason="经复议依法撤销")
    assert item.withdrawal_requested_on == NOV(25)
    assert compliance.timeliness_ids("decisions", "on_time") == {item.id}


# ---------------------------------------------------------------- the page cache


def _report_section(html: str) -> str:
    part = html[html.index('id="reports-title"'):]
    return part[:part.index("</section>")]


def test_the_page_is_kept_and_redrawn_when_a_report_changes_its_figures(client, data):
    """/compliance is kept by the page cache under its own version: a report's verification
    (which no published item follows, so the data generation stays) redraws it."""
    first = client.get("/compliance")
    assert first.status_code == 200 and first.headers.get("ETag")
    again = client.get("/compliance", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    from portal.services.reporting import cases
    from tests.staff.conftest import make_staff

    report = db.session.scalar(db.select(Report).where(Report.verification_due == NOV(20)))
    cases.verify(report, actor=make_staff("handler"), result=next(iter(VERIFICATION_RESULTS)))
    changed = client.get("/compliance", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    before, after = (_report_section(r.get_data(as_text=True)) for r in (first, changed))
    assert before != after and "1 件" in after


def test_the_page_is_redrawn_when_an_objection_or_repair_application_changes(client, app_ctx):
    from tests.credit.repair_helpers import listed
    from tests.services.test_repair import submitted
    from tests.staff.test_case_departments import _objection

    first = client.get("/compliance")
    objection = _objection()
    with_objection = client.get("/compliance", headers={"If-None-Match": first.headers["ETag"]})
    assert with_objection.status_code == 200
    application = submitted(listed())
    application.due_on = date(2026, 11, 1)  # past its deadline: overdue today
    db.session.commit()
    with_repair = client.get("/compliance")
    assert with_repair.headers["ETag"] != with_objection.headers["ETag"]
    html = with_repair.get_data(as_text=True)
    repair_part = html[html.index('id="repair-title"'):]
    assert "badge-bad" in repair_part[:repair_part.index("</section>")]
    assert objection.status == "submitted"


def test_overdue_figures_follow_the_date_without_any_write(client, data):
    """A verification due on 11-26 is not overdue on 11-25 and is on 11-27: the page drawn on
    the 25th is not served on the 27th."""
    report = db.session.scalar(db.select(Report).where(Report.verification_due == NOV(20)))
    report.verification_due = NOV(26)
    db.session.commit()
    today = client.get("/compliance").get_data(as_text=True)
    assert "badge-bad" not in _report_section(today)
    with time_machine.travel(datetime(2026, 11, 27, 2, 0, tzinfo=UTC), tick=False):
        later = client.get("/compliance").get_data(as_text=True)
    assert "badge-bad" in _report_section(later)
