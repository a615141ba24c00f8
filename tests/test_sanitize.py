"""The HTML allow-list under threads: a worker's threads render item pages at once."""

from __future__ import annotations

import sys
import threading

from portal.sanitize import clean_html

# Enough structure (lists, tables, attributes, an unclosed tag) that the parser holds state
# for a while, as an accident report's text does.
REPORT = ("<h2>事故经过</h2><ul><li>现场<b>检查</b></li><li>整改<a href='https://x.cn' "
          "onclick='y()'>通知</a></li></ul><table><tr><td colspan='2'>死亡 1 人</td></tr>"
          "</table><p>责任<script>alert(1)</script><em>认定") * 5


def test_threads_cleaning_at_once_each_get_the_clean_html():
    expected = clean_html(REPORT)
    results: list[str] = []
    errors: list[BaseException] = []

    def clean_many() -> None:
        try:
            for _ in range(10):
                results.append(clean_html(REPORT))
        except Exception as exc:  # noqa: BLE001 - any error is the failure reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race shows at once
    try:
        threads = [threading.Thread(target=clean_many) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    assert results == [expected] * 60
