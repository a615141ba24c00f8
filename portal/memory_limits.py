"""The rate limiter's storage in a process's memory (``memory://``, one host without Redis),
without a new thread every 10 ms.

``limits``' ``MemoryStorage`` removes expired counters on a ``threading.Timer`` of 10 ms that
each hit starts again once the last one has run: under steady traffic, a thread started (and
waited for) every 10 ms in every worker, by whichever request thread hit a limit then.  In one
process, a cached search page cost about 1,050 µs of CPU with it and 700 µs without it (the
search page and ``/credit`` check their limits on every request, a cached page included).

``SweptMemoryStorage`` (scheme ``portal+memory://``, chosen by ``portal.create_app`` for a
``memory://`` setting) sweeps instead from one thread per process that wakes each
``SWEEP_SECONDS``.  The counts are the same: a counter past its expiry is dropped when it is
next read whether or not it was swept (``MemoryStorage.get``), so the sweep only frees the
memory of keys nobody asks for again.  The thread is started at the first hit in each process
(gunicorn forks its workers after the app is made, and a thread does not survive a fork), and
holds the storage weakly: it ends when the storage is gone (the tests make many apps).
"""

from __future__ import annotations

import os
import threading
import weakref

from limits.storage import MemoryStorage

SWEEP_SECONDS = 1.0


class SweptMemoryStorage(MemoryStorage):
    """``MemoryStorage`` whose expired entries are swept by one long-lived thread per process."""

    STORAGE_SCHEME = ["portal+memory"]

    def __init__(self, uri: str | None = None, **options: str) -> None:
        self._sweeper_pid = 0
        self._sweeper_lock = threading.Lock()
        super().__init__(uri, **options)

    # Called by MemoryStorage before each hit (its name-mangled private hook).
    def _MemoryStorage__schedule_expiry(self) -> None:
        if self._sweeper_pid == os.getpid():
            return
        with self._sweeper_lock:
            if self._sweeper_pid == os.getpid():
                return
            self._sweeper_pid = os.getpid()
            threading.Thread(target=_sweep, args=(weakref.ref(self),), daemon=True,
                             name="rate-limit-sweeper").start()

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._sweeper_pid = 0
        self._sweeper_lock = threading.Lock()

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_sweeper_lock", None)
        return state


def _sweep(ref: weakref.ref[SweptMemoryStorage]) -> None:
    stop = threading.Event()
    while not stop.wait(SWEEP_SECONDS):
        storage = ref()
        if storage is None:
            return
        storage._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        del storage
