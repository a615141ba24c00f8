"""Date expressions that compile to the same meaning on SQLite and PostgreSQL.

Moments are stored as naive UTC (``UTCDateTime``); the portal's dates are Beijing dates.  China
has kept UTC+8 all year since 1991, so a fixed offset is exact for every moment the portal
stores, and SQLite (which has no time zones) can compute it too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer, cast, extract
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

LOCAL_ZONE_NAME = "Asia/Shanghai"
LOCAL_UTC_OFFSET_HOURS = 8


class local_day(FunctionElement[Any]):  # noqa: N801 - reads as a SQL function
    """The Beijing date of a UTC moment column, as a SQL ``DATE``."""

    type = Date()
    inherit_cache = True
    name = "local_day"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"date({compiler.process(column, **kw)}, '+{LOCAL_UTC_OFFSET_HOURS} hours')"


@compiles(local_day, "postgresql")
def _local_day_postgresql(element: local_day, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return (
        f"CAST(({compiler.process(column, **kw)} AT TIME ZONE 'UTC') "
        f"AT TIME ZONE '{LOCAL_ZONE_NAME}' AS DATE)"
    )


@compiles(local_day)
def _local_day_other(element: local_day, compiler: Any, **kw: Any) -> str:
    raise NotImplementedError(f"local_day is not defined for {compiler.dialect.name}")


def year_of(column: Any) -> ColumnElement[int]:
    """The year of a DATE column as an integer (PostgreSQL's EXTRACT returns a numeric)."""
    return cast(extract("year", column), Integer)


def month_of(column: Any) -> ColumnElement[int]:
    """The month (1–12) of a DATE column as an integer."""
    return cast(extract("month", column), Integer)
