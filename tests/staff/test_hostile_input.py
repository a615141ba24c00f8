"""Never a 500 from any input: every back-office form with hostile values in every field."""

from __future__ import annotations

import pytest
import time_machine

from portal.extensions import db
from tests import factories
from tests.staff import test_publishing as publishing_tests
from tests.staff.conftest import csrf_token, login

HOSTILE = [
    "NaN", "-Infinity", "1e400", "-1", "99999999999999999999999", "9999-12-31", "0001-01-01",
    "2026-02-30", "a\x00b", "x" * 20_000, "<script>alert(1)</script>", "％＿\\%_",
]
# Valid forms, so that one hostile field at a time reaches the services behind the form.
BASELINE = {
    "powers": publishing_tests.power_data,
    "decisions": publishing_tests.decision_data,
    "accidents": publishing_tests.accident_data,
    "blacklist": publishing_tests.blacklist_data,
}


@pytest.fixture
def ids(app):
    with app.app_context():
        items = {"powers": factories.power(), "decisions": factories.decision(),
                 "accidents": factories.accident(), "blacklist": factories.blacklist_entry()}
        db.session.commit()
        return {kind: item.id for kind, item in items.items()}


def form_fields(html: str) -> list[str]:
    import re

    names = re.findall(r'name="([a-z_]+)"', html)
    return [n for n in dict.fromkeys(names) if n not in ("csrf_token", "q")]


@pytest.mark.parametrize("kind", ["powers", "decisions", "accidents", "blacklist"])
def test_item_forms_survive_hostile_values(app, ids, kind):
    with time_machine.travel("2026-11-25 10:00+08:00", tick=False):
        client = app.test_client()
        login(client, roles=("editor",))
        for url, values in ((f"/staff/{kind}/new", HOSTILE),
                            (f"/staff/{kind}/{ids[kind]}/edit", [HOSTILE[0], HOSTILE[5], HOSTILE[8], HOSTILE[9]])):
            html = client.get(url).get_data(as_text=True)
            token = csrf_token(client, url)
            baseline = BASELINE[kind]()
            for field in form_fields(html):
                for value in values:
                    data = baseline | {"csrf_token": token, field: value}
                    response = client.post(url, data=data)
                    assert response.status_code < 500, (url, field, value[:20])


def test_step_forms_and_filters_survive_hostile_values(app, ids):
    with time_machine.travel("2026-11-25 10:00+08:00", tick=False):
        client = app.test_client()
        login(client, roles=("editor", "admin"))
        steps = [
            f"/staff/decisions/{ids['decisions']}/withdraw",
            f"/staff/decisions/{ids['decisions']}/withdrawal-request",
            f"/staff/blacklist/{ids['blacklist']}/remove",
            "/staff/accounts/new",
        ]
        for url in steps:
            token = csrf_token(client, url)
            html = client.get(url).get_data(as_text=True)
            for field in form_fields(html):
                for value in HOSTILE:
                    response = client.post(url, data={"csrf_token": token, field: value})
                    assert response.status_code < 500, (url, field, value[:20])
        for value in HOSTILE:
            for url in ("/staff/decisions/", "/staff/audit"):
                for param in ("q", "state", "page", "actor", "action", "object_kind",
                              "object_id", "date_from", "date_to"):
                    response = client.get(url, query_string={param: value})
                    assert response.status_code < 500, (url, param, value[:20])


def test_sign_in_survives_hostile_values(app):
    for value in HOSTILE:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.9.{len(value) % 250}.{HOSTILE.index(value)}"
        token = csrf_token(client)
        response = client.post("/staff/login", data={
            "csrf_token": token, "username": value, "password": value, "code": value,
            "next": value})
        assert response.status_code in (400, 429), value[:20]
