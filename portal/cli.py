"""``flask --app portal …`` commands: thin wrappers around services."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from portal import kinds

# The kinds an import file may hold (portal.kinds).
KINDS = tuple(k.key for k in kinds.KINDS if k.importable)


def register(app: Flask) -> None:
    for command in (init_db, make_migration, reindex, import_command, demo, rotate_data_key,
                    backup, purge_reports, remask, recompute_deadlines):
        app.cli.add_command(command)
    from portal.staff.cli import register as register_staff_commands

    register_staff_commands(app)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from portal import database

    database.upgrade()
    click.echo("数据库已就绪。")


@click.command("make-migration")
@with_appcontext
@click.argument("message")
def make_migration(message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    from portal import database

    database.make_migration(message)


@click.command("reindex")
@with_appcontext
def reindex() -> None:
    """Rebuild the search index from the database."""
    from portal.search_sync import reindex_all

    count = reindex_all()
    click.echo(f"已重建索引：{count} 条公开信息。")


@click.command("import")
@with_appcontext
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_command(kind: str, path: str) -> None:
    """Import KIND from a .jsonl or .csv FILE (all rows or none)."""
    from portal.services.publication.importer import ImportInvalid, import_file

    try:
        result = import_file(kind, path)
    except ImportInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        fail(f"导入失败：{len(exc.errors)} 处错误，未导入任何数据。")
    click.echo(f"导入完成：新增 {result.created} 条，更新 {result.updated} 条。")


@click.command("demo")
@with_appcontext
@click.option("--size", type=click.IntRange(min=1), default=None, help="Number of items (default: a few thousand).")
@click.option("--reports", type=click.IntRange(min=0), default=None,
              help="Number of demo reports (default 200).")
@click.option("--supervision", type=click.IntRange(min=0), default=None,
              help="Number of demo 督办事项 (default 60).")
def demo(size: int | None, reports: int | None, supervision: int | None) -> None:
    """Load the clearly-labelled demo data set for 西双版纳, and demo reports in every state."""
    from portal.services.demo.published import load_demo
    from portal.services.demo.reports import DEMO_REPORTS, load_demo_reports
    from portal.services.demo.supervision import load_demo_supervision, supervision_count

    counts = load_demo(size=size)
    counts.pop("supervision", None)  # counted below, after the reports it may come from
    counts["reports"] = load_demo_reports(DEMO_REPORTS if reports is None else reports)
    from portal.services.demo.repair import load_demo_repairs

    counts["repair"] = load_demo_repairs()
    counts["supervision"] = load_demo_supervision(
        supervision_count(size) if supervision is None else supervision)
    click.echo("演示数据已载入：" + "，".join(f"{k} {v}" for k, v in counts.items()))


@click.command("rotate-data-key")
@with_appcontext
def rotate_data_key() -> None:
    """Re-encrypt every encrypted column with the newest key of PORTAL_DATA_KEY."""
    from portal.services.operations.data_keys import RotationFailed
    from portal.services.operations.data_keys import rotate_data_key as rotate

    try:
        report = rotate()
    except RotationFailed as exc:
        fail(f"未做任何更改：{exc}。请把仍在使用的旧密钥放回 PORTAL_DATA_KEY（新密钥在前）后重试。")
    for column in report.columns:
        line = f"{column.column}：重新加密 {column.rotated} 条，已是最新密钥 {column.current} 条"
        if column.changed_meanwhile:
            line += f"，运行期间被应用改写而未处理 {column.changed_meanwhile} 条"
        click.echo(line + "。")
    if any(column.changed_meanwhile for column in report.columns):
        fail("有数据在轮换期间被改写：请确认所有进程已用新的 PORTAL_DATA_KEY 重启，再运行一次。")
    click.echo(f"共重新加密 {report.rotated} 条；全部数据现由最新密钥加密"
               f"（PORTAL_DATA_KEY 中共 {report.keys} 个密钥）。")
    if report.keys > 1:
        click.echo("现在可以从 PORTAL_DATA_KEY 中删除旧密钥（只保留第一个），然后重启。")


@click.command("backup")
@with_appcontext
@click.argument("target", type=click.Path(file_okay=False))
def backup(target: str) -> None:
    """Write the database and a manifest into a new folder under TARGET (never the data key)."""
    from pathlib import Path

    from portal.services.operations.backup import BackupFailed, create_backup

    try:
        made = create_backup(Path(target))
    except BackupFailed as exc:
        fail(f"备份失败：{exc}")
    click.echo(f"已备份到 {made.folder}：{made.dump.name}，"
               f"SHA-256 {made.manifest['dump_sha256']}。")
    click.echo(f"审计日志 {made.manifest['audit_events']} 条，链头哈希 "
               f"{made.manifest['audit_head_hash']}（恢复后用 audit-verify --anchor 核对）。")
    click.echo("数据加密密钥不在备份中：请另行妥善保管 PORTAL_DATA_KEY。")


@click.command("purge-reports")
@with_appcontext
def purge_reports() -> None:
    """Delete abandoned report drafts and erase the content of reports past retention; the same
    for 信用修复 applications (drafts, and the applicant's details and documents)."""
    from portal.services.enterprises.repair import purge as purge_repair
    from portal.services.reporting.reports import purge_reports as purge

    result = purge()
    click.echo(f"已删除未提交的举报草稿 {result.drafts} 份；"
               f"已清除超过保存期限的举报内容 {result.reports} 件。")
    repair = purge_repair()
    click.echo(f"已删除未提交的信用修复申请 {repair.drafts} 份；"
               f"已清除超过保存期限的信用修复申请内容 {repair.applications} 件。")
    from portal.services.enterprises.objections import purge as purge_objections

    objections = purge_objections()
    click.echo(f"已删除未提交的异议 {objections.drafts} 份；"
               f"已清除超过保存期限的异议内容 {objections.objections} 件。")


@click.command("remask")
@with_appcontext
def remask() -> None:
    """Mask personal data already stored (items and their history) by the current rules."""
    from portal.extensions import db
    from portal.services.operations.remask import remask_all

    result = remask_all(db.session)
    counts = "，".join(f"{kind} {n} 条" for kind, n in result.items.items())
    click.echo(f"已按现行规则遮盖：{counts}；修改记录 {result.versions} 条。")


@click.command("recompute-deadlines")
@click.option("--dry-run", is_flag=True, help="Only list the due dates that would change.")
@with_appcontext
def recompute_deadlines(dry_run: bool) -> None:
    """Recompute stored due dates after a year's official schedule was added
    (PORTAL_WORKDAY_CALENDAR_FILE): list and update every one that changes, audited."""
    from portal.services.operations.deadlines import describe
    from portal.services.operations.deadlines import recompute_deadlines as recompute

    changes = recompute(apply=not dry_run)
    for change in changes:
        click.echo(describe(change))
    if not changes:
        click.echo("没有需要调整的期限。")
    elif dry_run:
        click.echo(f"共 {len(changes)} 个期限将调整（未保存：去掉 --dry-run 执行）。")
    else:
        click.echo(f"已调整 {len(changes)} 个期限，每个均记入审计日志。")


def fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)
