"""Pages that answer a code (DESIGN.md §3): the receipt code of a report, the access code of a
信用修复 application or of an objection.  One behaviour for all of them, so that a fix to one
reaches the others:

- ``fixed_time``: every answer to a submitted code takes the same minimum time, right or wrong
  (``receipts.MinimumDuration``), and no more of them are padded at once than there are
  ``receipt_slots``;
- ``followup``: the follow-up page itself: the code form on GET; on POST a 400 for an
  invalid form, the wrong-code page for a code that finds nothing, the case page otherwise;
- ``wrong_code``: the wrong-code page, a 400 that keeps nothing of what was typed (the form
  comes back empty, so a wrong code is never echoed into a page a shared computer may keep).

The rate limit and the CSRF check stay with each blueprint (they differ in scope and key); the
views put ``fixed_time`` under their limit, so a refused client is answered at once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, make_response, render_template, request

from portal import receipts

# Every answer to a submitted code takes at least this long (tests may lower it through the app
# config key REPORT_FOLLOWUP_MIN_SECONDS).
FOLLOWUP_MIN_SECONDS = 0.5
# How long a code waits in line for a slot before its answer is "busy": a slot is held for
# FOLLOWUP_MIN_SECONDS, so one frees up within that unless the work took longer.  Without the
# wait, 8 people checking codes at once through two hosts of two workers (2 slots each) were
# told "busy" at 4 of 10 tries (bench/hosts.py: a worker gets more than its share of them).
SLOT_WAIT_SECONDS = FOLLOWUP_MIN_SECONDS
# What the busy answer asks a browser to wait: a padded answer takes FOLLOWUP_MIN_SECONDS, so a
# slot is free again within a second or two unless the site is flooded.
BUSY_RETRY_AFTER_SECONDS = 5

Found = TypeVar("Found")


def _min_seconds() -> float:
    return float(current_app.config.get("REPORT_FOLLOWUP_MIN_SECONDS", FOLLOWUP_MIN_SECONDS))


def fixed_time(view: Callable[..., Any]) -> Callable[..., Response]:
    """Render the whole answer inside ``MinimumDuration``: right and wrong codes take as long.

    The padding holds a thread, so only ``receipt_slots`` answers per process are padded at
    once (``receipts.AnswerSlots``); when all are taken, one request waits in line for up to
    ``SLOT_WAIT_SECONDS`` and any other gets the busy page at once, decided before the code is
    read: it is the same for every code."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        if request.method != "POST":  # no code submitted: nothing to hide
            return make_response(view(*args, **kwargs))
        slots: receipts.AnswerSlots = current_app.extensions["receipt_slots"]
        if not slots.try_take(wait=SLOT_WAIT_SECONDS):
            return busy_page()
        try:
            with receipts.MinimumDuration(_min_seconds()):
                return make_response(view(*args, **kwargs))
        finally:
            slots.give_back()  # after the padding: the slot was held for the whole answer

    return wrapper


def busy_page(message: Any = None) -> Response:
    """"Busy, try again": a form that sends what was typed again, to the same address.

    Built from the submitted fields as they came, never parsed: the code is not looked at.
    Photos cannot be sent again by a page (a file input cannot be filled in), so the page
    says so when some were attached.  ``message``: said instead of the usual reason (too many
    codes being checked at once)."""
    texts = [(name, value) for name, value in request.form.items(multi=True)
             if not name.endswith("csrf_token")]
    token_names = sorted({name for name in request.form if name.endswith("csrf_token")}) \
        or ["csrf_token"]
    had_photos = any(f.filename for f in request.files.values())
    response = make_response(render_template(
        "reports/busy.html", action=request.path, texts=texts, token_names=token_names,
        had_photos=had_photos, retry_after=BUSY_RETRY_AFTER_SECONDS, message=message), 503)
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    return response


def wrong_code(template: str, form: Any, message: Any) -> tuple[str, int]:
    """The code page again with ``message``, its field emptied: nothing of a wrong code stays."""
    form.code.data = ""
    return render_template(template, form=form, wrong=str(message)), 400


def followup(
    form: Any,
    *,
    template: str,
    find: Callable[[str], Found],
    not_found: type[Exception],
    wrong: Any,
    case: Callable[[Found, str], Any],
) -> Any:
    """The follow-up view's body: the code form (``template``, with ``form`` and ``wrong``) on
    GET; on POST ``find(code)`` and ``case(found, code)``, or the wrong-code page when ``find``
    raises ``not_found``.  A form that does not validate (empty, too long, a bad CSRF token)
    comes back empty with its own errors."""
    if request.method == "GET":
        return render_template(template, form=form, wrong=None)
    if not form.validate():
        form.code.data = ""
        return render_template(template, form=form, wrong=None), 400
    try:
        found = find(form.code.data)
    except not_found:
        return wrong_code(template, form, wrong)
    return case(found, form.code.data)
