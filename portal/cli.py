"""``flask --app portal …`` commands."""

from __future__ import annotations

import sys

import click
from flask import Flask


def register(app: Flask) -> None:
    app.cli.add_command(init_db)
    app.cli.add_command(make_migration)


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from portal import database

    database.upgrade()
    click.echo("数据库已就绪。")


@click.command("make-migration")
@click.argument("message")
def make_migration(message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    from portal import database

    database.make_migration(message)


def fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)
