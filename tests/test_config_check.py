"""check-config lists every missing or unsafe production setting; a wrong data key stops start-up."""

from __future__ import annotations

import secrets

import pytest
from click.testing import CliRunner

from portal import create_app
from portal.config import SettingsError
from portal.config_check import check_config_command, setting_findings
from tests.conftest import TEST_DATABASE_URL, make_app
from tests.staff.conftest import make_staff

KEY_A = secrets.token_urlsafe(32)
KEY_B = secrets.token_urlsafe(32)
GOOD = {
    "PORTAL_ENV": "production",
    "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
    "PORTAL_DATA_KEY": KEY_A,
    "PORTAL_DATABASE_URL": "postgresql+psycopg://portal@db/portal",
    "PORTAL_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "PORTAL_BASE_URL": "https://aqsc.example.cn",
    "PORTAL_TRUSTED_PROXIES": "1",
}


def test_a_complete_production_environment_has_no_finding():
    assert setting_findings(GOOD) == []


@pytest.mark.parametrize(("change", "setting"), [
    ({"PORTAL_SECRET_KEY": "short"}, "PORTAL_SECRET_KEY"),
    ({"PORTAL_DATA_KEY": ""}, "PORTAL_DATA_KEY"),
    ({"PORTAL_RATELIMIT_STORAGE_URI": "memory://"}, "PORTAL_RATELIMIT_STORAGE_URI"),
    ({"PORTAL_BASE_URL": ""}, "PORTAL_BASE_URL"),
    ({"PORTAL_BASE_URL": "http://aqsc.example.cn"}, "PORTAL_BASE_URL"),
    ({"PORTAL_ENV": "demo"}, "PORTAL_ENV"),
    ({"PORTAL_DATA_KEY": "too-short"}, "PORTAL_*"),
])
def test_each_unsafe_setting_is_named_and_blocks(change, setting):
    found = setting_findings(GOOD | change)
    assert [f.setting for f in found if f.blocking] == [setting]


def test_sqlite_and_no_proxy_are_advice_not_errors():
    found = setting_findings(GOOD | {"PORTAL_DATABASE_URL": "sqlite:////srv/portal.db",
                                     "PORTAL_TRUSTED_PROXIES": "0"})
    assert {f.setting for f in found} == {"PORTAL_DATABASE_URL", "PORTAL_TRUSTED_PROXIES"}
    assert not any(f.blocking for f in found)


def test_the_command_lists_every_problem_at_once_and_exits_1():
    # Runs without an app: with settings this broken create_app would refuse to start.
    env = {k: "" for k in GOOD} | {"PORTAL_ENV": "production"}
    result = CliRunner().invoke(check_config_command, env=env)
    assert result.exit_code == 1
    for setting in ("PORTAL_SECRET_KEY", "PORTAL_DATA_KEY", "PORTAL_RATELIMIT_STORAGE_URI",
                    "PORTAL_BASE_URL"):
        assert setting in result.output


def _production(tmp_path, data_key: str):
    return create_app({"env": "production", "secret_key": GOOD["PORTAL_SECRET_KEY"],
                       "data_key": data_key, "index_dir": str(tmp_path / "index"),
                       "database_url": TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'portal.db'}"})


@pytest.mark.usefixtures("test_database")
def test_a_wrong_data_key_is_refused_at_start_in_production(tmp_path):
    app = make_app(tmp_path, data_key=KEY_A)
    with app.app_context():
        make_staff("editor")  # an encrypted TOTP secret now exists
    app.extensions["search_index"].close()
    with pytest.raises(SettingsError, match="staff_users.totp_secret"):
        _production(tmp_path, KEY_B)
    # The new key first and the old one after it (mid-rotation) starts.
    started = _production(tmp_path, f"{KEY_B},{KEY_A}")
    started.extensions["search_index"].close()


@pytest.mark.parametrize("rum", [True, False])
def test_the_postgres_search_backend_is_advised_when_the_rum_extension_is_missing(tmp_path, rum):
    import sqlalchemy as sa

    from portal.config_check import search_findings
    from search_index import Document
    from tests.search_index.conftest import make_backend, postgres_search_url

    index = make_backend("postgres", tmp_path, purpose=f"config_{'rum' if rum else 'gin'}",
                         rum=rum)
    index.update([Document(kind="decisions", id=1, title="矿山", text="矿山", date=None)])
    index.close()
    engine = sa.create_engine(postgres_search_url(f"config_{'rum' if rum else 'gin'}", rum))
    try:
        with engine.connect() as conn:
            found = search_findings("postgres", conn)
            assert search_findings("whoosh", conn) == []
    finally:
        engine.dispose()
    if rum:
        assert found == []
    else:
        [finding] = found
        assert finding.setting == "PORTAL_SEARCH_BACKEND" and not finding.blocking
        assert "rum" in finding.message
