"""The limiter's memory storage counts as limits' own does, without a thread every 10 ms
(portal/memory_limits.py)."""

from __future__ import annotations

import os
import threading
import time

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from portal import memory_limits
from portal.memory_limits import SweptMemoryStorage


def _timer_starts(monkeypatch) -> list[int]:
    started: list[int] = []
    original = threading.Timer.start

    def start(self) -> None:
        started.append(1)
        original(self)

    monkeypatch.setattr(threading.Timer, "start", start)
    return started


def test_a_memory_setting_gets_the_swept_storage(app):
    from portal.extensions import limiter

    assert app.config["RATELIMIT_STORAGE_URI"] == "portal+memory://"
    assert type(limiter.storage) is SweptMemoryStorage
    assert type(storage_from_string("portal+memory://")) is SweptMemoryStorage


def test_hits_start_no_thread_each_and_limits_count_the_same(monkeypatch):
    started = _timer_starts(monkeypatch)
    swept = SweptMemoryStorage()
    plain = MemoryStorage()
    started.clear()
    before = threading.active_count()
    item = parse("5 per minute")
    answers = {}
    for storage in (swept, plain):
        limiter = FixedWindowRateLimiter(storage)
        answers[type(storage)] = []
        for _ in range(8):
            answers[type(storage)].append(limiter.hit(item, "client"))
            time.sleep(0.015)  # longer than limits' 10 ms timer
    assert answers[SweptMemoryStorage] == answers[MemoryStorage] == [True] * 5 + [False] * 3
    # limits' own storage started a timer thread on (nearly) every hit; this one none, and one
    # sweeper for the process.
    assert len(started) >= 4
    sweepers = [t for t in threading.enumerate() if t.name == "rate-limit-sweeper"]
    assert sweepers and threading.active_count() <= before + 2


def test_expired_counters_are_swept_and_a_forked_process_starts_its_own_sweeper(monkeypatch):
    monkeypatch.setattr(memory_limits, "SWEEP_SECONDS", 0.02)
    storage = SweptMemoryStorage()
    storage.incr("short", 0.01)
    storage.incr("long", 60)
    deadline = time.monotonic() + 5
    while "short" in storage.storage and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "short" not in storage.storage and storage.get("long") == 1
    storage._sweeper_pid = -1  # as in a worker forked after the storage was made
    storage.incr("long", 60)
    assert storage._sweeper_pid == os.getpid()
