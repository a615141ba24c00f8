import pytest

from portal import create_app, database
from portal.config import Settings, SettingsError
from tests.conftest import make_app


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
    # Images from this origin only: no page inlines a photo as a data: URI any more.
    assert "img-src 'self';" in csp and "data:" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert 'lang="zh-CN"' in response.get_data(as_text=True)


def test_security_headers_leave_a_views_own_value_and_add_hsts_when_secure(app):
    @app.get("/own-policy")
    def own_policy():
        return "x", 200, {"Referrer-Policy": "same-origin"}

    client = app.test_client()
    response = client.get("/own-policy")
    assert response.headers.getlist("Referrer-Policy") == ["same-origin"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers
    app.config["SESSION_COOKIE_SECURE"] = True
    assert client.get("/own-policy").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_session_cookie_is_read_and_no_cookie_is_set_for_none(app, client):
    @app.get("/session-value")
    def session_value():
        from flask import session

        return session.get("seen", "none")

    assert "Set-Cookie" not in client.get("/").headers
    with client.session_transaction() as session:
        session["seen"] = "yes"
    assert client.get("/session-value").get_data(as_text=True) == "yes"
    client.set_cookie("session", "tampered")
    assert client.get("/session-value").get_data(as_text=True) == "none"


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_database_unavailable_is_a_friendly_503(app, client, caplog):
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    from portal.extensions import db

    def refuse(*args):
        raise OperationalError("SELECT", {"secret": "举报人写的字"},
                               Exception("connection refused"))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", refuse)
    try:
        response = client.get("/decisions")
    finally:
        event.remove(engine, "before_cursor_execute", refuse)
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert "服务暂时不可用" in html and "没有保存" in html and "SELECT" not in html
    assert "connection refused" in caplog.text and "举报人写的字" not in caplog.text
    assert client.get("/decisions").status_code == 200  # and back when the database is


def test_a_connection_dropped_before_the_session_closes_does_not_lose_the_page(app, client):
    """The database went away after the page was made: closing the session fails (as
    bench/faults.py saw during a PostgreSQL restart), and the page still goes out."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    from portal.extensions import db

    armed, failed = [], []

    def rollback_fails(connection):
        if armed and not failed:
            failed.append(1)
            raise OperationalError("ROLLBACK", {}, Exception("terminating connection"))

    with app.app_context():
        engine = db.engine

    @app.teardown_appcontext  # registered last, so it runs first: the page has been made
    def arm(exc):
        armed.append(1)
    event.listen(engine, "rollback", rollback_fails)
    try:
        response = client.get("/decisions")
    finally:
        event.remove(engine, "rollback", rollback_fails)
    assert failed and response.status_code == 200
    assert client.get("/decisions").status_code == 200


def _search_statuses(app, forwarded_for: list[str]) -> list[int]:
    client = app.test_client()
    return [client.get("/search?q=矿山", headers={"X-Forwarded-For": address},
                       environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code
            for address in forwarded_for]


@pytest.mark.usefixtures("test_database")
def test_behind_a_trusted_proxy_each_visitor_has_its_own_rate_limit(tmp_path):
    """Security review finding 4: behind a proxy every visitor shared the proxy's bucket."""
    app = make_app(tmp_path, trusted_proxies=1, ratelimit_search="2 per minute")
    statuses = _search_statuses(app, ["203.0.113.5", "203.0.113.5", "198.51.100.7",
                                      "198.51.100.7", "203.0.113.5"])
    assert statuses == [200, 200, 200, 200, 429]
    app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_without_trusted_proxies_a_forwarded_address_is_ignored(tmp_path):
    # Otherwise anyone could send a new X-Forwarded-For with each request and never be limited.
    app = make_app(tmp_path, ratelimit_search="2 per minute")
    assert _search_statuses(app, ["203.0.113.5", "198.51.100.7", "192.0.2.9"]) == [200, 200, 429]
    app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_base_url_pins_absolute_urls_and_refuses_other_hosts(tmp_path):
    app = make_app(tmp_path, base_url="https://aqsc.example.cn")
    client = app.test_client()
    with app.app_context():
        from tests import factories

        item = factories.decision()
        from portal.extensions import db

        db.session.commit()
        item_id = item.id
    evil = client.get(f"/decisions/{item_id}", headers={"Host": "evil.example.com"})
    assert evil.status_code == 400
    page = client.get(f"/decisions/{item_id}", base_url="https://aqsc.example.cn")
    assert page.status_code == 200
    api = client.get("/api/v1/search?q=" + "罚", base_url="https://aqsc.example.cn").get_json()
    assert api["results"] and all(
        r["url"].startswith("https://aqsc.example.cn/") for r in api["results"])
    app.extensions["search_index"].close()


@pytest.mark.parametrize("value", ["aqsc.example.cn", "ftp://aqsc.example.cn",
                                   "https://aqsc.example.cn/portal", "https://"])
def test_a_base_url_that_is_not_scheme_and_host_is_refused(value):
    with pytest.raises(SettingsError, match="PORTAL_BASE_URL"):
        create_app({"env": "test", "base_url": value})


def test_init_db_creates_the_database_and_index_readable_by_the_owner_only(tmp_path):
    """Security review finding 6: portal.db was 0644 while the key files were 0600."""
    import stat

    folder = tmp_path / "instance"
    app = create_app({"env": "test", "database_url": f"sqlite:///{folder / 'portal.db'}",
                      "index_dir": str(folder / "index")})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    app.test_cli_runner().invoke(args=["reindex"])

    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(folder / "portal.db") == 0o600
    assert mode(folder / "index") == 0o700
    assert mode(folder) == 0o700
    app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_forms_work_over_https_without_a_referer(tmp_path):
    """Every page sends Referrer-Policy: no-referrer, so browsers send no Referer: Flask-WTF's
    HTTPS referrer check refused every form in production (found by the reports work)."""
    import re

    app = make_app(tmp_path, base_url="https://aqsc.example.cn")
    client = app.test_client()
    page = client.get("/staff/login", base_url="https://aqsc.example.cn")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    response = client.post("/staff/login", base_url="https://aqsc.example.cn", data={
        "csrf_token": token.group(1), "username": "nobody", "password": "x" * 12, "code": "123456"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "登录失败：用户名、密码或动态验证码有误。" in body
    assert "页面已过期" not in body
    app.extensions["search_index"].close()


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


@pytest.mark.usefixtures("test_database")
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
