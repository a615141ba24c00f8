"""/stats: every figure checked against counts made here from the test data, independently of
the SQL aggregates, plus the CSV files, the SVG charts and the year filter."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape
from urllib.parse import urlencode

import pytest
import time_machine

from portal.domain.catalog import COUNTIES
from portal.extensions import db
from portal.models import Report, Reward, utcnow
from tests import factories

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Beijing 2026-11-25
_digests = itertools.count(1)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def read_csv(client, url) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())  # Excel needs the BOM to read UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def as_dict(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in rows[1:]}


ACCIDENTS = [
    # (occurred_on, deaths, serious_injuries, loss, county, sector, published, withdrawn)
    (date(2026, 3, 2), 1, 0, "800000", "景洪市", "非煤矿山", True, False),
    (date(2026, 3, 20), 4, 2, "2000000", "勐海县", "建筑施工", True, False),  # 较大
    (date(2026, 7, 9), 0, 12, "500000", "景洪市", "建筑施工", True, False),  # 较大 by injuries
    (date(2025, 12, 30), 2, 1, "300000", "勐腊县", "交通运输", True, False),
    (date(2024, 5, 1), 11, 0, "100", "勐腊县", "危险化学品", True, False),  # 重大, outside 24 months
    (date(2026, 8, 1), 1, 0, "1000", "景洪市", "工贸", False, False),  # draft: not counted
    (date(2026, 9, 1), 1, 0, "1000", "景洪市", "工贸", True, True),  # withdrawn: not counted
]


def level_of(deaths, injuries, loss) -> str:
    loss = Decimal(loss)
    if deaths >= 30 or injuries >= 100 or loss >= 100_000_000:
        return "特别重大事故"
    if deaths >= 10 or injuries >= 50 or loss >= 50_000_000:
        return "重大事故"
    if deaths >= 3 or injuries >= 10 or loss >= 10_000_000:
        return "较大事故"
    return "一般事故"


DECISIONS = [
    # (decision_date, type, sector, fine, published, withdrawn)
    (date(2026, 1, 5), "行政处罚", "非煤矿山", "30000", True, False),
    (date(2026, 2, 5), "行政处罚", "非煤矿山", "12000.50", True, False),
    (date(2026, 2, 6), "行政检查", "建筑施工", None, True, False),
    (date(2025, 6, 1), "行政处罚", "建筑施工", "50000", True, False),
    (date(2025, 6, 2), "行政强制", "烟花爆竹", None, True, False),
    (date(2024, 3, 3), "行政处罚", "工贸", "7000", True, False),
    (date(2026, 3, 3), "行政处罚", "工贸", "99999", False, False),  # draft
    (date(2026, 3, 4), "行政处罚", "工贸", "88888", True, True),  # withdrawn
]

BLACKLIST = [
    # (listed_on, removed_on)
    (date(2023, 10, 31), None),  # 3 years: active through 2026-10-31
    (date(2025, 1, 15), None),
    (date(2025, 2, 28), date(2026, 4, 1)),  # removed early: not active from 2026-04-01
    (date(2026, 6, 30), None),
]


def report(received_on, accepted_on=None, verified_on=None, reward=None) -> Report:
    r = Report(receipt_digest=f"digest-{next(_digests)}", kind="hazard", status="received",
               received_on=received_on, county="景洪市", enterprise_name="某公司",
               place="某地", description="某事", seen_since="近期",
               accepted_on=accepted_on, verified_on=verified_on)
    if accepted_on:
        r.status = "accepted"
    if verified_on:
        r.status, r.verification_result = "verified", "true"
    if reward:
        status, decided_on, paid_on, amount = reward
        r.reward = Reward(status=status, amount_yuan=amount, proposed_on=decided_on,
                          decided_on=decided_on, paid_on=paid_on)
    db.session.add(r)
    return r


REPORTS = [
    # (received, accepted, verified, reward (status, decided_on, paid_on, amount))
    (date(2026, 9, 3), date(2026, 9, 10), date(2026, 10, 8), ("paid", date(2026, 10, 20), date(2026, 11, 2), 3000)),
    (date(2026, 9, 4), date(2026, 9, 10), date(2026, 10, 9), ("approved", date(2026, 10, 21), None, 4500)),
    (date(2026, 9, 30), None, None, None),
    (date(2026, 10, 1), date(2026, 10, 9), None, None),
    (date(2025, 3, 3), date(2025, 3, 5), date(2025, 4, 1), ("paid", date(2025, 4, 10), date(2025, 5, 1), 3000)),
    (date(2025, 3, 4), date(2025, 3, 5), date(2025, 4, 2), ("paid", date(2025, 4, 11), date(2025, 5, 2), 5000)),
    (date(2025, 3, 5), date(2025, 3, 6), date(2025, 4, 3), ("paid", date(2025, 4, 12), date(2025, 6, 3), 6000)),
    (date(2025, 3, 6), date(2025, 3, 6), date(2025, 4, 3), ("rejected", date(2025, 4, 12), None, 3000)),
]


@pytest.fixture
def data(app_ctx):
    withdrawn_at = utcnow()
    for day, deaths, injuries, loss, county, sector, published, withdrawn in ACCIDENTS:
        factories.accident(occurred_on=day, deaths=deaths, serious_injuries=injuries,
                           direct_loss_yuan=Decimal(loss), county=county, sector=sector,
                           published=published, approved_on=None,
                           withdrawn_at=withdrawn_at if withdrawn else None)
    for day, kind, sector, fine, published, withdrawn in DECISIONS:
        factories.decision(decision_date=day, decision_type=kind, sector=sector,
                           fine_yuan=Decimal(fine) if fine else None, published=published,
                           withdrawn_at=withdrawn_at if withdrawn else None)
    for listed, removed in BLACKLIST:
        factories.blacklist_entry(listed_on=listed, removed_on=removed,
                                  removal_reason="信用修复" if removed else None)
    for received, accepted, verified, reward in REPORTS:
        report(received, accepted, verified, reward)
    db.session.commit()


def counted(rows):
    return [r for r in rows if r[-2] and not r[-1]]  # published and not withdrawn


def test_accidents_by_level_county_and_sector_match_the_data(client, data):
    public = counted(ACCIDENTS)
    levels = Counter(level_of(d, i, loss) for _, d, i, loss, *_ in public)
    deaths = Counter()
    for _, d, i, loss, *_ in public:
        deaths[level_of(d, i, loss)] += d
    table = as_dict(read_csv(client, "/stats/accidents-by-level.csv"))
    for label in ("特别重大事故", "重大事故", "较大事故", "一般事故"):
        assert table[label][:2] == [str(levels[label]), str(deaths[label])], label
    counties = Counter(row[4] for row in public)
    table = as_dict(read_csv(client, "/stats/accidents-by-county.csv"))
    assert {k: int(v[0]) for k, v in table.items() if int(v[0])} == dict(counties)
    sectors = Counter(row[5] for row in public)
    losses = Counter()
    for row in public:
        losses[row[5]] += Decimal(row[3])
    table = as_dict(read_csv(client, "/stats/accidents-by-sector.csv"))
    assert {k: int(v[0]) for k, v in table.items() if int(v[0])} == dict(sectors)
    assert {k: Decimal(v[3]) for k, v in table.items() if int(v[0])} == dict(losses)
    assert table["冶金"] == ["0", "0", "0", "0.00"]  # every sector is listed, zeros included


def test_accidents_by_month_cover_the_last_24_months(client, data):
    rows = read_csv(client, "/stats/accidents-by-month.csv")
    assert rows[0] == ["月份", "事故起数（起）", "死亡人数（人）"]
    assert rows[1][0] == "2024年12月" and rows[-1][0] == "2026年11月" and len(rows) == 25
    expected = Counter(f"{d.year}年{d.month}月" for d, *_ in counted(ACCIDENTS)
                       if d >= date(2024, 12, 1))
    found = {label: int(count) for label, count, _deaths in rows[1:] if int(count)}
    assert found == dict(expected)
    assert as_dict(rows)["2026年3月"] == ["2", "5"]


def test_decisions_by_sector_and_type_and_fines_by_year(client, data):
    public = counted(DECISIONS)
    by_type = Counter(row[1] for row in public)
    table = as_dict(read_csv(client, "/stats/decisions-by-type.csv"))
    assert {k: int(v[0]) for k, v in table.items() if int(v[0])} == dict(by_type)
    assert table["行政许可"] == ["0", "0.00"]
    fines = Counter()
    for row in public:
        fines[row[2]] += Decimal(row[3] or 0)
    table = as_dict(read_csv(client, "/stats/decisions-by-sector.csv"))
    assert {k: Decimal(v[1]) for k, v in table.items() if int(v[0])} == dict(fines)
    by_year, fined = Counter(), Counter()
    for row in public:
        if row[3]:
            by_year[f"{row[0].year}年"] += Decimal(row[3])
            fined[f"{row[0].year}年"] += 1
    table = as_dict(read_csv(client, "/stats/fines-by-year.csv"))
    assert table == {year: [str(fined[year]), f"{by_year[year]:.2f}"] for year in by_year}
    assert table["2026年"] == ["2", "42000.50"]


def test_blacklist_active_at_each_month_end(client, data):
    rows = as_dict(read_csv(client, "/stats/blacklist-active.csv"))

    def active(day):  # listed, not past the last day (inclusive), not removed by then
        from portal.domain.blacklist import listing_end

        return sum(1 for listed, removed in BLACKLIST
                   if listed <= day <= listing_end(listed, 3) and (removed is None or removed > day))

    assert rows["2026年10月月末"] == [str(active(date(2026, 10, 31)))] == ["3"]
    assert rows["2026年11月（截至今日）"] == [str(active(date(2026, 11, 25)))] == ["2"]
    assert rows["2026年3月月末"] == [str(active(date(2026, 3, 31)))] == ["3"]
    assert rows["2026年4月月末"] == ["2"]  # the early removal took effect on 04-01
    assert rows["2025年1月月末"] == ["2"]


def test_reports_are_counted_by_month_only(client, data):
    rows = read_csv(client, "/stats/reports-by-month.csv")
    assert rows[0] == ["月份", "收到（件）", "受理（件）", "核查完毕（件）", "批准奖励（件）",
                       "奖励发放（笔）"]
    table = as_dict(rows)

    def month(day):
        return f"{day.year}年{day.month}月" if day else None

    expected: dict[str, list[int]] = {}
    for received, accepted, verified, reward in REPORTS:
        granted = reward and reward[0] in ("approved", "claimed", "paid")
        for column, day in enumerate((received, accepted, verified,
                                      reward[1] if granted else None,
                                      reward[2] if reward and reward[0] == "paid" else None)):
            if month(day) in table:
                expected.setdefault(month(day), [0] * 5)[column] += 1
    found = {label: [int(v) for v in values] for label, values in table.items() if any(map(int, values))}
    assert found == expected
    assert table["2026年9月"] == ["3", "2", "0", "0", "0"]
    html = client.get("/stats").get_data(as_text=True)
    assert "某公司" not in html and "某事" not in html  # never any report's content


def test_a_years_reward_total_is_hidden_below_three_payments(client, data):
    table = as_dict(read_csv(client, "/stats/rewards-by-year.csv"))
    assert table["2025年"] == ["3", "14000.00"]
    assert table["2026年"] == ["1", ""]  # one payment: its amount would be that reward's
    html = client.get("/stats").get_data(as_text=True)
    section = html[html.index('id="rewards-by-year"'):]
    section = section[:section.index("</section>")]
    assert "3,000" not in section and "14,000" in section
    # No total either: it would give the hidden year's amount by subtraction.
    total = section.split("<tfoot>")[1]
    assert ">4<" in total and "14,000" not in total and ">—<" in total


def test_the_year_filter_narrows_every_table(client, data):
    table = as_dict(read_csv(client, "/stats/accidents-by-level.csv?year=2025"))
    assert sum(int(v[0]) for v in table.values()) == 1
    months = read_csv(client, "/stats/accidents-by-month.csv?year=2026")
    assert [r[0] for r in months[1:]] == [f"2026年{m}月" for m in range(1, 12)]  # up to now
    assert as_dict(read_csv(client, "/stats/fines-by-year.csv?year=2025")) == {
        "2025年": ["1", "50000.00"]}
    page = client.get("/stats?year=2025").get_data(as_text=True)
    assert "<h1>统计：2025年</h1>" in page
    assert 'href="/stats/decisions-by-type.csv?year=2025"' in page
    bad = client.get("/stats?year=1999")
    assert bad.status_code == 200 and "所选年份没有数据或无效" in bad.get_data(as_text=True)
    assert client.get("/stats?year=abc").status_code == 200


def test_the_page_shows_each_chart_with_its_table_csv_and_text_alternative(client, data):
    html = client.get("/stats").get_data(as_text=True)
    from portal.services.oversight.statistics import TABLE_KEYS
    from portal.statistics.views import COUNTY_MAPS

    for key in TABLE_KEYS:
        section = html[html.index(f'<section class="stat" id="{key}"'):]
        section = section[:section.index("</section>")]
        assert f'href="/stats/{key}.csv"' in section, key
        assert "<table" in section, key
        if key in COUNTY_MAPS:  # drawn as a county map (below) instead of a chart
            assert 'class="county-map"' in section and "<img" not in section, key
        elif key != "rewards-by-year" or "<img" in section:
            img = re.search(r'<img src="(/stats/[^"]+\.svg)" alt="([^"]+)"', section)
            assert img and img.group(1) == f"/stats/{key}.svg", key
            assert "详细数据见图下的表格" in img.group(2)
            assert f'srcset="/stats/{key}.svg?size=narrow"' in section
    alt = re.search(r'id="accidents-by-level".*?alt="([^"]+)"', html, re.S).group(1)
    assert alt == ("条形图：生产安全事故按等级（全部年份）；事故起数：重大事故 1 起、较大事故 2 起、一般事故 2 起。"
                   "详细数据见图下的表格。")
    alt = re.search(r'id="accidents-by-month".*?alt="([^"]+)"', html, re.S).group(1)
    assert "事故起数合计 4 起，最多为2026年3月（2 起）" in alt


def _county_map(html: str) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """The accidents county map on /stats: {county: (svg count text, href)} and its table."""
    figure = html[html.index('<figure class="county-map" id="accidents-by-county-map"'):]
    figure = figure[:figure.index("</figure>")]
    drawn = {name: (count, unescape(href)) for href, name, count in re.findall(
        r'<a class="county shade-\d" href="([^"]+)">\s*<path d="[^"]+"/>\s*'
        r'<text class="county-name"[^>]*>([^<]+)</text>\s*'
        r'<text class="county-count"[^>]*>([^<]+)</text>', figure)}
    table = dict(re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>\s*'
                            r'<td class="num">(\d+)</td>', figure))
    return drawn, table


@pytest.mark.parametrize("year", [None, 2026])
def test_the_county_map_links_each_county_to_its_filtered_list(client, data, year):
    query = f"?year={year}" if year else ""
    drawn, table = _county_map(client.get("/stats" + query).get_data(as_text=True))
    public = [row for row in counted(ACCIDENTS) if year is None or row[0].year == year]
    counts = Counter(row[4] for row in public)
    assert set(drawn) == {"景洪市", "勐海县", "勐腊县"}
    for county, (text, href) in drawn.items():
        assert text == f"{counts[county]} 起" and table[county] == str(counts[county])
        assert href == "/accidents?" + urlencode({"county": county, **({"year": year} if year else {})})
        # The list behind the link holds the same reports (and the withdrawn ones, marked).
        withdrawn = sum(1 for row in ACCIDENTS if row[4] == county and row[6] and row[7]
                        and (year is None or row[0].year == year))
        listed = client.get(href).get_data(as_text=True)
        assert f"共 <strong>{counts[county] + withdrawn}</strong> 条" in listed, county
    assert set(table) == set(drawn) | {c for c in COUNTIES if c not in drawn}


@pytest.mark.parametrize("size", ["", "?size=narrow"])
def test_charts_are_svg_with_text_and_no_script(client, data, size):
    response = client.get("/stats/accidents-by-county.svg" + size)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert "<script" not in svg.lower() and "DOCTYPE" not in svg
    assert not re.search(r'(?:href|src)="(?:https?:)?//', svg)  # nothing from another origin
    assert "<text" in svg and "景洪市" in svg  # labels kept as text for the browser to draw
    assert "font-family: 'Noto Sans CJK SC'" in svg
    assert client.get("/stats/accidents-by-county.svg" + size).get_data(as_text=True) == svg


def test_unknown_tables_and_sizes_are_404(client, data):
    assert client.get("/stats/nothing.csv").status_code == 404
    assert client.get("/stats/nothing.svg").status_code == 404
    assert client.get("/stats/accidents-by-level.svg?size=huge").status_code == 404


def test_an_empty_portal_has_a_stats_page(client, app_ctx):
    html = client.get("/stats").get_data(as_text=True)
    assert "该期间的数字均为 0，不绘制图表。" in html
    assert "该期间没有数据。" in html  # no year with fines yet


def test_figures_follow_new_data_despite_the_cache(client, data):
    def general():
        return int(as_dict(read_csv(client, "/stats/accidents-by-level.csv"))["一般事故"][0])

    before = general()
    assert general() == before  # served again (from the cache)
    factories.accident(occurred_on=date(2026, 10, 1), deaths=1, approved_on=None)
    db.session.commit()
    assert general() == before + 1
    item = factories.accident(occurred_on=date(2026, 10, 2), deaths=1, approved_on=None)
    db.session.commit()
    item.withdrawn_at = utcnow()
    db.session.commit()
    assert general() == before + 1
    reports = as_dict(read_csv(client, "/stats/reports-by-month.csv"))["2026年10月"]
    row = db.session.scalar(db.select(Report).where(Report.received_on == date(2026, 10, 1)))
    row.verified_on, row.status = date(2026, 10, 20), "verified"
    db.session.commit()
    after = as_dict(read_csv(client, "/stats/reports-by-month.csv"))["2026年10月"]
    assert int(after[2]) == int(reports[2]) + 1


def test_the_page_is_kept_and_redrawn_when_a_report_changes_its_figures(client, data):
    """/stats is kept by the page cache, under its tables' own version: a report's state
    (which no published item follows) redraws it as it redraws the tables."""
    first = client.get("/stats")
    assert first.status_code == 200
    again = client.get("/stats", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    row = db.session.scalar(db.select(Report).where(Report.received_on == date(2026, 10, 1)))
    row.verified_on, row.status = date(2026, 10, 20), "verified"
    db.session.commit()
    changed = client.get("/stats", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.get_data() != first.get_data()


def test_csv_cells_that_look_like_formulas_are_neutralised(client, app_ctx):
    factories.decision(sector="=HYPERLINK(\"http://example.com\")", decision_date=date(2026, 5, 1))
    factories.decision(sector="-2+3", decision_date=date(2026, 5, 1))
    db.session.commit()
    labels = [row[0] for row in read_csv(client, "/stats/decisions-by-sector.csv")]
    assert "'=HYPERLINK(\"http://example.com\")" in labels and "'-2+3" in labels


@pytest.mark.parametrize("path", [
    "/stats?year=%00", "/stats?year=99999999999999999999", "/stats?year=2026&year=2025",
    "/stats/accidents-by-month.csv?year=%FF", "/stats/accidents-by-month.svg?size=%00",
    "/stats/..%2F..%2Fetc.csv", "/sitemap-99999999999999999999999.xml", "/sitemap--1.xml",
    "/decisions?late=%00&withdrawal=x&assessment=y", "/powers?late=1&department=abc",
    "/accidents?assessment=overdue&page=99999", "/compliance?x=%00",
])
def test_no_input_gives_a_server_error(client, app_ctx, path):
    assert client.get(path).status_code in (200, 404)


def test_only_a_penalty_counts_as_a_fine(client, app_ctx):
    """An amount stored on another type (typed before the rule held) is no fine: the fines table
    says it counts 行政处罚 only, and so does every table's fine total."""
    factories.decision(decision_type="行政处罚", decision_date=date(2026, 2, 1), fine_yuan=Decimal("1000"))
    factories.decision(decision_type="行政许可", decision_date=date(2026, 2, 2), fine_yuan=Decimal("5000"))
    factories.decision(decision_type="行政检查", decision_date=date(2026, 2, 3), fine_yuan=Decimal("700"))
    db.session.commit()
    assert as_dict(read_csv(client, "/stats/fines-by-year.csv")) == {"2026年": ["1", "1000.00"]}
    by_type = as_dict(read_csv(client, "/stats/decisions-by-type.csv"))
    assert by_type["行政许可"] == ["1", "0.00"] and by_type["行政检查"] == ["1", "0.00"]
    assert by_type["行政处罚"] == ["1", "1000.00"]
    total = sum(Decimal(v[1]) for v in as_dict(read_csv(client, "/stats/decisions-by-sector.csv")).values())
    assert total == Decimal("1000")


def test_the_decisions_table_says_how_many_withdrawn_decisions_it_leaves_out(client, data):
    html = client.get("/stats").get_data(as_text=True)
    withdrawn = sum(1 for r in DECISIONS if r[-2] and r[-1])
    assert f"另有 {withdrawn} 件已撤回的决定不计入" in html


@pytest.mark.parametrize("raw", [" ", "\x1f", "\u3000", "\t2025 ", "\u30002025", "２０２５"])
def test_a_year_is_read_whatever_the_spaces_and_digit_width(client, data, raw):
    """Spaces, a control character Python counts as space and the ideographic space (U+3000,
    typed by a Chinese keyboard) used to reach ``int()`` and fail the page with a 500;
    full-width digits are the same year."""
    page = client.get("/stats", query_string={"year": raw})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "所选年份没有数据或无效" not in html
    year = "2025" if raw.strip() else ""
    assert (f"<h1>统计：{year}年</h1>" if year else "<h1>统计</h1>") in html
    assert as_dict(read_csv(client, f"/stats/fines-by-year.csv?{urlencode({'year': raw})}")) == \
        as_dict(read_csv(client, f"/stats/fines-by-year.csv?year={year}"))


@pytest.mark.parametrize("raw", ["0x7e9", "+2025", "2_025", "20251", "二〇二五", "-2025", "2025a"])
def test_a_year_not_written_as_four_digits_is_dropped_with_a_message(client, data, raw):
    page = client.get("/stats", query_string={"year": raw})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>统计</h1>" in html and "所选年份没有数据或无效" in html
    assert as_dict(read_csv(client, f"/stats/fines-by-year.csv?{urlencode({'year': raw})}")) == \
        as_dict(read_csv(client, "/stats/fines-by-year.csv"))
