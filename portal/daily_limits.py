"""Rate limits counted per Beijing day, for the anonymous report pages (DESIGN.md §3).

A limiter's window starts at a client's first request and its key expires a window later, so
the key's expiry (a Redis TTL) dates that first request to the second: for a report page, the
time of a report.  The report pages therefore count only per calendar day: the client's key
already changes at Beijing midnight (``portal.reports.client_key``), and each counter is made
to expire at the end of that same Beijing day, whenever it was first hit.  Every key in the
limiter's storage then expires at the next midnight, as it would for a request at any other
time that day, and its name holds no time either.  No window shorter than a day can be had
this way (its key would date the hour), so the report limits must be "N per day".

``limits`` (Flask-Limiter's engine) picks a limit's window class by its unit: the class below
registers the unit ``beijingday``, whose expiry is the rest of the current Beijing day.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from limits import parse_many
from limits.limits import Granularity, RateLimitItem, RateLimitItemPerDay

BEIJING = ZoneInfo("Asia/Shanghai")
UNIT = "beijingday"


def end_of_today(now: float | None = None) -> float:
    """The next Beijing midnight, as a Unix time."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, BEIJING)
    midnight = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(),
                                tzinfo=BEIJING)
    return midnight.timestamp()


class RateLimitItemPerBeijingDay(RateLimitItem):
    """N per Beijing calendar day: the window ends at the next Beijing midnight."""

    GRANULARITY = Granularity(86400, UNIT)

    def get_expiry(self) -> int:
        # Whole seconds (Redis's EXPIRE takes no fraction), at least one.
        now = time.time()
        return max(1, math.ceil(end_of_today(now) - now))


class NotDaily(ValueError):
    """A limit for the report pages with a window other than one day."""


@lru_cache(maxsize=32)
def per_beijing_day(limit_string: str) -> str:
    """``"30 per day"`` as ``"30 per beijingday"`` (several joined by ``;``); ``NotDaily`` for
    any other window (``per hour``, ``per 2 days``…), and ``ValueError`` for a bad string."""
    items = parse_many(limit_string)
    for item in items:
        if type(item) is not RateLimitItemPerDay or item.multiples != 1:
            raise NotDaily(limit_string)
    return ";".join(f"{item.amount} per {UNIT}" for item in items)
