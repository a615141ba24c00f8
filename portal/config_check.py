"""``flask --app portal check-config``: every missing or unsafe production setting, at once.

The command is registered as a Flask plugin command (entry point ``flask.commands``), so it runs
even when the settings are too broken for ``create_app`` to start — which is when it is needed.
The data-key check also runs when the app starts in production (``create_app``): a wrong
``PORTAL_DATA_KEY`` is refused at start, not found later as a 500 at sign-in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import click


@dataclass(frozen=True)
class Finding:
    setting: str
    message: str
    blocking: bool = True  # False: advice; the command still exits 0

    def __str__(self) -> str:
        return f"{'错误' if self.blocking else '提示'}  {self.setting}：{self.message}"


def setting_findings(environ: Mapping[str, str]) -> list[Finding]:
    """What is missing or unsafe for production in ``environ`` (no app needed)."""
    from portal.config import Settings, SettingsError

    found: list[Finding] = []
    env = environ.get("PORTAL_ENV") or "production"
    if env != "production":
        found.append(Finding("PORTAL_ENV", f"当前为 {env}；生产环境须为 production（或不设置）。"))
    keys = [k.strip() for k in environ.get("PORTAL_SECRET_KEY", "").split(",") if k.strip()]
    if not keys or any(len(k) < 32 for k in keys):
        found.append(Finding("PORTAL_SECRET_KEY", "未设置，或有密钥少于 32 个字符。"))
    if not environ.get("PORTAL_DATA_KEY"):
        found.append(Finding("PORTAL_DATA_KEY", "未设置：举报内容和动态验证码密钥无法加密保存。"))
    database = environ.get("PORTAL_DATABASE_URL", "")
    if not database.startswith("postgresql"):
        found.append(Finding("PORTAL_DATABASE_URL", "未指向 PostgreSQL：多进程、多主机部署须用 "
                             "postgresql+psycopg://…；SQLite 只适合单机演示。", blocking=False))
    storage = environ.get("PORTAL_RATELIMIT_STORAGE_URI") or "memory://"
    if storage.startswith("memory"):
        found.append(Finding("PORTAL_RATELIMIT_STORAGE_URI", "为 memory://：每个 gunicorn 进程各自"
                             "计数，限流失效；请设为 redis://…。"))
    base_url = environ.get("PORTAL_BASE_URL", "")
    if not base_url:
        found.append(Finding("PORTAL_BASE_URL", "未设置：绝对地址取自客户端发来的 Host 头。"))
    elif urlsplit(base_url).scheme != "https":
        found.append(Finding("PORTAL_BASE_URL", "不是 https:// 地址：会话 Cookie 仅经 HTTPS 发送。"))
    if environ.get("PORTAL_TRUSTED_PROXIES", "0") in ("", "0"):
        found.append(Finding("PORTAL_TRUSTED_PROXIES", "为 0：若前面有反向代理，所有访问者会共用"
                             "代理的限流额度；请设为代理层数。", blocking=False))
    if any(f.blocking for f in found):
        return found  # the start-up check below would only repeat the first of these
    try:
        Settings.from_env(environ={k: v for k, v in environ.items() if v})
    except SettingsError as exc:
        found.append(Finding("PORTAL_*", str(exc)))
    except ValueError as exc:  # an integer setting that is not a number
        found.append(Finding("PORTAL_*", f"数值设置无效：{exc}"))
    return found


def unreadable_encrypted_column() -> str | None:
    """The first encrypted column holding a value no configured data key opens (one value per
    column is tried), or None.  Tables not created yet are skipped.  Call in an app context."""
    from sqlalchemy import Text, select, type_coerce
    from sqlalchemy.exc import SQLAlchemyError

    from portal.crypto import DecryptionFailed, app_keyring
    from portal.extensions import db
    from portal.services.operations.data_keys import encrypted_columns

    keyring = app_keyring()
    for table, column in encrypted_columns():
        try:
            token = db.session.scalar(
                select(type_coerce(column, Text)).where(column.isnot(None)).limit(1)
            )
        except SQLAlchemyError:
            db.session.rollback()
            continue
        if token is None:
            continue
        try:
            keyring.cipher(column.type.purpose).decrypt_bytes(token)
        except DecryptionFailed:
            return f"{table.name}.{column.name}"
    return None


@click.command("check-config")
def check_config_command() -> None:
    """List every missing or unsafe production setting; exit 1 if any must be fixed."""
    found = setting_findings(os.environ)
    if not any(f.blocking for f in found):
        found.extend(_app_findings())
    for finding in found:
        click.echo(str(finding))
    blocking = [f for f in found if f.blocking]
    if blocking:
        click.echo(f"共 {len(blocking)} 项必须修正，生产环境不能启动。", err=True)
        sys.exit(1)
    click.echo("生产配置检查通过。" + ("（另有提示，见上）" if found else ""))


def _app_findings() -> list[Finding]:
    """Checks that need the app: the database answers and every stored value decrypts."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from portal import create_app
    from portal.config import SettingsError
    from portal.extensions import db

    try:
        app = create_app()
    except SettingsError as exc:
        return [Finding("PORTAL_DATA_KEY", str(exc))]
    with app.app_context():
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return [Finding("PORTAL_DATABASE_URL", f"无法连接数据库：{exc.__class__.__name__}")]
        column = unreadable_encrypted_column()
        search = search_findings(app.config["SETTINGS"].search_backend, db.session)
        staff = staff_department_findings()
    if column:
        return [Finding("PORTAL_DATA_KEY", f"{column} 中的数据无法用任何已配置的密钥解密。")]
    return search + staff


def staff_department_findings() -> list[Finding]:
    """Advice when active editor or approver accounts have no department: they can only look
    at 信用修复 applications and objections (only the department that listed or published acts
    on them).  Call in an app context; an old schema without the column is skipped."""
    from sqlalchemy.exc import SQLAlchemyError

    from portal.extensions import db
    from portal.services.enterprises.departments import accounts_without_department

    try:
        missing = accounts_without_department()
    except SQLAlchemyError:
        db.session.rollback()
        return []
    if not missing:
        return []
    names = "、".join(u.username for u in missing[:10]) + ("等" if len(missing) > 10 else "")
    return [Finding("后台账户", f"{len(missing)} 个启用中的编辑或审批账户未设定所属部门（{names}），"
                    "只能查看信用修复申请和异议、不能办理：请在后台“账户”页面设定，或用 "
                    "create-staff --department 新建。", blocking=False)]


def search_findings(backend: str, conn: Any) -> list[Finding]:
    """With the PostgreSQL search backend: advice when the extension ``rum`` is missing (search
    works without it, but checks phrases and ranks hits row by row: slower).  ``conn``: a
    SQLAlchemy connection or session on the application's database."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    if backend != "postgres":
        return []
    try:
        installed = conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'rum'"))
        index = conn.scalar(text(
            "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam "
            "WHERE i.indrelid = to_regclass('search_documents') AND a.amname = 'rum'"))
    except SQLAlchemyError:
        conn.rollback()
        return []
    if installed is None:
        return [Finding("PORTAL_SEARCH_BACKEND", "为 postgres，但数据库未安装 rum 扩展：搜索仍然正确，"
                        "但逐行核对短语、逐条排序，较慢。请安装 postgresql-15-rum，执行 "
                        "CREATE EXTENSION rum，再运行 flask --app portal reindex。", blocking=False)]
    if index is None:
        return [Finding("PORTAL_SEARCH_BACKEND", "rum 扩展已安装，但搜索表还没有 RUM 索引：请运行 "
                        "flask --app portal reindex。", blocking=False)]
    return []
