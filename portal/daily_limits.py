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

An expiry given as a duration is not enough for Redis: ``limits`` sets it with ``EXPIRE key
seconds`` from the server's clock in milliseconds, so the key's ``PEXPIRETIME`` would still carry
the sub-second of the first request.  ``MidnightRedisStorage`` (scheme ``portal+redis://``,
chosen by ``portal.create_app`` for a ``redis://`` setting) sets those keys' expiry with
``PEXPIREAT`` at the midnight itself instead, so every report key expires at the same
millisecond.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from limits import parse_many
from limits.limits import Granularity, RateLimitItem, RateLimitItemPerDay
from limits.storage import RedisStorage

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


# INCRBY, and on the key's first hit its expiry at an absolute time in ms (ARGV[2]): the same
# step as limits' own incr_expire.lua, with PEXPIREAT in place of EXPIRE.
_INCR_EXPIRE_AT = """
local current = redis.call("incrby", KEYS[1], tonumber(ARGV[1]))
if tonumber(current) == tonumber(ARGV[1]) then
    redis.call("pexpireat", KEYS[1], ARGV[2])
end
return current
"""

STORAGE_PREFIX = "portal+"


class MidnightRedisStorage(RedisStorage):
    """``limits``' Redis storage, but a per-Beijing-day counter expires exactly at the next
    Beijing midnight (``PEXPIREAT``), not a number of whole seconds after its first hit.

    Its URI is the Redis URI with ``portal+`` in front (``portal+redis://host:6379/0``);
    ``limits`` finds the class by that scheme.  Every other key is left to ``RedisStorage``."""

    STORAGE_SCHEME = ["portal+redis", "portal+rediss"]

    def __init__(self, uri: str, **options) -> None:  # noqa: ANN003 - RedisStorage's options
        super().__init__(uri.removeprefix(STORAGE_PREFIX), **options)

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_incr_expire_at = self.get_connection().register_script(_INCR_EXPIRE_AT)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count ``amount`` more hits on ``key``; a per-Beijing-day key expires at midnight."""
        if not key.endswith("/" + UNIT):
            return super().incr(key, expiry, amount)
        midnight_ms = round(end_of_today() * 1000)
        return int(self.lua_incr_expire_at([self.prefixed_key(key)], [amount, midnight_ms]))
