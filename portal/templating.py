"""Template filters and globals shared by every blueprint."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask

from portal.models import local_date


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = local_date(value)
    return f"{value.year}年{value.month}月{value.day}日"


def format_yuan(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    amount = Decimal(value)
    if amount >= 10_000 and amount % 100 == 0:
        return f"{amount / 10_000:,.2f}".rstrip("0").rstrip(".") + " 万元"
    return f"{amount:,.2f}".rstrip("0").rstrip(".") + " 元"


def register(app: Flask) -> None:
    app.add_template_filter(format_date, "cn_date")
    app.add_template_filter(format_yuan, "yuan")
