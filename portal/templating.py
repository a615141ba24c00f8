"""Template filters and globals shared by every blueprint."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask, request, url_for
from markupsafe import Markup

from portal import kinds
from portal.county_map import county_map_layout
from portal.models import local_date
from portal.sanitize import safe


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = local_date(value)
    return f"{value.year}年{value.month}月{value.day}日"


def iso_date(value: date | datetime | None) -> str:
    """ISO date for a ``<time datetime>`` attribute; a moment becomes its Beijing date."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local_date(value)
    return value.isoformat()


def format_datetime(value: datetime | None) -> str:
    """A moment in Beijing time, to the minute: 2026年9月28日 14:05."""
    if value is None:
        return "—"
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def format_yuan(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    amount = Decimal(value)
    if amount >= 10_000 and amount % 100 == 0:
        return f"{amount / 10_000:,.2f}".rstrip("0").rstrip(".") + " 万元"
    return f"{amount:,.2f}".rstrip("0").rstrip(".") + " 元"


def sanitized(html: str | None) -> Markup:
    """Stored rich text (e.g. an accident report) through the one allow-list, never ``|safe``."""
    return safe(html or "")


def kind_label(kind: str) -> str:
    """The Chinese name of a published kind (权责清单, 行政处罚决定, …)."""
    found = kinds.BY_KEY.get(kind)
    return found.label if found else kind


def is_current(href: str) -> bool:
    """Whether the nav link ``href`` is the current page or a section above it."""
    path = request.path
    if href == "/":
        return path == "/"
    return path == href or path.startswith(href.rstrip("/") + "/")


def item_url(item: Any, external: bool = False) -> str:
    """The permanent page of a published item."""
    return url_for("disclosures.detail", kind=item.KIND, item_id=item.id, _external=external)


def register(app: Flask) -> None:
    # Block tags leave no blank lines behind: smaller, readable HTML.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(format_date, "cn_date")
    app.add_template_filter(format_datetime, "cn_datetime")
    app.add_template_filter(iso_date, "iso_date")
    app.add_template_filter(format_yuan, "yuan")
    app.add_template_filter(sanitized, "sanitized")
    app.add_template_global(kind_label)
    # The published kinds (portal.kinds): navigation, home page, back office iterate this.
    app.add_template_global(kinds.KINDS, "published_kinds")
    app.add_template_global(is_current)
    app.add_template_global(item_url)
    app.add_template_global(county_map_layout)
