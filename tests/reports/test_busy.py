"""Padded answers to a receipt code are bounded per process: with every slot taken, a code
request is told "busy" at once (before its code is read) and other pages are still served."""

from __future__ import annotations

import re
import threading
import time

import pytest

from tests.conftest import make_app
from tests.reports.conftest import csrf_from, submit_report

HOLD_SECONDS = 4.0  # the fixed answer time here: long enough to overlap on a loaded machine


def _wait_for(predicate, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _post_code(client, path, code, prefix="", **extra):
    token = csrf_from(client.get("/report/followup").get_data(as_text=True))
    return client.post(path, data={f"{prefix}csrf_token": token, f"{prefix}code": code, **extra})


@pytest.fixture
def slow_app(tmp_path, test_database):
    app = make_app(tmp_path, REPORT_FOLLOWUP_MIN_SECONDS=HOLD_SECONDS, receipt_slots=2)
    yield app
    app.extensions["search_index"].close()


def _fill_slots(app):
    """Two wrong-code requests padding in threads; returns (threads, finished list)."""
    finished: list[int] = []
    threads = []
    for i in range(2):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{i + 1}"
        thread = threading.Thread(
            target=lambda c=client: finished.append(
                _post_code(c, "/report/followup", "X" * 28).status_code))
        thread.start()
        threads.append(thread)
    slots = app.extensions["receipt_slots"]
    _wait_for(lambda: slots.taken == 2)
    return threads, finished


def _normalised(html: str, code: str) -> str:
    html = re.sub(r'value="[^"]*"(?=>)', "", html.replace(code, "CODE"))
    return html


def test_with_slots_full_a_code_gets_busy_at_once_and_other_pages_are_served(slow_app):
    client = slow_app.test_client()
    _, right_code = submit_report(client)
    threads, finished = _fill_slots(slow_app)

    busy_right = _post_code(client, "/report/followup", right_code)
    busy_wrong = _post_code(client, "/report/followup", "Y" * 28)
    robots = client.get("/robots.txt")
    # All of it answered while both padded answers were still waiting.
    assert finished == []
    assert robots.status_code == 200
    for busy in (busy_right, busy_wrong):
        assert busy.status_code == 503
        assert busy.headers["Retry-After"].isdigit()
        assert "系统繁忙" in busy.get_data(as_text=True)
    # Same answer for a right and a wrong code (apart from echoing what was typed).
    assert _normalised(busy_right.get_data(as_text=True), right_code) == \
        _normalised(busy_wrong.get_data(as_text=True), "Y" * 28)
    assert re.search(r'name="code" value="' + re.escape(right_code) + '"',
                     busy_right.get_data(as_text=True))

    for thread in threads:
        thread.join()
    assert finished == [400, 400]
    # The slots are free again: the right code opens its case.
    assert _post_code(client, "/report/followup", right_code).status_code == 200


def test_busy_reply_keeps_the_typed_text_and_resends_it(slow_app):
    client = slow_app.test_client()
    _, code = submit_report(client)
    threads, finished = _fill_slots(slow_app)
    text = "补充：今晚十点后仍有人在坡下作业"
    busy = _post_code(client, "/report/followup/reply", code, "reply-", **{"reply-body": text})
    assert finished == [] and busy.status_code == 503
    page = busy.get_data(as_text=True)
    assert text in page and 'action="/report/followup/reply"' in page
    for thread in threads:
        thread.join()
    # The busy page's own form sends it again, and now it goes through.
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    fields["reply-body"] = text
    assert "reply-csrf_token" in fields
    again = client.post("/report/followup/reply", data=fields, content_type="multipart/form-data")
    assert again.status_code == 200 and "您的补充已发送给承办人员" in again.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/report/followup", "/report/receipt.txt",
                                  "/report/followup/reply", "/report/followup/reopen",
                                  "/report/followup/claim-transfer",
                                  "/report/followup/claim-slip", "/report/followup/erase"])
def test_every_route_that_answers_a_code_uses_the_slots(slow_app, path):
    client = slow_app.test_client()
    threads, finished = _fill_slots(slow_app)
    response = _post_code(client, path, "Z" * 28)
    assert finished == [] and response.status_code == 503
    for thread in threads:
        thread.join()
