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


def test_the_renamed_blacklist_setting_is_refused_with_its_new_name(monkeypatch):
    from portal.config import Settings, SettingsError

    monkeypatch.setenv("PORTAL_BLACKLIST_MIN_YEARS_BEFORE_REMOVAL", "1")
    with pytest.raises(SettingsError, match="PORTAL_BLACKLIST_MIN_MONTHS_BEFORE_REMOVAL"):
        Settings.from_env({"env": "test"})


def test_the_removal_minimum_is_read_in_months(monkeypatch):
    from portal.config import Settings, SettingsError

    monkeypatch.setenv("PORTAL_BLACKLIST_MIN_MONTHS_BEFORE_REMOVAL", "18")
    assert Settings.from_env({"env": "test"}).blacklist_min_months_before_removal == 18
    monkeypatch.setenv("PORTAL_BLACKLIST_MIN_MONTHS_BEFORE_REMOVAL", "37")  # beyond 3 years
    with pytest.raises(SettingsError, match="between 0 and the listing duration"):
        Settings.from_env({"env": "test"})


def test_a_demo_site_says_so_beside_the_agency_name_on_every_page(tmp_path):
    import secrets

    from tests.conftest import make_app

    demo = make_app(tmp_path, env="demo", secret_key=secrets.token_urlsafe(48),
                    data_key=secrets.token_urlsafe(32))
    client = demo.test_client()
    for path in ("/", "/decisions", "/stats", "/compliance", "/staff/login", "/nowhere"):
        html = client.get(path).get_data(as_text=True)
        org = html[html.index('<span class="site-org">'):]
        assert org[:org.index("</span></span>")].endswith('<span class="demo-badge">演示站点'), path
    demo.extensions["search_index"].close()


def test_a_production_or_test_site_has_no_demo_badge(client):
    assert "演示站点" not in client.get("/").get_data(as_text=True)
