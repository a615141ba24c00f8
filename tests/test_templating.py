from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from portal.models import PowerItem
from portal.templating import (
    format_date,
    format_datetime,
    format_yuan,
    is_current,
    iso_date,
    item_url,
    kind_label,
    sanitized,
)


def test_dates_are_shown_in_chinese_as_beijing_dates():
    assert format_date(date(2026, 3, 1)) == "2026年3月1日"
    # 17:30 UTC is already the next day in Beijing.
    assert format_date(datetime(2026, 3, 1, 17, 30, tzinfo=UTC)) == "2026年3月2日"
    assert format_date(None) == "—"


def test_moments_are_shown_in_beijing_time_to_the_minute():
    assert format_datetime(datetime(2026, 3, 1, 17, 5, tzinfo=UTC)) == "2026年3月2日 01:05"
    assert format_datetime(None) == "—"


def test_iso_date_for_time_elements():
    assert iso_date(datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == "2027-01-01"
    assert iso_date(date(2026, 1, 2)) == "2026-01-02"
    assert iso_date(None) == ""


@pytest.mark.parametrize(
    "value,shown",
    [
        (Decimal("50000"), "5 万元"),
        (Decimal("35000"), "3.5 万元"),
        (Decimal("1200000"), "120 万元"),
        (Decimal("3000.50"), "3,000.5 元"),
        (Decimal("12345"), "12,345 元"),
        (0, "0 元"),
        (None, "—"),
    ],
)
def test_amounts_in_yuan(value, shown):
    assert format_yuan(value) == shown


def test_sanitized_keeps_allowed_markup_and_drops_the_rest():
    html = sanitized('<h2>概况</h2><p onclick="x()" style="color:red">正文<script>alert(1)</script></p>')
    assert "<h2>概况</h2>" in html and "正文" in html
    assert "<script" not in html and "onclick" not in html and "style" not in html
    assert sanitized(None) == ""


def test_kind_labels():
    assert kind_label("powers") == "权责清单"
    assert kind_label("blacklist") == "严重失信主体名单"
    assert kind_label("other") == "other"


@pytest.mark.parametrize(
    "path,href,current",
    [
        ("/", "/", True),
        ("/powers", "/", False),
        ("/powers", "/powers", True),
        ("/powers/12", "/powers", True),
        ("/powersx", "/powers", False),
        ("/report/followup", "/report", True),
    ],
)
def test_nav_link_is_current_for_its_section(app, path, href, current):
    with app.test_request_context(path):
        assert is_current(href) is current


def test_item_url_is_the_permanent_link(app):
    item = PowerItem(id=7)
    with app.test_request_context("/"):
        assert item_url(item) == "/powers/7"
        assert item_url(item, external=True) == "http://localhost/powers/7"


def test_templates_render_without_blank_block_lines(client):
    html = client.get("/").get_data(as_text=True)
    assert "\n\n\n" not in html


def test_the_receipt_code_has_one_name_everywhere():
    """回执码, never 举报凭证: in templates, messages and the README (issue 14 §7)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [*root.glob("templates/**/*"), *root.glob("portal/**/*.py"), root / "README.md"]
    offenders = [str(f.relative_to(root)) for f in files
                 if f.is_file() and "举报凭证" in f.read_text(encoding="utf-8")]
    assert offenders == []
