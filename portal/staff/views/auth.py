"""Sign-in (password and TOTP together), TOTP enrolment, sign-out, own password, home."""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from portal import credentials
from portal.clients import client_network, key_before_the_app
from portal.extensions import limiter
from portal.services.publication import publishing
from portal.services.reporting import cases, rewards
from portal.staff import accounts
from portal.staff.access import is_safe_next, public, signed_in, touch_session
from portal.staff.blueprint import bp
from portal.staff.forms import EnrolForm, LoginForm, PasswordChangeForm
from portal.staff.models import APPROVER, EDITOR, HANDLER, StaffUser

SIGN_IN_FAILED = "登录失败：用户名、密码或动态验证码有误。"
ENROL_MINUTES = 10
SIGN_IN_RETRY_AFTER_SECONDS = 2


def login_limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_login


@key_before_the_app
def _client_key() -> str:
    return "staff-login-client:" + (client_network() or "unknown")


def _account_key() -> str:
    # Keyed hash of the submitted name: attempts on one account are counted whichever client
    # makes them, and the limiter's storage never holds the names people typed.
    username = accounts.normalize_username(request.form.get("username", ""))
    digest = credentials.keyed_digest(current_app.config["SECRET_KEY"], "login-account", username)
    return "staff-login-account:" + digest


def _enrol_key() -> str:
    return f"staff-enrol:{session.get('enrol_user_id', '')}"


def _start_session(user: StaffUser) -> None:
    # Nothing from before sign-in survives (no session fixation).  The cookie is a browser-session
    # cookie (not "permanent"), so Flask-Login's strong protection applies; inactivity is
    # checked on the server (portal.staff.access).
    session.clear()
    login_user(user)
    touch_session()


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(login_limit, key_func=_client_key, methods=["POST"])
@limiter.limit(login_limit, key_func=_account_key, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    failed = busy = False
    if form.validate_on_submit():
        # A password hash costs 64 MiB and every core for a moment: a process checks one at a
        # time, and a sign-in arriving meanwhile is asked to try again at once (nothing is
        # checked, so the answer says nothing about the account).
        slots = current_app.extensions["password_slots"]
        if not slots.try_take():
            busy = True
            result = None
        else:
            try:
                result = accounts.authenticate(
                    username=form.username.data, password=form.password.data,
                    code=form.code.data or "")
            except accounts.SignInFailed:
                failed = True
                result = None
            finally:
                slots.give_back()
        if result is not None:
            target = form.next.data if is_safe_next(form.next.data) else None
            if result.needs_enrolment:
                session.clear()
                session["enrol_user_id"] = result.user.id
                session["enrol_started"] = int(time.time())
                session["enrol_next"] = target
                return redirect(url_for("staff.enrol"), code=303)
            _start_session(result.user)
            flash(f"欢迎，{result.user.name}。", "info")
            return redirect(target or url_for("staff.home"), code=303)
    form.code.data = ""
    if busy:
        return render_template("staff/login.html", form=form, failed=False, busy=True), 503, \
            {"Retry-After": str(SIGN_IN_RETRY_AFTER_SECONDS)}
    status = 200 if request.method == "GET" or not (failed or form.errors) else 400
    return render_template("staff/login.html", form=form, failed=failed), status


def _pending_enrolment() -> StaffUser | None:
    user_id, started = session.get("enrol_user_id"), session.get("enrol_started")
    if not isinstance(user_id, int) or not isinstance(started, int):
        return None
    if time.time() - started > ENROL_MINUTES * 60:
        return None
    user = accounts.get_account(user_id)
    if user is None or not user.active or user.totp_confirmed_at is not None:
        return None
    return user


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
@limiter.limit(login_limit, key_func=_enrol_key, methods=["POST"])
def enrol():
    user = _pending_enrolment()
    if user is None:
        session.pop("enrol_user_id", None)
        flash("请先用用户名和密码登录。", "error")
        return redirect(url_for("staff.login"), code=303)
    form = EnrolForm()
    failed = False
    if form.validate_on_submit():
        try:
            accounts.confirm_enrolment(user, form.code.data)
        except accounts.SignInFailed:
            failed = True
        else:
            target = session.get("enrol_next")
            _start_session(user)
            flash("动态验证码已绑定，今后登录请输入身份验证器中的验证码。", "info")
            return redirect(target if is_safe_next(target) else url_for("staff.home"), code=303)
    form.code.data = ""
    uri = credentials.totp_uri(user.totp_secret, user.username)
    secret_groups = " ".join(user.totp_secret[i:i + 4] for i in range(0, len(user.totp_secret), 4))
    status = 400 if failed or form.errors else 200
    return render_template(
        "staff/enrol.html",
        form=form,
        failed=failed,
        user=user,
        uri=uri,
        secret=secret_groups,
        qr=credentials.qr_svg(uri),
        enrol_minutes=ENROL_MINUTES,
    ), status


@bp.post("/logout")
@signed_in
def logout():
    accounts.sign_out(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("staff.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def own_password():
    form = PasswordChangeForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            accounts.change_own_password(user, current=form.current.data, new=form.password.data)
        except accounts.AccountError as exc:
            form.current.errors.append(str(exc))
        else:
            # Other sessions of the account ended with the old token; this one carries on.
            _start_session(user)
            flash("密码已修改，其他设备上的登录已失效。", "info")
            return redirect(url_for("staff.home"), code=303)
    status = 400 if form.errors else 200
    return render_template("staff/password.html", form=form, title="修改密码",
                           show_current=True), status


@bp.get("/")
@signed_in
def home():
    agenda = publishing.agenda() if EDITOR in current_user.roles else None
    report_counts = reward_counts = None
    if current_user.has_any_role({HANDLER, APPROVER}):
        report_counts, reward_counts = cases.home_counts(), rewards.counts()
    return render_template("staff/home.html", agenda=agenda, report_counts=report_counts,
                           reward_counts=reward_counts)
