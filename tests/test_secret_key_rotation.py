"""PORTAL_SECRET_KEY=NEW,OLD: what was made under the old key keeps working; new things use the new.

Receipt codes, claim slips, credit certificates and sessions are all keyed by the secret key; a
rotation (after a suspected leak, say) must not cut reporters off from their cases.
"""

from __future__ import annotations

import secrets

import pytest

from portal import create_app, tokens
from portal.config import SettingsError
from portal.extensions import db
from portal.services.reporting import cases, reports
from tests.conftest import TEST_DATABASE_URL, make_app
from tests.reports.conftest import REPORT_FIELDS

OLD = secrets.token_urlsafe(40)
NEW = secrets.token_urlsafe(40)


def _same_database(app, tmp_path, secret_key: str):
    return create_app({"env": "test", "secret_key": secret_key,
                       "data_key": app.config["SETTINGS"].data_key,
                       "index_dir": str(tmp_path / f"index-{len(secret_key)}"),
                       "database_url": app.config["SQLALCHEMY_DATABASE_URI"]})


@pytest.mark.usefixtures("test_database")
def test_after_rotation_old_codes_slips_and_digests_still_work(tmp_path):
    old_app = make_app(tmp_path, secret_key=OLD)
    with old_app.app_context():
        report, code = reports.submit(REPORT_FIELDS | {"uscc": "91350100M000100Y43"})
        old_id = report.id
        slip = tokens.sign("credit_certificate", {"n": "XSBN-TEST"})
    rotated = _same_database(old_app, tmp_path, f"{NEW},{OLD}")
    with rotated.app_context():
        assert reports.find_by_receipt(code).id == old_id
        assert tokens.unsign("credit_certificate", slip, max_age_seconds=60) == {"n": "XSBN-TEST"}
        fresh, new_code = reports.submit(REPORT_FIELDS | {"uscc": "91350100M000100Y43"})
        assert reports.find_by_receipt(new_code).id == fresh.id
        # A new report of the same enterprise meets the one from before the rotation.
        assert [r.id for r in cases.candidate_duplicates(fresh)] == [old_id]
        new_slip = tokens.sign("credit_certificate", {"n": "XSBN-NEW"})
        db.session.remove()
    # Once the old key is dropped, its codes stop working and the new ones go on.
    only_new = _same_database(old_app, tmp_path, NEW)
    with only_new.app_context():
        with pytest.raises(reports.ReceiptNotFound):
            reports.find_by_receipt(code)
        assert reports.find_by_receipt(new_code).id == fresh.id
        assert tokens.unsign("credit_certificate", new_slip, max_age_seconds=60)
        with pytest.raises(tokens.TokenInvalid):
            tokens.unsign("credit_certificate", slip, max_age_seconds=60)
    for app in (old_app, rotated, only_new):
        app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_a_session_made_under_the_old_key_survives_the_rotation(tmp_path):
    from tests.staff.conftest import login

    old_app = make_app(tmp_path, secret_key=OLD)
    client = old_app.test_client()
    login(client, roles=("editor",))
    assert client.get("/staff/").status_code == 200
    rotated = _same_database(old_app, tmp_path, f"{NEW},{OLD}")
    moved = rotated.test_client()
    # The browser keeps its cookie across the restart.
    moved.set_cookie("session", client.get_cookie("session").value)
    assert moved.get("/staff/").status_code == 200
    for app in (old_app, rotated):
        app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_every_key_of_a_rotation_must_be_long_in_production():
    with pytest.raises(SettingsError, match="each comma-separated key"):
        create_app({"env": "production", "secret_key": f"{NEW},short", "data_key": NEW,
                    "database_url": TEST_DATABASE_URL or "sqlite://"})
