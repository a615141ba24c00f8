"""Sign-in with password and TOTP, enrolment, throttling, sessions and sign-out (real forms)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from portal.staff.models import StaffUser
from tests.conftest import make_app
from tests.staff.conftest import PASSWORD, csrf_token, login, make_staff, sign_in_form, totp_now

FAILED = "登录失败：用户名、密码或动态验证码有误。"
MOMENT = datetime(2026, 11, 30, 2, 0, 10, tzinfo=UTC)  # 10 s into a 30 s TOTP step


@pytest.fixture
def account(app) -> dict:
    # No app context stays pushed during requests: Flask would share ``g`` (and the signed-in
    # user cached there) between the test clients' requests.
    with app.app_context():
        user = make_staff("editor", username="zhang.san")
        return {"username": user.username, "secret": user.totp_secret, "id": user.id}


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_sign_in_with_password_and_current_totp_code(app, client, account):
    with time_machine.travel(MOMENT, tick=False):
        response = sign_in_form(client, "zhang.san", code=totp_now(account["secret"]))
        assert response.status_code == 303
        assert response.headers["Location"] == "/staff/"
        home = client.get("/staff/")
    assert home.status_code == 200
    assert "工作台" in home.get_data(as_text=True)
    [event] = _events(app, "sign_in")
    assert event.actor == "zhang.san" and event.object_id == str(account["id"])


def test_totp_codes_of_the_neighbouring_steps_pass_and_older_ones_fail(app, account):
    secret = account["secret"]
    totp = pyotp.TOTP(secret)
    with time_machine.travel(MOMENT, tick=False):
        now = MOMENT.timestamp()
        previous, too_old = totp.at(now - 30), totp.at(now - 90)
        future, too_new = totp.at(now + 30), totp.at(now + 90)
    for code, ok in ((previous, True), (future, True), (too_old, False), (too_new, False)):
        client = app.test_client()
        with time_machine.travel(MOMENT, tick=False):
            response = sign_in_form(client, "zhang.san", code=code)
        if ok:
            assert response.status_code == 303, code
        else:
            assert response.status_code == 400 and FAILED in response.get_data(as_text=True)
        # Each accepted code moves the replay window on; start the next case afresh.
        with app.app_context():
            db.session.get(StaffUser, account["id"]).totp_last_counter = None
            db.session.commit()


def test_a_code_cannot_be_used_twice(app, account):
    with time_machine.travel(MOMENT, tick=False):
        code = totp_now(account["secret"])
        assert sign_in_form(app.test_client(), "zhang.san", code=code).status_code == 303
        replay = sign_in_form(app.test_client(), "zhang.san", code=code)
    assert replay.status_code == 400
    assert FAILED in replay.get_data(as_text=True)


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "wrong code", "no code",
                                  "disabled"])
def test_every_failure_gives_the_same_message(app, client, account, case):
    username, password, code = "zhang.san", PASSWORD, None
    if case == "wrong password":
        password = "not-the-password-at-all"
    elif case == "unknown user":
        username = "li.si"
    elif case == "wrong code":
        code = "000000"
    elif case == "no code":
        code = ""
    elif case == "disabled":
        with app.app_context():
            db.session.get(StaffUser, account["id"]).active = False
            db.session.commit()
    with time_machine.travel(MOMENT, tick=False):
        if code is None:
            code = totp_now(account["secret"])
        if code == "000000" and totp_now(account["secret"]) == "000000":
            code = "000001"
        response = sign_in_form(client, username, password=password, code=code)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert FAILED in body
    # Nothing else hints at which part was wrong.
    for hint in ("不存在", "密码错误", "验证码错误", "已停用"):
        assert hint not in body
    assert client.get("/staff/").status_code == 303
    [event] = _events(app, "sign_in_failed")
    assert event.actor == "anonymous"
    assert password not in str(event.summary)
    if case == "unknown user":
        assert "li.si" not in str(event.summary) and len(event.summary["username_hash"]) == 64
    else:
        assert event.summary["username"] == "zhang.san"


def test_the_sixth_attempt_on_one_account_is_refused_whichever_client(app, account):
    # 5 per minute (Settings.ratelimit_login): five tries from five addresses, then refused.
    with time_machine.travel(MOMENT, tick=False):
        for n in range(5):
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
            assert sign_in_form(client, "zhang.san", password="wrong-password-1").status_code == 400
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.0.0.99"
        sixth = sign_in_form(client, "zhang.san", code=totp_now(account["secret"]))
    assert sixth.status_code == 429
    # Another account is not affected.
    with time_machine.travel(MOMENT, tick=False):
        other = sign_in_form(client, "someone.else", password="wrong-password-1")
    assert other.status_code == 400


def test_the_sixth_attempt_from_one_client_is_refused_whichever_account(app, account):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.1.1.1"
    with time_machine.travel(MOMENT, tick=False):
        for n in range(5):
            assert sign_in_form(client, f"user{n}", password="wrong-password-1").status_code == 400
        sixth = sign_in_form(client, "zhang.san", code=totp_now(account["secret"]))
    assert sixth.status_code == 429
    assert "请求过于频繁" in sixth.get_data(as_text=True)


@pytest.mark.usefixtures("test_database")
def test_the_limit_string_comes_from_settings(tmp_path):
    app = make_app(tmp_path, ratelimit_login="2 per minute")
    client = app.test_client()
    codes = [sign_in_form(client, "x", password="wrong-password-1").status_code for _ in range(3)]
    assert codes == [400, 400, 429]


def test_sign_in_starts_a_new_session(app, client, account):
    # Stay at one moment: a session cookie signed "in the future" would not load afterwards.
    with time_machine.travel(MOMENT, tick=False):
        with client.session_transaction() as sess:
            sess["planted"] = "by an attacker"
        sign_in_form(client, "zhang.san", code=totp_now(account["secret"]))
        with client.session_transaction() as sess:
            assert "planted" not in sess
            assert sess["_user_id"].startswith(f"{account['id']}:")


def test_session_cookie_flags(app, client, account):
    with time_machine.travel(MOMENT, tick=False):
        response = sign_in_form(client, "zhang.san", code=totp_now(account["secret"]))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # test and demo run over plain http on 127.0.0.1
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_session_cookie_is_secure_in_production(tmp_path, monkeypatch):
    from portal import create_app

    app = create_app({"env": "production", "secret_key": "k" * 40, "data_key": "d" * 40,
                      "database_url": f"sqlite:///{tmp_path / 'p.db'}",
                      "index_dir": str(tmp_path / "index")})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Strict"


def test_session_expires_after_idle_minutes(app, client):
    idle = app.config["SETTINGS"].session_idle_minutes
    start = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        login(client)
        assert client.get("/staff/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=idle - 1), tick=False):
        assert client.get("/staff/").status_code == 200  # activity moves the window on
    with time_machine.travel(start + timedelta(minutes=2 * idle - 1), tick=False):
        assert client.get("/staff/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=3 * idle), tick=False):
        response = client.get("/staff/decisions/")
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/staff/login")
        assert client.get("/staff/").status_code == 303  # signed out for good


def test_sign_out_needs_post_with_csrf_and_ends_the_session_everywhere(app):
    first, second = app.test_client(), app.test_client()
    user = login(first)
    with first.session_transaction() as sess:
        stolen = dict(sess)
    with second.session_transaction() as sess:
        sess.update(stolen)  # the same session cookie in another client
    assert second.get("/staff/").status_code == 200
    assert first.get("/staff/logout").status_code == 405
    assert first.post("/staff/logout").status_code in (303, 400)  # no CSRF token: refused
    assert first.get("/staff/").status_code == 200
    token = csrf_token(first, "/staff/")
    response = first.post("/staff/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert first.get("/staff/").status_code == 303
    # The copied cookie is dead too: the account's session token changed.
    assert second.get("/staff/").status_code == 303
    [event] = _events(app, "sign_out")
    assert event.actor == user.username


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/staff/decisions/", "/staff/decisions/"),
        ("https://evil.example/staff/", "/staff/"),
        ("//evil.example/staff/", "/staff/"),
        ("/\\evil.example", "/staff/"),
        ("/search?q=x", "/staff/"),
        ("javascript:alert(1)", "/staff/"),
    ],
)
def test_next_only_goes_to_local_staff_paths(client, account, target, expected):
    with time_machine.travel(MOMENT, tick=False):
        response = sign_in_form(client, "zhang.san", code=totp_now(account["secret"]),
                                next_url=target)
    assert response.status_code == 303
    assert response.headers["Location"] == expected


def test_anonymous_visit_remembers_the_page_for_after_sign_in(client):
    response = client.get("/staff/decisions/?state=draft")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/login?next=/staff/decisions/?state%3Ddraft"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/staff/decisions/?state=draft"' in page


def test_first_sign_in_enrols_totp_with_an_inline_svg_qr_code(app, client):
    with app.app_context():
        user = make_staff("editor", username="new.hire", confirmed=False)
        secret = user.totp_secret
    with time_machine.travel(MOMENT, tick=False):
        response = sign_in_form(client, "new.hire")
        assert response.status_code == 303
        assert response.headers["Location"] == "/staff/login/enrol"
        # Not signed in yet.
        assert client.get("/staff/").status_code == 303
        page = client.get("/staff/login/enrol")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    assert grouped in html
    assert "otpauth://totp/" in html and f"secret={secret}" in html
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert "<path" in svg and "style" not in svg and "<script" not in svg
    assert "<script" not in html and " style=" not in html
    with time_machine.travel(MOMENT, tick=False):
        token = csrf_token(client, "/staff/login/enrol")
        bad = client.post("/staff/login/enrol", data={"csrf_token": token, "code": "12345"})
        assert bad.status_code == 400
        good = client.post("/staff/login/enrol",
                           data={"csrf_token": token, "code": totp_now(secret)})
        assert good.status_code == 303 and good.headers["Location"] == "/staff/"
        assert client.get("/staff/").status_code == 200
    with app.app_context():
        assert db.session.get(StaffUser, user.id).totp_confirmed_at is not None
    assert len(_events(app, "totp_enrolled")) == 1


def test_enrolment_page_needs_a_correct_password_first(client):
    response = client.get("/staff/login/enrol")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/login"


def test_enrolment_expires(app, client):
    with app.app_context():
        make_staff("editor", username="slow.hire", confirmed=False)
    with time_machine.travel(MOMENT, tick=False):
        sign_in_form(client, "slow.hire")
    with time_machine.travel(MOMENT + timedelta(minutes=11), tick=False):
        assert client.get("/staff/login/enrol").status_code == 303


def test_a_confirmed_account_cannot_skip_the_code_by_way_of_enrolment(client, account):
    with time_machine.travel(MOMENT, tick=False):
        response = sign_in_form(client, "zhang.san", code="")
    assert response.status_code == 400
    assert client.get("/staff/login/enrol").status_code == 303


def test_change_own_password(app, client, account):
    new = "a-new-pass-phrase-2026"
    with time_machine.travel(MOMENT, tick=False):
        sign_in_form(client, "zhang.san", code=totp_now(account["secret"]))
        token = csrf_token(client, "/staff/account/password")
        weak = client.post("/staff/account/password", data={
            "csrf_token": token, "current": PASSWORD, "password": "short", "confirm": "short"})
        assert weak.status_code == 400 and "至少 12 个字符" in weak.get_data(as_text=True)
        wrong = client.post("/staff/account/password", data={
            "csrf_token": token, "current": "nope-nope-nope", "password": new, "confirm": new})
        assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
        ok = client.post("/staff/account/password", data={
            "csrf_token": token, "current": PASSWORD, "password": new, "confirm": new})
        assert ok.status_code == 303
        assert client.get("/staff/").status_code == 200  # this session carries on
    assert len(_events(app, "password_changed")) == 1
    with time_machine.travel(MOMENT + timedelta(minutes=1), tick=False):
        again = sign_in_form(app.test_client(), "zhang.san", password=new,
                             code=totp_now(account["secret"]))
    assert again.status_code == 303


def test_expired_form_token_gets_a_friendly_retry(client):
    login(client)
    response = client.post("/staff/decisions/new", data={"csrf_token": "stale"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/decisions/new"
    assert "页面已过期" in client.get("/staff/decisions/new").get_data(as_text=True)


@pytest.mark.usefixtures("test_database")
def test_parallel_sign_ins_with_one_code_let_exactly_one_through(tmp_path):
    """Security review finding 1: six parallel sign-ins with the same password and code all
    succeeded, because the last-used TOTP step was read, checked and written without a lock."""
    import threading

    app = make_app(tmp_path)
    with app.app_context():
        user = make_staff("editor", username="race.user")
        secret = user.totp_secret
    code = totp_now(secret)
    clients = [app.test_client() for _ in range(6)]
    tokens = [csrf_token(c) for c in clients]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def attempt(client, token):
        barrier.wait()
        response = client.post("/staff/login", data={
            "csrf_token": token, "username": "race.user", "password": PASSWORD, "code": code})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses).count(303) == 1, statuses
    with app.app_context():
        assert len(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sign_in")).all()) == 1
        db.engine.dispose()


def test_a_code_older_than_the_last_accepted_one_is_refused(app, account):
    secret = account["secret"]
    totp = pyotp.TOTP(secret)
    with time_machine.travel(MOMENT, tick=False):
        now = MOMENT.timestamp()
        newer, older = totp.at(now + 30), totp.at(now - 30)
        assert sign_in_form(app.test_client(), "zhang.san", code=newer).status_code == 303
        refused = sign_in_form(app.test_client(), "zhang.san", code=older)
    assert refused.status_code == 400 and FAILED in refused.get_data(as_text=True)
