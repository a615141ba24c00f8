"""Staff commands: create-staff, demo-staff, audit-verify."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal.staff.models import ROLES

DEMO_USERNAME = "demo-admin"
DEMO_PASSWORD_FILE = "demo-staff-password"  # noqa: S105 - a file name, not a password


def register(app: Flask) -> None:
    for command in (create_staff, demo_staff, audit_verify):
        app.cli.add_command(command)


def _print_totp(user) -> None:
    from portal import credentials

    uri = credentials.totp_uri(user.totp_secret, user.username)
    click.echo(f"TOTP 密钥：{user.totp_secret}")
    click.echo(f"otpauth URI：{uri}")
    click.echo("（在身份验证器应用中手动输入密钥，或用上面的 URI 生成二维码。）")


@click.command("create-staff")
@with_appcontext
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(sorted(ROLES)),
              help="Role of the account; repeat for several.")
@click.option("--name", "display_name", default="", help="Display name (姓名).")
@click.option("--department", default="",
              help="Department (部门) the account works for, by its exact name: its staff alone "
                   "decide 信用修复 applications and answer objections about its records.  A name "
                   "the portal does not know yet is added.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
def create_staff(username: str, roles: tuple[str, ...], display_name: str, department: str,
                 password_stdin: bool) -> None:
    """Create a staff account and print its TOTP secret (shown only now)."""
    from portal.staff import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt=True)
    department_id = _department_id(department) if department.strip() else None
    try:
        # No ``actor``: the operator on the server grants every role directly (someone with a
        # shell there could write the database anyway); in the back office a role that reads
        # reports waits for a second administrator.  Audited as "system".
        user = accounts.create_account(
            username=username, password=password, roles=roles, display_name=display_name,
            totp_confirmed=True, actor_name="system", department_id=department_id,
        )
    except (accounts.AccountError, accounts.PasswordTooWeak) as exc:
        click.echo(f"未创建账户：{exc}", err=True)
        sys.exit(1)
    click.echo(f"已创建账户 {user.username}，角色：{', '.join(sorted(user.roles))}")
    if user.department is not None:
        click.echo(f"所属部门：{user.department.name}")
    elif user.roles & {"editor", "approver"}:
        click.echo("未设定所属部门：此账户只能查看公开条目、信用修复申请和异议，不能修改或办理（用 --department 或在后台账户页设定）。")
    _print_totp(user)


def _department_id(name: str) -> int:
    """The department called ``name`` (added if the portal does not know it yet: on a new
    server the first accounts come before any published item names a department)."""
    from portal.extensions import db
    from portal.models import Department
    from portal.staff import accounts

    department = accounts.find_department(name)
    if department is None:
        department = Department(name=name.strip()[:120])
        db.session.add(department)
        db.session.flush()
        click.echo(f"（新增部门：{department.name}）")
    return department.id


def _busiest_department() -> int | None:
    """The department with the most open 信用修复 applications and objections (the demo
    administrator joins it, so that it has cases to act on), else the first by name."""
    from sqlalchemy import func, select, union_all

    from portal.credit.models import (
        OBJECTION_OPEN_STATES,
        OPEN_STATES,
        Objection,
        RepairApplication,
    )
    from portal.extensions import db
    from portal.models import Department

    cases = union_all(
        select(RepairApplication.department_id.label("d")).where(
            RepairApplication.status.in_(OPEN_STATES)),
        select(Objection.department_id.label("d")).where(
            Objection.status.in_(OBJECTION_OPEN_STATES)),
    ).subquery()
    busiest = db.session.scalar(select(cases.c.d).group_by(cases.c.d)
                                .order_by(func.count().desc(), cases.c.d).limit(1))
    return busiest or db.session.scalar(select(Department.id).order_by(Department.name).limit(1))


def _demo_password() -> str:
    path = Path(current_app.instance_path) / DEMO_PASSWORD_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    return password


@click.command("demo-staff")
@with_appcontext
def demo_staff() -> None:
    """Create (once) the demo administrator with every role and print how to sign in."""
    from portal import credentials
    from portal.extensions import db
    from portal.staff import accounts

    settings = current_app.config["SETTINGS"]
    if settings.is_production:
        click.echo("demo-staff 仅用于演示环境（PORTAL_ENV=demo）。", err=True)
        sys.exit(1)
    password = _demo_password()
    user = accounts.find(DEMO_USERNAME)
    if user is None:
        # Created as the operator (no ``actor``): every role at once, as ``create-staff`` does.
        # It still reads only the reports it takes (need-to-know applies to every account).
        user = accounts.create_account(
            username=DEMO_USERNAME, password=password, roles=set(ROLES),
            display_name="演示管理员", totp_confirmed=True, actor_name="system",
        )
    elif not credentials.verify_password(user.password_hash, password):
        # The password file was replaced: the file is the source of truth for the demo.
        accounts.reset_password(user, password=password)
    db.session.refresh(user)
    if user.department_id is None:
        busiest = _busiest_department()
        if busiest is not None:
            accounts.set_department(user, busiest)
    if user.totp_confirmed_at is None:
        click.echo("（演示账户的动态验证码已被重置：首次登录时会显示绑定二维码。）")
    click.echo("== 演示后台账户（仅供本机演示） ==")
    click.echo("后台地址：/staff/login")
    click.echo(f"用户名：{user.username}")
    if user.department is not None:
        click.echo(f"所属部门：{user.department.name}（只能办理本部门的信用修复申请和异议）")
    click.echo(f"密码：{password}（保存在 instance/{DEMO_PASSWORD_FILE}）")
    _print_totp(user)
    click.echo(f"当前验证码：{credentials.current_totp(user.totp_secret)}（30 秒内有效）")
    from portal.services.demo.reports import demo_receipt_codes

    codes = demo_receipt_codes()
    if codes:
        click.echo("== 演示举报回执码（在 /report/followup 输入，查看办理进度） ==")
        for demo in codes:
            click.echo(f"{demo.number}（{demo.what}）：{demo.code}")


@click.command("audit-verify")
@with_appcontext
@click.option("--anchor", default=None, help="A head hash noted earlier that must still be in the chain.")
def audit_verify(anchor: str | None) -> None:
    """Check the audit log's hash chain end to end; exit 1 naming the first bad event."""
    from portal import audit
    from portal.extensions import db

    report = audit.verify(db.session, anchor=anchor)
    if report.problem is not None:
        click.echo(f"审计日志已被篡改：{report.problem}", err=True)
        click.echo(f"（此前 {report.count} 条事件完好。）", err=True)
        sys.exit(1)
    if report.anchor_found is False:
        click.echo(f"审计日志不完整：链上找不到锚定哈希 {anchor}（末尾的事件可能被删除）。", err=True)
        sys.exit(1)
    click.echo(f"审计日志完好：共 {report.count} 条事件。")
    click.echo(f"链头哈希：{report.head_hash}")
