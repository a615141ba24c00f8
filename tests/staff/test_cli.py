"""create-staff and demo-staff."""

from __future__ import annotations

import re

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from portal.staff.models import StaffUser
from tests.staff.conftest import sign_in_form


def test_create_staff_reads_the_password_from_stdin_and_prints_the_totp_secret(app, runner):
    result = runner.invoke(
        args=["create-staff", "Wang.Admin", "--role", "admin", "--role", "editor",
              "--password-stdin"],
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    secret = re.search(r"TOTP 密钥：([A-Z2-7]{32})", result.output).group(1)
    assert "otpauth://totp/" in result.output and f"secret={secret}" in result.output
    assert "a-long-enough-password" not in result.output
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == "wang.admin"))
        assert user.roles == {"admin", "editor"} and user.totp_secret == secret
        assert user.totp_confirmed_at is not None  # the secret was handed over just now
        [event] = db.session.scalars(select(AuditEvent))
        assert event.action == "account_create" and event.actor == "system"
    # The printed secret signs in.
    with time_machine.travel("2026-11-30 10:00:05+08:00", tick=False):
        response = sign_in_form(app.test_client(), "wang.admin", "a-long-enough-password",
                                pyotp.TOTP(secret).now())
    assert response.status_code == 303


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["create-staff", "x.y", "--role", "editor", "--password-stdin"], "short\n", "至少 12"),
        (["create-staff", "x y", "--role", "editor", "--password-stdin"],
         "a-long-enough-password\n", "用户名为"),
        (["create-staff", "x.y", "--role", "king", "--password-stdin"],
         "a-long-enough-password\n", "king"),
    ],
)
def test_create_staff_refuses_bad_input(runner, args, stdin, message):
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output


def test_create_staff_refuses_a_taken_name(runner):
    args = ["create-staff", "li.si", "--role", "editor", "--password-stdin"]
    assert runner.invoke(args=args, input="a-long-enough-password\n").exit_code == 0
    again = runner.invoke(args=args, input="a-long-enough-password\n")
    assert again.exit_code == 1 and "已被使用" in again.output


def test_demo_staff_is_idempotent_and_keeps_its_password_in_instance(app, runner, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    first = runner.invoke(args=["demo-staff"])
    assert first.exit_code == 0, first.output
    password = (tmp_path / "instance" / "demo-staff-password").read_text().strip()
    assert len(password) >= 16
    assert (tmp_path / "instance" / "demo-staff-password").stat().st_mode & 0o077 == 0
    assert f"密码：{password}" in first.output and "用户名：demo-admin" in first.output
    secret = re.search(r"TOTP 密钥：([A-Z2-7]{32})", first.output).group(1)
    second = runner.invoke(args=["demo-staff"])
    assert second.exit_code == 0
    assert f"TOTP 密钥：{secret}" in second.output and f"密码：{password}" in second.output
    with app.app_context():
        users = list(db.session.scalars(select(StaffUser)))
        assert [u.username for u in users] == ["demo-admin"]
        assert users[0].roles == {"admin", "editor", "handler", "approver"}
    with time_machine.travel("2026-11-30 10:00:05+08:00", tick=False):
        response = sign_in_form(app.test_client(), "demo-admin", password,
                                pyotp.TOTP(secret).now())
    assert response.status_code == 303


def test_demo_staff_refuses_to_run_in_production(tmp_path):
    from portal import create_app

    app = create_app({"env": "production", "secret_key": "k" * 40, "data_key": "d" * 40,
                      "database_url": f"sqlite:///{tmp_path / 'p.db'}",
                      "index_dir": str(tmp_path / "index")})
    app.instance_path = str(tmp_path / "instance")
    result = app.test_cli_runner().invoke(args=["demo-staff"])
    assert result.exit_code == 1 and "仅用于演示环境" in result.output
    assert not (tmp_path / "instance").exists()
