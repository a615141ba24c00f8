"""Work that must not take the cores from the threads serving pages: photo decoding and the
Argon2id hash of a receipt code run on a few threads of their own per process, at a higher nice
value (Linux).  The request waits for its result, so nothing changes for the one who asked;
what changes is who comes first when the cores are short: under a surge (bench/hosts.py) 20
reporters' 提交 cost the hosts about a third of their CPU in Argon2id alone, and every page
request queued behind it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

_T = TypeVar("_T")


class LowPriorityThreads:
    """``threads`` threads at nice ``nice`` (0 normal, 19 lowest), started on first use; a
    forked worker starts its own (the parent's threads do not survive a fork)."""

    def __init__(self, name: str, threads: int, nice: int) -> None:
        self.name = name
        self.threads = threads
        self.nice = nice
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _lower_priority(self) -> None:
        """The calling thread's CPU priority to ``nice`` (Linux: a thread id given to
        setpriority names that thread alone; elsewhere it would slow the whole process)."""
        if sys.platform.startswith("linux"):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
            except OSError:
                pass  # not allowed here: the work runs at the normal priority

    def run(self, work: Callable[[], _T]) -> _T:
        """Run ``work`` on one of the threads and wait for it; what it raises is raised here."""
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(max_workers=self.threads,
                                                thread_name_prefix=self.name,
                                                initializer=self._lower_priority)
                self._pid = os.getpid()
            pool = self._pool
        return pool.submit(work).result()
