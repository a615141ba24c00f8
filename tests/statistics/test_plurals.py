"""Counts with their units in the reader's language (issue 16's leftover): English says
"1 case" and "2 cases", Lao and Burmese have one form, Chinese is unchanged — in the charts'
text alternatives on /stats and in the deadlines /compliance states."""

from __future__ import annotations

import dataclasses
import re
from html import unescape

import pytest

from portal.services.oversight import statistics
from portal.translation import ngettext
from tests.statistics.test_stats import clock, data  # noqa: F401  (fixtures)


def _alt(html: str, key: str) -> str:
    return unescape(re.search(rf'id="{key}".*?alt="([^"]+)"', html, re.S).group(1))


def test_english_alt_text_says_one_case_and_two_cases(client, data):  # noqa: F811
    alt = _alt(client.get("/en/stats").get_data(as_text=True), "accidents-by-level")
    assert re.search(r"\b1 case\b", alt) and re.search(r"\b2 cases\b", alt), alt
    assert "1 cases" not in alt
    month = _alt(client.get("/en/stats").get_data(as_text=True), "accidents-by-month")
    assert "4 cases in total" in month and "(2 cases)" in month, month


@pytest.mark.parametrize("lang", ["lo", "my"])
def test_lao_and_burmese_say_their_one_form(client, data, lang):  # noqa: F811
    alt = _alt(client.get(f"/{lang}/stats").get_data(as_text=True), "accidents-by-level")
    word = {"lo": "ກໍລະນີ", "my": "မှု"}[lang]
    one = {"lo": "1", "my": "၁"}[lang]
    two = {"lo": "2", "my": "၂"}[lang]
    assert f"{one} {word}" in alt and f"{two} {word}" in alt, alt


@pytest.mark.parametrize(("lang", "one", "two"), [
    ("en", "1 person", "2 people"), ("en", "1 item", "2 items"), ("en", "1 payment", "2 payments"),
    ("en", "1 entry", "2 entries"), ("zh", "1 人", "2 人")])
def test_every_unit_has_its_forms(app, lang, one, two):
    units = {"1 person": statistics.PEOPLE, "1 item": statistics.PIECES,
             "1 payment": statistics.PAYMENTS, "1 entry": statistics.ENTRIES,
             "1 人": statistics.PEOPLE}
    prefix = "" if lang == "zh" else f"/{lang}"
    with app.test_request_context(f"{prefix}/stats", environ_base={"portal.lang": lang}):
        unit = units[one]
        assert unit.count(1) == one and unit.count(2) == two
        assert statistics.MATTERS.count(1).startswith("1 ")


def test_ngettext_fills_num_and_named_values(app):
    with app.test_request_context("/en/compliance", environ_base={"portal.lang": "en"}):
        assert ngettext("%(days)s 个工作日内公开", "%(days)s 个工作日内公开", 1, days=1) == \
            "Published within 1 working day"
        assert ngettext("%(num)s 起", "%(num)s 起", 3) == "3 cases"
    with app.test_request_context("/compliance"):
        assert ngettext("%(num)s 起", "%(num)s 起", 1) == "1 起"


def test_compliance_says_working_day_in_the_singular(client, app, monkeypatch):
    """A period configured as one day reads "1 working day" (PORTAL_OBJECTION_ANSWER_…=1)."""
    settings = dataclasses.replace(app.config["SETTINGS"], objection_answer_working_days=1)
    monkeypatch.setitem(app.config, "SETTINGS", settings)
    html = client.get("/en/compliance").get_data(as_text=True)
    assert "within 1 working day of receipt" in html
    assert "working days after it is changed" in html  # other periods stay plural
    assert "收到异议后 1 个工作日内" in client.get("/compliance").get_data(as_text=True)


def test_the_photo_room_left_is_counted_in_the_singular_too(app):
    """The report form's "at most N more photos" (portal.reports.forms) says "1 more photo"."""
    message = "最多还能上传 %(left)s 张照片，您选择了 %(chosen)s 张。"
    with app.test_request_context("/en/report", environ_base={"portal.lang": "en"}):
        assert ngettext(message, message, 1, left=1, chosen=3) == \
            "You can add at most 1 more photo; you chose 3."
        assert ngettext(message, message, 2, left=2, chosen=3).endswith("2 more photos; you chose 3.")
