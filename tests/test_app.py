import pytest

from portal import database
from portal.config import Settings, SettingsError


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="PORTAL_SECRET_KEY"):
        Settings.from_env({"env": "production"})


def test_production_refuses_a_short_secret_key():
    with pytest.raises(SettingsError):
        Settings.from_env({"env": "production", "secret_key": "short", "data_key": "x"})


def test_unknown_environment_is_refused():
    with pytest.raises(SettingsError, match="PORTAL_ENV"):
        Settings.from_env({"env": "staging"})


def test_migrations_match_the_models(app_ctx):
    assert database.schema_drift() == []


def test_security_headers_on_every_page(client):
    response = client.get("/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert 'lang="zh-CN"' in response.get_data(as_text=True)


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)
